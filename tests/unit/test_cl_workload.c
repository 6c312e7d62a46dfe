/* tests/unit/test_cl_workload.c — bench workloads: size specs and their
 * distributions, Zipf popularity against its exact law, parameters from
 * flags and files, trace parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/keys.h"
#include "client/trace.h"
#include "client/workload.h"

static void test_size_specs(void **state)
{
    (void)state;
    struct cl_size_dist d;
    assert_int_equal(cl_size_parse(&d, "100"), 0);
    assert_true(d.kind == CL_SIZE_FIXED && d.min == 100 && d.max == 100);
    assert_int_equal(cl_size_parse(&d, "10m"), 0);
    assert_true(d.min == 10u << 20);
    assert_int_equal(cl_size_parse(&d, "1k-4k"), 0);
    assert_true(d.kind == CL_SIZE_UNIFORM && d.min == 1024 && d.max == 4096);
    assert_int_equal(cl_size_parse(&d, "large"), 0);
    assert_true(d.kind == CL_SIZE_LOG && d.min == 1u << 20 && d.max == 100u << 20);
    assert_int_equal(cl_size_parse(&d, "mix:100@9,1m@1"), 0);
    assert_true(d.kind == CL_SIZE_MIX && d.n == 2 && d.min == 100 && d.max == 1u << 20);
    assert_string_equal(d.spec, "mix:100@9,1m@1");
    const char *bad[] = {"",     "x",       "-5",       "10q", "4k-1k", "log:0-10",
                         "mix:", "mix:1@0", "mix:1@-1", "3g",  "1k-"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (cl_size_parse(&d, bad[i]) == 0) fail_msg("accepted \"%s\"", bad[i]);
    assert_true(d.kind == CL_SIZE_MIX); /* a refused spec leaves it alone */
}

static void test_size_distributions(void **state)
{
    (void)state;
    struct cl_size_dist d;
    struct cl_rng r = {5};
    const int n = 200000;
    /* uniform: within bounds, both ends reached, mean in the middle */
    assert_int_equal(cl_size_parse(&d, "10-20"), 0);
    int seen_lo = 0, seen_hi = 0;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        uint64_t s = cl_size_sample(&d, &r);
        assert_true(s >= 10 && s <= 20);
        seen_lo |= s == 10, seen_hi |= s == 20;
        sum += (double)s;
    }
    assert_true(seen_lo && seen_hi);
    assert_true(fabs(sum / n - 15) < 0.05);
    /* log-uniform 1m-100m: half the values below sqrt(1m * 100m) = 10m */
    assert_int_equal(cl_size_parse(&d, "large"), 0);
    int below = 0;
    for (int i = 0; i < n; i++) {
        uint64_t s = cl_size_sample(&d, &r);
        assert_true(s >= 1u << 20 && s <= 100u << 20);
        below += s < 10u << 20;
    }
    assert_true(fabs((double)below / n - 0.5) < 0.01);
    /* a mix follows its weights */
    assert_int_equal(cl_size_parse(&d, "mix:1@1,2@2,3@7"), 0);
    int count[4] = {0};
    for (int i = 0; i < n; i++)
        count[cl_size_sample(&d, &r)]++;
    assert_true(fabs((double)count[1] / n - 0.1) < 0.005);
    assert_true(fabs((double)count[2] / n - 0.2) < 0.005);
    assert_true(fabs((double)count[3] / n - 0.7) < 0.005);
}

/* Zipf against the exact probabilities 1/(k+1)^s / H(n, s): every rank's
 * frequency within 5 standard errors, for s below, at and above 1. */
static void test_zipf_matches_its_law(void **state)
{
    (void)state;
    const double exps[] = {0.5, 0.99, 1.0, 1.5};
    const uint64_t n = 50;
    const int draws = 400000;
    for (size_t e = 0; e < sizeof exps / sizeof exps[0]; e++) {
        struct cl_zipf z;
        struct cl_rng r = {1000 + e};
        assert_int_equal(cl_zipf_init(&z, n, exps[e]), 0);
        unsigned count[50] = {0};
        for (int i = 0; i < draws; i++) {
            uint64_t k = cl_zipf_sample(&z, &r);
            assert_true(k < n);
            count[k]++;
        }
        double norm = 0;
        for (uint64_t k = 1; k <= n; k++)
            norm += pow((double)k, -exps[e]);
        for (uint64_t k = 0; k < n; k++) {
            double p = pow((double)(k + 1), -exps[e]) / norm, want = p * draws;
            double se = sqrt(draws * p * (1 - p));
            if (fabs(count[k] - want) > 5 * se + 1)
                fail_msg("s=%g rank %llu: %u draws, want %.0f +- %.0f", exps[e],
                         (unsigned long long)k, count[k], want, se);
        }
    }
    /* one key; a huge key space stays in range */
    struct cl_zipf z;
    struct cl_rng r = {9};
    assert_int_equal(cl_zipf_init(&z, 1, 0.99), 0);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(cl_zipf_sample(&z, &r), 0);
    assert_int_equal(cl_zipf_init(&z, 1ull << 40, 1.2), 0);
    for (int i = 0; i < 100000; i++)
        assert_true(cl_zipf_sample(&z, &r) < 1ull << 40);
    assert_int_not_equal(cl_zipf_init(&z, 0, 1), 0);
    assert_int_not_equal(cl_zipf_init(&z, 10, 0), 0);
    assert_int_not_equal(cl_zipf_init(&z, 10, NAN), 0);
}

static void test_uniform_keys_and_names(void **state)
{
    (void)state;
    struct cl_keys k;
    struct cl_rng r = {2};
    assert_int_equal(cl_keys_init(&k, 10, 0), 0);
    unsigned count[10] = {0};
    for (int i = 0; i < 100000; i++)
        count[cl_keys_pick(&k, &r)]++;
    for (int i = 0; i < 10; i++)
        assert_true(count[i] > 9500 && count[i] < 10500);
    char name[16];
    assert_int_equal(cl_key_name(name, sizeof name, "fncb:", 42), 7);
    assert_string_equal(name, "fncb:42");
    assert_int_equal(cl_key_name(name, 6, "fncb:", 42), -1);
}

static void test_parameters(void **state)
{
    (void)state;
    struct cl_workload w;
    char err[256];
    cl_workload_defaults(&w);
    assert_true(w.size.min == 100 && w.keys == 1000 && w.connections == 4 && w.prefill && w.verify);
    assert_true(fabs(w.get_share - 0.9) < 1e-12);
    assert_string_equal(w.key_prefix, "fncb:");
    assert_int_equal(cl_workload_set(&w, "ratio", "1:3", err, sizeof err), 0);
    assert_true(fabs(w.get_share - 0.25) < 1e-12);
    assert_int_equal(cl_workload_set(&w, "key-prefix", "t/", err, sizeof err), 0);
    assert_string_equal(w.key_prefix, "t/");
    assert_int_equal(cl_workload_set(&w, "prefill", "no", err, sizeof err), 0);
    assert_false(w.prefill);
    assert_false(w.duration_given);
    assert_int_equal(cl_workload_set(&w, "duration", "2.5", err, sizeof err), 0);
    assert_true(w.duration_given && w.duration_s == 2.5);
    assert_int_equal(cl_workload_set(&w, "nosuch", "1", err, sizeof err), -ENOENT);
    assert_non_null(strstr(err, "nosuch"));
    assert_int_not_equal(cl_workload_set(&w, "ratio", "0:0", err, sizeof err), 0);
    assert_int_not_equal(cl_workload_set(&w, "keys", "-1", err, sizeof err), 0);
    assert_int_not_equal(cl_workload_set(&w, "keys", "12x", err, sizeof err), 0);
    assert_int_not_equal(cl_workload_set(&w, "zipf", "-1", err, sizeof err), 0);
    assert_int_not_equal(cl_workload_set(&w, "verify", "maybe", err, sizeof err), 0);
    assert_true(cl_workload_is_bool("verify") && !cl_workload_is_bool("keys"));
    assert_int_equal(cl_workload_check(&w, err, sizeof err), 0);
    w.connections = 0;
    assert_int_not_equal(cl_workload_check(&w, err, sizeof err), 0);
}

static void test_workload_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_cl_workload_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "# large objects\n"
                       "size = large\n"
                       "\n"
                       "keys=64   # few\n"
                       "zipf = 0.9\n"
                       "ratio = 1:1\n";
    assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
    close(fd);
    struct cl_workload w;
    char err[512];
    cl_workload_defaults(&w);
    assert_int_equal(cl_workload_load(&w, path, err, sizeof err), 0);
    assert_true(w.size.kind == CL_SIZE_LOG && w.keys == 64 && w.zipf == 0.9 && w.get_share == 0.5);
    FILE *f = fopen(path, "a");
    fputs("keys = lots\n", f);
    fclose(f);
    assert_int_not_equal(cl_workload_load(&w, path, err, sizeof err), 0);
    assert_non_null(strstr(err, ":7: ")); /* the line is named */
    unlink(path);
    assert_int_not_equal(cl_workload_load(&w, path, err, sizeof err), 0);
}

static void test_trace(void **state)
{
    (void)state;
    struct cl_trace t;
    char err[256];
    const char *csv = "timestamp,op,key,size\n"
                      "# a comment\n"
                      "100.5,set,a,1k\n"
                      "100.5, GET , a , 0\n"
                      "\n"
                      "101.25,delete,a,0\n"
                      "102,get,b/c,\n";
    assert_int_equal(cl_trace_parse(&t, csv, strlen(csv), "t.csv", err, sizeof err), 0);
    assert_int_equal(t.n, 4);
    assert_true(t.ops[0].op == CL_OP_SET && t.ops[0].size == 1024 && t.ops[0].t == 0);
    assert_true(t.ops[1].op == CL_OP_GET && t.ops[2].op == CL_OP_DELETE && t.ops[2].t == 0.75);
    assert_string_equal(cl_trace_key(&t, &t.ops[1]), "a");
    assert_string_equal(cl_trace_key(&t, &t.ops[3]), "b/c");
    assert_true(t.ops[3].t == 1.5);
    cl_trace_free(&t);
    const struct {
        const char *text, *why;
    } bad[] = {{"1,get,a,0\n0,get,a,0\n", "t.csv:2: timestamps go backwards"},
               {"1,fetch,a,0\n", "t.csv:1: op must be"},
               {"1,get,a b,0\n", "t.csv:1: bad key"},
               {"1,set,a,huge\n", "t.csv:1: bad size"},
               {"1,get,a\n", "t.csv:1: want"},
               {"x,get,a,0\ny,get,a,0\n", "t.csv:2: bad timestamp"},
               {"# nothing\n", "no requests"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_not_equal(
            cl_trace_parse(&t, bad[i].text, strlen(bad[i].text), "t.csv", err, sizeof err), 0);
        if (strstr(err, bad[i].why) == NULL) fail_msg("\"%s\": got \"%s\"", bad[i].text, err);
        assert_null(t.ops);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_specs),
        cmocka_unit_test(test_size_distributions),
        cmocka_unit_test(test_zipf_matches_its_law),
        cmocka_unit_test(test_uniform_keys_and_names),
        cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_workload_file),
        cmocka_unit_test(test_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
