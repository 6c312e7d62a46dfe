/* proxy/bench_proxy.c — GET and SET throughput and latency of memcached
 * servers through libmemcached, the same workload against each, one table.
 *
 * usage: bench_proxy NAME=HOST:PORT [NAME=HOST:PORT ...]
 *          [--sizes 1k,1m,10m,100m] [--clients 1,8] [--seconds S] [--rounds N]
 * Rows: server, value size, clients, operation, ops/s, MB/s, p50, p99 (ms);
 * then, for every server after the first, its ratio to the first. Each
 * cell is the best of N rounds, the servers taking turns, so a machine
 * that is slow for a while slows every server alike.
 */
#include <libmemcached/memcached.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

#define MAX_SERVERS 4
#define MAX_CLIENTS 64
#define KEYS 4 /* per client */

struct cell {
    double ops_s, mb_s, p50_ms, p99_ms;
};

struct worker {
    const char *host;
    int port, id, set;
    size_t size;
    double seconds;
    unsigned char *value;
    double *lat;        /* ms per op */
    size_t nlat, cap;
    int failed;
};

static void *run(void *arg)
{
    struct worker *w = arg;
    memcached_st *m = memcached_create(NULL);
    memcached_server_add(m, w->host, (in_port_t)w->port);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, 120000000);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_SND_TIMEOUT, 120000000);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 120000);
    char key[64];
    uint64_t end = cm_now_ns() + (uint64_t)(w->seconds * 1e9);
    for (size_t i = 0; (cm_now_ns() < end || i < KEYS) && w->nlat < w->cap; i++) { /* every key is set before GETs read it */
        snprintf(key, sizeof key, "bench-%zu-%d-%zu", w->size, w->id, i % KEYS);
        uint64_t t0 = cm_now_ns();
        memcached_return_t rc;
        if (w->set) {
            rc = memcached_set(m, key, strlen(key), (const char *)w->value, w->size, 0, 0);
        } else {
            size_t len;
            uint32_t flags;
            char *v = memcached_get(m, key, strlen(key), &len, &flags, &rc);
            if (v == NULL || len != w->size) rc = MEMCACHED_FAILURE;
            free(v);
        }
        if (rc != MEMCACHED_SUCCESS) {
            fprintf(stderr, "bench_proxy: %s:%d %s of %zu bytes failed: %s\n", w->host, w->port,
                    w->set ? "set" : "get", w->size, memcached_strerror(m, rc));
            w->failed = 1;
            break;
        }
        w->lat[w->nlat++] = (double)(cm_now_ns() - t0) / 1e6;
    }
    memcached_free(m);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int measure(const char *host, int port, size_t size, int clients, int set, double seconds, struct cell *out)
{
    pthread_t th[MAX_CLIENTS];
    struct worker w[MAX_CLIENTS];
    unsigned char *value = malloc(size);
    if (value == NULL) return -1;
    for (size_t i = 0; i < size; i++) value[i] = (unsigned char)(i * 31);
    uint64_t t0 = cm_now_ns();
    for (int i = 0; i < clients; i++) {
        w[i] = (struct worker){.host = host, .port = port, .id = i, .set = set, .size = size,
                               .seconds = seconds, .value = value, .cap = 1000000};
        w[i].lat = malloc(w[i].cap * sizeof *w[i].lat);
        pthread_create(&th[i], NULL, run, &w[i]);
    }
    size_t total = 0;
    int failed = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        total += w[i].nlat;
        failed |= w[i].failed;
    }
    double secs = (double)(cm_now_ns() - t0) / 1e9;
    double *all = malloc((total ? total : 1) * sizeof *all);
    size_t n = 0;
    for (int i = 0; i < clients; i++) {
        memcpy(all + n, w[i].lat, w[i].nlat * sizeof *all);
        n += w[i].nlat;
        free(w[i].lat);
    }
    qsort(all, n, sizeof *all, cmp);
    *out = (struct cell){.ops_s = (double)n / secs, .mb_s = (double)n * (double)size / secs / 1e6,
                         .p50_ms = n ? all[n / 2] : 0, .p99_ms = n ? all[n * 99 / 100] : 0};
    free(all);
    free(value);
    return failed ? -1 : 0;
}

static size_t parse_size(const char *s)
{
    char *end;
    size_t v = strtoull(s, &end, 10);
    if (*end == 'k') v <<= 10;
    if (*end == 'm') v <<= 20;
    return v;
}

int main(int argc, char **argv)
{
    const char *names[MAX_SERVERS];
    char hosts[MAX_SERVERS][64];
    int ports[MAX_SERVERS], nservers = 0;
    size_t sizes[8] = {1 << 10, 1 << 20, 10 << 20, 100 << 20};
    int nsizes = 4, clients[8] = {1, 8}, nclients = 2;
    double seconds = 2;
    int rounds = 3;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
            nsizes = 0;
            for (char *t = strtok(argv[++i], ","); t && nsizes < 8; t = strtok(NULL, ",")) sizes[nsizes++] = parse_size(t);
        } else if (strcmp(argv[i], "--clients") == 0 && i + 1 < argc) {
            nclients = 0;
            for (char *t = strtok(argv[++i], ","); t && nclients < 8; t = strtok(NULL, ",")) clients[nclients++] = atoi(t);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            rounds = atoi(argv[++i]);
        } else if (nservers < MAX_SERVERS && strchr(argv[i], '=') && strchr(argv[i], ':')) {
            char *eq = strchr(argv[i], '='), *colon = strrchr(argv[i], ':');
            *eq = 0;
            names[nservers] = argv[i];
            snprintf(hosts[nservers], sizeof hosts[0], "%.*s", (int)(colon - eq - 1), eq + 1);
            ports[nservers++] = atoi(colon + 1);
        } else {
            fprintf(stderr, "usage: bench_proxy NAME=HOST:PORT ... [--sizes 1k,1m] [--clients 1,8] [--seconds S] [--rounds N]\n");
            return 2;
        }
    }
    if (nservers == 0 || rounds < 1) return 2;
    static struct cell cells[MAX_SERVERS][8][8][2];
    printf("%-10s %7s %7s %4s %10s %9s %9s %9s\n", "server", "value", "clients", "op", "ops/s", "MB/s", "p50 ms",
           "p99 ms");
    for (int si = 0; si < nsizes; si++)
        for (int ci = 0; ci < nclients; ci++)
            for (int op = 1; op >= 0; op--) { /* SET first: GET reads what it wrote */
                for (int round = 0; round < rounds; round++)
                    for (int sv = 0; sv < nservers; sv++) {
                        struct cell *c = &cells[sv][si][ci][op], now;
                        if (measure(hosts[sv], ports[sv], sizes[si], clients[ci], op, seconds, &now) != 0) return 1;
                        if (round == 0 || now.ops_s > c->ops_s) *c = now;
                    }
                for (int sv = 0; sv < nservers; sv++) {
                    struct cell *c = &cells[sv][si][ci][op];
                    char sz[16];
                    snprintf(sz, sizeof sz, sizes[si] >= (1 << 20) ? "%zuM" : "%zuK",
                             sizes[si] >= (1 << 20) ? sizes[si] >> 20 : sizes[si] >> 10);
                    printf("%-10s %7s %7d %4s %10.0f %9.1f %9.3f %9.3f\n", names[sv], sz, clients[ci],
                           op ? "SET" : "GET", c->ops_s, c->mb_s, c->p50_ms, c->p99_ms);
                    fflush(stdout);
                }
            }
    for (int sv = 1; sv < nservers; sv++) {
        printf("\n%s / %s (throughput ratio; p50 ratio)\n", names[sv], names[0]);
        for (int si = 0; si < nsizes; si++)
            for (int ci = 0; ci < nclients; ci++)
                for (int op = 1; op >= 0; op--) {
                    struct cell *a = &cells[sv][si][ci][op], *b = &cells[0][si][ci][op];
                    printf("  %9zu B x%-2d %s  %5.2f  %5.2f\n", sizes[si], clients[ci], op ? "SET" : "GET",
                           a->ops_s / b->ops_s, a->p50_ms / b->p50_ms);
                }
    }
    return 0;
}
