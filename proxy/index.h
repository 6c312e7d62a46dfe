/* proxy/index.h — the proxy's index: key -> where an object's chunks live.
 *
 * One struct px_object per key, holding everything needed to read the value
 * back (size, flags, expiry, CAS, version, code, chunk length, the node and
 * CRC of every chunk, which chunks are known missing) and nothing else: the
 * value itself lives on the nodes. Objects sit in a chained hash table and
 * on one LRU list (most recently used at the head).
 *
 * Ownership: the index owns its objects. Pointers returned by lookups stay
 * valid until the object is removed or replaced; px_index_remove() and
 * px_index_insert() hand a displaced object back to the caller, who frees it
 * with px_object_free() once nothing refers to it (a read in flight may
 * still be using the old version's chunk list). Not thread-safe: the proxy's
 * event loop owns the index.
 */
#ifndef FNCACHE_PROXY_INDEX_H
#define FNCACHE_PROXY_INDEX_H

#include <stddef.h>
#include <stdint.h>

#define PX_KEY_MAX 250

struct px_chunk_loc {
    uint16_t node;   /* index into the fleet */
    uint32_t crc;    /* CRC32C of the chunk */
} __attribute__((packed));

struct px_object {
    struct px_object *hash_next;
    struct px_object *lru_prev, *lru_next;
    uint64_t hash;
    uint64_t cas;        /* memcached CAS unique */
    uint64_t version;    /* the chunks' version on the nodes */
    uint64_t size;       /* value bytes */
    int64_t expiry;      /* unix seconds, 0 = never */
    uint64_t missing;    /* chunks known lost */
    uint32_t flags;      /* client flags */
    uint32_t chunk_len;
    uint32_t stored_at;  /* unix seconds of the write (flush_all) */
    uint32_t last_access;/* unix seconds (meta l) */
    uint16_t readers;    /* reads in flight on this version's chunks */
    uint8_t d, p;
    uint8_t key_len;
    uint8_t dead;        /* out of the index: chunks go when readers do */
    uint8_t fetched : 1; /* read at least once (meta h) */
    uint8_t stale : 1;   /* invalidated by md I / ms I (meta X) */
    uint8_t token_sent : 1; /* a client was told to recache (meta Z) */
    uint8_t repairing : 1;  /* lost chunks being written back */
    uint8_t queued : 3;     /* waiting for background repair at danger level queued-1; 0 = not */
    /* d+p chunk locations, then the key (not NUL-terminated) */
    unsigned char tail[];
};

struct px_index {
    struct px_object **buckets;
    size_t nbuckets;
    size_t count;
    uint64_t bytes;      /* sum of object sizes */
    uint64_t meta_bytes; /* memory of the index itself: objects + buckets */
    struct px_object *lru_head, *lru_tail;
};

/* Allocate an object for key with room for d+p chunk locations. The caller
 * fills in the fields, then inserts it. NULL on bad arguments or no memory. */
struct px_object *px_object_new(const void *key, size_t key_len, int d, int p);
void px_object_free(struct px_object *o);
struct px_chunk_loc *px_object_chunks(struct px_object *o);
const unsigned char *px_object_key(const struct px_object *o);
size_t px_object_mem(const struct px_object *o);

int px_index_init(struct px_index *ix);
/* Frees every object still in the index. */
void px_index_free(struct px_index *ix);

/* The live object for key, or NULL. An object expired at `now` (unix
 * seconds) is not returned; it stays until px_index_pop_expired or a
 * replacement removes it, so its chunks can be deleted first. Touches LRU. */
struct px_object *px_index_lookup(struct px_index *ix, const void *key, size_t key_len, int64_t now);
/* Same, without the expiry check or LRU touch. */
struct px_object *px_index_peek(struct px_index *ix, const void *key, size_t key_len);

/* Insert o (most recently used). If the key was present, the old object is
 * unlinked and returned (the caller deletes its chunks and frees it);
 * otherwise NULL. */
struct px_object *px_index_insert(struct px_index *ix, struct px_object *o);
/* Unlink o from the index (it must be in it). The caller frees it. */
void px_index_remove(struct px_index *ix, struct px_object *o);
/* Least recently used object, for eviction; NULL when empty. */
struct px_object *px_index_lru(const struct px_index *ix);
void px_index_touch(struct px_index *ix, struct px_object *o);

/* Memcached's expiry rule: 0 = never; negative = already expired; up to 30
 * days = seconds from now; larger = absolute unix time. */
int64_t px_expiry_from(int64_t exptime, int64_t now);
int px_object_expired(const struct px_object *o, int64_t now);

#endif
