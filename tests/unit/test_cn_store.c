/* tests/unit/test_cn_store.c — the node's chunk store: round trips,
 * replacement, exact accounting, the limit, expiry, inventory paging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cachenode/store.h"

static struct mcp_chunk_meta meta(const char *key, uint64_t version, uint8_t index)
{
    return (struct mcp_chunk_meta){.version = version, .size = 1000, .index = index, .d = 4, .p = 2,
                                   .crc = 7, .flags = 3, .key_len = (uint16_t)strlen(key),
                                   .key = (const unsigned char *)key};
}

static int put(struct cn_store *s, const char *key, uint64_t version, uint8_t index, size_t len, int fill)
{
    struct mcp_chunk_meta m = meta(key, version, index);
    struct cn_buf *b = cn_store_alloc(s, len, m.key_len);
    if (b == NULL) return -1;
    memset(b->bytes, fill, len);
    return cn_store_put(s, &m, b);
}

static const struct cn_chunk *get(struct cn_store *s, const char *key, uint64_t version, uint8_t index)
{
    return cn_store_get(s, (const unsigned char *)key, (uint16_t)strlen(key), version, index, 1000);
}

static void test_round_trip_and_replace(void **state)
{
    (void)state;
    struct cn_store s;
    assert_int_equal(cn_store_init(&s, 1 << 20), 0);
    assert_int_equal(put(&s, "k", 1, 0, 0, 0), 0); /* 0-byte chunk */
    assert_int_equal(put(&s, "k", 1, 1, 1, 'x'), 0);
    assert_int_equal(put(&s, "k", 2, 1, 100, 'y'), 0);
    assert_int_equal(s.chunks, 3);
    const struct cn_chunk *c = get(&s, "k", 1, 1);
    assert_non_null(c);
    assert_int_equal(c->data->len, 1);
    assert_int_equal(c->data->bytes[0], 'x');
    assert_int_equal(c->meta.crc, 7);
    assert_int_equal(c->meta.d, 4);
    assert_memory_equal(c->meta.key, "k", 1);
    assert_non_null(get(&s, "k", 1, 0));
    assert_null(get(&s, "k", 1, 2));
    assert_null(get(&s, "k", 3, 1));
    assert_null(get(&s, "other", 1, 1));
    /* same key, version, index: replaced, counted once */
    uint64_t used = s.used;
    assert_int_equal(put(&s, "k", 2, 1, 100, 'z'), 0);
    assert_int_equal(s.chunks, 3);
    assert_int_equal(s.used, used);
    assert_int_equal(get(&s, "k", 2, 1)->data->bytes[99], 'z');
    /* version 0 and index 0xFF are reserved for deletes */
    assert_int_equal(put(&s, "k", 0, 1, 10, 0), -1);
    assert_int_equal(put(&s, "k", 5, CN_ALL_CHUNKS, 10, 0), -1);
    assert_int_equal(s.used, used);
    cn_store_free(&s);
}

static void test_delete_patterns(void **state)
{
    (void)state;
    struct cn_store s;
    assert_int_equal(cn_store_init(&s, 1 << 20), 0);
    for (uint64_t v = 1; v <= 3; v++)
        for (uint8_t i = 0; i < 6; i++) assert_int_equal(put(&s, "obj", v, i, 10, 0), 0);
    assert_int_equal(put(&s, "keep", 1, 0, 10, 0), 0);
    const unsigned char *k = (const unsigned char *)"obj";
    assert_int_equal(cn_store_delete(&s, k, 3, 1, 4), 1);
    assert_int_equal(cn_store_delete(&s, k, 3, 1, 4), 0);
    assert_int_equal(cn_store_delete(&s, k, 3, 2, CN_ALL_CHUNKS), 6);
    assert_int_equal(cn_store_delete(&s, k, 3, CN_ALL_VERSIONS, 0), 2);
    assert_int_equal(cn_store_delete(&s, k, 3, CN_ALL_VERSIONS, CN_ALL_CHUNKS), 9);
    assert_int_equal(s.chunks, 1);
    assert_non_null(get(&s, "keep", 1, 0));
    assert_int_equal(cn_store_delete(&s, (const unsigned char *)"keep", 4, 1, 0), 1);
    assert_int_equal(s.used, 0); /* exact: everything given back */
    cn_store_free(&s);
}

static void test_limit_refuses(void **state)
{
    (void)state;
    struct cn_store s;
    uint64_t limit = 10 * cn_store_cost(1000, 2);
    assert_int_equal(cn_store_init(&s, limit), 0);
    char key[12];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "%02d", i);
        assert_int_equal(put(&s, key, 1, 0, 1000, i), 0);
    }
    assert_int_equal(s.used, limit);
    /* one more byte does not fit, whatever its size */
    struct cn_buf *b = cn_store_alloc(&s, 1, 2);
    assert_null(b);
    assert_null(cn_store_alloc(&s, UINT64_MAX - 1000, 2));
    /* buffers still arriving count: two allocations cannot both squeeze in */
    assert_int_equal(cn_store_delete(&s, (const unsigned char *)"00", 2, 1, 0), 1);
    b = cn_store_alloc(&s, 1000, 2);
    assert_non_null(b);
    assert_null(cn_store_alloc(&s, 1000, 2));
    cn_store_abandon(&s, b, 2); /* a transfer that died half way */
    assert_int_equal(s.used, limit - cn_store_cost(1000, 2));
    assert_int_equal(put(&s, "00", 1, 0, 1000, 0), 0);
    assert_int_equal(s.used, limit);
    cn_store_free(&s);
}

static void test_buffer_outlives_delete(void **state)
{
    (void)state;
    struct cn_store s;
    assert_int_equal(cn_store_init(&s, 1 << 20), 0);
    assert_int_equal(put(&s, "k", 1, 0, 4096, 'q'), 0);
    struct cn_buf *held = cn_buf_ref(get(&s, "k", 1, 0)->data); /* a write in flight */
    assert_int_equal(cn_store_delete(&s, (const unsigned char *)"k", 1, 1, 0), 1);
    assert_int_equal(held->bytes[4095], 'q'); /* ASan would flag a use after free */
    cn_buf_unref(held);
    cn_store_free(&s);
}

static void test_expiry_is_lazy(void **state)
{
    (void)state;
    struct cn_store s;
    assert_int_equal(cn_store_init(&s, 1 << 20), 0);
    struct mcp_chunk_meta m = meta("soon", 1, 0);
    m.expiry = 2000;
    struct cn_buf *b = cn_store_alloc(&s, 10, m.key_len);
    assert_int_equal(cn_store_put(&s, &m, b), 0);
    const unsigned char *k = (const unsigned char *)"soon";
    assert_non_null(cn_store_get(&s, k, 4, 1, 0, 1999));
    assert_int_equal(s.chunks, 1);
    /* touch moves the expiry, as memcached's touch does for the item */
    assert_int_equal(cn_store_touch(&s, k, 4, 1, CN_ALL_CHUNKS, 3000), 1);
    assert_non_null(cn_store_get(&s, k, 4, 1, 0, 2999));
    assert_int_equal(cn_store_touch(&s, k, 4, 2, CN_ALL_CHUNKS, 1), 0); /* other version */
    assert_null(cn_store_get(&s, k, 4, 1, 0, 3000));
    assert_int_equal(s.chunks, 0);
    assert_int_equal(s.expired, 1);
    assert_int_equal(s.used, 0);
    cn_store_free(&s);
}

struct seen {
    unsigned char *hits;
    int refuse_after; /* refuse the call after this many, -1 never */
    int calls;
};

static int count_chunk(const struct cn_chunk *c, void *arg)
{
    struct seen *seen = arg;
    if (seen->refuse_after >= 0 && seen->calls == seen->refuse_after) return 1;
    seen->calls++;
    char tmp[16] = {0}; /* keys are "k<n>", not NUL-terminated */
    memcpy(tmp, c->key, c->meta.key_len);
    seen->hits[atoi(tmp + 1)]++;
    return 0;
}

static void test_inventory_paging(void **state)
{
    (void)state;
    enum { N = 10000 };
    struct cn_store s;
    assert_int_equal(cn_store_init(&s, (uint64_t)1 << 30), 0);
    char key[16];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(put(&s, key, 1, (uint8_t)(i % 12), 16, 0), 0);
    }
    /* Delete some before listing, and more (and add new ones) while listing. */
    for (int i = 0; i < N; i += 10) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(cn_store_delete(&s, (const unsigned char *)key, (uint16_t)strlen(key), 1, CN_ALL_CHUNKS), 1);
    }
    struct seen seen = {calloc(N + 100, 1), -1, 0};
    uint64_t cursor = 0;
    int pages = 0;
    do {
        seen.calls = 0;
        seen.refuse_after = pages % 3 == 2 ? 100 : -1; /* some pages end early, like a full body */
        cursor = cn_store_list(&s, cursor, 333, 1000, count_chunk, &seen);
        pages++;
        if (pages == 5) { /* mid-listing churn */
            for (int i = 5; i < N; i += 10) {
                snprintf(key, sizeof key, "k%d", i);
                cn_store_delete(&s, (const unsigned char *)key, (uint16_t)strlen(key), 1, CN_ALL_CHUNKS);
            }
            for (int i = N; i < N + 100; i++) {
                snprintf(key, sizeof key, "k%d", i);
                assert_int_equal(put(&s, key, 1, 0, 16, 0), 0);
            }
        }
        assert_true(pages < 1000);
    } while (cursor != 0);
    for (int i = 0; i < N; i++) {
        if (i % 10 == 0) assert_int_equal(seen.hits[i], 0);
        else if (i % 10 != 5) assert_int_equal(seen.hits[i], 1); /* present throughout: exactly once */
        else assert_true(seen.hits[i] <= 1);
    }
    for (int i = N; i < N + 100; i++) assert_true(seen.hits[i] <= 1);
    assert_true(pages >= 8000 * 1.0 / 333);
    free(seen.hits);
    cn_store_free(&s);
}

/* The resident-size guard: a chunk that would push the process past its
 * cap is refused even though the byte accounting has room. */
static void test_resident_cap_refuses(void **state)
{
    (void)state;
    struct cn_store s;
    assert_int_equal(cn_store_init(&s, (uint64_t)1 << 30), 0);
    struct cn_buf *b = cn_store_alloc(&s, 4 << 20, 1);
    assert_non_null(b); /* unchecked: rss_cap is 0 */
    cn_store_abandon(&s, b, 1);
    s.rss_cap = 1 << 20; /* far below what any process holds */
    assert_null(cn_store_alloc(&s, 4 << 20, 1));
    b = cn_store_alloc(&s, 1000, 1); /* small chunks fit in the margin, unchecked */
    assert_non_null(b);
    cn_store_abandon(&s, b, 1);
    s.rss_cap = (uint64_t)64 << 30;
    b = cn_store_alloc(&s, 4 << 20, 1);
    assert_non_null(b);
    cn_store_abandon(&s, b, 1);
    assert_int_equal(s.used, 0);
    cn_store_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_replace),
        cmocka_unit_test(test_delete_patterns),
        cmocka_unit_test(test_limit_refuses),
        cmocka_unit_test(test_buffer_outlives_delete),
        cmocka_unit_test(test_expiry_is_lazy),
        cmocka_unit_test(test_inventory_paging),
        cmocka_unit_test(test_resident_cap_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
