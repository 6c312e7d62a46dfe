/* common/clock.c — time sources. */
#include "common/clock.h"

#include <time.h>

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t cm_now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t cm_now_ms(void) { return clock_ns(CLOCK_MONOTONIC) / 1000000u; }
uint64_t cm_wall_ms(void) { return clock_ns(CLOCK_REALTIME) / 1000000u; }
