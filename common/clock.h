/* common/clock.h — monotonic and wall-clock time in one place. */
#ifndef FNCACHE_COMMON_CLOCK_H
#define FNCACHE_COMMON_CLOCK_H

#include <stdint.h>

/* Monotonic nanoseconds; never jumps, not comparable across processes. */
uint64_t cm_now_ns(void);
/* Monotonic milliseconds. */
uint64_t cm_now_ms(void);
/* Unix time in milliseconds (wall clock: may jump). */
uint64_t cm_wall_ms(void);

#endif
