/* proxy/pool.h — the fleet of cache nodes, seen from the proxy.
 *
 * Each node is one function (deployment) on the platform. The pool listens
 * on the node port; a request for a node that is not connected invokes it
 * (through the invoker) with a `serve` payload carrying a one-time token,
 * queues the request, and sends it once the node has dialed back and its
 * hello matched the token. Replies arrive in order; a GET's chunk is read
 * straight into the caller's buffer, a piece at a time, and checksummed
 * piece by piece while each is still in the CPU's cache.
 *
 *   per node:  SLEEPING --invoke--> INVOKING --hello--> CONNECTED
 *                 ^                                        | BYE / close
 *                 +-------- invocation returned ---- RETURNING
 *
 * A connection with requests out that stays silent for cfg.silence_ms is
 * closed (its requests go back to the queue and the node is invoked again):
 * a platform may drop an instance without closing its sockets.
 *
 * A node whose hello or warm-up answer shows a new instance id, or whose
 * invocation ended with its instance's death (timeout, exit, out of
 * memory), lost its memory: the pool tells its owner through
 * on_instance_lost. An invocation the platform throttles (429) or cannot
 * take (transport error) is retried with exponential backoff and jitter
 * until the hello timeout; the requests waiting for it fail only then.
 *
 * Ownership: a struct px_op belongs to the caller, who keeps it (and the
 * key, body and destination it points at) alive until its callback runs;
 * the callback runs exactly once, from the loop, also when the pool closes.
 * The pool owns its nodes, connections and tokens.
 */
#ifndef FNCACHE_PROXY_POOL_H
#define FNCACHE_PROXY_POOL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "proto/frame.h"
#include "proxy/invoker.h"

#define PX_NODE_STATES(X)                                                   \
    X(PX_NODE_SLEEPING, "sleeping")   /* no invocation, no connection */    \
    X(PX_NODE_INVOKING, "invoking")   /* invoked, waiting for its hello */  \
    X(PX_NODE_CONNECTED, "connected") /* serving requests */                \
    X(PX_NODE_RETURNING, "returning") /* said bye or dropped; invocation not yet over */

enum px_node_state {
#define PX_NODE_ENUM(name, text) name,
    PX_NODE_STATES(PX_NODE_ENUM)
#undef PX_NODE_ENUM
};

struct px_op;
typedef void (*px_op_cb)(struct px_op *op, void *arg);

/* One request to one node. Fill in the request part, submit, wait for cb. */
struct px_op {
    /* request */
    uint8_t op;                    /* MCP_OP_PUT, GET, DEL, LIST, PING */
    struct mcp_chunk_meta meta;    /* PUT, GET, DEL (key borrowed) */
    struct mcp_list_req list;      /* LIST */
    const unsigned char *body;     /* PUT: chunk bytes, borrowed */
    uint64_t body_len;
    unsigned char *dest;           /* GET: where the chunk lands */
    uint64_t dest_cap;
    int hold;                      /* GET: leave the chunk unread (in the kernel's buffers,
                                      its node waiting) until px_pool_release; released at
                                      once when another request waits behind it on its node,
                                      and after a fifth of a second in any case */
    px_op_cb cb;
    void *arg;
    /* result, valid in the callback */
    int status;                    /* MCP_ST_* (>= 0) or a negative errno */
    struct mcp_chunk_meta reply;   /* GET: the stored chunk's metadata */
    unsigned char reply_key[MCP_FRAME_MAX_KEY];
    uint64_t reply_len;            /* GET: chunk bytes written to dest */
    uint32_t crc;                  /* GET: CRC32C of those bytes, summed as they landed */
    struct mcp_list_reply list_reply;
    unsigned char *list_body;      /* LIST: records, freed after the callback */
    /* private to the pool */
    struct px_op *next;
    struct px_op *wnext;           /* in its connection's list of ops to write */
    uint32_t seq;
    uint64_t summed;               /* bytes of dest the crc covers */
    int tries;
    int detached;
    int writing;                   /* uv_write not yet called back */
    int replied;                   /* finished while writing: answer from the write callback */
    uint16_t node;
    unsigned char head[MCP_FRAME_HEADER_LEN + MCP_CHUNK_META_FIXED + MCP_FRAME_MAX_KEY];
};

struct px_node_conn;
struct px_pool;

struct px_node {
    struct px_pool *pool;
    uint16_t id;
    char function[64];
    enum px_node_state state;
    int invoking;                  /* an invocation is in flight */
    int hello_seen;                /* its node dialed back */
    int warming;                   /* a warm-up invocation is in flight */
    struct px_node_conn *conn;     /* live connection, or NULL */
    char token[33];                /* of the invocation in flight */
    uint8_t instance[MCP_FRAME_INSTANCE_LEN];
    int known;                     /* instance id seen at least once */
    struct px_op *queue, *queue_tail;        /* waiting to be sent */
    struct px_op *inflight, *inflight_tail;  /* sent, waiting for replies */
    uv_timer_t hello_timer;
    uv_timer_t retry_timer;        /* a throttled invocation is tried again */
    uint64_t retry_until_ms;       /* give up retrying then; 0 = not retrying */
    unsigned retries;              /* in a row, for the backoff */
    /* stats */
    uint64_t invocations, invoke_failures, instances_lost, warmups, throttles;
    uint64_t invoked_ms;            /* wall time of finished invocations: what the platform bills */
    unsigned failures_in_row;       /* invocations that ended without a hello */
    uint64_t mem_limit, chunks, bytes;       /* from the last hello */
    uint64_t last_seen_ms;
};

struct px_pool_config {
    const char *listen_host;       /* node port address, e.g. "127.0.0.1" */
    int listen_port;               /* 0: any free port */
    const char *advertise;         /* HOST:PORT given to nodes; NULL: the listen address */
    const char *function_prefix;   /* functions are PREFIX0 .. PREFIX{n-1} */
    unsigned nodes;
    uint64_t idle_ms, tick_ms;     /* passed to nodes in the payload */
    uint64_t hello_timeout_ms;     /* give up on a node that does not dial back */
    uint64_t invoke_timeout_ms;    /* bound on one serve invocation */
    unsigned max_nodes;            /* room for the fleet to grow to (0: nodes) */
    uint64_t silence_ms;           /* a node this long silent with requests out is gone (0: 1000) */
};

struct px_pool {
    uv_loop_t *loop;
    struct px_invoker *invoker;
    struct px_pool_config cfg;
    char advertise[80];
    int port;                      /* actual node port */
    uv_tcp_t listener;
    struct px_node *nodes;
    unsigned nnodes;
    struct px_node_conn *unclaimed; /* accepted, no hello yet */
    struct px_node_conn *dirty;    /* connections with ops to write this loop turn */
    uv_check_t flusher;            /* writes them, after the loop's I/O */
    uv_timer_t watchdog;           /* closes connections to silent nodes */
    uint64_t watchdog_ms;          /* its last tick */
    uint32_t next_seq;
    int closing;
    unsigned open_handles;
    void (*on_closed)(struct px_pool *);
    void (*on_instance_lost)(struct px_pool *, struct px_node *, void *arg);
    void *owner;
};

/* Listen on the node port. Returns 0 or a negative errno. */
int px_pool_init(struct px_pool *pool, uv_loop_t *loop, struct px_invoker *invoker,
                 const struct px_pool_config *cfg);
/* Queue op for node; it is sent once the node is connected. */
void px_pool_submit(struct px_pool *pool, uint16_t node, struct px_op *op);
/* Keep a sleeping node's instance warm with a `warmup` invocation; its
 * answer names the instance, so a lost one is noticed (on_instance_lost)
 * without any client touching the node. Does nothing for a node that is
 * being invoked, serving, or has requests waiting. */
void px_pool_warmup(struct px_pool *pool, uint16_t node);
/* Stop a GET from writing into its destination: the rest of its body is
 * dropped and the op ends with -ECANCELED. */
void px_pool_detach(struct px_pool *pool, struct px_op *op);
/* Let a held GET's chunk be read. */
void px_pool_release(struct px_pool *pool, struct px_op *op);
/* Fail everything queued and in flight, close connections and handles. */
void px_pool_close(struct px_pool *pool, void (*on_closed)(struct px_pool *));
/* Free the nodes once the pool is closed and the invoker too (an invocation
 * still in flight refers to its node). */
void px_pool_free(struct px_pool *pool);
const char *px_node_state_name(enum px_node_state s);
/* A node that failed this many invocations in a row is avoided by placement
 * until one succeeds again. */
#define PX_NODE_DEAD_AFTER 3
int px_node_dead(const struct px_node *n);

#endif
