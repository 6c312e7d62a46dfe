/* cachenode/serve.h — one `serve` invocation: dial the proxy, say hello,
 * answer chunk requests until idle or near the deadline, say bye.
 *
 * The connection runs on a libuv loop owned by the caller; cn_serve() returns
 * when the connection is closed and every handle it opened is closed. The
 * store is the caller's and outlives the invocation (that is the point: a
 * warm instance keeps its chunks).
 */
#ifndef FNCACHE_CACHENODE_SERVE_H
#define FNCACHE_CACHENODE_SERVE_H

#include <stdint.h>
#include <uv.h>

#include "cachenode/store.h"
#include "proto/frame.h"

struct cn_serve_params {
    const char *proxy_host;   /* IPv4/IPv6 literal */
    int proxy_port;
    const char *token;        /* one-time token from the payload; borrowed */
    const char *name;         /* deployment (function) name; borrowed */
    const uint8_t *instance;  /* MCP_FRAME_INSTANCE_LEN bytes; borrowed */
    uint64_t idle_ms;         /* return after this long without a request */
    uint64_t tick_ms;         /* billing granularity: 1 (today) or 100 (2020) */
    uint64_t budget_ms;       /* time until the platform deadline, minus the safety margin */
    uint64_t connect_ms;      /* give up connecting after this long */
};

/* Why the invocation ended, as written in its response. */
#define CN_SERVE_REASONS(X)                                          \
    X(CN_END_IDLE, "idle")                                           \
    X(CN_END_DEADLINE, "deadline")                                   \
    X(CN_END_CLOSED, "closed by proxy")                              \
    X(CN_END_REFUSED, "refused by proxy")                            \
    X(CN_END_PROTOCOL, "protocol error")                             \
    X(CN_END_CONNECT, "connect failed")

enum cn_serve_end {
#define CN_END_ENUM(name, text) name,
    CN_SERVE_REASONS(CN_END_ENUM)
#undef CN_END_ENUM
};

struct cn_serve_summary {
    enum cn_serve_end end;
    uint64_t requests, bytes_in, bytes_out;
    uint64_t puts, gets, dels, lists, refused_puts;
    uint64_t duration_ms;
    char detail[160];         /* operator-readable cause for errors */
};

void cn_serve(uv_loop_t *loop, struct cn_store *store, const struct cn_serve_params *params,
              struct cn_serve_summary *out);
const char *cn_serve_end_name(enum cn_serve_end end);

#endif
