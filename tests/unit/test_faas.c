/* tests/unit/test_faas.c — the pure parts of fncache-faas: function specs,
 * durations, billing arithmetic, the seeded reclamation schedule, base64. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "deploy/local/faas.h"

static void spec_full(void **state)
{
    (void)state;
    struct faas_fn_conf *c = NULL;
    char err[256];
    assert_int_equal(faas_fn_conf_parse("node-* /opt/bin/node memory=1024 timeout=60 concurrency=4 "
                                        "handler=h.x env:A=1 env:B=x=y",
                                        &c, err, sizeof err),
                     0);
    assert_string_equal(c->name, "node-");
    assert_int_equal(c->prefix, 1);
    assert_string_equal(c->path, "/opt/bin/node");
    assert_int_equal(c->memory_mb, 1024);
    assert_int_equal(c->timeout_s, 60);
    assert_int_equal(c->concurrency, 4);
    assert_string_equal(c->handler, "h.x");
    assert_int_equal(c->nenv, 2);
    assert_string_equal(c->env[1], "B=x=y");
    faas_fn_conf_free(c);
}

static void spec_defaults(void **state)
{
    (void)state;
    struct faas_fn_conf *c = NULL;
    char err[256];
    assert_int_equal(faas_fn_conf_parse("fn /bin/true", &c, err, sizeof err), 0);
    assert_int_equal(c->prefix, 0);
    assert_int_equal(c->memory_mb, 128);
    assert_int_equal(c->timeout_s, 3);
    assert_int_equal(c->concurrency, 0);
    assert_string_equal(c->handler, "handler");
    faas_fn_conf_free(c);
}

static void spec_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "fn",
        "fn /x memory=0",
        "fn /x memory=99999",
        "fn /x timeout=901",
        "fn /x bogus",
        "f.n /x",
        "fn /x env:=1",
        "fn /x memory=12ab",
        "fn /x timeout=-1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct faas_fn_conf *c = NULL;
        char err[256] = "";
        assert_int_equal(faas_fn_conf_parse(bad[i], &c, err, sizeof err), FAAS_EINVAL);
        assert_null(c);
        assert_true(err[0] != '\0');
    }
}

static void spec_match(void **state)
{
    (void)state;
    struct faas_fn_conf *list = NULL, *c;
    char err[256];
    const char *specs[] = {"node-* /a", "node-big-* /b", "node-7 /c", "x /d"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(faas_fn_conf_parse(specs[i], &c, err, sizeof err), 0);
        faas_fn_conf_append(&list, c);
    }
    assert_string_equal(faas_fn_conf_match(list, "node-1")->path, "/a");
    assert_string_equal(faas_fn_conf_match(list, "node-big-3")->path, "/b");
    assert_string_equal(faas_fn_conf_match(list, "node-7")->path, "/c");
    assert_string_equal(faas_fn_conf_match(list, "x")->path, "/d");
    assert_null(faas_fn_conf_match(list, "node-"));
    assert_null(faas_fn_conf_match(list, "xy"));
    assert_null(faas_fn_conf_match(list, "y"));
    faas_fn_conf_free(list);
}

static void config_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_faas_confXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# functions\n\n  a /bin/a memory=256\nb* /bin/b timeout=9\n", f);
    fclose(f);
    struct faas_fn_conf *list = NULL;
    char err[256];
    assert_int_equal(faas_fn_conf_load(path, &list, err, sizeof err), 0);
    assert_string_equal(list->name, "a");
    assert_int_equal(list->memory_mb, 256);
    assert_string_equal(list->next->name, "b");
    assert_int_equal(list->next->timeout_s, 9);
    assert_null(list->next->next);
    faas_fn_conf_free(list);
    f = fopen(path, "w");
    fputs("a /bin/a\nb /bin/b nope=1\n", f);
    fclose(f);
    list = NULL;
    assert_int_equal(faas_fn_conf_load(path, &list, err, sizeof err), FAAS_EINVAL);
    assert_non_null(strstr(err, ":2:"));
    faas_fn_conf_free(list);
    unlink(path);
    assert_int_equal(faas_fn_conf_load(path, &list, err, sizeof err), FAAS_EIO);
}

static void durations(void **state)
{
    (void)state;
    uint64_t v;
    assert_int_equal(faas_parse_duration_ms("250ms", 1000, &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(faas_parse_duration_ms("3s", 1000, &v), 0);
    assert_int_equal(v, 3000);
    assert_int_equal(faas_parse_duration_ms("10m", 1000, &v), 0);
    assert_int_equal(v, 600000);
    assert_int_equal(faas_parse_duration_ms("1h", 1000, &v), 0);
    assert_int_equal(v, 3600000);
    assert_int_equal(faas_parse_duration_ms("7", 1000, &v), 0);
    assert_int_equal(v, 7000);
    assert_int_equal(faas_parse_duration_ms("1.5s", 1000, &v), 0);
    assert_int_equal(v, 1500);
    assert_int_equal(faas_parse_duration_ms("0", 1000, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(faas_parse_duration_ms("-1s", 1000, &v), FAAS_EINVAL);
    assert_int_equal(faas_parse_duration_ms("3d", 1000, &v), FAAS_EINVAL);
    assert_int_equal(faas_parse_duration_ms("", 1000, &v), FAAS_EINVAL);
}

static void billed_rounding(void **state)
{
    (void)state;
    assert_int_equal(faas_billed_ms(0, 1), 1);       /* minimum one granule */
    assert_int_equal(faas_billed_ms(1, 1), 1);       /* 1 ns -> 1 ms */
    assert_int_equal(faas_billed_ms(1000000, 1), 1); /* exactly 1 ms */
    assert_int_equal(faas_billed_ms(1000001, 1), 2);
    assert_int_equal(faas_billed_ms(1000001, 100), 100);
    assert_int_equal(faas_billed_ms(100000000, 100), 100);
    assert_int_equal(faas_billed_ms(100000001, 100), 200);
    assert_int_equal(faas_billed_ms(3000000000ull, 100), 3000);
    assert_int_equal(faas_billed_ms(5, 0), 1); /* 0 treated as 1 ms */
}

static void billing_totals(void **state)
{
    (void)state;
    struct faas_bill_totals t;
    memset(&t, 0, sizeof t);
    faas_bill_add(&t, 100, 1024, 1, 0);
    faas_bill_add(&t, 3, 128, 0, 1);
    assert_int_equal(t.invocations, 2);
    assert_int_equal(t.cold_starts, 1);
    assert_int_equal(t.errors, 1);
    assert_int_equal(t.billed_ms, 103);
    assert_int_equal(t.mb_ms, 100 * 1024 + 3 * 128);
    /* 1 GB for 1 s is exactly 1 GB-second. */
    assert_true(faas_gb_seconds(1024 * 1000) == 1.0);
    struct faas_prices p = {
        .per_request = 0.20 / 1e6, .per_gb_second = 0.0000166667, .granularity_ms = 1};
    assert_float_equal(faas_request_cost(&p, 1000000), 0.20, 1e-12);
    assert_float_equal(faas_compute_cost(&p, 1024ull * 1000 * 3600), 0.0000166667 * 3600, 1e-12);
    /* The paper's example scale: 1 million 100 ms invocations of 1536 MB. */
    uint64_t mb_ms = 1000000ull * 100 * 1536;
    assert_float_equal(faas_gb_seconds(mb_ms), 150000.0, 1e-9);
}

static void rng_reproducible(void **state)
{
    (void)state;
    struct faas_rng a, b, c;
    faas_rng_seed(&a, 42);
    faas_rng_seed(&b, 42);
    faas_rng_seed(&c, 43);
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = faas_rng_next(&a);
        assert_int_equal(x, faas_rng_next(&b));
        differ |= x != faas_rng_next(&c);
        double u = faas_rng_unit(&a);
        faas_rng_unit(&b);
        assert_true(u >= 0 && u < 1);
    }
    assert_true(differ);
}

static void lifetime_jitter(void **state)
{
    (void)state;
    struct faas_rng r;
    faas_rng_seed(&r, 7);
    assert_int_equal(faas_lifetime_ms(&r, 0, 0.5), 0);
    assert_int_equal(faas_lifetime_ms(&r, 5000, 0), 5000);
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t l = faas_lifetime_ms(&r, 10000, 0.2);
        assert_true(l >= 8000 && l <= 10000);
        lo = l < lo ? l : lo;
        hi = l > hi ? l : hi;
    }
    assert_true(lo < 8200 && hi > 9800); /* the whole range is used */
}

static void random_schedule(void **state)
{
    (void)state;
    struct faas_rng r, r2;
    faas_rng_seed(&r, 1);
    assert_true(faas_random_gap_ms(&r, 0) == UINT64_MAX);
    /* Mean gap of a Poisson process at 3600/h is 1000 ms. */
    double sum = 0;
    const int n = 20000;
    for (int i = 0; i < n; i++)
        sum += (double)faas_random_gap_ms(&r, 3600);
    assert_float_equal(sum / n, 1000.0, 30.0);
    /* Same seed, same schedule. */
    faas_rng_seed(&r, 99);
    faas_rng_seed(&r2, 99);
    for (int i = 0; i < 50; i++)
        assert_int_equal(faas_random_gap_ms(&r, 60), faas_random_gap_ms(&r2, 60));
}

static void reclaim_modes(void **state)
{
    (void)state;
    enum faas_reclaim_mode m;
    assert_int_equal(faas_reclaim_mode_parse("vanish", &m), 0);
    assert_int_equal(m, FAAS_RECLAIM_VANISH);
    assert_string_equal(faas_reclaim_mode_name(m), "vanish");
    assert_int_equal(faas_reclaim_mode_parse("kill", &m), 0);
    assert_int_equal(m, FAAS_RECLAIM_KILL);
    assert_int_equal(faas_reclaim_mode_parse("freeze", &m), FAAS_EINVAL);
}

static void base64(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(faas_base64("", 0, out), 0);
    assert_string_equal(out, "");
    faas_base64("f", 1, out);
    assert_string_equal(out, "Zg==");
    faas_base64("fo", 2, out);
    assert_string_equal(out, "Zm8=");
    faas_base64("foo", 3, out);
    assert_string_equal(out, "Zm9v");
    faas_base64("foobar", 6, out);
    assert_string_equal(out, "Zm9vYmFy");
    faas_base64("\xff\xfe", 2, out);
    assert_string_equal(out, "//4=");
}

static void base64_decode(void **state)
{
    (void)state;
    unsigned char out[64];
    assert_int_equal(faas_base64_decode("Zm9vYmFy", 8, out), 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(faas_base64_decode("Zg==", 4, out), 1);
    assert_int_equal(out[0], 'f');
    assert_int_equal(faas_base64_decode("Zm8", 3, out), 2);
    assert_memory_equal(out, "fo", 2);
    assert_int_equal(faas_base64_decode("", 0, out), 0);
    assert_int_equal(faas_base64_decode("Z", 1, out), FAAS_EINVAL);
    assert_int_equal(faas_base64_decode("Zm9v!", 5, out), FAAS_EINVAL);
    /* Round trip over every byte value. */
    unsigned char in[256], dec[256 + 3];
    char enc[400];
    for (int i = 0; i < 256; i++)
        in[i] = (unsigned char)i;
    for (size_t n = 0; n < 256; n += 37) {
        size_t el = faas_base64(in, n, enc);
        assert_int_equal(faas_base64_decode(enc, el, dec), (long)n);
        assert_memory_equal(dec, in, n);
    }
}

static void function_names(void **state)
{
    (void)state;
    char n[64];
    assert_int_equal(faas_function_name("node-1", n, sizeof n), 0);
    assert_string_equal(n, "node-1");
    assert_int_equal(faas_function_name("node-1:$LATEST", n, sizeof n), 0);
    assert_string_equal(n, "node-1");
    assert_int_equal(faas_function_name("123456789012:function:node-2", n, sizeof n), 0);
    assert_string_equal(n, "node-2");
    assert_int_equal(
        faas_function_name("arn:aws:lambda:us-east-1:123456789012:function:n_3:7", n, sizeof n), 0);
    assert_string_equal(n, "n_3");
    assert_int_equal(faas_function_name("", n, sizeof n), FAAS_EINVAL);
    assert_int_equal(faas_function_name("a b", n, sizeof n), FAAS_EINVAL);
    assert_int_equal(faas_function_name("aaaaaaaaaa", n, 5), FAAS_EINVAL);
}

static void error_names(void **state)
{
    (void)state;
    assert_string_equal(faas_strerror(FAAS_OK), "ok");
    assert_string_equal(faas_strerror(FAAS_ENOENT), "not found");
    assert_string_equal(faas_strerror(-999), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spec_full),        cmocka_unit_test(spec_defaults),
        cmocka_unit_test(spec_errors),      cmocka_unit_test(spec_match),
        cmocka_unit_test(config_file),      cmocka_unit_test(durations),
        cmocka_unit_test(billed_rounding),  cmocka_unit_test(billing_totals),
        cmocka_unit_test(rng_reproducible), cmocka_unit_test(lifetime_jitter),
        cmocka_unit_test(random_schedule),  cmocka_unit_test(reclaim_modes),
        cmocka_unit_test(base64),           cmocka_unit_test(base64_decode),
        cmocka_unit_test(function_names),   cmocka_unit_test(error_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
