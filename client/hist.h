/* client/hist.h — a latency histogram with bounded memory and bounded
 * relative error, in the manner of HdrHistogram (prefix cl_hist_).
 *
 * Values are unsigned 64-bit integers (the bench records nanoseconds).
 * Values below 2 * CL_HIST_SUB are counted exactly; above, each power of two
 * is split into CL_HIST_SUB equal buckets, so a bucket's width is at most
 * 1/CL_HIST_SUB (0.8 %) of the values it holds. The whole uint64 range fits
 * in CL_HIST_BUCKETS counters held inside the struct: nothing is allocated,
 * the caller owns the struct (about 58 KiB, so keep it off small stacks).
 * Not thread-safe: one histogram per thread, merged at the end.
 */
#ifndef FNCACHE_CLIENT_HIST_H
#define FNCACHE_CLIENT_HIST_H

#include <stdint.h>

#define CL_HIST_SUB_BITS 7
#define CL_HIST_SUB (1u << CL_HIST_SUB_BITS)
#define CL_HIST_BUCKETS ((64 - CL_HIST_SUB_BITS + 1) * CL_HIST_SUB)

struct cl_hist {
    uint64_t count;    /* values recorded */
    uint64_t min, max; /* exact; min is UINT64_MAX while empty */
    double sum;        /* for the mean */
    uint64_t counts[CL_HIST_BUCKETS];
};

void cl_hist_reset(struct cl_hist *h);
void cl_hist_record(struct cl_hist *h, uint64_t value);
/* Add every value of `from` to `into`. */
void cl_hist_merge(struct cl_hist *into, const struct cl_hist *from);
/* The value at percentile pct (0..100): the smallest bucket bound below
 * which at least pct % of the values lie, reported as the highest value the
 * bucket holds (as HdrHistogram does), clamped to [min, max]. pct 100 is the
 * exact max, pct 0 the exact min. 0 when empty. */
uint64_t cl_hist_percentile(const struct cl_hist *h, double pct);
double cl_hist_mean(const struct cl_hist *h);

/* Bucket arithmetic, exposed for tests: the bucket of a value and the
 * lowest and highest values a bucket holds. */
unsigned cl_hist_bucket(uint64_t value);
uint64_t cl_hist_bucket_low(unsigned bucket);
uint64_t cl_hist_bucket_high(unsigned bucket);

#endif
