/* tests/unit/test_cl_stats.c — the stats table and JSON: known fields get
 * labels and units, unknown ones pass through, node lines become rows; and
 * the JSON writer and human units underneath. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/out.h"
#include "client/stats.h"

static void add(struct cl_stats *s, const char *name, const char *value)
{
    assert_int_equal(cl_stats_add(s, name, strlen(name), value, strlen(value)), 0);
}

static void add_node(struct cl_stats *s, const char *name, const char *value)
{
    assert_int_equal(cl_stats_add_node(s, name, strlen(name), value, strlen(value)), 0);
}

/* What was written to f (a tmpfile), as a string to free; closes f. */
static char *slurp(FILE *f)
{
    long n = ftell(f);
    char *out = malloc((size_t)n + 1);
    assert_non_null(out);
    rewind(f);
    assert_int_equal(fread(out, 1, (size_t)n, f), (size_t)n);
    out[n] = 0;
    fclose(f);
    return out;
}

static char *table(const struct cl_stats *s, const struct cl_stats *prev, int all)
{
    FILE *f = tmpfile();
    cl_stats_print(f, s, prev, all);
    return slurp(f);
}

static char *json(const struct cl_stats *s)
{
    FILE *f = tmpfile();
    struct cl_json j;
    cl_json_init(&j, f);
    cl_stats_json(&j, s);
    return slurp(f);
}

/* Where needle starts in t, or -1. */
static long at(const char *t, const char *needle)
{
    const char *p = strstr(t, needle);
    return p ? (long)(p - t) : -1;
}

static void fleet(struct cl_stats *s)
{
    strcpy(s->server, "127.0.0.1:11211");
    add(s, "pid", "42");
    add(s, "uptime", "3725");
    add(s, "version", "1.6.18-fncache");
    add(s, "rusage_user", "0.5");
    add(s, "curr_items", "3");
    add(s, "chunk_bytes", "1572864");
    add(s, "cmd_get", "10");
    add(s, "get_hits", "9");
    add(s, "get_misses", "1");
    add(s, "fleet_nodes", "2");
    add(s, "missing_chunks", "4");
    add(s, "fleet_billed_gb_s", "12.5"); /* names this tool does not know */
    add(s, "background_repairs", "7");
    add(s, "shiny_new_counter", "99");
    add_node(s, "node:0",
             "fn-0 state=connected instance=0123456789abcdef placed_bytes=2048 invocations=5 "
             "last_seen_ms=1500");
    add_node(s, "node:1",
             "fn-1 state=sleeping,dead instance=- placed_bytes=0 invocations=9 failures=3 odd");
}

static void test_table(void **state)
{
    (void)state;
    struct cl_stats s = {0};
    fleet(&s);
    assert_string_equal(cl_stats_get(&s, "version"), "1.6.18-fncache");
    char *t = table(&s, NULL, 0);
    const char *want[] = {"== 127.0.0.1:11211",
                          "version 1.6.18-fncache",
                          "up 1h02m",
                          "pid 42",
                          "chunk bytes",
                          "1.50 MB",
                          "hit ratio",
                          "90.0%",
                          "missing chunks",
                          "fleet_billed_gb_s",
                          "12.500 GB-s",
                          "background_repairs",
                          "shiny_new_counter",
                          "nodes     2: 1 connected, 1 sleeping,dead",
                          "fn-0",
                          "01234567 ",
                          "2.00 KB",
                          "1.50s",
                          "failures",
                          "odd"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (strstr(t, want[i]) == NULL) fail_msg("no \"%s\" in:\n%s", want[i], t);
    /* grouped by spelling: the cost field in "cost", the repair one in "health" */
    long health = at(t, "\nhealth"), cost = at(t, "\ncost"), memory = at(t, "\nmemory"),
         other = at(t, "\nother");
    assert_true(health > 0 && health < cost && cost < memory && memory < other);
    long repairs = at(t, "background_repairs"), billed = at(t, "fleet_billed_gb_s");
    assert_true(health < repairs && repairs < cost);
    assert_true(cost < billed && billed < memory);
    assert_true(at(t, "shiny_new_counter") > other);
    assert_null(strstr(t, "rusage_user")); /* memcached's internals only with all */
    free(t);
    t = table(&s, NULL, 1);
    assert_non_null(strstr(t, "rusage_user"));
    free(t);
    cl_stats_free(&s);
}

static void test_rates_when_watching(void **state)
{
    (void)state;
    struct cl_stats a = {0}, b = {0};
    add(&a, "cmd_get", "100");
    add(&b, "cmd_get", "400");
    add(&a, "bytes_read", "0");
    add(&b, "bytes_read", "3145728");
    a.taken_ms = 1000;
    b.taken_ms = 4000;
    char *t = table(&b, &a, 0);
    if (!strstr(t, "400 +100/s") || !strstr(t, "+1.00 MB/s")) fail_msg("%s", t);
    free(t);
    cl_stats_free(&a);
    cl_stats_free(&b);
}

static void test_plain_memcached_and_errors(void **state)
{
    (void)state;
    struct cl_stats s = {0};
    strcpy(s.server, "h:1");
    add(&s, "version", "1.6.18");
    add(&s, "slab_reassign_rescues", "0");
    char *t = table(&s, NULL, 0);
    assert_non_null(strstr(t, "not an fncache proxy"));
    assert_null(strstr(t, "slab_reassign"));
    free(t);
    char *j = json(&s);
    assert_null(strstr(j, "\"nodes\""));
    free(j);
    strcpy(s.error, "h:1: CONNECTION FAILURE");
    t = table(&s, NULL, 0);
    assert_non_null(strstr(t, "error     h:1: CONNECTION FAILURE"));
    free(t);
    cl_stats_free(&s);
}

static void test_json(void **state)
{
    (void)state;
    struct cl_stats s = {0};
    fleet(&s);
    char *j = json(&s);
    const char *want[] = {"{\"server\":\"127.0.0.1:11211\",\"stats\":{\"pid\":42,",
                          "\"version\":\"1.6.18-fncache\"",
                          "\"rusage_user\":0.5",
                          "\"fleet_billed_gb_s\":12.5",
                          "\"nodes\":[{\"id\":0,\"function\":\"fn-0\",\"state\":\"connected\","
                          "\"instance\":\"0123456789abcdef\",\"placed_bytes\":2048",
                          "\"state\":\"sleeping,dead\",\"instance\":\"-\"",
                          "\"odd\":\"yes\"}]}\n"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (strstr(j, want[i]) == NULL) fail_msg("no %s in %s", want[i], j);
    free(j);
    cl_stats_free(&s);
}

static void test_json_writer_and_units(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    struct cl_json j;
    cl_json_init(&j, f);
    cl_json_object(&j, NULL);
    cl_json_str(&j, "s", "a\"b\\c\n\x01");
    cl_json_array(&j, "a");
    cl_json_u64(&j, NULL, 18446744073709551615ull);
    cl_json_num(&j, NULL, 0.25);
    cl_json_num(&j, NULL, 1.0 / 0.0);
    cl_json_bool(&j, NULL, 1);
    cl_json_auto(&j, NULL, "007");
    cl_json_auto(&j, NULL, "-1.5");
    cl_json_end(&j);
    cl_json_object(&j, "o");
    cl_json_end(&j);
    cl_json_end(&j);
    char *out = slurp(f);
    assert_string_equal(
        out,
        "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"a\":[18446744073709551615,0.25,null,true,\"007\",-1.5],"
        "\"o\":{}}\n");
    free(out);
    char b[32];
    assert_string_equal(cl_fmt_bytes(b, sizeof b, 0), "0 B");
    assert_string_equal(cl_fmt_bytes(b, sizeof b, 1023), "1023 B");
    assert_string_equal(cl_fmt_bytes(b, sizeof b, 1536), "1.50 KB");
    assert_string_equal(cl_fmt_bytes(b, sizeof b, 100 << 20), "100 MB");
    assert_string_equal(cl_fmt_ns(b, sizeof b, 850), "850ns");
    assert_string_equal(cl_fmt_ns(b, sizeof b, 85200), "85.2us");
    assert_string_equal(cl_fmt_ns(b, sizeof b, 1234000), "1.23ms");
    assert_string_equal(cl_fmt_ns(b, sizeof b, 185e9), "3m05s");
    assert_string_equal(cl_fmt_secs(b, sizeof b, 90061), "1d01h");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_rates_when_watching),
        cmocka_unit_test(test_plain_memcached_and_errors),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_writer_and_units),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
