/* proxy/frontend.h — the memcached front end: client connections on
 * libuv, requests parsed by proto/, executed by proxy/cache, replies written
 * by proto/'s writer as iovecs over the values' own buffers.
 *
 * A connection runs one command at a time, in order (as memcached does); a
 * multi-key get fetches its keys in parallel. A storage command's value is
 * received straight into the stripe buffer it will be coded from. Reading
 * stops while a client has more than PX_OUT_LIMIT bytes of replies unsent.
 *
 * Ownership: the front end owns its connections and their buffers; replies
 * hold a reference on every value they point into until written.
 */
#ifndef FNCACHE_PROXY_FRONTEND_H
#define FNCACHE_PROXY_FRONTEND_H

#include <stdint.h>
#include <uv.h>

#include "proxy/cache.h"

#define PX_OUT_LIMIT (64u << 20)

struct px_frontend_stats {
    uint64_t curr_connections, total_connections, rejected_connections;
    uint64_t bytes_read, bytes_written;
};

struct px_frontend {
    uv_loop_t *loop;
    struct px_cache *cache;
    uv_tcp_t listener;
    unsigned max_conns;
    uint64_t max_value;
    int verbosity;
    int closing;
    int held;                  /* clients are accepted but not read (index rebuild) */
    uint64_t started;          /* unix seconds */
    const char *version;
    struct px_frontend_stats stats;
    struct px_client *clients; /* all open connections */
    /* extra `stats` lines from the owner (fleet), and `stats nodes` */
    void (*stats_extra)(struct px_frontend *fe, const char *group, void (*line)(void *, const char *, const char *), void *ctx);
    void *owner;
};

int px_frontend_init(struct px_frontend *fe, uv_loop_t *loop, struct px_cache *cache, const char *host,
                     int port, unsigned max_conns, uint64_t max_value);
/* Hold (1) or release (0) every client's requests: while held,
 * connections are accepted and wait, unread. */
void px_frontend_hold(struct px_frontend *fe, int held);
/* Stop accepting, close every client. */
void px_frontend_close(struct px_frontend *fe);

#endif
