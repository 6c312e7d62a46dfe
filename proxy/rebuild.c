/* proxy/rebuild.c — the index from the nodes' inventories. */
#include "proxy/rebuild.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/hash.h"
#include "common/log.h"

#define PAGE 4096
#define BUCKETS 65536

/* One version of one key, as the inventories show it. */
struct candidate {
    struct candidate *next;
    uint64_t hash;
    struct mcp_chunk_meta m;   /* m.key points at key below */
    uint64_t have;             /* chunks found */
    unsigned char key[MCP_FRAME_MAX_KEY];
    struct px_chunk_loc loc[]; /* d+p */
};

struct rebuild {
    struct px_cache *cache;
    uv_timer_t deadline;
    struct candidate **table;
    struct px_op *lists;       /* one LIST request per node, reused page after page */
    unsigned pending;          /* LIST requests out */
    int finished;
    int timer_open;            /* the deadline timer's close is not yet called back */
    uint64_t started_ms;
    struct px_rebuild_stats st;
    void (*done)(const struct px_rebuild_stats *st, void *arg);
    void *arg;
};

static uint64_t version_hash(const struct mcp_chunk_meta *m)
{
    return cm_hash64(m->key, m->key_len) ^ cm_mix64(m->version);
}

static void record(struct rebuild *rb, uint16_t node, const struct mcp_chunk_meta *m)
{
    rb->st.chunks_seen++;
    uint64_t h = version_hash(m);
    struct candidate **slot = &rb->table[h % BUCKETS], *cd;
    for (cd = *slot; cd != NULL; cd = cd->next)
        if (cd->hash == h && cd->m.version == m->version && cd->m.key_len == m->key_len &&
            memcmp(cd->key, m->key, m->key_len) == 0)
            break;
    if (cd == NULL) {
        cd = calloc(1, sizeof *cd + (size_t)(m->d + m->p) * sizeof cd->loc[0]);
        if (cd == NULL) return;
        cd->hash = h;
        cd->m = *m;
        memcpy(cd->key, m->key, m->key_len);
        cd->m.key = cd->key;
        cd->next = *slot;
        *slot = cd;
    } else if (cd->m.d != m->d || cd->m.p != m->p || cd->m.size != m->size) {
        return; /* disagrees with its siblings: not one of them */
    }
    cd->have |= (uint64_t)1 << m->index;
    cd->loc[m->index] = (struct px_chunk_loc){node, m->crc};
}

static void finish(struct rebuild *rb);

static void free_if_over(struct rebuild *rb)
{
    if (!rb->finished || rb->pending > 0 || rb->timer_open) return;
    free(rb->lists);
    free(rb);
}

static void on_listed(struct px_op *op, void *arg)
{
    struct rebuild *rb = arg;
    if (rb->finished) { /* past the deadline: nothing more is wanted */
        rb->pending--;
        free_if_over(rb);
        return;
    }
    if (op->status != MCP_ST_OK) {
        cm_warn("rebuild: node %u gave no inventory (%d)", op->node, op->status);
        rb->st.nodes_failed++;
    } else {
        const unsigned char *p = op->list_body;
        uint64_t left = op->reply_len;
        struct mcp_chunk_meta m;
        for (uint32_t i = 0; i < op->list_reply.count && left > 0; i++) {
            int used = mcp_list_record_decode(p, left, &m);
            if (used <= 0) break;
            record(rb, op->node, &m);
            p += used;
            left -= (uint64_t)used;
        }
        if (op->list_reply.next != 0) { /* the next page, with the same request */
            op->list.cursor = op->list_reply.next;
            px_pool_submit(rb->cache->pool, op->node, op);
            return;
        }
        rb->st.nodes_listed++;
    }
    if (--rb->pending == 0) finish(rb);
}

static void on_deadline(uv_timer_t *t)
{
    struct rebuild *rb = t->data;
    cm_warn("rebuild: %u nodes still listing at the deadline; their chunks count as missing", rb->pending);
    finish(rb);
}

static void timer_closed(uv_handle_t *h)
{
    struct rebuild *rb = h->data;
    rb->timer_open = 0;
    free_if_over(rb);
}

static void finish(struct rebuild *rb)
{
    struct px_cache *c = rb->cache;
    int64_t now = (int64_t)time(NULL);
    rb->st.highest_node = -1;
    for (size_t b = 0; b < BUCKETS; b++) {
        struct candidate *cd, *next;
        for (cd = rb->table[b]; cd != NULL; cd = next) {
            next = cd->next;
            int n = cd->m.d + cd->m.p;
            uint64_t all = PX_ALL_CHUNKS(n);
            int usable = cd->m.p == c->stripe->p && cd->m.d <= c->stripe->d_max && cd->m.size <= c->max_value &&
                         __builtin_popcountll(cd->have) >= cd->m.d && (cd->m.expiry == 0 || cd->m.expiry > now);
            if (usable && px_cache_adopt(c, &cd->m, cd->loc, all & ~cd->have)) {
                for (int i = 0; i < n; i++)
                    if (cd->have >> i & 1 && cd->loc[i].node > rb->st.highest_node) rb->st.highest_node = cd->loc[i].node;
            } else {
                /* stale, incomplete or foreign: its chunks only take room */
                uint16_t nodes[ECS_MAX_CHUNKS];
                for (int i = 0; i < n; i++) nodes[i] = cd->loc[i].node;
                px_stripe_notify(c->stripe, MCP_OP_DEL, cd->key, cd->m.key_len, cd->m.version, 0, cd->have, nodes);
                rb->st.discarded++;
            }
            free(cd);
        }
    }
    free(rb->table);
    rb->table = NULL;
    /* counted on the index: a key found in two complete versions is one object */
    for (struct px_object *o = c->index.lru_head; o != NULL; o = o->lru_next) {
        rb->st.objects++;
        rb->st.incomplete += o->missing != 0;
    }
    rb->finished = 1;
    rb->st.elapsed_ms = cm_now_ms() - rb->started_ms;
    uv_timer_stop(&rb->deadline);
    uv_close((uv_handle_t *)&rb->deadline, timer_closed);
    rb->done(&rb->st, rb->arg);
}

int px_rebuild_start(struct px_cache *c, unsigned nodes, uint64_t timeout_ms,
                     void (*done)(const struct px_rebuild_stats *st, void *arg), void *arg)
{
    struct rebuild *rb = calloc(1, sizeof *rb);
    if (rb == NULL) return -ENOMEM;
    rb->table = calloc(BUCKETS, sizeof *rb->table);
    rb->lists = calloc(nodes, sizeof *rb->lists);
    if (rb->table == NULL || rb->lists == NULL || nodes == 0) {
        free(rb->table);
        free(rb->lists);
        free(rb);
        return nodes == 0 ? -EINVAL : -ENOMEM;
    }
    rb->cache = c;
    rb->done = done;
    rb->arg = arg;
    rb->started_ms = cm_now_ms();
    uv_timer_init(c->loop, &rb->deadline);
    rb->deadline.data = rb;
    rb->timer_open = 1;
    uv_timer_start(&rb->deadline, on_deadline, timeout_ms, 0);
    rb->pending = nodes + 1; /* + 1 until every request is out: one may fail at once */
    for (unsigned i = 0; i < nodes; i++) {
        struct px_op *op = &rb->lists[i];
        op->op = MCP_OP_LIST;
        op->list = (struct mcp_list_req){.cursor = 0, .max = PAGE};
        op->cb = on_listed;
        op->arg = rb;
        px_pool_submit(c->pool, (uint16_t)i, op);
    }
    if (--rb->pending == 0) finish(rb);
    return 0;
}
