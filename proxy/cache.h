/* proxy/cache.h — memcached's semantics over the striped store.
 *
 * The cache decides what a command means (hit or miss, stored or not, the
 * CAS unique, expiry, flush_all, eviction) using the index; values travel
 * through proxy/stripe. Every modification writes a new version under a new
 * CAS unique, then switches the index, then deletes the old chunks once no
 * read is using them: a concurrent GET sees the old or the new value, never
 * a mix. A write whose precondition no longer holds when its chunks are in
 * (another client won) deletes its own chunks and answers as memcached
 * would have.
 *
 * Ownership: request structs belong to the caller, who keeps them alive
 * until their callback. A value handed to px_cache_store is taken (its
 * reference passes to the cache); a value handed out by a hit is the
 * caller's reference. Keys are copied.
 */
#ifndef FNCACHE_PROXY_CACHE_H
#define FNCACHE_PROXY_CACHE_H

#include <stdint.h>

#include "proxy/index.h"
#include "proxy/stripe.h"

#define PX_CACHE_STATS(X)                                                    \
    X(cmd_get) X(cmd_set) X(cmd_touch) X(cmd_flush) X(get_hits) X(get_misses) \
    X(get_expired) X(get_flushed) X(delete_hits) X(delete_misses)            \
    X(incr_hits) X(incr_misses) X(decr_hits) X(decr_misses) X(cas_hits)      \
    X(cas_misses) X(cas_badval) X(touch_hits) X(touch_misses) X(evictions)   \
    X(objects_lost) X(store_failures) X(lost_races) X(chunks_repaired) X(repair_failures)      \
    X(chunks_relocated) X(repair_bytes) X(objects_adopted) X(get_unavailable) \
    X(stores_degraded) X(gets_streamed)

struct px_cache_stats {
#define PX_STAT_FIELD(name) uint64_t name;
    PX_CACHE_STATS(PX_STAT_FIELD)
#undef PX_STAT_FIELD
};

enum px_result {
    PX_STORED, PX_NOT_STORED, PX_EXISTS, PX_NOT_FOUND, PX_DELETED, PX_TOUCHED,
    PX_HIT, PX_MISS, PX_NON_NUMERIC, PX_TOO_LARGE, PX_NO_MEMORY, PX_FAILED,
};

enum px_store_mode { PX_SET, PX_ADD, PX_REPLACE, PX_APPEND, PX_PREPEND, PX_CAS };
enum px_cas_rule { PX_CAS_NONE, PX_CAS_META, PX_CAS_ALL };

struct px_cache {
    uv_loop_t *loop;
    struct px_index index;
    struct px_stripe *stripe;
    uint16_t nnodes;           /* nodes placement may use: 0..nnodes-1 */
    uint16_t max_nodes;        /* size of the per-node arrays */
    uint8_t *draining;         /* per node: no new chunks; its chunks move away */
    uint64_t capacity;         /* chunk bytes the fleet may hold */
    uint64_t used;             /* chunk bytes of indexed objects */
    uint64_t node_capacity;    /* chunk bytes one node may hold */
    uint64_t *node_used;       /* chunk bytes placed on each node */
    uint8_t *eligible;         /* scratch for placement */
    struct px_pool *pool;      /* to skip dead nodes; may be NULL */
    uint64_t max_value;        /* -I */
    uint64_t next_cas;
    int64_t flush_at;          /* objects stored up to then are invalid from then on; 0 = none */
    int read_repair;           /* reads write back the chunks they decoded around */
    unsigned client_io;        /* client reads not yet answered, client writes in flight */
    /* told of every object that has lost chunks (background repair) */
    void (*damaged)(struct px_cache *c, struct px_object *o, void *arg);
    void *damaged_arg;
    /* asked when a write finds no nodes with room: 1 if the fleet grew */
    int (*no_room)(struct px_cache *c, void *arg);
    void *no_room_arg;
    struct px_cache_stats stats;
};

/* capacity: for the whole fleet (-m); node_capacity: for one node. The
 * per-node arrays have room for max_nodes (the fleet's cap). */
int px_cache_init(struct px_cache *c, uv_loop_t *loop, struct px_stripe *stripe, uint16_t nnodes,
                  uint16_t max_nodes, uint64_t capacity, uint64_t node_capacity, uint64_t max_value);
void px_cache_free(struct px_cache *c);

/* get / gets / gat / gats / mg */
struct px_get {
    const char *key;
    size_t nkey;
    int touch;                 /* gat, mg T: set the expiry to exptime */
    int32_t exptime;
    int no_value;              /* mg without v: metadata only, no node traffic */
    int vivify;                /* mg N: a miss creates an empty item ... */
    int32_t vivify_ttl;        /* ... with this TTL, and wins the recache */
    void (*done)(struct px_get *g, enum px_result r); /* PX_HIT, PX_MISS, PX_FAILED */
    void *arg;
    /* optional, for values of PX_STREAM_MIN bytes or more: value bytes
     * [0, upto) are in g->value (flags, cas and size are set) before done;
     * done then says PX_HIT (all of it is in), or PX_MISS when the value
     * broke off: what was passed on must not reach a client as a value */
    void (*part)(struct px_get *g, uint64_t upto);
    /* result, on a hit */
    struct px_value *value;    /* the caller's reference; NULL with no_value */
    uint32_t flags;
    uint64_t cas, size;
    int64_t expiry;            /* unix seconds, 0 = never */
    uint32_t last_access;      /* seconds since, before this get */
    unsigned fetched : 1, stale : 1, token_sent : 1, win : 1;
    /* private */
    struct px_value *empty;
};
void px_cache_get(struct px_cache *c, struct px_get *g);
#define PX_STREAM_MIN ((uint64_t)1 << 20)

/* set / add / replace / append / prepend / cas */
struct px_store {
    enum px_store_mode mode;
    const char *key;
    size_t nkey;
    uint32_t flags;
    int32_t exptime;
    uint64_t cas_in;           /* PX_CAS, or any mode with has_cas */
    int has_cas;               /* PX_CAS_META: compare first as meta C does (not for add; append
                                  and prepend refuse a mismatch only); PX_CAS_ALL: for every mode,
                                  as the binary protocol does */
    struct px_value *value;    /* taken: data holds the client's bytes */
    void (*done)(struct px_store *s, enum px_result r);
    void *arg;
    uint64_t cas;              /* result: the new CAS unique */
};
void px_cache_store(struct px_cache *c, struct px_store *s);

/* incr / decr / ma */
struct px_arith {
    const char *key;
    size_t nkey;
    int incr;
    uint64_t delta;
    int vivify;                /* a miss creates the item with `initial` */
    uint64_t initial;
    int32_t vivify_ttl;
    int has_cas;               /* meta C */
    uint64_t cas_in;
    int touch;                 /* meta T */
    int32_t exptime;
    void (*done)(struct px_arith *a, enum px_result r); /* PX_STORED with value, PX_NOT_FOUND,
                                                            PX_EXISTS, PX_NON_NUMERIC */
    void *arg;
    uint64_t value;            /* result */
    uint64_t cas;
    int64_t expiry;
    int created;
};
void px_cache_arith(struct px_cache *c, struct px_arith *a);

/* Index-only commands answer at once. */
enum px_result px_cache_delete(struct px_cache *c, const char *key, size_t nkey);
/* md: compare cas first if has_cas (PX_EXISTS); invalidate marks the item
 * stale under a new CAS instead of deleting it (and sets a TTL if ttl_set). */
enum px_result px_cache_delete_meta(struct px_cache *c, const char *key, size_t nkey, int has_cas,
                                    uint64_t cas_in, int invalidate, int ttl_set, int32_t ttl);
enum px_result px_cache_touch(struct px_cache *c, const char *key, size_t nkey, int32_t exptime);
void px_cache_flush(struct px_cache *c, int32_t delay);
/* ---- resilience ---------------------------------------------------------
 * A node's instance ended: every chunk recorded there is missing; objects
 * left with fewer than d chunks are dropped (a miss, counted in
 * objects_lost); the others are reported through c->damaged. */
void px_cache_node_lost(struct px_cache *c, uint16_t node);
/* Re-create o's missing chunks: read any d, write the rebuilt ones back to
 * their nodes, or to other nodes when theirs is dead or draining (also
 * used to move chunks off a draining node: mark them missing first).
 * done(arg, bytes moved) runs once, from the loop. Returns 0 when started,
 * or a negative errno (done does not run then). */
int px_cache_repair(struct px_cache *c, struct px_object *o, void (*done)(void *arg, uint64_t bytes), void *arg);
/* An object found in the nodes' inventories (a restarted proxy rebuilding
 * its index): m names the key, version, size, expiry, flags and code;
 * loc[i] the node and CRC of chunk i; chunks not found are in `missing`.
 * Replaces an older version of the key; refused (0) when the index holds
 * a newer one. Returns 1 when indexed. */
int px_cache_adopt(struct px_cache *c, const struct mcp_chunk_meta *m, const struct px_chunk_loc *loc,
                   uint64_t missing);
/* The fleet is nodes 0..n-1 from now on (n <= max_nodes), for placement
 * and for the pool alike. */
void px_cache_resize(struct px_cache *c, unsigned n);
/* 1 when node i may take chunks: in the fleet, not dead, not draining. */
int px_cache_node_usable(const struct px_cache *c, uint16_t i);

/* Free stripe buffers and values: a size the cache would refuse up front. */
uint64_t px_cache_chunk_bytes(const struct px_cache *c, uint64_t len);

#endif
