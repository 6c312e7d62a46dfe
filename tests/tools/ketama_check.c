/* tests/tools/ketama_check.c — a libmemcached client spreading keys over
 * several fncache proxies with ketama consistent hashing (MD5, 160 points
 * per server: MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED), for
 * tests/integration/test_proxies.py.
 *
 * usage: ketama_check HOST:PORT[,HOST:PORT...] set|get|where N PREFIX
 *   set    stores PREFIX0 .. PREFIX<N-1>, each with a value derived from its key
 *   get    reads them back and checks the values
 *   where  only says which server each key belongs to
 * Prints one line per key: "KEY HOST:PORT RESULT", RESULT being STORED, HIT,
 * MISS, WRONG (a value that is not the key's), ERROR:<libmemcached's words>
 * or - (where). Exits 0 unless the arguments are wrong.
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t value_of(const char *key, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "value of %s:", key);
    for (size_t i = 0; n < cap - 1 && i < 200; i++) out[n++] = (char)('a' + (key[i % strlen(key)] + i) % 26);
    out[n] = 0;
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[2], "set") && strcmp(argv[2], "get") && strcmp(argv[2], "where"))) {
        fprintf(stderr, "usage: ketama_check HOST:PORT[,HOST:PORT...] set|get|where N PREFIX\n");
        return 2;
    }
    memcached_st *m = memcached_create(NULL);
    memcached_server_st *list = memcached_servers_parse(argv[1]);
    if (m == NULL || list == NULL || memcached_server_push(m, list) != MEMCACHED_SUCCESS) {
        fprintf(stderr, "ketama_check: bad server list %s\n", argv[1]);
        return 2;
    }
    memcached_server_list_free(list);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 1000);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 20000);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 30); /* a dead server stays dead for this run */

    long n = atol(argv[3]);
    for (long i = 0; i < n; i++) {
        char key[128], want[512], result[300] = "-";
        snprintf(key, sizeof key, "%s%ld", argv[4], i);
        size_t klen = strlen(key), wlen = value_of(key, want, sizeof want);
        memcached_return_t rc;
        const memcached_instance_st *s = memcached_server_by_key(m, key, klen, &rc);
        if (strcmp(argv[2], "set") == 0) {
            rc = memcached_set(m, key, klen, want, wlen, 0, 0);
            snprintf(result, sizeof result, "%s", rc == MEMCACHED_SUCCESS ? "STORED" : "");
        } else if (strcmp(argv[2], "get") == 0) {
            size_t len;
            uint32_t flags;
            char *v = memcached_get(m, key, klen, &len, &flags, &rc);
            if (v != NULL) snprintf(result, sizeof result, "%s", len == wlen && !memcmp(v, want, len) ? "HIT" : "WRONG");
            else snprintf(result, sizeof result, "%s", rc == MEMCACHED_NOTFOUND ? "MISS" : "");
            free(v);
        }
        if (result[0] == 0) snprintf(result, sizeof result, "ERROR:%s", memcached_strerror(m, rc));
        for (char *c = result; *c; c++)
            if (*c == ' ') *c = '_';
        printf("%s %s:%u %s\n", key, s ? memcached_server_name(s) : "?", s ? (unsigned)memcached_server_port(s) : 0,
               result);
    }
    memcached_free(m);
    return 0;
}
