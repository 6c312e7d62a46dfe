/* client/hist.c — log-linear latency histogram. */
#include "client/hist.h"

#include <math.h>
#include <string.h>

/* Values with their highest set bit at position b >= CL_HIST_SUB_BITS + 1
 * are shifted right by b - CL_HIST_SUB_BITS, leaving CL_HIST_SUB..2*SUB-1;
 * bucket = shift * SUB + shifted. Below 2*SUB the shift is 0 and the
 * bucket is the value itself, so buckets are contiguous from 0. */
static unsigned shift_of(uint64_t v)
{
    if (v < 2 * CL_HIST_SUB) return 0;
    return (unsigned)(63 - __builtin_clzll(v)) - CL_HIST_SUB_BITS;
}

unsigned cl_hist_bucket(uint64_t v)
{
    unsigned s = shift_of(v);
    return s * CL_HIST_SUB + (unsigned)(v >> s);
}

static unsigned bucket_shift(unsigned b)
{
    return b < 2 * CL_HIST_SUB ? 0 : b / CL_HIST_SUB - 1;
}

uint64_t cl_hist_bucket_low(unsigned b)
{
    unsigned s = bucket_shift(b);
    return (uint64_t)(b - s * CL_HIST_SUB) << s;
}

uint64_t cl_hist_bucket_high(unsigned b)
{
    unsigned s = bucket_shift(b);
    return cl_hist_bucket_low(b) + (((uint64_t)1 << s) - 1);
}

void cl_hist_reset(struct cl_hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

void cl_hist_record(struct cl_hist *h, uint64_t v)
{
    h->counts[cl_hist_bucket(v)]++;
    h->count++;
    h->sum += (double)v;
    if (v < h->min) h->min = v;
    if (v > h->max) h->max = v;
}

void cl_hist_merge(struct cl_hist *into, const struct cl_hist *from)
{
    if (from->count == 0) return;
    for (unsigned i = 0; i < CL_HIST_BUCKETS; i++)
        into->counts[i] += from->counts[i];
    into->count += from->count;
    into->sum += from->sum;
    if (from->min < into->min) into->min = from->min;
    if (from->max > into->max) into->max = from->max;
}

uint64_t cl_hist_percentile(const struct cl_hist *h, double pct)
{
    if (h->count == 0) return 0;
    if (pct <= 0) return h->min;
    if (pct >= 100) return h->max;
    /* the smallest rank covering pct % of the values; the slack keeps
     * 90 % of 10000 at 9000 despite 0.9 having no exact binary form */
    double x = pct / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)ceil(x - x * 1e-12);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < CL_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t v = cl_hist_bucket_high(i);
            return v > h->max ? h->max : v < h->min ? h->min : v;
        }
    }
    return h->max;
}

double cl_hist_mean(const struct cl_hist *h)
{
    return h->count ? h->sum / (double)h->count : 0;
}
