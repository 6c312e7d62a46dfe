/* tests/unit/test_cl_hist.c — the bench's latency histogram against
 * distributions whose percentiles are known exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "client/hist.h"
#include "client/keys.h"

static struct cl_hist *fresh(void)
{
    struct cl_hist *h = malloc(sizeof *h);
    assert_non_null(h);
    cl_hist_reset(h);
    return h;
}

/* |got - want| within rel of want */
static void assert_near(double got, double want, double rel)
{
    if (fabs(got - want) > rel * want)
        fail_msg("got %.1f, want %.1f within %.2f%%", got, want, 100 * rel);
}

static void test_buckets_are_contiguous_and_tight(void **state)
{
    (void)state;
    /* every bucket starts right after the previous one ends */
    for (unsigned b = 1; b < CL_HIST_BUCKETS; b++)
        assert_true(cl_hist_bucket_low(b) == cl_hist_bucket_high(b - 1) + 1);
    assert_int_equal(cl_hist_bucket_low(0), 0);
    assert_true(cl_hist_bucket_high(CL_HIST_BUCKETS - 1) == UINT64_MAX);
    /* values map into their bucket, whose width is under 1/128 of them */
    struct cl_rng r = {42};
    for (int i = 0; i < 100000; i++) {
        uint64_t v = cl_rng_next(&r) >> (cl_rng_next(&r) % 64);
        unsigned b = cl_hist_bucket(v);
        assert_true(b < CL_HIST_BUCKETS);
        assert_true(cl_hist_bucket_low(b) <= v && v <= cl_hist_bucket_high(b));
        if (v >= 2 * CL_HIST_SUB)
            assert_true((double)(cl_hist_bucket_high(b) - cl_hist_bucket_low(b)) <
                        (double)v / CL_HIST_SUB);
    }
    /* small values are exact */
    for (uint64_t v = 0; v < 2 * CL_HIST_SUB; v++)
        assert_true(cl_hist_bucket_low(cl_hist_bucket(v)) == v);
}

static void test_empty_and_exact_values(void **state)
{
    (void)state;
    struct cl_hist *h = fresh();
    assert_int_equal(cl_hist_percentile(h, 50), 0);
    assert_true(cl_hist_mean(h) == 0);
    for (uint64_t v = 1; v <= 100; v++)
        cl_hist_record(h, v);
    assert_int_equal(h->count, 100);
    assert_int_equal(cl_hist_percentile(h, 50), 50);
    assert_int_equal(cl_hist_percentile(h, 99), 99);
    assert_int_equal(cl_hist_percentile(h, 99.9), 100);
    assert_int_equal(cl_hist_percentile(h, 0), 1);
    assert_int_equal(cl_hist_percentile(h, 100), 100);
    assert_true(cl_hist_mean(h) == 50.5);
    /* the extremes of the range do not break it */
    cl_hist_record(h, UINT64_MAX);
    cl_hist_record(h, 0);
    assert_true(cl_hist_percentile(h, 100) == UINT64_MAX);
    assert_int_equal(cl_hist_percentile(h, 0), 0);
    free(h);
}

/* Uniform on [1e3, 1e7]: the p-th percentile is 1e3 + p/100 * (1e7 - 1e3). */
static void test_uniform_distribution(void **state)
{
    (void)state;
    struct cl_hist *h = fresh();
    struct cl_rng r = {7};
    const double lo = 1e3, hi = 1e7;
    for (int i = 0; i < 1000000; i++)
        cl_hist_record(h, (uint64_t)(lo + cl_rng_unit(&r) * (hi - lo)));
    const double ps[] = {10, 50, 90, 99, 99.9};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        assert_near((double)cl_hist_percentile(h, ps[i]), lo + ps[i] / 100 * (hi - lo), 0.012);
    assert_near(cl_hist_mean(h), (lo + hi) / 2, 0.005);
    assert_true(h->max < (uint64_t)hi && h->min >= (uint64_t)lo);
    free(h);
}

/* Exponential with mean m: the p-th percentile is -m ln(1 - p/100). A long
 * tail, like latencies. */
static void test_exponential_distribution(void **state)
{
    (void)state;
    struct cl_hist *h = fresh();
    struct cl_rng r = {11};
    const double mean = 250000; /* 250 us in ns */
    for (int i = 0; i < 2000000; i++)
        cl_hist_record(h, (uint64_t)(-mean * log(1 - cl_rng_unit(&r))));
    const double ps[] = {50, 90, 99, 99.9};
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
        assert_near((double)cl_hist_percentile(h, ps[i]), -mean * log(1 - ps[i] / 100),
                    ps[i] < 99.5 ? 0.015 : 0.05);
    assert_near(cl_hist_mean(h), mean, 0.01);
    free(h);
}

/* Two point masses: 90% at 100 us, 10% at 10 ms. p50..p90 sit on the first,
 * p91 and above on the second, each within a bucket's width. */
static void test_bimodal_distribution(void **state)
{
    (void)state;
    struct cl_hist *h = fresh();
    for (int i = 0; i < 9000; i++)
        cl_hist_record(h, 100000);
    for (int i = 0; i < 1000; i++)
        cl_hist_record(h, 10000000);
    assert_near((double)cl_hist_percentile(h, 50), 100000, 1.0 / CL_HIST_SUB);
    assert_near((double)cl_hist_percentile(h, 90), 100000, 1.0 / CL_HIST_SUB);
    assert_near((double)cl_hist_percentile(h, 90.01), 10000000, 1.0 / CL_HIST_SUB);
    assert_int_equal(cl_hist_percentile(h, 100), 10000000);
    free(h);
}

/* Merging per-thread histograms equals recording everything in one. */
static void test_merge(void **state)
{
    (void)state;
    struct cl_hist *a = fresh(), *b = fresh(), *all = fresh();
    struct cl_rng r = {3};
    for (int i = 0; i < 50000; i++) {
        uint64_t v = cl_rng_below(&r, 1000000000);
        cl_hist_record(i % 3 ? a : b, v);
        cl_hist_record(all, v);
    }
    cl_hist_merge(a, b);
    assert_int_equal(a->count, all->count);
    assert_int_equal(a->min, all->min);
    assert_int_equal(a->max, all->max);
    for (double p = 1; p < 100; p += 7.3)
        assert_int_equal(cl_hist_percentile(a, p), cl_hist_percentile(all, p));
    struct cl_hist *empty = fresh();
    cl_hist_merge(a, empty);
    assert_int_equal(a->min, all->min);
    free(a);
    free(b);
    free(all);
    free(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets_are_contiguous_and_tight),
        cmocka_unit_test(test_empty_and_exact_values),
        cmocka_unit_test(test_uniform_distribution),
        cmocka_unit_test(test_exponential_distribution),
        cmocka_unit_test(test_bimodal_distribution),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
