/* cachenode/store.h — the node's chunk store: chunks in RAM, with the
 * metadata the proxy needs to rebuild its index, under a byte limit.
 *
 * Chunks are found by (key, version, index). Each chunk's bytes live in a
 * reference-counted struct cn_buf so a reply still being written keeps them
 * alive after the chunk is deleted or replaced.
 *
 * Accounting is exact and conservative: a chunk costs its data length, its
 * key length and CN_CHUNK_OVERHEAD for the bookkeeping. Bytes are counted
 * from the moment cn_store_alloc() hands out a buffer for an incoming chunk,
 * so chunks still arriving cannot together overrun the limit.
 *
 * Ownership: the store owns its chunks and keys. cn_store_alloc() returns a
 * buffer with one reference, which the caller gives back through exactly one
 * of cn_store_put() or cn_store_abandon(). cn_store_get() lends a chunk: the
 * caller takes its own cn_buf_ref() to keep the bytes past the next store
 * call. Not thread-safe: one event loop owns a store.
 */
#ifndef FNCACHE_CACHENODE_STORE_H
#define FNCACHE_CACHENODE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/frame.h"

#define CN_CHUNK_OVERHEAD 128 /* slot, hash link, buffer header, malloc slack */
#define CN_ALL_VERSIONS 0
#define CN_ALL_CHUNKS 0xFF

struct cn_buf {
    uint32_t refs;
    uint64_t len;
    unsigned char bytes[];
};

struct cn_buf *cn_buf_ref(struct cn_buf *b);
void cn_buf_unref(struct cn_buf *b);

/* A stored chunk. `meta.key` points at `key`, owned by the store. */
struct cn_chunk {
    struct mcp_chunk_meta meta;
    unsigned char *key;
    struct cn_buf *data;   /* NULL: free slot */
    uint64_t hash;
    uint32_t next;         /* hash chain: slot index + 1, 0 ends it */
    uint64_t charged;      /* bytes counted against the limit */
};

struct cn_store {
    struct cn_chunk *slots;
    uint32_t nslots, cap;
    uint32_t free_head;    /* free slots chained through next, index + 1 */
    uint32_t *buckets;     /* slot index + 1, 0 = empty */
    uint32_t nbuckets;
    uint64_t limit;        /* bytes */
    uint64_t rss_cap;      /* the process must stay below this resident size; 0 = unchecked */
    uint64_t used;         /* bytes counted, stored and arriving */
    uint64_t chunks;       /* chunks stored */
    uint64_t expired;      /* chunks dropped at expiry */
};

int cn_store_init(struct cn_store *s, uint64_t limit);
void cn_store_free(struct cn_store *s);

/* What a chunk of len data bytes and key_len key bytes costs. */
uint64_t cn_store_cost(uint64_t len, uint16_t key_len);

/* A buffer for an incoming chunk, counted against the limit; NULL when it
 * does not fit (or malloc fails). Freed chunk memory stays in the heap for
 * reuse (fresh pages cost a fault each); when a large chunk would push the
 * resident size past rss_cap, free memory is returned first, and the chunk
 * refused if that is not enough. */
struct cn_buf *cn_store_alloc(struct cn_store *s, uint64_t len, uint16_t key_len);
/* Give back a buffer from cn_store_alloc() that will not be stored. */
void cn_store_abandon(struct cn_store *s, struct cn_buf *b, uint16_t key_len);
/* Store a received chunk, replacing one with the same key, version and
 * index. The version must not be 0 and the index not CN_ALL_CHUNKS. Takes
 * the buffer's reference. Returns 0, or -1 with the buffer abandoned. */
int cn_store_put(struct cn_store *s, const struct mcp_chunk_meta *m, struct cn_buf *b);

/* The chunk, or NULL when absent or expired at `now` (unix seconds). */
const struct cn_chunk *cn_store_get(struct cn_store *s, const unsigned char *key, uint16_t key_len,
                                    uint64_t version, uint8_t index, int64_t now);
/* Delete chunks of a key: one version or CN_ALL_VERSIONS, one index or
 * CN_ALL_CHUNKS. Returns how many were deleted. */
int cn_store_delete(struct cn_store *s, const unsigned char *key, uint16_t key_len,
                    uint64_t version, uint8_t index);

/* Set the expiry of a key's chunks (one version or CN_ALL_VERSIONS, one
 * index or CN_ALL_CHUNKS). Returns how many were changed. */
int cn_store_touch(struct cn_store *s, const unsigned char *key, uint16_t key_len, uint64_t version,
                   uint8_t index, int64_t expiry);

/* Inventory page: calls fn for up to `max` live chunks from `cursor` on
 * (0 = from the start). Returns the cursor of the next page, 0 when done.
 * A chunk stored during the whole listing is reported exactly once. fn
 * returns non-zero to stop early; the next page then starts with the chunk
 * it refused. Expired chunks are dropped, not listed. */
uint64_t cn_store_list(struct cn_store *s, uint64_t cursor, uint32_t max, int64_t now,
                       int (*fn)(const struct cn_chunk *c, void *arg), void *arg);

#endif
