/* proxy/frontend.c — client connections: read, parse, hand each request to
 * commands.c in order, write the replies it produces.
 *
 *   read ──▶ rbuf ──mcp_parse──▶ request ──px_cmd_*──▶ px_cache_* ──▶ done cb
 *              │                     │ (value)                          │
 *              │                     └─▶ px_value.data (read straight   ▼
 *              │                          into it once rbuf is drained) reply ──▶ out batch
 *              └── the next command waits while one is in flight     (iovecs; values
 *                                                                     referenced) ──▶ uv_write
 */
#include "proxy/frontend.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/container.h"
#include "common/log.h"
#include "common/stream.h"
#include "proto/mcp.h"
#include "proxy/client.h"

static void process(struct px_client *c);
static void update_reading(struct px_client *c);

/* ---- output ---------------------------------------------------------- */

struct mcp_wbuf *px_client_wbuf(struct px_client *c)
{
    if (c->out == NULL) {
        c->out = malloc(sizeof *c->out);
        if (c->out == NULL) return NULL;
        c->out->c = c;
        c->out->nrefs = 0;
        mcp_wbuf_init(&c->out->w, c->out->iov, OUT_IOV, c->out->scratch, OUT_SCRATCH);
    }
    return &c->out->w;
}

static void on_written(uv_write_t *req, int status)
{
    struct out_batch *b = cm_container_of(req, struct out_batch, req);
    struct px_client *c = b->c;
    for (unsigned i = 0; i < b->nrefs; i++) px_value_unref(b->refs[i]);
    c->out_pending -= b->bytes;
    c->fe->stats.bytes_written += status == 0 ? b->bytes : 0;
    free(b);
    if (status < 0 && status != UV_ECANCELED) px_client_close(c, uv_strerror(status));
    else if (!c->closing && !c->busy) process(c); /* room again: read on */
}

void px_client_flush(struct px_client *c)
{
    struct out_batch *b = c->out;
    if (b == NULL || b->w.niov == 0 || c->closed) return;
    c->out = NULL;
    b->bytes = mcp_wbuf_len(&b->w);
    uv_buf_t bufs[OUT_IOV];
    for (size_t i = 0; i < b->w.niov; i++) bufs[i] = uv_buf_init(b->iov[i].iov_base, (unsigned)b->iov[i].iov_len);
    int rc = cm_stream_write(&b->req, (uv_stream_t *)&c->tcp, bufs, (unsigned)b->w.niov, on_written);
    if (rc == 0) {
        c->out_pending += b->bytes;
        return;
    }
    c->fe->stats.bytes_written += rc > 0 ? b->bytes : 0;
    for (unsigned i = 0; i < b->nrefs; i++) px_value_unref(b->refs[i]);
    free(b);
    if (rc < 0) px_client_close(c, "write failed");
}



struct mcp_wbuf *px_client_room(struct px_client *c)
{
    struct mcp_wbuf *w = px_client_wbuf(c);
    if (w == NULL || w->niov + 4 > OUT_IOV || c->out->nrefs == OUT_IOV || w->cap - w->used < 600) {
        px_client_flush(c);
        w = px_client_wbuf(c);
    }
    if (w == NULL) px_client_close(c, "out of memory");
    return w;
}

void px_client_hold(struct px_client *c, struct px_value *v) { c->out->refs[c->out->nrefs++] = px_value_ref(v); }

/* ---- async completion ------------------------------------------------ */

/* A command finished: go on with the buffered ones, unless we are already
 * inside process() (the command completed without waiting). */
void px_client_resume(struct px_client *c)
{
    c->busy = 0;
    if (c->closed) {
        free(c->rbuf);
        free(c);
        return;
    }
    if (!c->in_process) process(c);
}

/* ---- the read loop ---------------------------------------------------- */

static void process(struct px_client *c)
{
    c->in_process = 1;
    size_t pos = 0;
    char *at;
    /* a value read straight into its buffer may be complete with nothing buffered */
    while (!c->busy && !c->closing &&
           (pos < c->rlen || (c->value != NULL && mcp_value_want(&c->parser, &at) == 0))) {
        size_t used = 0;
        struct mcp_request r;
        int rc = mcp_parse(&c->parser, c->rbuf + pos, c->rlen - pos, &r, &used);
        pos += used;
        if (rc == MCP_AGAIN) break;
        if (rc == MCP_VALUE) px_cmd_start_value(c, &r);
        else if (rc == MCP_VALUE_DONE) px_cmd_finish_value(c);
        else if (rc == MCP_REQUEST) px_cmd_dispatch(c, &r);
        else px_cmd_parse_error(c, rc, &r);
    }
    memmove(c->rbuf, c->rbuf + pos, c->rlen - pos);
    c->rlen -= pos;
    c->in_process = 0;
    px_client_flush(c);
    if ((c->closing || c->eof) && !c->busy) {
        px_client_close(c, c->closing ? "quit" : "client closed");
        return;
    }
    update_reading(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct px_client *c = h->data;
    char *at;
    size_t want = c->value != NULL && c->rlen == 0 ? mcp_value_want(&c->parser, &at) : 0;
    if (want > 0) { /* the value's bytes go straight to the stripe buffer */
        c->direct = 1;
        *buf = uv_buf_init(at, (unsigned)(want > (1u << 30) ? (1u << 30) : want));
        return;
    }
    c->direct = 0;
    if (c->rcap - c->rlen < 4096 && c->rcap < RBUF_MAX) {
        size_t cap = c->rcap * 2 > RBUF_MAX ? RBUF_MAX : c->rcap * 2;
        char *grown = realloc(c->rbuf, cap);
        if (grown != NULL) {
            c->rbuf = grown;
            c->rcap = cap;
        }
    }
    *buf = uv_buf_init(c->rbuf + c->rlen, (unsigned)(c->rcap - c->rlen));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    struct px_client *c = s->data;
    if (n == UV_EOF) { /* answer what it sent, then close */
        c->eof = 1;
        update_reading(c);
        if (!c->busy) process(c);
        return;
    }
    if (n < 0) {
        px_client_close(c, uv_strerror((int)n));
        return;
    }
    if (n == 0) return;
    c->fe->stats.bytes_read += (uint64_t)n;
    if (c->direct) {
        mcp_value_wrote(&c->parser, (size_t)n);
        char *at;
        if (mcp_value_want(&c->parser, &at) > 0) return;
        /* all of it: a binary value has no trailer to wait for */
    } else {
        c->rlen += (size_t)n;
    }
    if (c->busy) { /* read ahead while a command is in flight; parsed when it ends */
        update_reading(c);
        return;
    }
    if (c->rlen == c->rcap) { /* a line longer than we buffer: the parser says how to answer */
        process(c);
        if (c->rlen == c->rcap) px_client_close(c, "line too long");
        return;
    }
    process(c);
}

/* A client is read while it has replies to take and room in its buffer;
 * the next request is read while one is in flight (stopping and restarting
 * would cost two epoll_ctl calls per request) and waits there. */
static void update_reading(struct px_client *c)
{
    int room = !c->busy || (c->value == NULL && (c->rlen < c->rcap || c->rcap < RBUF_MAX));
    int want = !c->closing && !c->closed && !c->eof && room && c->out_pending < PX_OUT_LIMIT && !c->fe->held;
    if (want && !c->reading) c->reading = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0;
    else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

static void on_client_closed(uv_handle_t *h)
{
    struct px_client *c = h->data;
    struct px_frontend *fe = c->fe;
    fe->stats.curr_connections--;
    if (c->prev) c->prev->next = c->next;
    else fe->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->out != NULL) {
        for (unsigned i = 0; i < c->out->nrefs; i++) px_value_unref(c->out->refs[i]);
        free(c->out);
        c->out = NULL;
    }
    px_value_unref(c->value);
    c->value = NULL;
    c->closed = 1;
    if (!c->busy) {
        free(c->rbuf);
        free(c);
    } /* else freed when the command in flight completes (resume) */
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    (void)status;
    struct px_client *c = req->data;
    free(req);
    uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

void px_client_close(struct px_client *c, const char *why)
{
    if (c->shutting || c->closed || uv_is_closing((uv_handle_t *)&c->tcp)) return;
    c->shutting = 1;
    cm_debug("client closed: %s", why);
    c->closing = 1;
    if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
    px_client_flush(c);
    /* let replies already queued reach the client, then close */
    uv_shutdown_t *req = malloc(sizeof *req);
    if (req != NULL) {
        req->data = c;
        if (uv_shutdown(req, (uv_stream_t *)&c->tcp, on_shutdown) == 0) return;
        free(req);
    }
    uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

static void free_unaccepted(uv_handle_t *h) { free(h->data); }

static void on_connection(uv_stream_t *server, int status)
{
    struct px_frontend *fe = server->data;
    if (status < 0) return;
    struct px_client *c = calloc(1, sizeof *c);
    if (c == NULL) return;
    c->fe = fe;
    uv_tcp_init(fe->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, free_unaccepted);
        return;
    }
    fe->stats.total_connections++;
    fe->stats.curr_connections++;
    c->next = fe->clients;
    if (c->next) c->next->prev = c;
    fe->clients = c;
    if (fe->closing || fe->stats.curr_connections > fe->max_conns) {
        fe->stats.rejected_connections++;
        EMIT(c, mcp_w_server_error(w, "Too many open connections"));
        px_client_close(c, "too many connections");
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    struct mcp_config cfg = {.max_value = fe->max_value, .max_line = MCP_LINE_MAX, .max_get_line = MCP_GET_LINE_MAX};
    mcp_parser_init(&c->parser, &cfg);
    c->rcap = RBUF_MIN;
    c->rbuf = malloc(c->rcap);
    if (c->rbuf == NULL) {
        px_client_close(c, "out of memory");
        return;
    }
    update_reading(c);
}

int px_frontend_init(struct px_frontend *fe, uv_loop_t *loop, struct px_cache *cache, const char *host,
                     int port, unsigned max_conns, uint64_t max_value)
{
    memset(fe, 0, sizeof *fe);
    fe->loop = loop;
    fe->cache = cache;
    fe->max_conns = max_conns;
    fe->max_value = max_value;
    fe->started = (uint64_t)time(NULL);
    fe->version = "1.6.18-fncache";
    struct sockaddr_storage addr;
    int rc = uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc != 0) rc = uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr);
    if (rc != 0) return rc;
    uv_tcp_init(loop, &fe->listener);
    fe->listener.data = fe;
    if ((rc = uv_tcp_bind(&fe->listener, (const struct sockaddr *)&addr, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&fe->listener, 1024, on_connection)) != 0) {
        uv_close((uv_handle_t *)&fe->listener, NULL);
        return rc;
    }
    return 0;
}

void px_frontend_hold(struct px_frontend *fe, int held)
{
    fe->held = held;
    for (struct px_client *c = fe->clients; c != NULL; c = c->next) update_reading(c);
}

void px_frontend_close(struct px_frontend *fe)
{
    if (fe->closing) return;
    fe->closing = 1;
    uv_close((uv_handle_t *)&fe->listener, NULL);
    for (struct px_client *c = fe->clients; c != NULL; c = c->next) px_client_close(c, "proxy shutting down");
}
