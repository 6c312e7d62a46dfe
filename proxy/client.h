/* proxy/client.h — one client connection of the front end, shared by its
 * I/O (frontend.c: reading, output batches, closing) and its commands
 * (commands.c: text, meta and binary requests on the cache). Private to
 * those two files.
 *
 * Ownership: a client owns its read buffer, its output batch, the value
 * being received and the state of the command in flight; a batch holds a
 * reference on every value its iovecs point into until it is written.
 */
#ifndef FNCACHE_PROXY_CLIENT_H
#define FNCACHE_PROXY_CLIENT_H

#include <uv.h>

#include "proto/mcp.h"
#include "proxy/cache.h"
#include "proxy/frontend.h"

#define OUT_IOV 128
#define OUT_SCRATCH 16384
#define RBUF_MIN 16384
#define RBUF_MAX (MCP_GET_LINE_MAX + 65536)

struct out_batch {
    uv_write_t req;
    struct px_client *c;
    struct mcp_wbuf w;
    struct px_value *refs[OUT_IOV];
    unsigned nrefs;
    size_t bytes;
    struct iovec iov[OUT_IOV];
    char scratch[OUT_SCRATCH];
};

struct multi_get;

struct px_client {
    uv_tcp_t tcp;
    struct px_frontend *fe;
    struct px_client *prev, *next;
    struct mcp_parser parser;
    /* the storage command whose value is arriving */
    struct mcp_request req;
    char key[MCP_KEY_MAX + 1];
    size_t nkey;
    struct px_value *value;
    int direct;                /* the last read went straight into value */
    char *rbuf;
    size_t rlen, rcap;
    struct out_batch *out;     /* being filled */
    uint64_t out_pending;      /* handed to uv_write, not yet written */
    int busy;                  /* a command is in flight */
    int in_process;            /* process() is on the stack */
    int reading, closing, closed;
    int shutting;              /* close under way (shutdown, then close) */
    int eof;                   /* the client half-closed: finish, reply, then close */
    /* in-flight command state */
    struct multi_get *mget;
    struct px_get get;         /* mg, binary get/gat/touch */
    struct px_store store;
    struct px_arith arith;
};

struct multi_get {
    struct px_client *c;
    int with_cas;
    unsigned n, left;
    struct mget_key {
        struct px_get g;
        struct multi_get *m;
        char key[MCP_KEY_MAX];
        enum px_result r;
        int streaming;         /* the VALUE line is out ... */
        uint64_t sent;         /* ... and this much of the value */
    } keys[];
};

/* ---- output (frontend.c) */
/* The batch being filled (a new one if needed); NULL when out of memory. */
struct mcp_wbuf *px_client_wbuf(struct px_client *c);
/* A batch with room for a reply of a few iovecs that holds a value. */
struct mcp_wbuf *px_client_room(struct px_client *c);
/* The current batch keeps a reference on v until written. */
void px_client_hold(struct px_client *c, struct px_value *v);
/* Hand the current batch to uv_write. */
void px_client_flush(struct px_client *c);
void px_client_close(struct px_client *c, const char *why);
/* The command in flight finished: go on with the buffered ones. */
void px_client_resume(struct px_client *c);

/* Run a writer call on the current batch; a full batch is sent and the call
 * tried once more on a fresh one. */
#define EMIT(c, call)                                                          \
    do {                                                                       \
        for (int tries_ = 0;; tries_++) {                                      \
            struct mcp_wbuf *w = px_client_wbuf(c);                            \
            if (w != NULL && (call) == 0) break;                               \
            if (tries_ > 0 || w == NULL) {                                     \
                px_client_close(c, "reply does not fit");                      \
                break;                                                         \
            }                                                                  \
            px_client_flush(c);                                                \
        }                                                                      \
    } while (0)

/* ---- commands (commands.c) */
/* A request without a value. */
void px_cmd_dispatch(struct px_client *c, const struct mcp_request *r);
/* A storage request whose value follows: name its destination. */
void px_cmd_start_value(struct px_client *c, const struct mcp_request *r);
/* Its value is in: store it. */
void px_cmd_finish_value(struct px_client *c);
/* The parser refused a request: answer as memcached does. */
void px_cmd_parse_error(struct px_client *c, int rc, const struct mcp_request *r);

#endif
