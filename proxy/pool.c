/* proxy/pool.c — node connections and invocations.
 *
 *   px_pool_submit(op) --> node.queue --(connected)--> uv_write --> node.inflight
 *          |                                                           |
 *          +--(sleeping)--> invoke(serve, token)                reply (in order)
 *                                 |                                    |
 *   accept --> unclaimed --hello+token--> node.conn            op.cb(op) once
 *
 * A connection that drops puts its in-flight requests back at the head of
 * the queue (every node request is idempotent) and the node is invoked
 * again; a request that has failed three times is answered with an error.
 *
 * Requests for a node made during one loop turn leave in one uv_write,
 * after the turn's I/O (a uv_check handle): many clients' small requests
 * cost one system call per node instead of one each.
 */
#include "proxy/pool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/clock.h"
#include "common/container.h"
#include "common/log.h"
#include "common/stream.h"
#include "ec/ecs.h"

#define READ_BUF 65536
/* A held chunk is read anyway after this long: the read it belongs to is
 * waiting for a chunk that is late, and may need every other one. */
#define HOLD_MAX_MS 200
/* A chunk lands at most this much per read, to be checksummed while hot. */
#define LAND_MAX ((size_t)512 << 10)
#define MAX_TRIES 3
#define UNCLAIMED_TIMEOUT_MS 5000

struct px_node_conn {
    uv_tcp_t tcp;
    struct px_pool *pool;
    struct px_node *node;          /* NULL until its hello is accepted */
    struct px_node_conn *next;     /* in pool->unclaimed */
    uint64_t accepted_ms;
    uint64_t heard_ms;             /* last bytes from the node, or the request that broke a quiet spell */
    size_t last_queued;            /* bytes waiting to be written, at the watchdog's last look */
    int closing, bye;
    int paused;                    /* not reading: the reply in progress is held ... */
    uint64_t paused_ms;            /* ... since then */
    struct mcp_frame_reader rd;
    struct px_op *cur;             /* the request whose reply is being read */
    struct px_op *unsent, *unsent_tail; /* queued for this turn's write */
    struct px_node_conn *dirty_next;
    int dirty;
    struct mcp_frame_inbuf in;     /* over rbuf */
    unsigned char rbuf[READ_BUF];
};

/* One uv_write carrying the requests a connection gathered in a turn. */
struct write_batch {
    uv_write_t req;
    struct px_node_conn *conn;
    unsigned n;
    struct px_op *ops[];
};

/* A frame the pool sends on its own behalf (hello replies). */
struct ctl_write {
    uv_write_t req;
    struct px_node_conn *conn;
    int close_after;
    unsigned char buf[MCP_FRAME_HEADER_LEN];
};

static const char *const state_names[] = {
#define PX_NODE_NAME(name, text) text,
    PX_NODE_STATES(PX_NODE_NAME)
#undef PX_NODE_NAME
};

const char *px_node_state_name(enum px_node_state s) { return state_names[s]; }

int px_node_dead(const struct px_node *n) { return n->failures_in_row >= PX_NODE_DEAD_AFTER; }

static void node_kick(struct px_node *n);

static void update_reading(struct px_node_conn *c);

static void handle_gone(struct px_pool *pool)
{
    if (--pool->open_handles == 0 && pool->on_closed != NULL) pool->on_closed(pool);
}

static void listener_closed(uv_handle_t *h) { handle_gone(h->data); }

static void conn_closed(uv_handle_t *h)
{
    struct px_node_conn *c = h->data;
    struct px_pool *pool = c->pool;
    free(c);
    handle_gone(pool);
}

static void timer_closed(uv_handle_t *h) { handle_gone(((struct px_node *)h->data)->pool); }

static void update_state(struct px_node *n)
{
    if (n->conn != NULL && !n->conn->bye) n->state = PX_NODE_CONNECTED;
    else if (n->conn != NULL) n->state = PX_NODE_RETURNING;
    else if (n->invoking) n->state = n->token[0] ? PX_NODE_INVOKING : PX_NODE_RETURNING;
    else n->state = PX_NODE_SLEEPING;
}

/* Answer an op; the caller's callback may free it. */
static void op_done(struct px_op *op, int status)
{
    unsigned char *list_body = op->list_body;
    op->status = status;
    op->cb(op, op->arg);
    free(list_body);
}

/* libuv calls a write back on a later loop turn, possibly after the reply
 * to that very request has been read: the op (and the body it borrows)
 * must outlive the write, so the answer waits for the write callback. */
static void complete(struct px_op *op, int status)
{
    op->status = status;
    if (op->writing) op->replied = 1;
    else op_done(op, status);
}

static void fail_list(struct px_op **head, struct px_op **tail, int status)
{
    struct px_op *op = *head;
    *head = *tail = NULL;
    while (op != NULL) {
        struct px_op *next = op->next;
        complete(op, status);
        op = next;
    }
}

static void push_back(struct px_op **head, struct px_op **tail, struct px_op *op)
{
    op->next = NULL;
    if (*tail) (*tail)->next = op;
    else *head = op;
    *tail = op;
}

static struct px_op *pop_front(struct px_op **head, struct px_op **tail)
{
    struct px_op *op = *head;
    if (op != NULL) {
        *head = op->next;
        if (*head == NULL) *tail = NULL;
        op->next = NULL;
    }
    return op;
}

static void conn_close(struct px_node_conn *c, const char *why)
{
    if (c->closing) return;
    c->closing = 1;
    struct px_pool *pool = c->pool;
    struct px_node *n = c->node;
    struct px_op *unsent = c->unsent;
    c->unsent = c->unsent_tail = NULL;
    while (unsent != NULL) { /* never written: nothing will call them back */
        struct px_op *op = unsent;
        unsent = op->wnext;
        op->writing = 0;
        if (op->replied) op_done(op, op->status);
    }
    if (c->dirty) {
        for (struct px_node_conn **l = &pool->dirty; *l; l = &(*l)->dirty_next)
            if (*l == c) {
                *l = c->dirty_next;
                break;
            }
        c->dirty = 0;
    }
    if (n == NULL) { /* unclaimed */
        for (struct px_node_conn **l = &pool->unclaimed; *l; l = &(*l)->next)
            if (*l == c) {
                *l = c->next;
                break;
            }
    } else {
        cm_debug("node %s: connection closed: %s", n->function, why);
        n->conn = NULL;
        /* Requests sent but not answered go back to the head of the queue. */
        struct px_op *retry = NULL, *retry_tail = NULL, *op;
        while ((op = pop_front(&n->inflight, &n->inflight_tail)) != NULL) {
            if (++op->tries >= MAX_TRIES) complete(op, -ECONNRESET);
            else push_back(&retry, &retry_tail, op);
        }
        if (retry != NULL) {
            retry_tail->next = n->queue;
            if (n->queue == NULL) n->queue_tail = retry_tail;
            n->queue = retry;
        }
    }
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
    if (n != NULL) node_kick(n);
}

static void on_ctl_written(uv_write_t *req, int status)
{
    struct ctl_write *w = cm_container_of(req, struct ctl_write, req);
    if (w->close_after || status < 0) conn_close(w->conn, "refused hello");
    free(w);
}

static void send_ctl(struct px_node_conn *c, uint8_t op, uint8_t status, uint32_t seq, int close_after)
{
    struct ctl_write *w = malloc(sizeof *w);
    if (w == NULL) {
        conn_close(c, "out of memory");
        return;
    }
    w->conn = c;
    w->close_after = close_after;
    struct mcp_frame_header h = {op, status, 0, seq, 0};
    mcp_frame_header_encode(w->buf, &h);
    uv_buf_t b = uv_buf_init((char *)w->buf, sizeof w->buf);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_ctl_written) < 0) {
        free(w);
        conn_close(c, "write failed");
    }
}

static void on_batch_written(uv_write_t *req, int status)
{
    struct write_batch *b = cm_container_of(req, struct write_batch, req);
    struct px_node_conn *c = b->conn;
    for (unsigned i = 0; i < b->n; i++) {
        struct px_op *op = b->ops[i];
        op->writing = 0;
        if (op->replied) op_done(op, op->status);
    }
    free(b);
    if (status < 0 && status != UV_ECANCELED) conn_close(c, uv_strerror(status));
}

/* Write what each connection gathered this loop turn, in one uv_write. */
static void on_flush(uv_check_t *h)
{
    struct px_pool *pool = h->data;
    uv_check_stop(h);
    while (pool->dirty != NULL) {
        struct px_node_conn *c = pool->dirty;
        pool->dirty = c->dirty_next;
        c->dirty = 0;
        unsigned n = 0;
        for (struct px_op *op = c->unsent; op != NULL; op = op->wnext) n++;
        struct write_batch *b = malloc(sizeof *b + n * sizeof b->ops[0]);
        uv_buf_t *bufs = malloc(2 * n * sizeof *bufs);
        if (b == NULL || bufs == NULL) {
            free(b);
            free(bufs);
            conn_close(c, "out of memory");
            continue;
        }
        b->conn = c;
        b->n = 0;
        unsigned nb = 0;
        for (struct px_op *op = c->unsent; op != NULL; op = op->wnext) {
            b->ops[b->n++] = op;
            size_t meta_len = (size_t)(op->head[4] << 8 | op->head[5]);
            bufs[nb++] = uv_buf_init((char *)op->head, (unsigned)(MCP_FRAME_HEADER_LEN + meta_len));
            if (op->op == MCP_OP_PUT && op->body_len > 0)
                bufs[nb++] = uv_buf_init((char *)op->body, (unsigned)op->body_len);
        }
        c->unsent = c->unsent_tail = NULL;
        int rc = cm_stream_write(&b->req, (uv_stream_t *)&c->tcp, bufs, nb, on_batch_written); /* copies bufs */
        free(bufs);
        if (rc != 0) { /* written already (no reply can have come), or failed */
            for (unsigned i = 0; i < b->n; i++) b->ops[i]->writing = 0;
            free(b);
            if (rc < 0) conn_close(c, "write failed");
        }
    }
}

static void send_op(struct px_node *n, struct px_op *op)
{
    struct px_pool *pool = n->pool;
    struct px_node_conn *c = n->conn;
    int meta_len = 0;
    uint64_t body_len = 0;
    unsigned char *meta = op->head + MCP_FRAME_HEADER_LEN;
    size_t room = sizeof op->head - MCP_FRAME_HEADER_LEN;
    if (op->op == MCP_OP_LIST) meta_len = mcp_list_req_encode(meta, room, &op->list);
    else if (op->op != MCP_OP_PING) meta_len = mcp_chunk_meta_encode(meta, room, &op->meta);
    if (op->op == MCP_OP_PUT) body_len = op->body_len;
    if (meta_len < 0) {
        op_done(op, -EINVAL);
        return;
    }
    op->seq = ++pool->next_seq;
    if (n->inflight == NULL) c->heard_ms = cm_now_ms(); /* the silence clock starts with the first request */
    struct mcp_frame_header h = {op->op, 0, (uint16_t)meta_len, op->seq, body_len};
    mcp_frame_header_encode(op->head, &h);
    push_back(&n->inflight, &n->inflight_tail, op);
    op->writing = 1;
    op->replied = 0;
    op->wnext = NULL;
    if (c->unsent_tail) c->unsent_tail->wnext = op;
    else c->unsent = op;
    c->unsent_tail = op;
    if (!c->dirty) {
        c->dirty = 1;
        c->dirty_next = pool->dirty;
        pool->dirty = c;
        uv_check_start(&pool->flusher, on_flush);
    }
}

static void on_hello_timeout(uv_timer_t *t)
{
    struct px_node *n = t->data;
    cm_warn("node %s: no hello within %llu ms; failing %s requests", n->function,
            (unsigned long long)n->pool->cfg.hello_timeout_ms, n->queue ? "its" : "no");
    n->token[0] = 0; /* a late dial-back is refused */
    fail_list(&n->queue, &n->queue_tail, -ETIMEDOUT);
    update_state(n);
}

/* The platform ended the instance itself (AWS and fncache-faas use these
 * error types): whatever it held is gone. */
static int instance_died(const struct px_invoke_result *r)
{
    static const char *const deaths[] = {"Runtime.ExitError", "Sandbox.Timedout", "Runtime.OutOfMemory"};
    if (r->function_error == NULL) return 0;
    for (size_t i = 0; i < sizeof deaths / sizeof deaths[0]; i++)
        if (strstr(r->body, deaths[i]) != NULL) return 1;
    return 0;
}

/* Throttled, or the platform could not be reached: worth trying again. */
static int retryable(const struct px_invoke_result *r)
{
    return r->http_status == 429 || r->http_status >= 500 || r->transport_error != 0;
}

static void lose_instance(struct px_node *n)
{
    n->instances_lost++;
    n->known = 0; /* the next hello starts afresh, not counted again */
    cm_info("node %s: its instance ended: its chunks are gone", n->function);
    if (n->pool->on_instance_lost) n->pool->on_instance_lost(n->pool, n, n->pool->owner);
}

static void on_retry(uv_timer_t *t) { node_kick(t->data); }

/* Exponential backoff with full jitter: 20 ms doubling up to 2 s. */
static uint64_t backoff_ms(unsigned retries)
{
    uint64_t cap = 20ull << (retries < 7 ? retries : 7);
    if (cap > 2000) cap = 2000;
    uint32_t r;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) r = 0;
    return 1 + r % cap;
}

static void on_invoked(const struct px_invoke_result *r, void *arg)
{
    struct px_node *n = arg;
    struct px_pool *pool = n->pool;
    n->invoking = 0;
    n->invoked_ms += r->elapsed_ms;
    uv_timer_stop(&n->hello_timer);
    n->token[0] = 0;
    if (pool->closing) return;
    if (!r->ok) {
        n->invoke_failures++;
        cm_warn("node %s: invocation failed: %s%s%s (HTTP %ld) %.200s", n->function,
                r->transport_text ? r->transport_text : "", r->error_type ? r->error_type : "",
                r->function_error ? r->function_error : "", r->http_status, r->body);
        if (instance_died(r) && n->known) lose_instance(n);
    }
    if (n->hello_seen) {
        n->failures_in_row = n->retries = 0;
        n->retry_until_ms = 0;
    } else if (!r->ok && retryable(r) && n->queue != NULL) {
        /* the platform, not the node, is in trouble: back off and retry
         * until the hello timeout, without counting the node as failing */
        uint64_t now = cm_now_ms();
        if (n->retry_until_ms == 0) n->retry_until_ms = now + pool->cfg.hello_timeout_ms;
        if (r->http_status == 429) n->throttles++;
        if (now < n->retry_until_ms) {
            uv_timer_start(&n->retry_timer, on_retry, backoff_ms(n->retries++), 0);
            update_state(n);
            return;
        }
    } else {
        n->failures_in_row++;
    }
    n->retry_until_ms = 0;
    n->retries = 0;
    /* An invocation that ended without its node ever dialing back cannot
     * serve what waited for it. */
    if (!n->hello_seen && n->conn == NULL)
        fail_list(&n->queue, &n->queue_tail, r->ok ? -EPROTO : -EHOSTUNREACH);
    node_kick(n);
}

static void invoke(struct px_node *n)
{
    struct px_pool *pool = n->pool;
    uint8_t raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
        fail_list(&n->queue, &n->queue_tail, -EIO);
        return;
    }
    for (int i = 0; i < 16; i++) sprintf(n->token + 2 * i, "%02x", raw[i]);
    char payload[512];
    snprintf(payload, sizeof payload,
             "{\"cmd\":\"serve\",\"proxy\":\"%s\",\"token\":\"%s\",\"idle_ms\":%llu,\"tick_ms\":%llu}",
             pool->advertise, n->token, (unsigned long long)pool->cfg.idle_ms,
             (unsigned long long)pool->cfg.tick_ms);
    int rc = px_invoke(pool->invoker, n->function, payload, 0, pool->cfg.invoke_timeout_ms, on_invoked, n);
    if (rc < 0) {
        n->token[0] = 0;
        fail_list(&n->queue, &n->queue_tail, rc);
        return;
    }
    n->invoking = 1;
    n->hello_seen = 0;
    n->invocations++;
    uv_timer_start(&n->hello_timer, on_hello_timeout, pool->cfg.hello_timeout_ms, 0);
}

static void node_kick(struct px_node *n)
{
    if (!n->pool->closing) {
        if (n->conn != NULL && !n->conn->bye && !n->conn->closing) {
            struct px_op *op;
            while (n->conn != NULL && (op = pop_front(&n->queue, &n->queue_tail)) != NULL) send_op(n, op);
        } else if (n->queue != NULL && !n->invoking && !n->warming && n->conn == NULL &&
                   !uv_is_active((uv_handle_t *)&n->retry_timer)) {
            invoke(n);
        }
    }
    update_state(n);
}

void px_pool_submit(struct px_pool *pool, uint16_t node, struct px_op *op)
{
    op->status = 0;
    op->tries = 0;
    op->detached = 0;
    op->writing = op->replied = 0;
    op->list_body = NULL;
    op->reply_len = 0;
    op->node = node;
    if (pool->closing || node >= pool->nnodes) {
        op_done(op, pool->closing ? -ECANCELED : -EINVAL);
        return;
    }
    struct px_node *n = &pool->nodes[node];
    push_back(&n->queue, &n->queue_tail, op);
    if (n->conn != NULL && n->conn->paused) update_reading(n->conn);
    node_kick(n);
}

static struct px_node *node_named(struct px_pool *pool, const char *name, size_t len)
{
    for (unsigned i = 0; i < pool->cfg.max_nodes; i++)
        if (strlen(pool->nodes[i].function) == len && memcmp(pool->nodes[i].function, name, len) == 0)
            return &pool->nodes[i];
    return NULL;
}

/* A hello or a warm-up answer named the node's instance: a new one lost
 * everything the old one held. */
static void note_instance(struct px_node *n, const uint8_t *instance)
{
    int lost = n->known && memcmp(n->instance, instance, MCP_FRAME_INSTANCE_LEN) != 0;
    memcpy(n->instance, instance, MCP_FRAME_INSTANCE_LEN);
    n->known = 1;
    if (lost) lose_instance(n);
}

static void on_warmed(const struct px_invoke_result *r, void *arg)
{
    struct px_node *n = arg;
    n->warming = 0;
    n->invoked_ms += r->elapsed_ms;
    if (n->pool->closing) return;
    /* the answer is {"instance":"<32 hex digits>",...} */
    const char *at = r->ok ? strstr(r->body, "\"instance\":\"") : NULL;
    uint8_t instance[MCP_FRAME_INSTANCE_LEN];
    int ok = at != NULL;
    for (int i = 0; ok && i < MCP_FRAME_INSTANCE_LEN; i++) {
        unsigned byte;
        ok = sscanf(at + 12 + 2 * i, "%2x", &byte) == 1;
        instance[i] = (uint8_t)byte;
    }
    if (ok) {
        n->warmups++;
        n->failures_in_row = 0; /* it answers again: placement may use it */
        note_instance(n, instance);
    } else {
        if (instance_died(r) && n->known) lose_instance(n);
        cm_warn("node %s: warm-up failed: %s HTTP %ld %.120s", n->function,
                r->transport_text ? r->transport_text : "", r->http_status, r->body);
    }
    node_kick(n);
}

void px_pool_warmup(struct px_pool *pool, uint16_t node)
{
    struct px_node *n = &pool->nodes[node];
    /* a node serving or being invoked is warm; a second invocation now
     * would make the platform start a second, empty instance */
    if (pool->closing || n->invoking || n->warming || n->conn != NULL || n->queue != NULL) return;
    if (px_invoke(pool->invoker, n->function, "{\"cmd\":\"warmup\"}", 0, 10000, on_warmed, n) == 0)
        n->warming = 1;
}

static void on_hello(struct px_node_conn *c)
{
    struct px_pool *pool = c->pool;
    struct mcp_hello h;
    if (c->rd.h.op != MCP_OP_HELLO || mcp_hello_decode(c->rd.meta, c->rd.h.meta_len, &h) != 0) {
        cm_warn("node port: first frame is not a valid hello; closing");
        conn_close(c, "bad hello");
        return;
    }
    if (h.proto_version != MCP_FRAME_VERSION) {
        send_ctl(c, MCP_OP_HELLO | MCP_FRAME_REPLY, MCP_ST_BAD_VERSION, c->rd.h.seq, 1);
        return;
    }
    struct px_node *n = node_named(pool, h.name, h.name_len);
    if (n == NULL || n->conn != NULL || n->token[0] == 0 || h.token_len != strlen(n->token) ||
        memcmp(h.token, n->token, h.token_len) != 0) {
        cm_warn("node port: refused hello from \"%.*s\": %s", (int)h.name_len, h.name,
                n == NULL ? "unknown function" : "token does not match an invocation in flight");
        send_ctl(c, MCP_OP_HELLO | MCP_FRAME_REPLY, MCP_ST_BAD_TOKEN, c->rd.h.seq, 1);
        return;
    }
    for (struct px_node_conn **l = &pool->unclaimed; *l; l = &(*l)->next)
        if (*l == c) {
            *l = c->next;
            break;
        }
    c->node = n;
    n->conn = c;
    n->token[0] = 0; /* spent */
    n->hello_seen = 1;
    uv_timer_stop(&n->hello_timer);
    n->mem_limit = h.mem_limit;
    n->chunks = h.chunks;
    n->bytes = h.bytes;
    n->last_seen_ms = cm_now_ms();
    send_ctl(c, MCP_OP_HELLO | MCP_FRAME_REPLY, MCP_ST_OK, c->rd.h.seq, 0);
    note_instance(n, h.instance);
    node_kick(n);
}

/* Checksum what landed of a GET's chunk since the last look. */
static void sum_landed(struct px_op *op, uint64_t upto)
{
    if (op->op != MCP_OP_GET || op->dest == NULL || upto <= op->summed) return;
    op->crc = ecs_crc_update(op->crc, op->dest + op->summed, upto - op->summed);
    op->summed = upto;
}

/* Header and metadata of a reply are in: match it to the oldest request. */
static void on_reply_meta(struct px_node_conn *c)
{
    struct px_node *n = c->node;
    const struct mcp_frame_header *h = &c->rd.h;
    if (h->op == MCP_OP_BYE) {
        c->bye = 1;
        update_state(n);
        return;
    }
    struct px_op *op = n->inflight;
    if (op == NULL || h->op != (op->op | MCP_FRAME_REPLY) || h->seq != op->seq) {
        cm_warn("node %s: reply out of step (op %s, seq %u); closing", n->function, mcp_frame_op_name(h->op),
                h->seq);
        conn_close(c, "reply out of step");
        return;
    }
    c->cur = op;
    op->status = h->status;
    unsigned char *dest = NULL;
    if (op->op == MCP_OP_GET && h->status == MCP_ST_OK) {
        if (mcp_chunk_meta_decode(c->rd.meta, h->meta_len, &op->reply) != 0) {
            conn_close(c, "bad chunk meta in reply");
            return;
        }
        memcpy(op->reply_key, op->reply.key, op->reply.key_len);
        op->reply.key = op->reply_key;
        if (op->detached) op->status = -ECANCELED; /* skip the body */
        else if (h->body_len > op->dest_cap) op->status = -EMSGSIZE;
        else dest = op->dest;
        op->reply_len = h->body_len;
        op->crc = 0;
        op->summed = 0;
    } else if (op->op == MCP_OP_LIST && h->status == MCP_ST_OK) {
        if (mcp_list_reply_decode(c->rd.meta, h->meta_len, &op->list_reply) != 0) {
            conn_close(c, "bad list reply");
            return;
        }
        /* a page is what we asked for (max records of at most a few hundred
         * bytes); a node claiming more is not believed, and not buffered */
        if (h->body_len > (uint64_t)op->list.max * (2 + MCP_CHUNK_META_FIXED + MCP_FRAME_MAX_KEY)) {
            op->status = -EMSGSIZE;
        } else {
            dest = op->list_body = malloc(h->body_len ? h->body_len : 1);
            op->reply_len = h->body_len;
            if (dest == NULL) op->status = -ENOMEM;
        }
    }
    if (mcp_frame_reader_body(&c->rd, dest) == MCP_RD_DONE) {
        pop_front(&n->inflight, &n->inflight_tail);
        c->cur = NULL;
        complete(op, op->status);
    }
}

static void on_reply_done(struct px_node_conn *c)
{
    struct px_op *op = c->cur;
    c->cur = NULL;
    if (op == NULL) return; /* BYE has no body */
    sum_landed(op, op->reply_len);
    pop_front(&c->node->inflight, &c->node->inflight_tail);
    complete(op, op->status);
}

/* Act on what the reader makes of the input. */
static void handle(struct px_node_conn *c, int ev)
{
    for (; !c->closing; ev = mcp_frame_inbuf_next(&c->in, &c->rd)) {
        if (ev < 0) {
            cm_warn("node connection: %s; closing", mcp_frame_strerror(ev));
            conn_close(c, mcp_frame_strerror(ev));
            return;
        }
        if (ev == MCP_RD_META) {
            if (c->node == NULL) on_hello(c);
            else on_reply_meta(c);
        } else if (ev == MCP_RD_DONE) {
            on_reply_done(c);
        } else if (c->in.pos == c->in.len) {
            return;
        }
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct px_node_conn *c = h->data;
    size_t n;
    unsigned char *at = mcp_frame_inbuf_room(&c->in, &c->rd, &n); /* a chunk goes straight to its buffer */
    if (n > LAND_MAX) n = LAND_MAX;
    *buf = uv_buf_init((char *)at, (unsigned)n);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* A connection whose reply in progress is a held chunk stops reading,
 * unless another request waits behind it: holds never delay others. */
static void update_reading(struct px_node_conn *c)
{
    struct px_op *op = c->cur;
    if (c->closing || c->node == NULL) return;
    if (op != NULL && op->hold && (op->next != NULL || c->node->queue != NULL)) op->hold = 0;
    int pause = op != NULL && op->hold;
    if (pause == c->paused) return;
    if (pause) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->paused_ms = cm_now_ms();
    }
    else uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    c->paused = pause;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct px_node_conn *c = s->data;
    if (nread < 0) {
        conn_close(c, nread == UV_EOF ? "node closed the connection" : uv_strerror((int)nread));
        return;
    }
    if (nread == 0) return;
    c->heard_ms = cm_now_ms();
    if (c->node != NULL) c->node->last_seen_ms = c->heard_ms;
    handle(c, mcp_frame_inbuf_landed(&c->in, &c->rd, (size_t)nread));
    if (!c->closing && c->cur != NULL) sum_landed(c->cur, c->rd.got);
    update_reading(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct px_pool *pool = server->data;
    if (status < 0 || pool->closing) return;
    struct px_node_conn *c = calloc(1, sizeof *c);
    if (c == NULL) return;
    c->pool = pool;
    uv_tcp_init(pool->loop, &c->tcp);
    c->tcp.data = c;
    pool->open_handles++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    mcp_frame_reader_init(&c->rd);
    c->in = (struct mcp_frame_inbuf){.buf = c->rbuf, .cap = sizeof c->rbuf};
    c->accepted_ms = cm_now_ms();
    c->next = pool->unclaimed;
    pool->unclaimed = c;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* A node that went silent with requests out vanished (or hangs): drop the
 * connection; its requests go back to the queue and it is invoked again. */
static void on_watchdog(uv_timer_t *t)
{
    struct px_pool *pool = t->data;
    uint64_t now = cm_now_ms();
    /* a late tick means this loop was the one that stalled: what the nodes
     * sent meanwhile is waiting to be read, so nobody counts as silent */
    int stalled = now - pool->watchdog_ms > pool->cfg.silence_ms / 2;
    pool->watchdog_ms = now;
    for (unsigned i = 0; i < pool->nnodes; i++) {
        struct px_node *n = &pool->nodes[i];
        struct px_node_conn *c = n->conn;
        if (c == NULL || c->closing || n->inflight == NULL) continue;
        if (c->paused && now - c->paused_ms >= HOLD_MAX_MS) px_pool_release(pool, c->cur); /* its read waits on another chunk */
        if (stalled || c->paused) c->heard_ms = now; /* a paused one is not read: not silence */
        size_t queued = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
        if (queued != c->last_queued) { /* still sending to it: not silence */
            c->last_queued = queued;
            c->heard_ms = now;
        }
        if (now - c->heard_ms > pool->cfg.silence_ms) {
            cm_warn("node %s: silent for %llu ms with requests out; dropping the connection", n->function,
                    (unsigned long long)(now - n->conn->heard_ms));
            conn_close(n->conn, "silent");
        }
    }
}

int px_pool_init(struct px_pool *pool, uv_loop_t *loop, struct px_invoker *invoker,
                 const struct px_pool_config *cfg)
{
    memset(pool, 0, sizeof *pool);
    pool->loop = loop;
    pool->invoker = invoker;
    pool->cfg = *cfg;
    if (cfg->nodes == 0 || cfg->nodes > 65535) return -EINVAL;
    struct sockaddr_in addr;
    int rc = uv_ip4_addr(cfg->listen_host, cfg->listen_port, &addr);
    if (rc < 0) return rc;
    uv_tcp_init(loop, &pool->listener);
    pool->listener.data = pool;
    pool->open_handles = 1;
    if ((rc = uv_tcp_bind(&pool->listener, (const struct sockaddr *)&addr, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&pool->listener, 1024, on_connection)) < 0) {
        uv_close((uv_handle_t *)&pool->listener, listener_closed);
        return rc;
    }
    struct sockaddr_in bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&pool->listener, (struct sockaddr *)&bound, &blen);
    pool->port = ntohs(bound.sin_port);
    if (cfg->advertise != NULL) snprintf(pool->advertise, sizeof pool->advertise, "%s", cfg->advertise);
    else snprintf(pool->advertise, sizeof pool->advertise, "%s:%d", cfg->listen_host, pool->port);

    uv_check_init(loop, &pool->flusher);
    pool->flusher.data = pool;
    pool->open_handles++;
    if (pool->cfg.silence_ms == 0) pool->cfg.silence_ms = 1000;
    uv_timer_init(loop, &pool->watchdog);
    pool->watchdog.data = pool;
    pool->open_handles++;
    pool->watchdog_ms = cm_now_ms();
    uv_timer_start(&pool->watchdog, on_watchdog, 100, 100);
    /* every slot the fleet may grow into exists from the start: a node's
     * address never changes while invocations and connections refer to it */
    if (pool->cfg.max_nodes < cfg->nodes) pool->cfg.max_nodes = cfg->nodes;
    pool->nodes = calloc(pool->cfg.max_nodes, sizeof *pool->nodes);
    if (pool->nodes == NULL) return -ENOMEM;
    pool->nnodes = cfg->nodes;
    for (unsigned i = 0; i < pool->cfg.max_nodes; i++) {
        struct px_node *n = &pool->nodes[i];
        n->pool = pool;
        n->id = (uint16_t)i;
        snprintf(n->function, sizeof n->function, "%s%u", cfg->function_prefix, i);
        uv_timer_init(loop, &n->hello_timer);
        uv_timer_init(loop, &n->retry_timer);
        n->hello_timer.data = n->retry_timer.data = n;
        pool->open_handles += 2;
    }
    return 0;
}

void px_pool_close(struct px_pool *pool, void (*on_closed)(struct px_pool *))
{
    if (pool->closing) return;
    pool->closing = 1;
    pool->on_closed = on_closed;
    while (pool->unclaimed != NULL) conn_close(pool->unclaimed, "proxy closing");
    for (unsigned i = 0; i < pool->cfg.max_nodes; i++) {
        struct px_node *n = &pool->nodes[i];
        fail_list(&n->queue, &n->queue_tail, -ECANCELED);
        if (n->conn != NULL) {
            struct px_node_conn *c = n->conn;
            c->cur = NULL; /* answered below: its callback may free it */
            fail_list(&n->inflight, &n->inflight_tail, -ECANCELED);
            conn_close(c, "proxy closing");
        }
        uv_close((uv_handle_t *)&n->hello_timer, timer_closed);
        uv_close((uv_handle_t *)&n->retry_timer, timer_closed);
    }
    uv_check_stop(&pool->flusher);
    uv_close((uv_handle_t *)&pool->flusher, listener_closed);
    uv_close((uv_handle_t *)&pool->watchdog, listener_closed);
    uv_close((uv_handle_t *)&pool->listener, listener_closed);
}

void px_pool_detach(struct px_pool *pool, struct px_op *op)
{
    struct px_node_conn *c = pool->nodes[op->node].conn;
    op->detached = 1;
    op->dest = NULL;
    op->dest_cap = 0;
    if (c != NULL && c->cur == op) {
        op->status = -ECANCELED;
        mcp_frame_reader_skip_body(&c->rd);
    }
    px_pool_release(pool, op);
}

void px_pool_release(struct px_pool *pool, struct px_op *op)
{
    op->hold = 0;
    struct px_node_conn *c = pool->nodes[op->node].conn;
    if (c != NULL && c->paused) update_reading(c);
}

void px_pool_free(struct px_pool *pool)
{
    free(pool->nodes);
    pool->nodes = NULL;
    pool->nnodes = 0;
}
