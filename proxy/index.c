/* proxy/index.c — chained hash table + LRU list of object metadata. */
#include "proxy/index.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

#define REALTIME_MAXDELTA (60 * 60 * 24 * 30)

struct px_chunk_loc *px_object_chunks(struct px_object *o) { return (struct px_chunk_loc *)o->tail; }

const unsigned char *px_object_key(const struct px_object *o)
{
    return o->tail + (size_t)(o->d + o->p) * sizeof(struct px_chunk_loc);
}

size_t px_object_mem(const struct px_object *o)
{
    return sizeof *o + (size_t)(o->d + o->p) * sizeof(struct px_chunk_loc) + o->key_len;
}

struct px_object *px_object_new(const void *key, size_t key_len, int d, int p)
{
    if (key_len == 0 || key_len > PX_KEY_MAX || d < 1 || p < 0 || d + p > 64) return NULL;
    size_t locs = (size_t)(d + p) * sizeof(struct px_chunk_loc);
    struct px_object *o = calloc(1, sizeof *o + locs + key_len);
    if (o == NULL) return NULL;
    o->d = (uint8_t)d;
    o->p = (uint8_t)p;
    o->key_len = (uint8_t)key_len;
    memcpy(o->tail + locs, key, key_len);
    o->hash = cm_hash64(key, key_len);
    return o;
}

void px_object_free(struct px_object *o) { free(o); }

int px_index_init(struct px_index *ix)
{
    memset(ix, 0, sizeof *ix);
    ix->nbuckets = 1024;
    ix->buckets = calloc(ix->nbuckets, sizeof *ix->buckets);
    ix->meta_bytes = ix->nbuckets * sizeof *ix->buckets;
    return ix->buckets == NULL ? -1 : 0;
}

void px_index_free(struct px_index *ix)
{
    for (struct px_object *o = ix->lru_head, *next; o != NULL; o = next) {
        next = o->lru_next;
        px_object_free(o);
    }
    free(ix->buckets);
    memset(ix, 0, sizeof *ix);
}

static struct px_object **slot_of(struct px_index *ix, uint64_t hash, const void *key, size_t key_len)
{
    struct px_object **link = &ix->buckets[hash & (ix->nbuckets - 1)];
    for (; *link != NULL; link = &(*link)->hash_next) {
        struct px_object *o = *link;
        if (o->hash == hash && o->key_len == key_len && memcmp(px_object_key(o), key, key_len) == 0) break;
    }
    return link;
}

static void lru_unlink(struct px_index *ix, struct px_object *o)
{
    if (o->lru_prev) o->lru_prev->lru_next = o->lru_next;
    else ix->lru_head = o->lru_next;
    if (o->lru_next) o->lru_next->lru_prev = o->lru_prev;
    else ix->lru_tail = o->lru_prev;
    o->lru_prev = o->lru_next = NULL;
}

static void lru_push(struct px_index *ix, struct px_object *o)
{
    o->lru_prev = NULL;
    o->lru_next = ix->lru_head;
    if (ix->lru_head) ix->lru_head->lru_prev = o;
    ix->lru_head = o;
    if (ix->lru_tail == NULL) ix->lru_tail = o;
}

void px_index_touch(struct px_index *ix, struct px_object *o)
{
    if (ix->lru_head == o) return;
    lru_unlink(ix, o);
    lru_push(ix, o);
}

struct px_object *px_index_peek(struct px_index *ix, const void *key, size_t key_len)
{
    if (key_len == 0 || key_len > PX_KEY_MAX) return NULL;
    return *slot_of(ix, cm_hash64(key, key_len), key, key_len);
}

struct px_object *px_index_lookup(struct px_index *ix, const void *key, size_t key_len, int64_t now)
{
    struct px_object *o = px_index_peek(ix, key, key_len);
    if (o == NULL || px_object_expired(o, now)) return NULL;
    px_index_touch(ix, o);
    return o;
}

static void grow(struct px_index *ix)
{
    size_t n = ix->nbuckets * 2;
    struct px_object **b = calloc(n, sizeof *b);
    if (b == NULL) return; /* keep the longer chains; still correct */
    for (size_t i = 0; i < ix->nbuckets; i++) {
        for (struct px_object *o = ix->buckets[i], *next; o != NULL; o = next) {
            next = o->hash_next;
            o->hash_next = b[o->hash & (n - 1)];
            b[o->hash & (n - 1)] = o;
        }
    }
    free(ix->buckets);
    ix->meta_bytes += (n - ix->nbuckets) * sizeof *b;
    ix->buckets = b;
    ix->nbuckets = n;
}

static void unlink_at(struct px_index *ix, struct px_object **link)
{
    struct px_object *o = *link;
    *link = o->hash_next;
    o->hash_next = NULL;
    lru_unlink(ix, o);
    ix->count--;
    ix->bytes -= o->size;
    ix->meta_bytes -= px_object_mem(o);
}

struct px_object *px_index_insert(struct px_index *ix, struct px_object *o)
{
    struct px_object **link = slot_of(ix, o->hash, px_object_key(o), o->key_len);
    struct px_object *old = *link;
    if (old != NULL) unlink_at(ix, link);
    else if (ix->count + 1 > ix->nbuckets) {
        grow(ix);
        link = slot_of(ix, o->hash, px_object_key(o), o->key_len);
    }
    o->hash_next = *link;
    *link = o;
    lru_push(ix, o);
    ix->count++;
    ix->bytes += o->size;
    ix->meta_bytes += px_object_mem(o);
    return old;
}

void px_index_remove(struct px_index *ix, struct px_object *o)
{
    struct px_object **link = slot_of(ix, o->hash, px_object_key(o), o->key_len);
    if (*link == o) unlink_at(ix, link);
}

struct px_object *px_index_lru(const struct px_index *ix) { return ix->lru_tail; }

int64_t px_expiry_from(int64_t exptime, int64_t now)
{
    if (exptime == 0) return 0;
    if (exptime < 0) return now - 1 > 0 ? now - 1 : 1; /* already expired */
    if (exptime <= REALTIME_MAXDELTA) return now + exptime;
    return exptime;
}

int px_object_expired(const struct px_object *o, int64_t now) { return o->expiry != 0 && o->expiry <= now; }
