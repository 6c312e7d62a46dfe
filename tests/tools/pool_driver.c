/* tests/tools/pool_driver.c — drives proxy/pool.c against a real platform
 * and real nodes, for tests/integration/test_node.py.
 *
 * usage: pool_driver FAAS_URL PREFIX NODES CHUNK_BYTES [--pause]
 *
 * Phases, each over every node at once: PUT a chunk, GET it back and
 * compare, LIST, then (with --pause) print "PAUSED" and wait for a line on
 * stdin (the test reclaims instances meanwhile) and GET again, then DEL and
 * GET (expect not found). Prints one line per finding; exits 0 when every
 * expectation held. Instances lost are counted and printed at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "proxy/invoker.h"
#include "proxy/pool.h"

enum phase { PUT, GET, LIST, PAUSE_GET, DEL, GET_GONE, DONE };
static const char *const phase_names[] = {"put", "get", "list", "get-after-pause", "del", "get-gone", "done"};

struct slot {
    struct px_op op;
    int gone; /* its node lost the chunk */
    char key[32];
    unsigned char *data, *back;
};

struct driver {
    uv_loop_t loop;
    struct px_invoker iv;
    struct px_pool pool;
    struct slot *slots;
    unsigned n, pending, failures, lost, lost_reported;
    size_t chunk;
    int pause;
    enum phase phase;
};

static struct driver d;

static void start_phase(void);

static void on_op(struct px_op *op, void *arg)
{
    struct slot *s = arg;
    unsigned i = (unsigned)(s - d.slots);
    int expect_missing = d.phase == GET_GONE || (d.phase == PAUSE_GET && d.lost_reported > 0 && op->status == MCP_ST_NOT_FOUND);
    int ok;
    switch (d.phase) {
    case PUT: ok = op->status == MCP_ST_OK; break;
    case DEL: ok = op->status == MCP_ST_OK || (s->gone && op->status == MCP_ST_NOT_FOUND); break;
    case GET: case PAUSE_GET:
        ok = expect_missing ? 1
                            : op->status == MCP_ST_OK && op->reply_len == d.chunk &&
                                  memcmp(s->back, s->data, d.chunk) == 0 && op->reply.crc == (uint32_t)i;
        if (d.phase == PAUSE_GET && op->status == MCP_ST_NOT_FOUND) {
            printf("node %u: chunk gone\n", i);
            s->gone = 1;
        }
        break;
    case GET_GONE: ok = op->status == MCP_ST_NOT_FOUND; break;
    case LIST:
        ok = op->status == MCP_ST_OK && op->list_reply.count >= 1;
        break;
    default: ok = 0;
    }
    if (!ok) {
        d.failures++;
        printf("FAIL %s node %u: status %d (%s)\n", phase_names[d.phase], i, op->status,
               op->status < 0 ? strerror(-op->status) : mcp_frame_status_text(op->status));
    }
    if (--d.pending == 0) {
        printf("phase %s: done\n", phase_names[d.phase]);
        fflush(stdout);
        d.phase++;
        if (d.phase == PAUSE_GET && !d.pause) d.phase++;
        start_phase();
    }
}

static void on_lost(struct px_pool *pool, struct px_node *n, void *arg)
{
    (void)pool;
    (void)arg;
    d.lost++;
    printf("node %u: instance lost\n", n->id);
}

static void closed_pool(struct px_pool *p) { (void)p; }
static void closed_iv(struct px_invoker *iv) { (void)iv; }

static void start_phase(void)
{
    if (d.phase == DONE) {
        px_pool_close(&d.pool, closed_pool);
        px_invoker_close(&d.iv, closed_iv);
        return;
    }
    if (d.phase == PAUSE_GET) {
        printf("PAUSED\n");
        fflush(stdout);
        char line[64];
        if (fgets(line, sizeof line, stdin) == NULL) exit(2);
        d.lost_reported = 1;
    }
    d.pending = d.n;
    for (unsigned i = 0; i < d.n; i++) {
        struct slot *s = &d.slots[i];
        memset(&s->op, 0, sizeof s->op);
        s->op.cb = on_op;
        s->op.arg = s;
        s->op.meta = (struct mcp_chunk_meta){.version = 1, .size = d.chunk, .crc = i, .index = 0, .d = 1,
                                              .p = 0, .key_len = (uint16_t)strlen(s->key),
                                              .key = (const unsigned char *)s->key};
        switch (d.phase) {
        case PUT: s->op.op = MCP_OP_PUT; s->op.body = s->data; s->op.body_len = d.chunk; break;
        case GET: case PAUSE_GET: case GET_GONE:
            s->op.op = MCP_OP_GET;
            memset(s->back, 0, d.chunk);
            s->op.dest = s->back;
            s->op.dest_cap = d.chunk;
            break;
        case LIST: s->op.op = MCP_OP_LIST; s->op.list = (struct mcp_list_req){0, 100}; break;
        case DEL: s->op.op = MCP_OP_DEL; break;
        default: break;
        }
        px_pool_submit(&d.pool, (uint16_t)i, &s->op);
    }
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: pool_driver FAAS_URL PREFIX NODES CHUNK_BYTES [--pause]\n");
        return 2;
    }
    cm_log_init("pool_driver", getenv("VERBOSE") ? CM_LOG_DEBUG : CM_LOG_WARN);
    d.n = (unsigned)atoi(argv[3]);
    d.chunk = (size_t)strtoull(argv[4], NULL, 10);
    d.pause = argc > 5 && strcmp(argv[5], "--pause") == 0;
    d.slots = calloc(d.n, sizeof *d.slots);
    for (unsigned i = 0; i < d.n; i++) {
        snprintf(d.slots[i].key, sizeof d.slots[i].key, "chunk-%u", i);
        d.slots[i].data = malloc(d.chunk + 1);
        d.slots[i].back = malloc(d.chunk + 1);
        for (size_t b = 0; b < d.chunk; b++) d.slots[i].data[b] = (unsigned char)(b * 31 + i);
    }
    uv_loop_init(&d.loop);
    if (px_invoker_init(&d.iv, &d.loop, argv[1]) != 0) return 1;
    struct px_pool_config cfg = {.listen_host = "127.0.0.1", .function_prefix = argv[2], .nodes = d.n,
                                 .idle_ms = 2000, .tick_ms = 1, .hello_timeout_ms = 10000,
                                 .invoke_timeout_ms = 60000};
    int rc = px_pool_init(&d.pool, &d.loop, &d.iv, &cfg);
    if (rc != 0) {
        fprintf(stderr, "pool: %s\n", uv_strerror(rc));
        return 1;
    }
    d.pool.on_instance_lost = on_lost;
    start_phase();
    uv_run(&d.loop, UV_RUN_DEFAULT);
    px_pool_free(&d.pool);
    int loop_rc = uv_loop_close(&d.loop);
    printf("failures %u, instances lost %u, loop closed %s\n", d.failures, d.lost, loop_rc == 0 ? "cleanly" : "with handles open");
    for (unsigned i = 0; i < d.n; i++) {
        free(d.slots[i].data);
        free(d.slots[i].back);
    }
    free(d.slots);
    return d.failures == 0 && loop_rc == 0 ? 0 : 1;
}
