/* tests/unit/test_px_index.c — the proxy's index (hash, LRU, expiry rule,
 * memory per object) and rendezvous placement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "proxy/index.h"
#include "proxy/place.h"

static struct px_object *obj(const char *key, uint64_t size)
{
    struct px_object *o = px_object_new(key, strlen(key), 10, 2);
    assert_non_null(o);
    o->size = size;
    return o;
}

static void test_insert_lookup_replace_remove(void **state)
{
    (void)state;
    struct px_index ix;
    assert_int_equal(px_index_init(&ix), 0);
    assert_null(px_index_insert(&ix, obj("a", 10)));
    assert_null(px_index_insert(&ix, obj("b", 20)));
    assert_int_equal(ix.count, 2);
    assert_int_equal(ix.bytes, 30);
    struct px_object *a = px_index_lookup(&ix, "a", 1, 0);
    assert_non_null(a);
    assert_memory_equal(px_object_key(a), "a", 1);
    assert_null(px_index_lookup(&ix, "c", 1, 0));
    assert_null(px_index_lookup(&ix, "ab", 2, 0));
    /* replacing hands the old object back */
    struct px_object *a2 = obj("a", 15);
    assert_ptr_equal(px_index_insert(&ix, a2), a);
    px_object_free(a);
    assert_ptr_equal(px_index_lookup(&ix, "a", 1, 0), a2);
    assert_int_equal(ix.count, 2);
    assert_int_equal(ix.bytes, 35);
    px_index_remove(&ix, a2);
    px_object_free(a2);
    assert_null(px_index_lookup(&ix, "a", 1, 0));
    assert_int_equal(ix.count, 1);
    assert_int_equal(ix.bytes, 20);
    /* bad keys are refused, not crashed on */
    char big[PX_KEY_MAX + 2];
    memset(big, 'k', sizeof big);
    assert_null(px_object_new(big, PX_KEY_MAX + 1, 10, 2));
    struct px_object *longest = px_object_new(big, PX_KEY_MAX, 10, 2);
    assert_non_null(longest);
    px_object_free(longest);
    assert_null(px_object_new("", 0, 10, 2));
    assert_null(px_object_new("k", 1, 0, 2));
    assert_null(px_index_peek(&ix, big, PX_KEY_MAX + 1));
    px_index_free(&ix);
}

static void test_lru_order(void **state)
{
    (void)state;
    struct px_index ix;
    assert_int_equal(px_index_init(&ix), 0);
    const char *keys[] = {"k1", "k2", "k3", "k4"};
    for (int i = 0; i < 4; i++) px_index_insert(&ix, obj(keys[i], 1));
    assert_memory_equal(px_object_key(px_index_lru(&ix)), "k1", 2);
    px_index_lookup(&ix, "k1", 2, 0); /* a read makes it recent */
    assert_memory_equal(px_object_key(px_index_lru(&ix)), "k2", 2);
    struct px_object *peeked = px_index_peek(&ix, "k2", 2); /* a peek does not */
    assert_ptr_equal(px_index_lru(&ix), peeked);
    /* evict in LRU order */
    const char *order[] = {"k2", "k3", "k4", "k1"};
    for (int i = 0; i < 4; i++) {
        struct px_object *o = px_index_lru(&ix);
        assert_memory_equal(px_object_key(o), order[i], 2);
        px_index_remove(&ix, o);
        px_object_free(o);
    }
    assert_null(px_index_lru(&ix));
    assert_int_equal(ix.count, 0);
    px_index_free(&ix);
}

static void test_expiry_rule(void **state)
{
    (void)state;
    const int64_t now = 1800000000;
    assert_int_equal(px_expiry_from(0, now), 0);
    assert_int_equal(px_expiry_from(100, now), now + 100);
    assert_int_equal(px_expiry_from(60 * 60 * 24 * 30, now), now + 60 * 60 * 24 * 30);
    assert_int_equal(px_expiry_from(60 * 60 * 24 * 30 + 1, now), 60 * 60 * 24 * 30 + 1); /* absolute */
    assert_int_equal(px_expiry_from(now + 5, now), now + 5);
    assert_true(px_expiry_from(-1, now) < now);
    struct px_index ix;
    assert_int_equal(px_index_init(&ix), 0);
    struct px_object *o = obj("t", 1);
    o->expiry = px_expiry_from(10, now);
    px_index_insert(&ix, o);
    assert_non_null(px_index_lookup(&ix, "t", 1, now + 9));
    assert_null(px_index_lookup(&ix, "t", 1, now + 10));
    assert_non_null(px_index_peek(&ix, "t", 1)); /* kept until its chunks are dropped */
    o->expiry = px_expiry_from(-1, now);
    assert_null(px_index_lookup(&ix, "t", 1, now));
    px_index_free(&ix);
}

static void test_many_and_memory(void **state)
{
    (void)state;
    enum { N = 100000 };
    struct px_index ix;
    assert_int_equal(px_index_init(&ix), 0);
    char key[32];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "user:%08d", i);
        assert_null(px_index_insert(&ix, obj(key, (uint64_t)i)));
    }
    assert_int_equal(ix.count, N);
    for (int i = 0; i < N; i += 7) {
        snprintf(key, sizeof key, "user:%08d", i);
        struct px_object *o = px_index_lookup(&ix, key, strlen(key), 0);
        assert_non_null(o);
        assert_int_equal(o->size, (uint64_t)i);
    }
    /* a 10+2 object with a 13-byte key: well under the 256-byte budget */
    struct px_object *o = px_index_peek(&ix, "user:00000001", 13);
    assert_true(px_object_mem(o) + 16 /* malloc header */ <= 256);
    double per = (double)ix.meta_bytes / N;
    assert_true(per < 256);
    px_index_free(&ix);
}

static void test_place_distinct_and_stable(void **state)
{
    (void)state;
    uint16_t a[12], b[12];
    for (uint64_t k = 0; k < 1000; k++) {
        uint64_t h = cm_hash64(&k, sizeof k);
        assert_int_equal(px_place(h, NULL, 20, 12, a), 12);
        assert_int_equal(px_place(h, NULL, 20, 12, b), 12);
        assert_memory_equal(a, b, sizeof a); /* deterministic */
        for (int i = 0; i < 12; i++)
            for (int j = i + 1; j < 12; j++) assert_int_not_equal(a[i], a[j]);
    }
    /* too few nodes: as many as there are */
    assert_int_equal(px_place(42, NULL, 5, 12, a), 5);
    uint8_t eligible[20];
    memset(eligible, 1, sizeof eligible);
    eligible[3] = eligible[7] = 0;
    for (uint64_t k = 0; k < 1000; k++) {
        assert_int_equal(px_place(cm_hash64(&k, sizeof k), eligible, 20, 12, a), 12);
        for (int i = 0; i < 12; i++) assert_true(a[i] != 3 && a[i] != 7);
    }
    memset(eligible, 0, sizeof eligible);
    assert_int_equal(px_place(1, eligible, 20, 12, a), 0);
}

static void test_place_balance_and_minimal_moves(void **state)
{
    (void)state;
    enum { NODES = 24, K = 12, KEYS = 20000 };
    unsigned load[NODES + 1] = {0};
    unsigned moved = 0;
    uint16_t before[K], after[K];
    for (uint64_t k = 0; k < KEYS; k++) {
        uint64_t h = cm_hash64(&k, sizeof k);
        px_place(h, NULL, NODES, K, before);
        for (int i = 0; i < K; i++) load[before[i]]++;
        /* one node more: a chunk moves only if the new node takes its place */
        px_place(h, NULL, NODES + 1, K, after);
        for (int i = 0; i < K; i++) {
            int kept = 0;
            for (int j = 0; j < K; j++) kept |= after[j] == before[i];
            moved += !kept;
        }
    }
    double mean = (double)KEYS * K / NODES;
    for (int i = 0; i < NODES; i++) assert_true(load[i] > mean * 0.9 && load[i] < mean * 1.1);
    /* the new node takes about K/(NODES+1) of the placements; nothing else moves */
    double expected = (double)KEYS * K / (NODES + 1);
    assert_true(moved > expected * 0.9 && moved < expected * 1.1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_lookup_replace_remove),
        cmocka_unit_test(test_lru_order),
        cmocka_unit_test(test_expiry_rule),
        cmocka_unit_test(test_many_and_memory),
        cmocka_unit_test(test_place_distinct_and_stable),
        cmocka_unit_test(test_place_balance_and_minimal_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
