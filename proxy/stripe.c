/* proxy/stripe.c — write and read erasure-coded objects over the pool. */
#include "proxy/stripe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/container.h"
#include "common/log.h"

/* A buffer of at least need bytes: a pooled one not more than twice too
 * big, or a new one (large ones rounded up to whole MiB, to be reusable). */
static unsigned char *buf_get(struct px_bufpool *pool, size_t need, size_t *cap)
{
    if (pool != NULL && need >= PX_POOL_MIN) {
        int best = -1;
        for (unsigned i = 0; i < pool->n; i++)
            if (pool->slot[i].cap >= need && pool->slot[i].cap <= 2 * need &&
                (best < 0 || pool->slot[i].cap < pool->slot[best].cap))
                best = (int)i;
        if (best >= 0) {
            unsigned char *b = pool->slot[best].buf;
            *cap = pool->slot[best].cap;
            pool->bytes -= *cap;
            pool->slot[best] = pool->slot[--pool->n];
            pool->hits++;
            return b;
        }
        pool->misses++;
        need = (need + PX_POOL_MIN - 1) & ~(PX_POOL_MIN - 1);
    }
    *cap = need;
    return aligned_alloc(ECS_ALIGN, (need + ECS_ALIGN - 1) & ~(size_t)(ECS_ALIGN - 1));
}

/* Keep b for reuse, making room by freeing smaller buffers: a large one
 * costs the most to fault in again, and mixed sizes must not crowd it out. */
static void buf_put(struct px_bufpool *pool, unsigned char *b, size_t cap)
{
    if (b == NULL) return;
    if (pool == NULL || cap < PX_POOL_MIN || cap > pool->max_bytes) {
        free(b);
        return;
    }
    while (pool->n == PX_POOL_SLOTS || pool->bytes + cap > pool->max_bytes) {
        unsigned smallest = 0;
        for (unsigned i = 1; i < pool->n; i++)
            if (pool->slot[i].cap < pool->slot[smallest].cap) smallest = i;
        if (pool->slot[smallest].cap >= cap) {
            free(b);
            return;
        }
        free(pool->slot[smallest].buf);
        pool->bytes -= pool->slot[smallest].cap;
        pool->slot[smallest] = pool->slot[--pool->n];
    }
    pool->slot[pool->n++] = (struct px_pooled){b, cap};
    pool->bytes += cap;
}

void px_bufpool_free(struct px_bufpool *pool)
{
    for (unsigned i = 0; i < pool->n; i++) free(pool->slot[i].buf);
    pool->n = 0;
    pool->bytes = 0;
}

struct px_value *px_value_new_pooled(struct px_bufpool *pool, uint64_t len, int d, int p)
{
    size_t chunk_len = ecs_chunk_len(d, len);
    if (d < 1 || p < 0 || d + p > ECS_MAX_CHUNKS || chunk_len > ECS_MAX_CHUNK_LEN) return NULL;
    struct px_value *v = calloc(1, sizeof *v);
    if (v == NULL) return NULL;
    v->refs = 1;
    v->pool = pool;
    v->len = len;
    v->d = d;
    v->p = p;
    v->chunk_len = chunk_len;
    /* at least one byte each, so a 0-byte object has real buffers */
    v->data = buf_get(pool, chunk_len ? (size_t)d * chunk_len : ECS_ALIGN, &v->data_cap);
    v->parity = buf_get(pool, chunk_len && p ? (size_t)p * chunk_len : ECS_ALIGN, &v->parity_cap);
    if (v->data == NULL || v->parity == NULL) {
        buf_put(pool, v->data, v->data_cap);
        buf_put(pool, v->parity, v->parity_cap);
        free(v);
        return NULL;
    }
    return v;
}

struct px_value *px_value_new(uint64_t len, int d, int p) { return px_value_new_pooled(NULL, len, d, p); }

struct px_value *px_value_ref(struct px_value *v)
{
    v->refs++;
    return v;
}

void px_value_unref(struct px_value *v)
{
    if (v == NULL || --v->refs > 0) return;
    buf_put(v->pool, v->data, v->data_cap);
    buf_put(v->pool, v->parity, v->parity_cap);
    free(v);
}

unsigned char *px_value_chunk(struct px_value *v, int i)
{
    return i < v->d ? v->data + (size_t)i * v->chunk_len : v->parity + (size_t)(i - v->d) * v->chunk_len;
}

int px_stripe_init(struct px_stripe *st, uv_loop_t *loop, struct px_pool *pool, int d_max, int p,
                   size_t min_chunk)
{
    memset(st, 0, sizeof *st);
    if (d_max < 1 || p < 0 || d_max + p > ECS_MAX_CHUNKS) return -EINVAL;
    st->loop = loop;
    st->pool = pool;
    st->d_max = d_max;
    st->p = p;
    st->min_chunk = min_chunk;
    st->offload_bytes = 256 * 1024;
    st->buffers.max_bytes = (uint64_t)1 << 30;
    return 0;
}

void px_stripe_free(struct px_stripe *st)
{
    px_bufpool_free(&st->buffers);
    for (int d = 1; d <= ECS_MAX_CHUNKS; d++) ecs_code_free(&st->codes[d]);
}

struct ecs_code *px_stripe_code(struct px_stripe *st, int d)
{
    if (d < 1 || d + st->p > ECS_MAX_CHUNKS) return NULL;
    struct ecs_code *c = &st->codes[d];
    if (c->matrix == NULL && ecs_code_init(c, d, st->p) != 0) return NULL;
    return c;
}

int px_stripe_width(const struct px_stripe *st, uint64_t len) { return ecs_adaptive_d(len, st->d_max, st->min_chunk); }

static unsigned char *copy_key(unsigned char *buf, const unsigned char *key, uint16_t len)
{
    memcpy(buf, key, len);
    return buf;
}

/* ---- write ----------------------------------------------------------- */

/* A large object is coded off the loop by two jobs at once (the loop and
 * the nodes wait for them): one sums the data chunks, which then leave at
 * once, the other encodes the parity and sums it. */
static void sum_data(struct px_value *v)
{
    for (int i = 0; i < v->d; i++) v->crc[i] = ecs_crc(px_value_chunk(v, i), v->chunk_len);
}

static void encode_parity(struct px_stripe *st, struct px_value *v)
{
    unsigned char *data[ECS_MAX_CHUNKS], *parity[ECS_MAX_CHUNKS];
    for (int i = 0; i < v->d; i++) data[i] = px_value_chunk(v, i);
    for (int i = 0; i < v->p; i++) parity[i] = px_value_chunk(v, v->d + i);
    ecs_encode(&st->codes[v->d], v->chunk_len, data, parity);
    for (int i = v->d; i < v->d + v->p; i++) v->crc[i] = ecs_crc(px_value_chunk(v, i), v->chunk_len);
}

static void write_finish_maybe(struct px_write *w)
{
    if (w->pending > 0 || w->coding > 0) return;
    struct px_value *v = w->v;
    free(w->ops);
    w->ops = NULL;
    w->done(w, w->failed ? -EIO : 0);
    px_value_unref(v);
}

static void on_put(struct px_op *op, void *arg)
{
    struct px_write *w = arg;
    if (op->status != MCP_ST_OK) {
        w->failed |= (uint64_t)1 << (op - w->ops);
        cm_debug("put of chunk %d to node %u failed: %d", (int)(op - w->ops), op->node, op->status);
    }
    w->pending--;
    write_finish_maybe(w);
}

/* PUT the chunks of `which` that this write stores. */
static void send_chunks(struct px_write *w, uint64_t which)
{
    struct px_value *v = w->v;
    uint64_t chunks = w->only & which;
    for (int i = 0; i < v->d + v->p; i++) {
        if (!(chunks >> i & 1)) continue;
        struct px_op *op = &w->ops[i];
        memset(op, 0, sizeof *op);
        op->op = MCP_OP_PUT;
        op->meta = (struct mcp_chunk_meta){.version = w->version, .size = v->len, .expiry = w->expiry,
                                           .flags = w->flags, .crc = v->crc[i], .index = (uint8_t)i,
                                           .d = (uint8_t)v->d, .p = (uint8_t)v->p, .key_len = w->key_len,
                                           .key = w->keybuf};
        op->body = px_value_chunk(v, i);
        op->body_len = v->chunk_len;
        op->cb = on_put;
        op->arg = w;
    }
    for (int i = 0; i < v->d + v->p; i++)
        if (chunks >> i & 1) px_pool_submit(w->st->pool, w->nodes[i], &w->ops[i]);
}

static void sum_work(uv_work_t *req) { sum_data(cm_container_of(req, struct px_write, summing)->v); }

static void encode_work(uv_work_t *req)
{
    struct px_write *w = cm_container_of(req, struct px_write, encoding);
    encode_parity(w->st, w->v);
}

static void summed(uv_work_t *req, int status)
{
    (void)status;
    struct px_write *w = cm_container_of(req, struct px_write, summing);
    send_chunks(w, PX_ALL_CHUNKS(w->v->d)); /* PUTs may be answered at once (a closing pool): */
    w->coding--;                             /* this job still counts, so w outlives them */
    write_finish_maybe(w);
}

static void encoded(uv_work_t *req, int status)
{
    (void)status;
    struct px_write *w = cm_container_of(req, struct px_write, encoding);
    send_chunks(w, PX_ALL_CHUNKS(w->v->d + w->v->p) & ~PX_ALL_CHUNKS(w->v->d)); /* as in summed() */
    w->coding--;
    write_finish_maybe(w);
}

void px_stripe_write(struct px_stripe *st, struct px_write *w)
{
    struct px_value *v = w->v;
    int n = v->d + v->p;
    w->st = st;
    w->failed = 0;
    px_value_ref(v);
    w->key = copy_key(w->keybuf, w->key, w->key_len);
    w->ops = calloc((size_t)n, sizeof *w->ops);
    w->only = w->only ? w->only : PX_ALL_CHUNKS(n);
    w->pending = __builtin_popcountll(w->only);
    w->coding = 0;
    if (w->ops == NULL || px_stripe_code(st, v->d) == NULL || v->p != st->p) {
        w->pending = 0;
        w->failed = ~(uint64_t)0;
        write_finish_maybe(w);
        return;
    }
    unsigned char *data[ECS_MAX_CHUNKS];
    ecs_stripe_split(v->d, v->data, v->len, data); /* zeroes the padding both jobs read */
    w->coding = 2; /* both callbacks run, even if one of the jobs could not be queued */
    if (v->len < st->offload_bytes || uv_queue_work(st->loop, &w->summing, sum_work, summed) != 0) {
        sum_data(v);
        summed(&w->summing, 0);
    }
    if (v->len < st->offload_bytes || uv_queue_work(st->loop, &w->encoding, encode_work, encoded) != 0) {
        encode_parity(st, v);
        encoded(&w->encoding, 0);
    }
}

/* ---- read ------------------------------------------------------------ */

/* A streamed read takes its data chunks in order, this many at a time
 * (the others wait in the kernel's buffers), so the first ones are in early
 * and the client's copy overlaps the nodes'. */
#define STREAM_WINDOW 2

static void read_done_maybe(struct px_read *r)
{
    if (r->outstanding > 0 || !r->answered || r->decoding) return;
    px_value_unref(r->v);
    r->v = NULL;
    free(r->ops);
    r->ops = NULL;
    r->done(r);
}

/* Chunks still on their way are no longer wanted: their bytes are dropped
 * as they come, never landing in slots being rebuilt or sent. */
static void detach_outstanding(struct px_read *r)
{
    for (int i = 0; i < r->d + r->p; i++)
        if ((r->asked & ~(r->good | r->lost)) >> i & 1) px_pool_detach(r->st->pool, &r->ops[i]);
}

/* Callers end with read_done_maybe(), which may free r. */
static void answer(struct px_read *r, int status)
{
    detach_outstanding(r);
    r->answered = 1;
    r->answer(r, status);
}

static uint64_t missing_data(const struct px_read *r)
{
    return PX_ALL_CHUNKS(r->d) & ~r->good;
}

static void decode_work(uv_work_t *req)
{
    struct px_read *r = cm_container_of(req, struct px_read, work);
    unsigned char *chunks[ECS_MAX_CHUNKS];
    for (int i = 0; i < r->d + r->p; i++) chunks[i] = px_value_chunk(r->v, i);
    if (ecs_decode(&r->st->codes[r->d], r->v->chunk_len, chunks, r->good, missing_data(r)) != 0)
        r->good = 0; /* cannot happen with d good chunks; answered as a miss */
}

static void decode_done(uv_work_t *req, int status)
{
    (void)status;
    struct px_read *r = cm_container_of(req, struct px_read, work);
    r->decoding = 0;
    answer(r, r->good ? 0 : -ENOENT);
    read_done_maybe(r);
}

/* Enough chunks, or too few left to hope: answer, or get ready to. */
static void read_progress(struct px_read *r)
{
    if (r->answered || r->decoding) return;
    int good = __builtin_popcountll(r->good);
    if (good < r->d) {
        int pending = __builtin_popcountll(r->asked & ~(r->good | r->lost));
        if (good + pending < r->d) answer(r, -ENOENT);
        return;
    }
    uint64_t missing = missing_data(r);
    /* a streamed read holds back its later data chunks: parity stands in
     * only for lost ones, not for those it is waiting for by choice */
    if (r->ready != NULL && missing != 0 && !(r->lost & PX_ALL_CHUNKS(r->d))) return;
    detach_outstanding(r);
    if (missing == 0) {
        answer(r, 0);
        return;
    }
    r->st->decodes++;
    if (r->v->len >= r->st->offload_bytes &&
        uv_queue_work(r->st->loop, &r->work, decode_work, decode_done) == 0) {
        r->decoding = 1;
        return;
    }
    decode_work(&r->work);
    answer(r, r->good ? 0 : -ENOENT);
}

/* Let the held chunks below `upto` be read. */
static void release(struct px_read *r, int upto)
{
    for (int i = 0; i < upto && i < r->d + r->p; i++)
        if (r->ops[i].hold && (r->asked >> i & 1)) px_pool_release(r->st->pool, &r->ops[i]);
}

/* Report the data chunks verified so far, in order, up to the first gap,
 * and let the next ones in. */
static void report_ready(struct px_read *r)
{
    int k = r->ready_chunks;
    while (k < r->d && (r->good >> k & 1)) k++;
    if (k == r->ready_chunks) return;
    r->ready_chunks = k;
    release(r, k + STREAM_WINDOW);
    uint64_t upto = (uint64_t)k * r->v->chunk_len;
    r->ready(r, upto < r->v->len ? upto : r->v->len);
}

static void on_get(struct px_op *op, void *arg)
{
    struct px_read *r = arg;
    int i = (int)(op - r->ops);
    uint64_t bit = (uint64_t)1 << i;
    r->outstanding--;
    if (!r->answered && !r->decoding && !(r->good & bit)) { /* while decoding, stragglers were detached */
        if (op->status == MCP_ST_OK && op->reply_len == r->v->chunk_len &&
            op->reply.version == r->version && op->crc == r->crc[i]) {
            r->good |= bit;
            if (r->ready != NULL && i < r->d) report_ready(r);
        } else {
            if (op->status == MCP_ST_OK) r->st->bad_chunks++;
            cm_debug("chunk %d of \"%.*s\" v%llu from node %u: status %d", i, (int)r->key_len, r->keybuf,
                     (unsigned long long)r->version, op->node, op->status);
            r->lost |= bit;
            if (op->status < 0) r->unreachable |= bit;
            release(r, r->d + r->p); /* a decode needs every chunk it can get */
        }
        read_progress(r);
    }
    read_done_maybe(r);
}

void px_stripe_read(struct px_stripe *st, struct px_read *r)
{
    r->st = st;
    r->good = r->lost = r->asked = r->unreachable = 0;
    r->answered = r->decoding = r->ready_chunks = 0;
    r->key = copy_key(r->keybuf, r->key, r->key_len);
    r->v = px_stripe_code(st, r->d) != NULL && r->p == st->p ? px_value_new_pooled(&st->buffers, r->size, r->d, r->p)
                                                               : NULL;
    r->ops = r->v != NULL ? calloc((size_t)(r->d + r->p), sizeof *r->ops) : NULL;
    if (r->ops == NULL) {
        r->outstanding = 0;
        answer(r, -ENOMEM);
        read_done_maybe(r);
        return;
    }
    int n = r->d + r->p;
    r->outstanding = 0;
    for (int i = 0; i < n; i++) {
        if (r->skip >> i & 1) {
            r->lost |= (uint64_t)1 << i;
            continue;
        }
        struct px_op *op = &r->ops[i];
        memset(op, 0, sizeof *op);
        op->op = MCP_OP_GET;
        op->meta = (struct mcp_chunk_meta){.version = r->version, .index = (uint8_t)i, .key_len = r->key_len,
                                           .key = r->keybuf};
        op->dest = px_value_chunk(r->v, i);
        op->dest_cap = r->v->chunk_len;
        op->hold = r->ready != NULL && i >= STREAM_WINDOW; /* first the leading chunks, then parity if need be */
        op->cb = on_get;
        op->arg = r;
        r->asked |= (uint64_t)1 << i;
        r->outstanding++;
    }
    if (r->outstanding == 0) {
        answer(r, -ENOENT);
        read_done_maybe(r);
        return;
    }
    /* submit after counting: a callback may run before the loop ends */
    int left = r->outstanding;
    for (int i = 0; i < n && left > 0; i++)
        if (r->asked >> i & 1) {
            left--;
            px_pool_submit(st->pool, r->nodes[i], &r->ops[i]);
        }
}

/* ---- delete, touch ---------------------------------------------------- */

struct deleter {
    int pending;
    unsigned char key[MCP_FRAME_MAX_KEY];
    struct px_op ops[]; /* n of them */
};

static void on_deleted(struct px_op *op, void *arg)
{
    (void)op;
    struct deleter *del = arg;
    if (--del->pending == 0) free(del);
}

void px_stripe_notify(struct px_stripe *st, uint8_t opcode, const unsigned char *key, uint16_t key_len,
                      uint64_t version, int64_t expiry, uint64_t chunks, const uint16_t *nodes)
{
    int n = __builtin_popcountll(chunks);
    struct deleter *del = n > 0 ? calloc(1, sizeof *del + (size_t)n * sizeof del->ops[0]) : NULL;
    if (del == NULL) return;
    memcpy(del->key, key, key_len);
    del->pending = n;
    int k = 0;
    for (int i = 0; i < 64 && k < n; i++) {
        if (!(chunks >> i & 1)) continue;
        struct px_op *op = &del->ops[k++];
        op->op = opcode;
        op->node = nodes[i];
        op->meta = (struct mcp_chunk_meta){.version = version, .index = (uint8_t)i, .expiry = expiry,
                                           .key_len = key_len, .key = del->key};
        op->cb = on_deleted;
        op->arg = del;
    }
    for (int i = 0; i < n; i++) px_pool_submit(st->pool, del->ops[i].node, &del->ops[i]);
}
