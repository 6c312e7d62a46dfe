/* tests/tools/stripe_driver.c — drives proxy/stripe.c (and the pool under
 * it) against a real platform and nodes, one command per stdin line, for
 * tests/integration/test_stripe.py.
 *
 * usage: stripe_driver FAAS_URL PREFIX NODES D P
 * commands:  put KEY SIZE      ->  "ok put KEY d=D" | "err put KEY STATUS"
 *            get KEY           ->  "ok get KEY decoded=N" | "miss get KEY" | "BAD get KEY ..."
 *            stats             ->  "stats decodes=N bad_chunks=N lost_instances=N"
 *            quit
 * Values are a pattern derived from key and size, so a read is checked
 * byte for byte.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "common/log.h"
#include "proxy/place.h"
#include "proxy/stripe.h"

#define MAX_OBJECTS 256

struct object {
    char key[64];
    uint64_t size, version;
    int d;
    uint16_t nodes[ECS_MAX_CHUNKS];
    uint32_t crc[ECS_MAX_CHUNKS];
};

static struct {
    uv_loop_t loop;
    struct px_invoker iv;
    struct px_pool pool;
    struct px_stripe st;
    uv_pipe_t in;
    char line[256];
    size_t line_len;
    struct object objs[MAX_OBJECTS];
    int nobjs;
    uint64_t next_version;
    unsigned lost;
    int busy, eof, quitting;
} g;

static void fill(unsigned char *p, uint64_t n, const char *key)
{
    uint64_t x = cm_hash64(key, strlen(key)) | 1;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        p[i] = (unsigned char)x;
    }
}

static struct object *find(const char *key)
{
    for (int i = 0; i < g.nobjs; i++)
        if (strcmp(g.objs[i].key, key) == 0) return &g.objs[i];
    return NULL;
}

static void next_command(void);

static void on_written(struct px_write *w, int status)
{
    struct object *o = w->arg;
    if (status == 0) {
        memcpy(o->crc, w->v->crc, sizeof o->crc);
        printf("ok put %s d=%d\n", o->key, o->d);
    } else {
        printf("err put %s %d\n", o->key, status);
    }
    free(w);
    next_command();
}

static void on_answer(struct px_read *r, int status)
{
    struct object *o = r->arg;
    if (status != 0) {
        printf("miss get %s\n", o->key);
        return;
    }
    unsigned char *want = malloc(o->size + 1);
    fill(want, o->size, o->key);
    int same = r->v->len == o->size && memcmp(r->v->data, want, o->size) == 0;
    free(want);
    int decoded = __builtin_popcountll(((1ull << r->d) - 1) & ~r->good);
    if (same) printf("ok get %s decoded=%d\n", o->key, decoded);
    else printf("BAD get %s: bytes differ\n", o->key);
}

static void on_read_done(struct px_read *r)
{
    free(r);
    next_command();
}

static void run(char *cmd)
{
    char key[64];
    unsigned long long size;
    if (sscanf(cmd, "put %63s %llu", key, &size) == 2) {
        struct object *o = find(key);
        if (o == NULL) o = &g.objs[g.nobjs++];
        snprintf(o->key, sizeof o->key, "%s", key);
        o->size = size;
        o->version = ++g.next_version;
        o->d = px_stripe_width(&g.st, size);
        px_place(cm_hash64(key, strlen(key)), NULL, g.pool.nnodes, o->d + g.st.p, o->nodes);
        struct px_write *w = calloc(1, sizeof *w);
        w->v = px_value_new(size, o->d, g.st.p);
        fill(w->v->data, size, key);
        w->key = (const unsigned char *)o->key;
        w->key_len = (uint16_t)strlen(o->key);
        w->version = o->version;
        memcpy(w->nodes, o->nodes, sizeof w->nodes);
        w->done = on_written;
        w->arg = o;
        g.busy = 1;
        px_stripe_write(&g.st, w);
        px_value_unref(w->v); /* the write holds its own */
        return;
    }
    if (sscanf(cmd, "get %63s", key) == 1) {
        struct object *o = find(key);
        if (o == NULL) {
            printf("err get %s unknown\n", key);
            return;
        }
        struct px_read *r = calloc(1, sizeof *r);
        r->key = (const unsigned char *)o->key;
        r->key_len = (uint16_t)strlen(o->key);
        r->version = o->version;
        r->size = o->size;
        r->d = o->d;
        r->p = g.st.p;
        memcpy(r->nodes, o->nodes, sizeof r->nodes);
        memcpy(r->crc, o->crc, sizeof r->crc);
        r->answer = on_answer;
        r->done = on_read_done;
        r->arg = o;
        g.busy = 1;
        px_stripe_read(&g.st, r);
        return;
    }
    if (strcmp(cmd, "stats") == 0) {
        printf("stats decodes=%llu bad_chunks=%llu lost_instances=%u\n", (unsigned long long)g.st.decodes,
               (unsigned long long)g.st.bad_chunks, g.lost);
        return;
    }
    if (strcmp(cmd, "quit") == 0) {
        if (g.quitting) return;
        g.quitting = 1;
        uv_close((uv_handle_t *)&g.in, NULL);
        px_pool_close(&g.pool, NULL);
        px_invoker_close(&g.iv, NULL);
        return;
    }
    printf("err unknown command\n");
}

/* One command at a time: the next line is taken when the last finished. */
static void next_command(void)
{
    g.busy = 0;
    fflush(stdout);
    char *nl;
    while (!g.busy && (nl = memchr(g.line, '\n', g.line_len)) != NULL) {
        *nl = 0;
        char cmd[256];
        snprintf(cmd, sizeof cmd, "%s", g.line);
        size_t rest = g.line_len - (size_t)(nl + 1 - g.line);
        memmove(g.line, nl + 1, rest);
        g.line_len = rest;
        run(cmd);
        fflush(stdout);
    }
    if (!g.busy && g.eof) run("quit");
}

static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    (void)h;
    (void)s;
    *b = uv_buf_init(g.line + g.line_len, (unsigned)(sizeof g.line - g.line_len));
}

static void on_stdin(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    (void)s;
    (void)b;
    if (n < 0) {
        uv_read_stop(s);
        g.eof = 1;
        if (!g.busy) next_command();
        return;
    }
    g.line_len += (size_t)n;
    if (!g.busy) next_command();
}

static void on_lost(struct px_pool *pool, struct px_node *n, void *arg)
{
    (void)pool;
    (void)arg;
    g.lost++;
    printf("lost node %u\n", n->id);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: stripe_driver FAAS_URL PREFIX NODES D P\n");
        return 2;
    }
    cm_log_init("stripe_driver", getenv("VERBOSE") ? CM_LOG_DEBUG : CM_LOG_ERROR);
    uv_loop_init(&g.loop);
    if (px_invoker_init(&g.iv, &g.loop, argv[1]) != 0) return 1;
    struct px_pool_config cfg = {.listen_host = "127.0.0.1", .function_prefix = argv[2],
                                 .nodes = (unsigned)atoi(argv[3]), .idle_ms = 5000, .tick_ms = 1,
                                 .hello_timeout_ms = 10000, .invoke_timeout_ms = 120000};
    if (px_pool_init(&g.pool, &g.loop, &g.iv, &cfg) != 0) return 1;
    g.pool.on_instance_lost = on_lost;
    if (px_stripe_init(&g.st, &g.loop, &g.pool, atoi(argv[4]), atoi(argv[5]), 64 * 1024) != 0) return 1;
    uv_pipe_init(&g.loop, &g.in, 0);
    uv_pipe_open(&g.in, 0);
    uv_read_start((uv_stream_t *)&g.in, on_alloc, on_stdin);
    uv_run(&g.loop, UV_RUN_DEFAULT);
    px_stripe_free(&g.st);
    px_pool_free(&g.pool);
    return uv_loop_close(&g.loop) == 0 ? 0 : 1;
}
