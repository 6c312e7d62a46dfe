/* tests/unit/test_px_stripe.c — the stripe layer's buffer pool: large
 * buffers are reused, and kept in preference to small ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proxy/stripe.h"

#define MB ((uint64_t)1 << 20)

static void fill_with_small(struct px_bufpool *pool)
{
    struct px_value *v[PX_POOL_SLOTS];
    for (int i = 0; i < PX_POOL_SLOTS; i++) assert_non_null(v[i] = px_value_new_pooled(pool, 2 * MB, 1, 0));
    for (int i = 0; i < PX_POOL_SLOTS; i++) px_value_unref(v[i]);
    uint64_t fit = pool->max_bytes / (2 * MB); /* the rest are freed: no smaller ones to make room */
    assert_int_equal(pool->n, fit < PX_POOL_SLOTS ? fit : PX_POOL_SLOTS);
}

static void test_large_buffer_displaces_small_ones(void **state)
{
    (void)state;
    struct px_bufpool pool = {.max_bytes = (uint64_t)1 << 30};
    fill_with_small(&pool);
    struct px_value *v = px_value_new_pooled(&pool, 100 * MB, 10, 2);
    assert_non_null(v);
    unsigned char *data = v->data, *parity = v->parity;
    memset(v->data, 1, 100 * MB); /* the pages a reuse would not fault in again */
    px_value_unref(v);
    assert_true(pool.bytes <= pool.max_bytes);
    uint64_t hits = pool.hits;
    v = px_value_new_pooled(&pool, 100 * MB, 10, 2);
    assert_non_null(v);
    assert_ptr_equal(v->data, data);     /* both came back from the pool */
    assert_ptr_equal(v->parity, parity);
    assert_int_equal(pool.hits, hits + 2);
    px_value_unref(v);
    px_bufpool_free(&pool);
    assert_int_equal(pool.n, 0);
}

static void test_pool_keeps_its_byte_limit(void **state)
{
    (void)state;
    struct px_bufpool pool = {.max_bytes = 16 * MB};
    fill_with_small(&pool);                   /* 8 x 2 MiB fill the 16 MiB */
    assert_true(pool.bytes <= pool.max_bytes);
    struct px_value *v = px_value_new_pooled(&pool, 40 * MB, 1, 0);
    assert_non_null(v);
    px_value_unref(v);                        /* too big to keep: freed, the small ones stay */
    assert_true(pool.bytes <= pool.max_bytes);
    assert_int_equal(pool.bytes, 16 * MB);
    v = px_value_new_pooled(&pool, 6 * MB, 1, 0);
    assert_non_null(v);
    px_value_unref(v);                        /* kept: three small ones make room */
    assert_true(pool.bytes <= pool.max_bytes);
    assert_int_equal(pool.bytes, 16 * MB);
    px_bufpool_free(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_large_buffer_displaces_small_ones),
        cmocka_unit_test(test_pool_keeps_its_byte_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
