/* tests/unit/test_cl_value.c — bench values: every altered byte, a value of
 * another key, a cut value are caught; any version verifies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "client/value.h"

static unsigned char *make(const char *key, size_t len, uint64_t version)
{
    unsigned char *v = malloc(len ? len : 1);
    assert_non_null(v);
    cl_value_fill(v, len, cl_value_key_hash(key, strlen(key)), version);
    return v;
}

static enum cl_value_verdict check(const char *key, const unsigned char *v, size_t len,
                                   uint64_t *ver, size_t *bad)
{
    return cl_value_verify(v, len, cl_value_key_hash(key, strlen(key)), ver, bad);
}

static void test_round_trip_every_size(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 7, 8, 31, 32, 33, 39, 40, 41, 100, 4095, 4096, 65537, 1 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *v = make("k", sizes[i], 77);
        uint64_t ver = 1;
        assert_int_equal(check("k", v, sizes[i], &ver, NULL), CL_VALUE_OK);
        assert_true(ver == (sizes[i] >= CL_VALUE_HEADER ? 77u : 0u));
        free(v);
    }
}

static void test_versions_and_keys_differ(void **state)
{
    (void)state;
    unsigned char *a = make("key", 4096, 1), *b = make("key", 4096, 2), *c = make("kez", 4096, 1);
    /* a new version rewrites the body, not only the header */
    assert_memory_not_equal(a + CL_VALUE_HEADER, b + CL_VALUE_HEADER, 64);
    assert_memory_not_equal(a + CL_VALUE_HEADER, c + CL_VALUE_HEADER, 64);
    uint64_t ver;
    assert_int_equal(check("key", b, 4096, &ver, NULL), CL_VALUE_OK);
    assert_true(ver == 2);
    assert_int_equal(check("key", c, 4096, NULL, NULL), CL_VALUE_WRONG_KEY);
    free(a);
    free(b);
    free(c);
    /* a short value belongs to its key too */
    unsigned char *s = make("key", 20, 1);
    assert_int_equal(check("kez", s, 20, NULL, NULL), CL_VALUE_BAD_BODY);
    free(s);
}

/* Flip each bit of every byte (small values) or of sampled bytes: always
 * caught, and the reported offset is the byte altered (in the body). */
static void test_every_altered_byte_is_caught(void **state)
{
    (void)state;
    const size_t sizes[] = {5, 31, 32, 33, 100, 1000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t len = sizes[s];
        unsigned char *v = make("some/key", len, 0x1234567800000005ull);
        for (size_t at = 0; at < len; at++)
            for (int bit = 0; bit < 8; bit++) {
                v[at] ^= (unsigned char)(1u << bit);
                size_t bad = SIZE_MAX;
                enum cl_value_verdict r = check("some/key", v, len, NULL, &bad);
                if (r == CL_VALUE_OK)
                    fail_msg("size %zu: flip of bit %d at %zu not caught", len, bit, at);
                if (at >= CL_VALUE_HEADER || len < CL_VALUE_HEADER) {
                    assert_int_equal(r, CL_VALUE_BAD_BODY);
                    assert_int_equal(bad, at);
                }
                v[at] ^= (unsigned char)(1u << bit);
            }
        assert_int_equal(check("some/key", v, len, NULL, NULL), CL_VALUE_OK);
        free(v);
    }
    /* a large value: bytes spread over it, including the last */
    size_t len = 10 << 20;
    unsigned char *v = make("big", len, 9);
    const size_t spots[] = {CL_VALUE_HEADER, 4096, 1 << 20, len / 2 + 3, len - 1};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        v[spots[i]]++;
        size_t bad;
        assert_int_equal(check("big", v, len, NULL, &bad), CL_VALUE_BAD_BODY);
        assert_int_equal(bad, spots[i]);
        v[spots[i]]--;
    }
    free(v);
}

static void test_cut_or_grown_values(void **state)
{
    (void)state;
    unsigned char *v = make("k", 1000, 3);
    size_t bad;
    assert_int_equal(check("k", v, 999, NULL, &bad), CL_VALUE_WRONG_LENGTH);
    assert_int_equal(check("k", v, 500, NULL, NULL), CL_VALUE_WRONG_LENGTH);
    /* a header alone, altered in its version: the check field catches it */
    unsigned char *h = make("k", CL_VALUE_HEADER, 3);
    h[16] ^= 1;
    assert_int_equal(check("k", h, CL_VALUE_HEADER, NULL, NULL), CL_VALUE_BAD_HEADER);
    /* text that is not a bench value */
    char text[64];
    memset(text, 'x', sizeof text);
    assert_int_equal(check("k", (unsigned char *)text, sizeof text, NULL, NULL),
                     CL_VALUE_BAD_HEADER);
    assert_string_not_equal(cl_value_verdict_name(CL_VALUE_BAD_BODY), "ok");
    free(v);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_size),
        cmocka_unit_test(test_versions_and_keys_differ),
        cmocka_unit_test(test_every_altered_byte_is_caught),
        cmocka_unit_test(test_cut_or_grown_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
