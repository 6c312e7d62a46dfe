/* cachenode/serve.c — the node side of the node connection.
 *
 * Reading is a three-state machine per frame: header (24 bytes), meta
 * (meta_len bytes), body (PUT only). Headers and metadata pass through a
 * small read buffer; a PUT's body goes straight into the chunk's own buffer
 * (the read callback is handed that buffer once the small one is drained),
 * so a chunk is copied at most once, and for large chunks almost never.
 * Replies are written with uv_write over [header+meta, chunk bytes]; the
 * chunk's buffer is referenced until the write completes.
 *
 * One timer serves three deadlines: connecting, idleness (aligned to the
 * billing tick) and the invocation's budget.
 */
#include "cachenode/serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/stream.h"

#define READ_BUF 65536
#define LIST_BODY_MAX (1u << 20)

struct serve {
    uv_loop_t *loop;
    struct cn_store *store;
    const struct cn_serve_params *p;
    struct cn_serve_summary *sum;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_connect_t connect_req;
    uv_shutdown_t shutdown_req;
    int connected, hello_ok, closing;
    uint64_t start_ms, last_ms;
    unsigned pending_writes;

    struct mcp_frame_reader rd;
    struct mcp_chunk_meta put_meta; /* key points into rd.meta */
    struct cn_buf *body;            /* PUT body being received, or NULL */
    uint8_t put_status;             /* status to answer once the body is in */
    struct mcp_frame_inbuf in;      /* over rbuf */
    unsigned char rbuf[READ_BUF];
};

struct reply {
    uv_write_t req;
    struct serve *sv;
    struct cn_buf *data;  /* chunk bytes, referenced */
    unsigned char *body;  /* LIST body, owned */
    unsigned char head[MCP_FRAME_HEADER_LEN + MCP_FRAME_MAX_META];
};

static const char *const end_names[] = {
#define CN_END_NAME(name, text) text,
    CN_SERVE_REASONS(CN_END_NAME)
#undef CN_END_NAME
};

const char *cn_serve_end_name(enum cn_serve_end end) { return end_names[end]; }

static int64_t unix_now(void) { return (int64_t)time(NULL); }

static void on_closed(uv_handle_t *h) { (void)h; }

static void close_all(struct serve *sv)
{
    if (!uv_is_closing((uv_handle_t *)&sv->tcp)) uv_close((uv_handle_t *)&sv->tcp, on_closed);
    if (!uv_is_closing((uv_handle_t *)&sv->timer)) uv_close((uv_handle_t *)&sv->timer, on_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    close_all(req->data);
}

static void send_frame(struct serve *sv, uint8_t op, uint8_t status, uint32_t seq,
                       const unsigned char *meta, size_t meta_len, struct cn_buf *data,
                       unsigned char *body, size_t body_len);

/* End the invocation. A graceful end says bye and lets queued replies drain
 * (uv_shutdown waits for them); a broken connection is just closed. */
static void finish(struct serve *sv, enum cn_serve_end end, const char *detail)
{
    if (sv->closing) return;
    sv->closing = 1;
    sv->sum->end = end;
    if (detail != NULL) snprintf(sv->sum->detail, sizeof sv->sum->detail, "%s", detail);
    if (sv->body != NULL) { /* a chunk cut off mid-transfer is not stored */
        cn_store_abandon(sv->store, sv->body, sv->put_meta.key_len);
        sv->body = NULL;
    }
    uv_timer_stop(&sv->timer);
    if (sv->connected) uv_read_stop((uv_stream_t *)&sv->tcp);
    if (sv->connected && (end == CN_END_IDLE || end == CN_END_DEADLINE)) {
        const char *why = cn_serve_end_name(end);
        send_frame(sv, MCP_OP_BYE, MCP_ST_OK, 0, (const unsigned char *)why, strlen(why), NULL, NULL, 0);
        sv->shutdown_req.data = sv;
        if (uv_shutdown(&sv->shutdown_req, (uv_stream_t *)&sv->tcp, on_shutdown) == 0) return;
    }
    close_all(sv);
}

static void protocol_error(struct serve *sv, const char *what)
{
    cm_warn("node connection: %s; closing", what);
    finish(sv, CN_END_PROTOCOL, what);
}

static void on_written(uv_write_t *req, int status)
{
    struct reply *r = req->data;
    struct serve *sv = r->sv;
    sv->pending_writes--;
    if (r->data != NULL) cn_buf_unref(r->data);
    free(r->body);
    free(r);
    if (status < 0 && status != UV_ECANCELED) {
        cm_warn("node connection: write failed: %s", uv_strerror(status));
        finish(sv, CN_END_CLOSED, uv_strerror(status));
    }
}

static void send_frame(struct serve *sv, uint8_t op, uint8_t status, uint32_t seq,
                       const unsigned char *meta, size_t meta_len, struct cn_buf *data,
                       unsigned char *body, size_t body_len)
{
    struct reply *r = malloc(sizeof *r);
    if (r == NULL) {
        free(body);
        finish(sv, CN_END_PROTOCOL, "out of memory for a reply");
        return;
    }
    r->sv = sv;
    r->data = data != NULL ? cn_buf_ref(data) : NULL;
    r->body = body;
    uint64_t tail = data != NULL ? data->len : body_len;
    struct mcp_frame_header h = {op, status, (uint16_t)meta_len, seq, tail};
    mcp_frame_header_encode(r->head, &h);
    if (meta_len > 0) memcpy(r->head + MCP_FRAME_HEADER_LEN, meta, meta_len);
    uv_buf_t bufs[2] = {uv_buf_init((char *)r->head, (unsigned)(MCP_FRAME_HEADER_LEN + meta_len))};
    unsigned n = 1;
    if (tail > 0) bufs[n++] = uv_buf_init(data != NULL ? (char *)data->bytes : (char *)body, (unsigned)tail);
    r->req.data = r;
    sv->pending_writes++;
    sv->sum->bytes_out += MCP_FRAME_HEADER_LEN + meta_len + tail;
    int rc = cm_stream_write(&r->req, (uv_stream_t *)&sv->tcp, bufs, n, on_written);
    if (rc != 0) { /* written already, or failed */
        sv->pending_writes--;
        if (r->data != NULL) cn_buf_unref(r->data);
        free(r->body);
        free(r);
        if (rc < 0) finish(sv, CN_END_CLOSED, uv_strerror(rc));
    }
}

static void reply_status(struct serve *sv, uint8_t status)
{
    send_frame(sv, sv->rd.h.op | MCP_FRAME_REPLY, status, sv->rd.h.seq, NULL, 0, NULL, NULL, 0);
}

static void complete_put(struct serve *sv)
{
    uint8_t status = sv->put_status;
    if (sv->body != NULL) {
        if (cn_store_put(sv->store, &sv->put_meta, sv->body) != 0) status = MCP_ST_NO_SPACE;
        sv->body = NULL;
    }
    reply_status(sv, status);
}

struct list_ctx {
    unsigned char *body;
    size_t len, cap;
    uint32_t count;
};

static int list_one(const struct cn_chunk *c, void *arg)
{
    struct list_ctx *l = arg;
    int n = mcp_list_record_encode(l->body + l->len, l->cap - l->len, &c->meta);
    if (n < 0) return 1; /* page full: the next page starts here */
    l->len += (size_t)n;
    l->count++;
    return 0;
}

static void handle_list(struct serve *sv)
{
    struct mcp_list_req rq;
    if (mcp_list_req_decode(sv->rd.meta, sv->rd.h.meta_len, &rq) != 0) {
        reply_status(sv, MCP_ST_BAD_REQUEST);
        return;
    }
    struct list_ctx l = {malloc(LIST_BODY_MAX), 0, LIST_BODY_MAX, 0};
    if (l.body == NULL) {
        protocol_error(sv, "out of memory for an inventory page");
        return;
    }
    struct mcp_list_reply rp;
    rp.next = cn_store_list(sv->store, rq.cursor, rq.max ? rq.max : UINT32_MAX, unix_now(), list_one, &l);
    rp.count = l.count;
    unsigned char meta[16];
    int n = mcp_list_reply_encode(meta, sizeof meta, &rp);
    send_frame(sv, MCP_OP_LIST | MCP_FRAME_REPLY, MCP_ST_OK, sv->rd.h.seq, meta, (size_t)n, NULL, l.body, l.len);
}

/* The metadata of a frame is in: act on it. */
static void meta_done(struct serve *sv)
{
    struct mcp_chunk_meta m;
    uint8_t op = sv->rd.h.op;
    if (op == (MCP_OP_HELLO | MCP_FRAME_REPLY)) {
        if (sv->rd.h.status != MCP_ST_OK) {
            char why[96];
            snprintf(why, sizeof why, "proxy refused hello: %s", mcp_frame_status_text(sv->rd.h.status));
            cm_warn("%s", why);
            finish(sv, CN_END_REFUSED, why);
            return;
        }
        sv->hello_ok = 1;
        return;
    }
    if (op == (MCP_OP_PING | MCP_FRAME_REPLY)) return;
    if (!sv->hello_ok) {
        protocol_error(sv, "request before the proxy accepted the hello");
        return;
    }
    sv->sum->requests++;
    switch (op) {
    case MCP_OP_PUT:
        sv->sum->puts++;
        sv->put_status = MCP_ST_OK;
        if (mcp_chunk_meta_decode(sv->rd.meta, sv->rd.h.meta_len, &sv->put_meta) != 0 ||
            sv->put_meta.version == CN_ALL_VERSIONS || sv->put_meta.index == CN_ALL_CHUNKS) {
            sv->put_status = MCP_ST_BAD_REQUEST;
        } else {
            sv->body = cn_store_alloc(sv->store, sv->rd.h.body_len, sv->put_meta.key_len);
            if (sv->body == NULL) {
                sv->put_status = MCP_ST_NO_SPACE;
                sv->sum->refused_puts++;
            }
        }
        /* refused bodies are still read, and dropped, to stay in sync */
        if (mcp_frame_reader_body(&sv->rd, sv->body != NULL ? sv->body->bytes : NULL) == MCP_RD_DONE)
            complete_put(sv);
        return;
    case MCP_OP_GET: {
        sv->sum->gets++;
        if (mcp_chunk_meta_decode(sv->rd.meta, sv->rd.h.meta_len, &m) != 0) {
            reply_status(sv, MCP_ST_BAD_REQUEST);
            break;
        }
        const struct cn_chunk *c = cn_store_get(sv->store, m.key, m.key_len, m.version, m.index, unix_now());
        if (c == NULL) {
            reply_status(sv, MCP_ST_NOT_FOUND);
            break;
        }
        unsigned char out[MCP_FRAME_MAX_META];
        int n = mcp_chunk_meta_encode(out, sizeof out, &c->meta);
        send_frame(sv, MCP_OP_GET | MCP_FRAME_REPLY, MCP_ST_OK, sv->rd.h.seq, out, (size_t)n, c->data, NULL, 0);
        break;
    }
    case MCP_OP_DEL:
        sv->sum->dels++;
        if (mcp_chunk_meta_decode(sv->rd.meta, sv->rd.h.meta_len, &m) != 0) {
            reply_status(sv, MCP_ST_BAD_REQUEST);
            break;
        }
        reply_status(sv, cn_store_delete(sv->store, m.key, m.key_len, m.version, m.index) > 0
                             ? MCP_ST_OK : MCP_ST_NOT_FOUND);
        break;
    case MCP_OP_TOUCH: /* chunk meta: key, version, index; expiry is the new one */
        if (mcp_chunk_meta_decode(sv->rd.meta, sv->rd.h.meta_len, &m) != 0) {
            reply_status(sv, MCP_ST_BAD_REQUEST);
            break;
        }
        reply_status(sv, cn_store_touch(sv->store, m.key, m.key_len, m.version, m.index, m.expiry) > 0
                             ? MCP_ST_OK : MCP_ST_NOT_FOUND);
        break;
    case MCP_OP_LIST:
        sv->sum->lists++;
        handle_list(sv);
        break;
    case MCP_OP_PING:
        reply_status(sv, MCP_ST_OK);
        break;
    default:
        protocol_error(sv, "unexpected frame from the proxy");
        return;
    }
}

static void header_done(struct serve *sv)
{
    uint8_t op = sv->rd.h.op;
    int request = !(op & MCP_FRAME_REPLY);
    if (request && op == MCP_OP_HELLO) {
        protocol_error(sv, "hello sent to a node");
        return;
    }
    if (!request && op != (MCP_OP_HELLO | MCP_FRAME_REPLY) && op != (MCP_OP_PING | MCP_FRAME_REPLY)) {
        protocol_error(sv, "reply frame the node never asked for");
        return;
    }
    if (sv->rd.h.body_len > 0 && op != MCP_OP_PUT) {
        protocol_error(sv, "body on a frame that takes none");
        return;
    }
    meta_done(sv);
}

/* Act on what the reader makes of the input: frames' metadata, bodies done. */
static void handle(struct serve *sv, int ev)
{
    for (; !sv->closing; ev = mcp_frame_inbuf_next(&sv->in, &sv->rd)) {
        if (ev < 0) {
            protocol_error(sv, mcp_frame_strerror(ev));
            return;
        }
        if (ev == MCP_RD_META) header_done(sv);
        else if (ev == MCP_RD_DONE) complete_put(sv); /* only PUT frames carry a body */
        else if (sv->in.pos == sv->in.len) return;
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct serve *sv = h->data;
    size_t n;
    unsigned char *at = mcp_frame_inbuf_room(&sv->in, &sv->rd, &n);
    *buf = uv_buf_init((char *)at, (unsigned)n);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    struct serve *sv = stream->data;
    if (nread < 0) {
        const char *why = nread == UV_EOF ? (mcp_frame_reader_idle(&sv->rd) ? "proxy closed the connection"
                                                                            : "proxy vanished mid-frame")
                                          : uv_strerror((int)nread);
        cm_info("node connection: %s", why);
        finish(sv, CN_END_CLOSED, why);
        return;
    }
    if (nread == 0) return;
    sv->sum->bytes_in += (uint64_t)nread;
    sv->last_ms = cm_now_ms();
    handle(sv, mcp_frame_inbuf_landed(&sv->in, &sv->rd, (size_t)nread));
}

/* Billing is per tick: once idle, stay until just before the tick already
 * paid for ends, then return. */
static uint64_t aligned_return(const struct serve *sv, uint64_t now)
{
    uint64_t tick = sv->p->tick_ms ? sv->p->tick_ms : 1;
    uint64_t elapsed = now - sv->start_ms;
    uint64_t paid = (elapsed + tick - 1) / tick * tick;
    uint64_t margin = tick >= 20 ? 5 : 0;
    return sv->start_ms + (paid > margin ? paid - margin : 0);
}

static void on_timer(uv_timer_t *t)
{
    struct serve *sv = t->data;
    uint64_t now = cm_now_ms(), end = sv->start_ms + sv->p->budget_ms;
    if (!sv->connected) {
        finish(sv, CN_END_CONNECT, "timed out connecting to the proxy");
        return;
    }
    if (now >= end) {
        finish(sv, CN_END_DEADLINE, NULL);
        return;
    }
    uint64_t idle_at = sv->last_ms + sv->p->idle_ms, next;
    if (now >= idle_at && sv->pending_writes == 0 && mcp_frame_reader_idle(&sv->rd)) {
        uint64_t ret = aligned_return(sv, now);
        if (ret <= now) {
            finish(sv, CN_END_IDLE, NULL);
            return;
        }
        next = ret;
    } else {
        next = now >= idle_at ? now + 5 : idle_at; /* busy: look again shortly */
    }
    if (next > end) next = end;
    uv_timer_start(&sv->timer, on_timer, next - now, 0);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct serve *sv = req->data;
    if (sv->closing) return;
    if (status < 0) {
        char why[128];
        snprintf(why, sizeof why, "connecting to %s:%d: %s", sv->p->proxy_host, sv->p->proxy_port,
                 uv_strerror(status));
        cm_warn("%s", why);
        finish(sv, CN_END_CONNECT, why);
        return;
    }
    sv->connected = 1;
    sv->last_ms = cm_now_ms();
    uv_tcp_nodelay(&sv->tcp, 1);

    struct mcp_hello hello = {.proto_version = MCP_FRAME_VERSION,
                              .mem_limit = sv->store->limit,
                              .chunks = sv->store->chunks,
                              .bytes = sv->store->used,
                              .name = sv->p->name,
                              .name_len = (uint16_t)strlen(sv->p->name),
                              .token = sv->p->token,
                              .token_len = (uint16_t)strlen(sv->p->token)};
    memcpy(hello.instance, sv->p->instance, MCP_FRAME_INSTANCE_LEN);
    unsigned char meta[MCP_FRAME_MAX_META];
    int n = mcp_hello_encode(meta, sizeof meta, &hello);
    if (n < 0) {
        finish(sv, CN_END_PROTOCOL, "hello does not fit in a frame");
        return;
    }
    send_frame(sv, MCP_OP_HELLO, MCP_ST_OK, 0, meta, (size_t)n, NULL, NULL, 0);
    uv_read_start((uv_stream_t *)&sv->tcp, on_alloc, on_read);
    on_timer(&sv->timer);
}

void cn_serve(uv_loop_t *loop, struct cn_store *store, const struct cn_serve_params *params,
              struct cn_serve_summary *out)
{
    memset(out, 0, sizeof *out);
    struct serve *sv = calloc(1, sizeof *sv);
    if (sv == NULL) {
        out->end = CN_END_CONNECT;
        snprintf(out->detail, sizeof out->detail, "out of memory");
        return;
    }
    sv->loop = loop;
    sv->store = store;
    sv->p = params;
    sv->sum = out;
    sv->start_ms = cm_now_ms();
    /* The loop slept (maybe frozen for hours) since the last invocation:
     * refresh its clock, or every timer would fire at once. */
    uv_update_time(loop);
    mcp_frame_reader_init(&sv->rd);
    sv->in = (struct mcp_frame_inbuf){.buf = sv->rbuf, .cap = sizeof sv->rbuf};
    uv_tcp_init(loop, &sv->tcp);
    uv_timer_init(loop, &sv->timer);
    sv->tcp.data = sv->timer.data = sv->connect_req.data = sv;

    struct sockaddr_storage addr;
    if (uv_ip4_addr(params->proxy_host, params->proxy_port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(params->proxy_host, params->proxy_port, (struct sockaddr_in6 *)&addr) != 0) {
        finish(sv, CN_END_CONNECT, "proxy address is not an IP literal");
    } else {
        int rc = uv_tcp_connect(&sv->connect_req, &sv->tcp, (const struct sockaddr *)&addr, on_connect);
        if (rc < 0) finish(sv, CN_END_CONNECT, uv_strerror(rc));
        else uv_timer_start(&sv->timer, on_timer, params->connect_ms, 0);
    }
    uv_run(loop, UV_RUN_DEFAULT);
    out->duration_ms = cm_now_ms() - sv->start_ms;
    free(sv);
}
