/* tests/tools/libmc_check.c — libmemcached's C API against a server, in the
 * text or the binary protocol, for tests/integration/test_proxy.py.
 *
 * usage: libmc_check PORT [binary]
 * Prints one line per failed expectation and "libmc_check: N failed";
 * exits 0 when none failed.
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failed;

#define EXPECT(cond, ...)                                                        \
    do {                                                                         \
        if (!(cond)) {                                                           \
            failed++;                                                            \
            printf("FAIL line %d: ", __LINE__);                                  \
            printf(__VA_ARGS__);                                                 \
            printf("\n");                                                        \
        }                                                                        \
    } while (0)

static char *get(memcached_st *m, const char *key, size_t *len, uint32_t *flags, memcached_return_t *rc)
{
    return memcached_get(m, key, strlen(key), len, flags, rc);
}

int main(int argc, char **argv)
{
    if (argc < 2) return 2;
    memcached_st *m = memcached_create(NULL);
    memcached_server_add(m, "127.0.0.1", (in_port_t)atoi(argv[1]));
    int binary = argc > 2 && strcmp(argv[2], "binary") == 0;
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, binary);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 60000);
    memcached_return_t rc;
    size_t len;
    uint32_t flags;

    rc = memcached_set(m, "a", 1, "alpha", 5, 0, 42);
    EXPECT(rc == MEMCACHED_SUCCESS, "set: %s", memcached_strerror(m, rc));
    char *v = get(m, "a", &len, &flags, &rc);
    EXPECT(v && len == 5 && !memcmp(v, "alpha", 5) && flags == 42, "get a");
    free(v);
    v = get(m, "nope", &len, &flags, &rc);
    EXPECT(v == NULL && rc == MEMCACHED_NOTFOUND, "get miss: %s", memcached_strerror(m, rc));
    rc = memcached_add(m, "a", 1, "x", 1, 0, 0);
    EXPECT(rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS, "add existing: %s", memcached_strerror(m, rc));
    rc = memcached_replace(m, "nope", 4, "x", 1, 0, 0);
    EXPECT(rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_NOTFOUND, "replace missing: %s", memcached_strerror(m, rc));
    rc = memcached_append(m, "a", 1, "+", 1, 0, 0);
    EXPECT(rc == MEMCACHED_SUCCESS, "append: %s", memcached_strerror(m, rc));
    rc = memcached_prepend(m, "a", 1, "<", 1, 0, 0);
    EXPECT(rc == MEMCACHED_SUCCESS, "prepend: %s", memcached_strerror(m, rc));
    v = get(m, "a", &len, &flags, &rc);
    EXPECT(v && len == 7 && !memcmp(v, "<alpha+", 7), "after append/prepend");
    free(v);

    /* cas through a multi-get */
    const char *keys[] = {"a", "nope", "b"};
    size_t lens[] = {1, 4, 1};
    memcached_set(m, "b", 1, "beta", 4, 0, 0);
    rc = memcached_mget(m, keys, lens, 3);
    EXPECT(rc == MEMCACHED_SUCCESS, "mget: %s", memcached_strerror(m, rc));
    uint64_t cas_a = 0;
    int found = 0;
    memcached_result_st *res;
    while ((res = memcached_fetch_result(m, NULL, &rc)) != NULL) {
        found++;
        if (!strncmp(memcached_result_key_value(res), "a", memcached_result_key_length(res)))
            cas_a = memcached_result_cas(res);
        memcached_result_free(res);
    }
    EXPECT(found == 2 && cas_a != 0, "mget found %d, cas %llu", found, (unsigned long long)cas_a);
    rc = memcached_cas(m, "a", 1, "new", 3, 0, 0, cas_a);
    EXPECT(rc == MEMCACHED_SUCCESS, "cas: %s", memcached_strerror(m, rc));
    rc = memcached_cas(m, "a", 1, "newer", 5, 0, 0, cas_a);
    EXPECT(rc == MEMCACHED_DATA_EXISTS, "stale cas: %s", memcached_strerror(m, rc));

    uint64_t n;
    memcached_set(m, "n", 1, "10", 2, 0, 0);
    rc = memcached_increment(m, "n", 1, 5, &n);
    EXPECT(rc == MEMCACHED_SUCCESS && n == 15, "incr: %s %llu", memcached_strerror(m, rc), (unsigned long long)n);
    rc = memcached_decrement(m, "n", 1, 20, &n);
    EXPECT(rc == MEMCACHED_SUCCESS && n == 0, "decr: %s %llu", memcached_strerror(m, rc), (unsigned long long)n);
    rc = memcached_increment(m, "nope", 4, 1, &n);
    EXPECT(rc == MEMCACHED_NOTFOUND, "incr missing: %s", memcached_strerror(m, rc));
    if (binary) {
        rc = memcached_increment_with_initial(m, "fresh", 5, 1, 100, 0, &n);
        EXPECT(rc == MEMCACHED_SUCCESS && n == 100, "incr with initial: %s %llu", memcached_strerror(m, rc),
               (unsigned long long)n);
    }
    rc = memcached_touch(m, "b", 1, 100);
    EXPECT(rc == MEMCACHED_SUCCESS, "touch: %s", memcached_strerror(m, rc));
    rc = memcached_delete(m, "b", 1, 0);
    EXPECT(rc == MEMCACHED_SUCCESS, "delete: %s", memcached_strerror(m, rc));
    rc = memcached_delete(m, "b", 1, 0);
    EXPECT(rc == MEMCACHED_NOTFOUND, "delete missing: %s", memcached_strerror(m, rc));

    /* a value of several MB, twice: straight and after overwriting */
    size_t big = 6u << 20;
    char *val = malloc(big);
    for (size_t i = 0; i < big; i++) val[i] = (char)(i * 7 + 1);
    rc = memcached_set(m, "big", 3, val, big, 0, 0);
    EXPECT(rc == MEMCACHED_SUCCESS, "set big: %s", memcached_strerror(m, rc));
    v = get(m, "big", &len, &flags, &rc);
    EXPECT(v && len == big && !memcmp(v, val, big), "get big");
    free(v);
    free(val);

    rc = memcached_flush(m, 0);
    EXPECT(rc == MEMCACHED_SUCCESS, "flush: %s", memcached_strerror(m, rc));
    v = get(m, "a", &len, &flags, &rc);
    EXPECT(v == NULL, "get after flush");
    free(v);
    memcached_free(m);
    printf("libmc_check: %d failed\n", failed);
    return failed != 0;
}
