/* proxy/cache.c — memcached commands over the index and the stripe layer. */
#include "proxy/cache.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/container.h"
#include "common/hash.h"
#include "common/log.h"
#include "proxy/place.h"

static int64_t unix_now(void) { return (int64_t)time(NULL); }

int px_cache_init(struct px_cache *c, uv_loop_t *loop, struct px_stripe *stripe, uint16_t nnodes,
                  uint16_t max_nodes, uint64_t capacity, uint64_t node_capacity, uint64_t max_value)
{
    memset(c, 0, sizeof *c);
    if (nnodes < stripe->d_max + stripe->p) return -EINVAL; /* d+p distinct nodes per object */
    if (max_nodes < nnodes) max_nodes = nnodes;
    c->loop = loop;
    c->stripe = stripe;
    c->pool = stripe->pool;
    c->nnodes = nnodes;
    c->max_nodes = max_nodes;
    c->capacity = capacity;
    c->node_capacity = node_capacity;
    c->max_value = max_value;
    c->read_repair = 1;
    c->node_used = calloc(max_nodes, sizeof *c->node_used);
    c->eligible = calloc(max_nodes, 1);
    c->draining = calloc(max_nodes, 1);
    if (c->node_used == NULL || c->eligible == NULL || c->draining == NULL) return -ENOMEM;
    return px_index_init(&c->index);
}

/* Charge (sign +1) or release (-1) an object's chunks on their nodes. */
static void charge_nodes(struct px_cache *c, const struct px_object *o, int sign)
{
    const struct px_chunk_loc *loc = px_object_chunks((struct px_object *)o);
    for (int i = 0; i < o->d + o->p; i++) {
        if (sign > 0) c->node_used[loc[i].node] += o->chunk_len;
        else c->node_used[loc[i].node] -= o->chunk_len;
    }
}

void px_cache_resize(struct px_cache *c, unsigned n)
{
    c->nnodes = (uint16_t)n;
    if (c->pool != NULL) c->pool->nnodes = n;
}

int px_cache_node_usable(const struct px_cache *c, uint16_t i)
{
    return i < c->nnodes && !c->draining[i] && (c->pool == NULL || !px_node_dead(&c->pool->nodes[i]));
}

static int live_nodes(const struct px_cache *c)
{
    int n = 0;
    for (uint16_t i = 0; i < c->nnodes; i++) n += px_cache_node_usable(c, i);
    return n;
}

/* Nodes for a new object: rendezvous hashing over the nodes that are alive
 * and have room for one more chunk. Returns how many were found. */
static int place(struct px_cache *c, const char *key, size_t nkey, uint64_t chunk_len, int n, uint16_t *nodes)
{
    for (uint16_t i = 0; i < c->nnodes; i++)
        c->eligible[i] = c->node_used[i] + chunk_len <= c->node_capacity && px_cache_node_usable(c, i);
    return px_place(cm_hash64(key, nkey), c->eligible, c->nnodes, n, nodes);
}

static uint64_t object_bytes(const struct px_object *o) { return (uint64_t)(o->d + o->p) * o->chunk_len; }

uint64_t px_cache_chunk_bytes(const struct px_cache *c, uint64_t len)
{
    int d = px_stripe_width(c->stripe, len);
    return (uint64_t)(d + c->stripe->p) * ecs_chunk_len(d, len);
}

static void node_list(const struct px_object *o, uint16_t *nodes)
{
    const struct px_chunk_loc *loc = px_object_chunks((struct px_object *)o);
    for (int i = 0; i < o->d + o->p; i++) nodes[i] = loc[i].node;
}

/* The object's chunks go once no read uses them. */
static void destroy_if_idle(struct px_cache *c, struct px_object *o)
{
    if (!o->dead || o->readers > 0) return;
    uint16_t nodes[ECS_MAX_CHUNKS];
    node_list(o, nodes);
    px_stripe_notify(c->stripe, MCP_OP_DEL, px_object_key(o), o->key_len, o->version, 0, PX_ALL_CHUNKS(o->d + o->p),
                     nodes);
    px_object_free(o);
}

/* o has left the index (removed or replaced). */
static void retire(struct px_cache *c, struct px_object *o)
{
    o->dead = 1;
    c->used -= object_bytes(o);
    charge_nodes(c, o, -1);
    destroy_if_idle(c, o);
}

static void drop(struct px_cache *c, struct px_object *o)
{
    px_index_remove(&c->index, o);
    retire(c, o);
}

static int invalid(const struct px_cache *c, const struct px_object *o, int64_t now)
{
    if (px_object_expired(o, now)) return 1;
    return c->flush_at != 0 && now >= c->flush_at && (int64_t)o->stored_at <= c->flush_at;
}

/* The live object for a key; an expired or flushed one is dropped here. */
static struct px_object *live(struct px_cache *c, const char *key, size_t nkey, int count)
{
    struct px_object *o = px_index_peek(&c->index, key, nkey);
    if (o == NULL) return NULL;
    int64_t now = unix_now();
    if (invalid(c, o, now)) {
        if (count) {
            if (px_object_expired(o, now)) c->stats.get_expired++;
            else c->stats.get_flushed++;
        }
        drop(c, o);
        return NULL;
    }
    px_index_touch(&c->index, o);
    return o;
}

/* ---- reading an object ------------------------------------------------ */

typedef void (*repair_done_fn)(void *arg, uint64_t bytes);

struct fetch {
    struct px_read r;
    struct px_cache *c;
    struct px_object *o;
    struct px_value *rebuilt;  /* a read that decoded around lost chunks: to write them back */
    uint64_t lost;
    void (*then)(struct fetch *f, int status); /* 0: f->r.v holds the value */
    void *ctx;
    repair_done_fn repaired;   /* a background repair: told when it ends */
    void *repaired_arg;
};

static void note_damaged(struct px_cache *c, struct px_object *o)
{
    if (c->damaged != NULL) c->damaged(c, o, c->damaged_arg);
}

static void fetch_answer(struct px_read *r, int status)
{
    struct fetch *f = r->arg;
    struct px_cache *c = f->c;
    struct px_object *o = f->o;
    if (f->repaired == NULL) c->client_io--; /* answered: stragglers are no client's wait */
    if (status != 0 && __builtin_popcountll(r->lost & ~r->unreachable) <= o->p) {
        /* nodes that did not answer may still hold their chunks: a miss now, not a loss */
        c->stats.get_unavailable++;
        cm_warn("object \"%.*s\" unavailable: %d of %d chunks read, %d nodes not answering", (int)o->key_len,
                (const char *)px_object_key(o), __builtin_popcountll(r->good), o->d,
                __builtin_popcountll(r->unreachable));
    } else if (status != 0) {
        c->stats.objects_lost++;
        cm_warn("object \"%.*s\" unreadable: %d of %d chunks left", (int)o->key_len,
                (const char *)px_object_key(o), __builtin_popcountll(r->good), o->d);
        if (!o->dead) drop(c, o); /* a miss from now on, as for any cache */
    } else if (r->lost != 0 && !o->dead) {
        uint64_t newly = r->lost & ~o->missing; /* chunks this read found gone or corrupt */
        o->missing |= r->lost;
        if (!o->repairing && (c->read_repair || f->repaired != NULL)) {
            f->rebuilt = px_value_ref(r->v);
            f->lost = r->lost;
        } else if (newly) {
            note_damaged(c, o);
        }
    }
    f->then(f, status);
}

static void repair(struct px_cache *c, struct px_object *o, struct px_value *v, uint64_t lost, uint64_t read_bytes,
                   repair_done_fn done, void *arg);

static void fetch_done(struct px_read *r)
{
    struct fetch *f = r->arg;
    f->o->readers--;
    if (f->rebuilt != NULL) { /* every chunk op has finished: v is ours alone to re-encode */
        uint64_t read = f->repaired ? (uint64_t)f->o->d * f->o->chunk_len : 0;
        repair(f->c, f->o, f->rebuilt, f->lost, read, f->repaired, f->repaired_arg);
        px_value_unref(f->rebuilt);
    } else if (f->repaired != NULL) {
        f->repaired(f->repaired_arg, 0);
    }
    destroy_if_idle(f->c, f->o);
    free(f);
}

static struct fetch *fetch_start(struct px_cache *c, struct px_object *o, void (*then)(struct fetch *, int),
                                 void *ctx, void (*ready)(struct px_read *, uint64_t), repair_done_fn repaired,
                                 void *repaired_arg)
{
    struct fetch *f = calloc(1, sizeof *f);
    if (f == NULL) return NULL;
    f->c = c;
    f->o = o;
    f->then = then;
    f->ctx = ctx;
    f->repaired = repaired;
    f->repaired_arg = repaired_arg;
    if (repaired == NULL) c->client_io++;
    o->readers++;
    struct px_read *r = &f->r;
    const struct px_chunk_loc *loc = px_object_chunks(o);
    r->key = px_object_key(o);
    r->key_len = o->key_len;
    r->version = o->version;
    r->size = o->size;
    r->d = o->d;
    r->p = o->p;
    r->skip = o->missing;
    for (int i = 0; i < o->d + o->p; i++) {
        r->nodes[i] = loc[i].node;
        r->crc[i] = loc[i].crc;
    }
    r->answer = fetch_answer;
    r->done = fetch_done;
    r->ready = ready;
    r->arg = f;
    px_stripe_read(c->stripe, r);
    return f;
}

static void fetch(struct px_cache *c, struct px_object *o, void (*then)(struct fetch *, int), void *ctx,
                  void (*ready)(struct px_read *, uint64_t))
{
    if (fetch_start(c, o, then, ctx, ready, NULL, NULL) == NULL) {
        struct fetch stub = {.c = c, .o = o, .ctx = ctx};
        then(&stub, -ENOMEM);
    }
}

/* ---- repair ---------------------------------------------------------- */

/* Chunks a read had to do without are rebuilt and written back to the
 * nodes that should hold them (their new instances), or to other nodes
 * when theirs is dead or draining, without delaying the answer. */
struct repair_op {
    struct px_write w;
    struct px_cache *c;
    char key[PX_KEY_MAX];
    uint16_t was[ECS_MAX_CHUNKS];  /* each chunk's node before the repair */
    uint32_t crc[ECS_MAX_CHUNKS];  /* what the index says each chunk sums to */
    uint64_t read_bytes;
    repair_done_fn done;
    void *arg;
};

/* Where the lost chunks of o go: back to their nodes, unless those cannot
 * take them; then to other nodes holding no chunk of o. */
static void repair_targets(struct px_cache *c, struct px_object *o, uint64_t lost, uint16_t *nodes)
{
    const struct px_chunk_loc *loc = px_object_chunks(o);
    int n = o->d + o->p, prepared = 0;
    uint64_t hash = 0;
    for (int i = 0; i < n; i++) nodes[i] = loc[i].node;
    for (int i = 0; i < n; i++) {
        if (!(lost >> i & 1) || px_cache_node_usable(c, loc[i].node)) continue;
        if (!prepared) {
            for (uint16_t k = 0; k < c->nnodes; k++)
                c->eligible[k] = c->node_used[k] + o->chunk_len <= c->node_capacity && px_cache_node_usable(c, k);
            for (int j = 0; j < n; j++) c->eligible[loc[j].node] = 0; /* one chunk of an object per node */
            hash = cm_hash64(px_object_key(o), o->key_len);
            prepared = 1;
        }
        uint16_t to;
        if (px_place(hash + (uint64_t)i, c->eligible, c->nnodes, 1, &to) == 1) {
            nodes[i] = to;
            c->eligible[to] = 0;
        }
    }
}

static void repaired(struct px_write *w, int status)
{
    (void)status;
    struct repair_op *op = cm_container_of(w, struct repair_op, w);
    struct px_cache *c = op->c;
    uint64_t written = (uint64_t)__builtin_popcountll(w->only & ~w->failed) * w->v->chunk_len;
    c->stats.repair_bytes += written + op->read_bytes;
    struct px_object *o = px_index_peek(&c->index, op->key, w->key_len);
    if (o != NULL && !o->dead && o->version == w->version) {
        o->repairing = 0;
        struct px_chunk_loc *loc = px_object_chunks(o);
        uint64_t moved = 0;
        for (int i = 0; i < o->d + o->p; i++) {
            uint64_t bit = (uint64_t)1 << i;
            if (!(w->only & bit)) continue;
            if ((w->failed & bit) || w->v->crc[i] != op->crc[i]) {
                c->stats.repair_failures++;
                continue;
            }
            o->missing &= ~bit;
            c->stats.chunks_repaired++;
            if (w->nodes[i] != loc[i].node) { /* moved: the index follows, the old copy goes */
                c->node_used[loc[i].node] -= o->chunk_len;
                c->node_used[w->nodes[i]] += o->chunk_len;
                loc[i].node = w->nodes[i];
                c->stats.chunks_relocated++;
                moved |= bit;
            }
        }
        if (moved)
            px_stripe_notify(c->stripe, MCP_OP_DEL, (const unsigned char *)op->key, w->key_len, w->version, 0, moved,
                             op->was);
    }
    if (op->done != NULL) op->done(op->arg, written + op->read_bytes);
    free(op);
}

static void repair(struct px_cache *c, struct px_object *o, struct px_value *v, uint64_t lost, uint64_t read_bytes,
                   repair_done_fn done, void *arg)
{
    struct repair_op *op = o->dead || o->repairing ? NULL : calloc(1, sizeof *op);
    if (op == NULL) {
        if (done != NULL) done(arg, 0);
        return;
    }
    const struct px_chunk_loc *loc = px_object_chunks(o);
    op->c = c;
    op->read_bytes = read_bytes;
    op->done = done;
    op->arg = arg;
    memcpy(op->key, px_object_key(o), o->key_len);
    op->w = (struct px_write){.v = v, .key = (const unsigned char *)op->key, .key_len = o->key_len,
                              .version = o->version, .expiry = o->expiry, .flags = o->flags, .only = lost,
                              .done = repaired};
    for (int i = 0; i < o->d + o->p; i++) {
        op->crc[i] = loc[i].crc;
        op->was[i] = loc[i].node;
    }
    repair_targets(c, o, lost, op->w.nodes);
    cm_debug("repair \"%.*s\" v%" PRIu64 ": chunks %#" PRIx64 " (%s)", (int)o->key_len, op->key, o->version, lost,
             read_bytes ? "background" : "after a read");
    o->repairing = 1;
    px_stripe_write(c->stripe, &op->w); /* re-encodes the parity, checksums, sends the lost ones */
}

static void repair_read(struct fetch *f, int status)
{
    (void)f;
    (void)status; /* an unreadable object was dropped by fetch_answer */
}

int px_cache_repair(struct px_cache *c, struct px_object *o, repair_done_fn done, void *arg)
{
    if (o->dead || o->repairing || o->missing == 0) return -EALREADY;
    return fetch_start(c, o, repair_read, NULL, NULL, done, arg) != NULL ? 0 : -ENOMEM;
}

void px_cache_node_lost(struct px_cache *c, uint16_t node)
{
    uint64_t marked = 0, dropped = 0;
    struct px_object *o, *next;
    for (o = c->index.lru_head; o != NULL; o = next) {
        next = o->lru_next;
        const struct px_chunk_loc *loc = px_object_chunks(o);
        uint64_t before = o->missing;
        for (int i = 0; i < o->d + o->p; i++)
            if (loc[i].node == node) o->missing |= (uint64_t)1 << i;
        if (o->missing == before) continue;
        marked += (uint64_t)__builtin_popcountll(o->missing & ~before);
        if (__builtin_popcountll(o->missing) > o->p) { /* fewer than d left: gone, as for any cache */
            c->stats.objects_lost++;
            dropped++;
            drop(c, o);
        } else {
            note_damaged(c, o);
        }
    }
    cm_info("node %u lost its memory: %" PRIu64 " chunks missing, %" PRIu64 " objects lost", node, marked, dropped);
}

int px_cache_adopt(struct px_cache *c, const struct mcp_chunk_meta *m, const struct px_chunk_loc *loc,
                   uint64_t missing)
{
    struct px_object *cur = px_index_peek(&c->index, m->key, m->key_len);
    if (cur != NULL && cur->version >= m->version) return 0;
    struct px_object *o = px_object_new(m->key, m->key_len, m->d, m->p);
    if (o == NULL) return 0;
    o->cas = o->version = m->version;
    o->size = m->size;
    o->expiry = m->expiry;
    o->flags = m->flags;
    o->chunk_len = (uint32_t)ecs_chunk_len(m->d, m->size);
    o->stored_at = o->last_access = (uint32_t)unix_now();
    o->missing = missing;
    memcpy(px_object_chunks(o), loc, (size_t)(m->d + m->p) * sizeof *loc);
    struct px_object *old = px_index_insert(&c->index, o);
    c->used += object_bytes(o);
    charge_nodes(c, o, +1);
    if (old != NULL) retire(c, old);
    if (c->next_cas < m->version) c->next_cas = m->version; /* new versions stay newer */
    c->stats.objects_adopted++;
    if (missing) note_damaged(c, o);
    return 1;
}

/* ---- get ------------------------------------------------------------- */

static void get_ready(struct px_read *r, uint64_t upto)
{
    struct fetch *f = r->arg;
    struct px_get *g = f->ctx;
    if (g->value == NULL) {
        f->c->stats.gets_streamed++;
        g->value = px_value_ref(r->v);
    }
    g->part(g, upto);
}

static void get_fetched(struct fetch *f, int status)
{
    struct px_get *g = f->ctx;
    if (status != 0) {
        f->c->stats.get_misses++;
        g->done(g, PX_MISS);
        return;
    }
    f->c->stats.get_hits++;
    if (g->value == NULL) g->value = px_value_ref(f->r.v);
    g->flags = f->o->flags;
    g->cas = f->o->cas;
    g->done(g, PX_HIT);
}

static void touch_chunks(struct px_cache *c, struct px_object *o)
{
    uint16_t nodes[ECS_MAX_CHUNKS];
    node_list(o, nodes);
    px_stripe_notify(c->stripe, MCP_OP_TOUCH, px_object_key(o), o->key_len, o->version, o->expiry,
                     PX_ALL_CHUNKS(o->d + o->p), nodes);
}

/* What must still hold when a write's chunks are in. */
enum cond { COND_NONE, COND_ABSENT, COND_PRESENT, COND_CAS };
struct write_op;
static void vivified(struct write_op *op, enum px_result r);
static void write_value(struct px_cache *c, const char *key, size_t nkey, uint32_t flags, int64_t expiry,
                        struct px_value *v, enum cond cond, uint64_t expect_cas, enum px_result lost_race,
                        void (*finish)(struct write_op *, enum px_result), void *ctx);

/* mg N on a miss: an empty item, whose creator is told to fill it (W). */
static void vivify(struct px_cache *c, struct px_get *g)
{
    struct px_value *v = px_value_new(0, 1, c->stripe->p);
    if (v == NULL) {
        g->done(g, PX_FAILED);
        return;
    }
    g->empty = px_value_ref(v);
    write_value(c, g->key, g->nkey, 0, px_expiry_from(g->vivify_ttl, unix_now()), v, COND_ABSENT, 0,
                PX_NOT_STORED, vivified, g);
}

void px_cache_get(struct px_cache *c, struct px_get *g)
{
    c->stats.cmd_get++;
    if (g->touch) c->stats.cmd_touch++;
    g->value = g->empty = NULL;
    g->fetched = g->stale = g->token_sent = g->win = 0;
    struct px_object *o = live(c, g->key, g->nkey, 1);
    if (o == NULL) {
        if (g->vivify) {
            vivify(c, g);
            return;
        }
        c->stats.get_misses++;
        if (g->touch) c->stats.touch_misses++;
        g->done(g, PX_MISS);
        return;
    }
    int64_t now = unix_now();
    if (g->touch) {
        c->stats.touch_hits++;
        o->expiry = px_expiry_from(g->exptime, now);
        touch_chunks(c, o);
    }
    g->flags = o->flags;
    g->cas = o->cas;
    g->size = o->size;
    g->expiry = o->expiry;
    g->last_access = (uint32_t)(now - o->last_access);
    g->fetched = o->fetched;
    g->stale = o->stale;
    g->token_sent = o->token_sent;
    if (o->stale && !o->token_sent) { /* the first reader of a stale item recaches it */
        g->win = 1;
        o->token_sent = 1;
    }
    o->fetched = 1;
    o->last_access = (uint32_t)now;
    if (g->no_value) {
        c->stats.get_hits++;
        g->done(g, PX_HIT);
        return;
    }
    fetch(c, o, get_fetched, g, g->part != NULL && o->size >= PX_STREAM_MIN ? get_ready : NULL);
}

/* ---- writing an object ----------------------------------------------- */


struct write_op {
    struct px_write w;
    struct px_cache *c;
    enum cond cond;
    uint64_t expect_cas;
    enum px_result lost_race;  /* answer when the condition fails */
    void (*finish)(struct write_op *op, enum px_result r);
    void *ctx;
    char key[PX_KEY_MAX];
    size_t nkey;
    uint32_t flags;
    int64_t expiry;
    int vivified;              /* created by mg N: its first reader won the recache */
};

static void evict_for(struct px_cache *c, uint64_t bytes)
{
    struct px_object *o;
    while (c->used + bytes > c->capacity && (o = px_index_lru(&c->index)) != NULL) {
        c->stats.evictions++;
        drop(c, o);
    }
}

static int holds(struct px_cache *c, struct write_op *op)
{
    struct px_object *cur = live(c, op->key, op->nkey, 0);
    switch (op->cond) {
    case COND_NONE: return 1;
    case COND_ABSENT: return cur == NULL;
    case COND_PRESENT: return cur != NULL;
    case COND_CAS: return cur != NULL && cur->cas == op->expect_cas;
    }
    return 0;
}

static void written(struct px_write *w, int status)
{
    struct write_op *op = w->arg;
    struct px_cache *c = op->c;
    c->client_io--;
    struct px_value *v = w->v;
    int n = v->d + v->p;
    /* up to p chunks refused (a node lost mid-write): the object is readable,
     * stored with those chunks missing, and repair re-creates them */
    if (status != 0 && w->failed != ~(uint64_t)0 && __builtin_popcountll(w->failed) <= v->p) {
        c->stats.stores_degraded++;
        status = 0;
    }
    if (status != 0 || !holds(c, op)) {
        /* our chunks are not wanted: failed, or another client won */
        px_stripe_notify(c->stripe, MCP_OP_DEL, (const unsigned char *)op->key, (uint16_t)op->nkey, w->version,
                         0, PX_ALL_CHUNKS(n), w->nodes);
        if (status != 0) {
            c->stats.store_failures++;
            cm_warn("store of \"%.*s\" failed: chunks %#" PRIx64 " of %d refused or unanswered", (int)op->nkey,
                    op->key, w->failed, n);
        }
        else c->stats.lost_races++;
        op->finish(op, status != 0 ? PX_FAILED : op->lost_race);
        free(op);
        return;
    }
    struct px_object *o = px_object_new(op->key, op->nkey, v->d, v->p);
    if (o == NULL) {
        px_stripe_notify(c->stripe, MCP_OP_DEL, (const unsigned char *)op->key, (uint16_t)op->nkey, w->version,
                         0, PX_ALL_CHUNKS(n), w->nodes);
        op->finish(op, PX_NO_MEMORY);
        free(op);
        return;
    }
    o->cas = o->version = w->version;
    o->size = v->len;
    o->expiry = op->expiry;
    o->flags = op->flags;
    o->chunk_len = (uint32_t)v->chunk_len;
    o->stored_at = o->last_access = (uint32_t)unix_now();
    struct px_chunk_loc *loc = px_object_chunks(o);
    for (int i = 0; i < n; i++) loc[i] = (struct px_chunk_loc){w->nodes[i], v->crc[i]};
    o->token_sent = op->vivified;
    o->missing = w->failed;
    struct px_object *old = px_index_insert(&c->index, o);
    c->used += object_bytes(o);
    charge_nodes(c, o, +1);
    if (old != NULL) retire(c, old);
    if (o->missing) note_damaged(c, o);
    op->finish(op, PX_STORED);
    free(op);
}

/* Store v (taken) under key with the given condition. */
static void write_value(struct px_cache *c, const char *key, size_t nkey, uint32_t flags, int64_t expiry,
                        struct px_value *v, enum cond cond, uint64_t expect_cas, enum px_result lost_race,
                        void (*finish)(struct write_op *, enum px_result), void *ctx)
{
    struct write_op *op = calloc(1, sizeof *op);
    uint64_t bytes = (uint64_t)(v->d + v->p) * v->chunk_len;
    if (op == NULL || bytes > c->capacity) {
        struct write_op stub = {.c = c, .ctx = ctx};
        px_value_unref(v);
        free(op);
        finish(&stub, bytes > c->capacity ? PX_TOO_LARGE : PX_NO_MEMORY);
        return;
    }
    evict_for(c, bytes);
    op->c = c;
    op->cond = cond;
    op->expect_cas = expect_cas;
    op->lost_race = lost_race;
    op->finish = finish;
    op->ctx = ctx;
    op->vivified = finish == vivified;
    memcpy(op->key, key, nkey);
    op->nkey = nkey;
    op->flags = flags;
    op->expiry = expiry;
    struct px_write *w = &op->w;
    w->v = v;
    w->key = (const unsigned char *)op->key;
    w->key_len = (uint16_t)nkey;
    w->version = ++c->next_cas;
    w->expiry = expiry;
    w->flags = flags;
    /* nodes full: make room by eviction, as memcached does at its limit;
     * too few live nodes is a failure eviction cannot cure */
    struct px_object *victim;
    while (place(c, key, nkey, v->chunk_len, v->d + v->p, w->nodes) < v->d + v->p) {
        if (c->no_room != NULL && c->no_room(c, c->no_room_arg)) continue; /* grown: try the new nodes */
        if (live_nodes(c) < v->d + v->p) {
            cm_warn("store of \"%.*s\" failed: %d live nodes for %d chunks", (int)nkey, key, live_nodes(c), v->d + v->p);
            px_value_unref(v);
            finish(op, PX_FAILED);
            free(op);
            return;
        }
        if ((victim = px_index_lru(&c->index)) == NULL) {
            px_value_unref(v);
            finish(op, PX_NO_MEMORY);
            free(op);
            return;
        }
        c->stats.evictions++;
        drop(c, victim);
    }
    w->done = written;
    w->arg = op;
    c->stats.cmd_set++;
    c->client_io++;
    px_stripe_write(c->stripe, w);
    px_value_unref(v); /* the write holds its own reference */
}

static void vivified(struct write_op *op, enum px_result r)
{
    struct px_get *g = op->ctx;
    if (r != PX_STORED) {
        px_value_unref(g->empty);
        g->empty = NULL;
        g->done(g, r == PX_NOT_STORED ? PX_MISS : PX_FAILED);
        return;
    }
    g->value = g->empty;
    g->empty = NULL;
    g->cas = op->w.version;
    g->flags = 0;
    g->size = 0;
    g->expiry = op->expiry;
    g->win = 1;
    g->done(g, PX_HIT);
}

/* ---- set / add / replace / cas / append / prepend ---------------------- */

static void store_finished(struct write_op *op, enum px_result r)
{
    struct px_store *s = op->ctx;
    s->cas = op->w.version;
    if ((s->mode == PX_CAS || s->has_cas) && r == PX_STORED) op->c->stats.cas_hits++;
    s->done(s, r);
}

static void concat_fetched(struct fetch *f, int status)
{
    struct px_store *s = f->ctx;
    struct px_cache *c = f->c;
    struct px_value *add = s->value;
    if (status != 0) {
        px_value_unref(add);
        s->done(s, PX_NOT_STORED);
        return;
    }
    struct px_value *old = f->r.v;
    uint64_t len = old->len + add->len;
    if (len > c->max_value) {
        px_value_unref(add);
        s->done(s, PX_TOO_LARGE);
        return;
    }
    int d = px_stripe_width(c->stripe, len);
    struct px_value *v = px_value_new_pooled(&c->stripe->buffers, len, d, c->stripe->p);
    if (v == NULL) {
        px_value_unref(add);
        s->done(s, PX_NO_MEMORY);
        return;
    }
    const struct px_value *first = s->mode == PX_APPEND ? old : add, *second = s->mode == PX_APPEND ? add : old;
    memcpy(v->data, first->data, first->len);
    memcpy(v->data + first->len, second->data, second->len);
    px_value_unref(add);
    /* append keeps the item's flags and expiry, as memcached does */
    write_value(c, s->key, s->nkey, f->o->flags, f->o->expiry, v, COND_CAS, f->o->cas, PX_NOT_STORED,
                store_finished, s);
}

static void refuse(struct px_store *s, enum px_result r)
{
    px_value_unref(s->value);
    s->done(s, r);
}

void px_cache_store(struct px_cache *c, struct px_store *s)
{
    struct px_object *cur = live(c, s->key, s->nkey, 0);
    enum px_store_mode mode = s->mode;
    enum cond cond = COND_NONE;
    enum px_result lost = PX_NOT_STORED;
    /* A CAS compare comes first (memcached: text cas, meta C with S/R,
     * binary CAS); append and prepend only refuse a mismatch. */
    if (s->has_cas == PX_CAS_ALL || ((s->has_cas || mode == PX_CAS) && mode != PX_ADD)) {
        if ((mode == PX_APPEND || mode == PX_PREPEND) && s->has_cas != PX_CAS_ALL) {
            if (cur != NULL && cur->cas != s->cas_in) return refuse(s, PX_EXISTS);
        } else if (cur == NULL) {
            c->stats.cas_misses++;
            return refuse(s, PX_NOT_FOUND);
        } else if (cur->cas != s->cas_in) {
            c->stats.cas_badval++;
            return refuse(s, PX_EXISTS);
        } else if (mode != PX_APPEND && mode != PX_PREPEND) {
            cond = COND_CAS;
            lost = PX_EXISTS;
        }
    }
    switch (mode) {
    case PX_SET: case PX_CAS: break;
    case PX_ADD:
        if (cur != NULL) {
            px_index_touch(&c->index, cur);
            return refuse(s, PX_NOT_STORED);
        }
        cond = COND_ABSENT;
        break;
    case PX_REPLACE:
        if (cur == NULL) return refuse(s, PX_NOT_STORED);
        if (cond == COND_NONE) cond = COND_PRESENT;
        break;
    case PX_APPEND:
    case PX_PREPEND:
        if (cur == NULL) return refuse(s, PX_NOT_STORED);
        fetch(c, cur, concat_fetched, s, NULL);
        return;
    }
    write_value(c, s->key, s->nkey, s->flags, px_expiry_from(s->exptime, unix_now()), s->value, cond,
                s->cas_in, lost, store_finished, s);
}

/* ---- incr / decr ------------------------------------------------------ */

/* memcached's rule: optional leading blanks, digits that fit in 64 bits,
 * then a blank or the end. */
static int parse_counter(const unsigned char *p, uint64_t len, uint64_t *out)
{
    uint64_t i = 0, v = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t')) i++;
    uint64_t start = i;
    for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
        if (v > (UINT64_MAX - (p[i] - '0')) / 10) return -1;
        v = v * 10 + (p[i] - '0');
    }
    if (i == start || (i < len && p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')) return -1;
    *out = v;
    return 0;
}

static void arith_finished(struct write_op *op, enum px_result r)
{
    struct px_arith *a = op->ctx;
    a->cas = op->w.version;
    a->expiry = op->expiry;
    /* another client changed the value meanwhile: memcached would have
     * applied both; answer as if ours came first but was overwritten */
    a->done(a, r == PX_STORED ? PX_STORED : r == PX_NOT_STORED ? PX_NOT_FOUND : r);
}

static void arith_fetched(struct fetch *f, int status)
{
    struct px_arith *a = f->ctx;
    struct px_cache *c = f->c;
    if (status != 0) {
        if (a->incr) c->stats.incr_misses++;
        else c->stats.decr_misses++;
        a->done(a, PX_NOT_FOUND);
        return;
    }
    const struct px_value *old = f->r.v;
    uint64_t v;
    if (old->len == 0 || parse_counter(old->data, old->len, &v) != 0) {
        a->done(a, PX_NON_NUMERIC);
        return;
    }
    if (a->incr) c->stats.incr_hits++;
    else c->stats.decr_hits++;
    v = a->incr ? v + a->delta : (a->delta > v ? 0 : v - a->delta);
    a->value = v;
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
    /* a shorter number keeps the old length, padded with blanks (memcached) */
    uint64_t len = (uint64_t)n <= old->len ? old->len : (uint64_t)n;
    int d = px_stripe_width(c->stripe, len);
    struct px_value *nv = px_value_new(len, d, c->stripe->p);
    if (nv == NULL) {
        a->done(a, PX_NO_MEMORY);
        return;
    }
    memcpy(nv->data, digits, (size_t)n);
    memset(nv->data + n, ' ', len - (uint64_t)n);
    int64_t expiry = a->touch ? px_expiry_from(a->exptime, unix_now()) : f->o->expiry;
    write_value(c, a->key, a->nkey, f->o->flags, expiry, nv, COND_CAS, f->o->cas, PX_NOT_STORED, arith_finished, a);
}

static void arith_created(struct write_op *op, enum px_result r)
{
    struct px_arith *a = op->ctx;
    a->created = r == PX_STORED;
    a->value = a->initial;
    a->cas = op->w.version;
    a->expiry = op->expiry;
    a->done(a, r == PX_NOT_STORED ? PX_NOT_FOUND : r);
}

void px_cache_arith(struct px_cache *c, struct px_arith *a)
{
    a->created = 0;
    struct px_object *cur = live(c, a->key, a->nkey, 0);
    if (cur == NULL) {
        if (a->vivify) { /* ma N / binary incr with an expiration: start at the initial value */
            char digits[24];
            int n = snprintf(digits, sizeof digits, "%" PRIu64, a->initial);
            struct px_value *v = px_value_new((uint64_t)n, 1, c->stripe->p);
            if (v == NULL) {
                a->done(a, PX_NO_MEMORY);
                return;
            }
            memcpy(v->data, digits, (size_t)n);
            write_value(c, a->key, a->nkey, 0, px_expiry_from(a->vivify_ttl, unix_now()), v, COND_ABSENT, 0,
                        PX_NOT_STORED, arith_created, a);
            return;
        }
        if (a->incr) c->stats.incr_misses++;
        else c->stats.decr_misses++;
        a->done(a, PX_NOT_FOUND);
        return;
    }
    if (cur->size == 0) { /* memcached: an empty value is non-numeric, before any CAS check */
        a->done(a, PX_NON_NUMERIC);
        return;
    }
    if (a->has_cas && cur->cas != a->cas_in) {
        a->done(a, PX_EXISTS);
        return;
    }
    fetch(c, cur, arith_fetched, a, NULL);
}

/* ---- delete / touch / flush ------------------------------------------ */

enum px_result px_cache_delete(struct px_cache *c, const char *key, size_t nkey)
{
    struct px_object *o = live(c, key, nkey, 0);
    if (o == NULL) {
        c->stats.delete_misses++;
        return PX_NOT_FOUND;
    }
    c->stats.delete_hits++;
    drop(c, o);
    return PX_DELETED;
}

enum px_result px_cache_delete_meta(struct px_cache *c, const char *key, size_t nkey, int has_cas,
                                    uint64_t cas_in, int invalidate, int ttl_set, int32_t ttl)
{
    struct px_object *o = live(c, key, nkey, 0);
    if (o == NULL) {
        c->stats.delete_misses++;
        return PX_NOT_FOUND;
    }
    if (has_cas && o->cas != cas_in) return PX_EXISTS;
    if (!invalidate) {
        c->stats.delete_hits++;
        drop(c, o);
        return PX_DELETED;
    }
    /* stale, not gone: readers still get it, and one of them is asked to recache */
    o->stale = 1;
    o->token_sent = 0;
    o->cas = ++c->next_cas;
    if (ttl_set) {
        o->expiry = px_expiry_from(ttl, unix_now());
        touch_chunks(c, o);
    }
    return PX_DELETED;
}

enum px_result px_cache_touch(struct px_cache *c, const char *key, size_t nkey, int32_t exptime)
{
    c->stats.cmd_touch++;
    struct px_object *o = live(c, key, nkey, 0);
    if (o == NULL) {
        c->stats.touch_misses++;
        return PX_NOT_FOUND;
    }
    c->stats.touch_hits++;
    o->expiry = px_expiry_from(exptime, unix_now());
    touch_chunks(c, o);
    return PX_TOUCHED;
}

void px_cache_flush(struct px_cache *c, int32_t delay)
{
    c->stats.cmd_flush++;
    if (delay > 0) {
        c->flush_at = px_expiry_from(delay, unix_now());
        return;
    }
    c->flush_at = 0;
    struct px_object *o;
    while ((o = px_index_lru(&c->index)) != NULL) drop(c, o);
}

void px_cache_free(struct px_cache *c)
{
    /* the nodes go with the fleet; only the index's memory is ours */
    px_index_free(&c->index);
    free(c->node_used);
    free(c->eligible);
    free(c->draining);
}
