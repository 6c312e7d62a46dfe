/* cachenode/store.c — chunk store: slot array + chained hash on the key. */
#include "cachenode/store.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hash.h"

struct cn_buf *cn_buf_ref(struct cn_buf *b)
{
    b->refs++;
    return b;
}

void cn_buf_unref(struct cn_buf *b)
{
    if (b != NULL && --b->refs == 0) free(b);
}

uint64_t cn_store_cost(uint64_t len, uint16_t key_len) { return len + key_len + CN_CHUNK_OVERHEAD; }

int cn_store_init(struct cn_store *s, uint64_t limit)
{
    memset(s, 0, sizeof *s);
    s->limit = limit;
    s->nbuckets = 1024;
    s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
    return s->buckets == NULL ? -1 : 0;
}

void cn_store_free(struct cn_store *s)
{
    for (uint32_t i = 0; i < s->nslots; i++) {
        cn_buf_unref(s->slots[i].data);
        free(s->slots[i].key);
    }
    free(s->slots);
    free(s->buckets);
    memset(s, 0, sizeof *s);
}

#define CN_RSS_CHECK_MIN ((uint64_t)256 << 10) /* smaller chunks fit in the margin */

static uint64_t resident_bytes(void)
{
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
    fclose(f);
    return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

struct cn_buf *cn_store_alloc(struct cn_store *s, uint64_t len, uint16_t key_len)
{
    uint64_t cost = cn_store_cost(len, key_len);
    if (cost > s->limit - s->used || s->used > s->limit) return NULL;
    if (s->rss_cap != 0 && len >= CN_RSS_CHECK_MIN && resident_bytes() + len > s->rss_cap) {
        malloc_trim(0); /* give back the free memory fragmentation left behind */
        if (resident_bytes() + len > s->rss_cap) return NULL;
    }
    struct cn_buf *b = malloc(sizeof *b + len);
    if (b == NULL) return NULL;
    b->refs = 1;
    b->len = len;
    s->used += cost;
    return b;
}

void cn_store_abandon(struct cn_store *s, struct cn_buf *b, uint16_t key_len)
{
    s->used -= cn_store_cost(b->len, key_len);
    cn_buf_unref(b);
}

static int same_key(const struct cn_chunk *c, uint64_t hash, const unsigned char *key, uint16_t key_len)
{
    return c->hash == hash && c->meta.key_len == key_len && memcmp(c->key, key, key_len) == 0;
}

static uint32_t *bucket_of(struct cn_store *s, uint64_t hash) { return &s->buckets[hash & (s->nbuckets - 1)]; }

static int grow_buckets(struct cn_store *s)
{
    uint32_t n = s->nbuckets * 2;
    uint32_t *b = calloc(n, sizeof *b);
    if (b == NULL) return -1;
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
    for (uint32_t i = 0; i < s->nslots; i++) {
        if (s->slots[i].data == NULL) continue;
        uint32_t *head = bucket_of(s, s->slots[i].hash);
        s->slots[i].next = *head;
        *head = i + 1;
    }
    return 0;
}

/* Unlink and release the chunk in slot i; `link` points at its chain link. */
static void drop(struct cn_store *s, uint32_t *link, uint32_t i)
{
    struct cn_chunk *c = &s->slots[i];
    *link = c->next;
    s->used -= c->charged;
    s->chunks--;
    cn_buf_unref(c->data);
    free(c->key);
    memset(c, 0, sizeof *c);
    c->next = s->free_head;
    s->free_head = i + 1;
}

static int expired(const struct cn_chunk *c, int64_t now)
{
    return c->meta.expiry != 0 && c->meta.expiry <= now;
}

int cn_store_put(struct cn_store *s, const struct mcp_chunk_meta *m, struct cn_buf *b)
{
    uint64_t hash = cm_hash64(m->key, m->key_len);
    if (m->version == CN_ALL_VERSIONS || m->index == CN_ALL_CHUNKS) goto fail;
    cn_store_delete(s, m->key, m->key_len, m->version, m->index);

    if (s->chunks + 1 > (uint64_t)s->nbuckets && grow_buckets(s) != 0) goto fail;
    uint32_t i;
    if (s->free_head != 0) {
        i = s->free_head - 1;
        s->free_head = s->slots[i].next;
    } else {
        if (s->nslots == s->cap) {
            uint32_t cap = s->cap ? s->cap * 2 : 256;
            struct cn_chunk *slots = realloc(s->slots, cap * sizeof *slots);
            if (slots == NULL) goto fail;
            s->slots = slots;
            s->cap = cap;
        }
        i = s->nslots++;
    }
    struct cn_chunk *c = &s->slots[i];
    c->key = malloc(m->key_len ? m->key_len : 1);
    if (c->key == NULL) {
        memset(c, 0, sizeof *c);
        c->next = s->free_head;
        s->free_head = i + 1;
        goto fail;
    }
    memcpy(c->key, m->key, m->key_len);
    c->meta = *m;
    c->meta.key = c->key;
    c->data = b;
    c->hash = hash;
    c->charged = cn_store_cost(b->len, m->key_len);
    uint32_t *head = bucket_of(s, hash);
    c->next = *head;
    *head = i + 1;
    s->chunks++;
    return 0;
fail:
    cn_store_abandon(s, b, m->key_len);
    return -1;
}

const struct cn_chunk *cn_store_get(struct cn_store *s, const unsigned char *key, uint16_t key_len,
                                    uint64_t version, uint8_t index, int64_t now)
{
    uint64_t hash = cm_hash64(key, key_len);
    for (uint32_t *link = bucket_of(s, hash); *link != 0; link = &s->slots[*link - 1].next) {
        uint32_t i = *link - 1;
        struct cn_chunk *c = &s->slots[i];
        if (!same_key(c, hash, key, key_len) || c->meta.version != version || c->meta.index != index)
            continue;
        if (expired(c, now)) {
            drop(s, link, i);
            s->expired++;
            return NULL;
        }
        return c;
    }
    return NULL;
}

int cn_store_delete(struct cn_store *s, const unsigned char *key, uint16_t key_len,
                    uint64_t version, uint8_t index)
{
    uint64_t hash = cm_hash64(key, key_len);
    int n = 0;
    uint32_t *link = bucket_of(s, hash);
    while (*link != 0) {
        uint32_t i = *link - 1;
        struct cn_chunk *c = &s->slots[i];
        if (same_key(c, hash, key, key_len) &&
            (version == CN_ALL_VERSIONS || c->meta.version == version) &&
            (index == CN_ALL_CHUNKS || c->meta.index == index)) {
            drop(s, link, i); /* *link now names the next chunk */
            n++;
        } else {
            link = &c->next;
        }
    }
    return n;
}

int cn_store_touch(struct cn_store *s, const unsigned char *key, uint16_t key_len, uint64_t version,
                   uint8_t index, int64_t expiry)
{
    uint64_t hash = cm_hash64(key, key_len);
    int n = 0;
    for (uint32_t i = *bucket_of(s, hash); i != 0; i = s->slots[i - 1].next) {
        struct cn_chunk *c = &s->slots[i - 1];
        if (same_key(c, hash, key, key_len) && (version == CN_ALL_VERSIONS || c->meta.version == version) &&
            (index == CN_ALL_CHUNKS || c->meta.index == index)) {
            c->meta.expiry = expiry;
            n++;
        }
    }
    return n;
}

/* The chain link that points at slot i. */
static uint32_t *link_to(struct cn_store *s, uint32_t i)
{
    uint32_t *link = bucket_of(s, s->slots[i].hash);
    while (*link != i + 1) link = &s->slots[*link - 1].next;
    return link;
}

uint64_t cn_store_list(struct cn_store *s, uint64_t cursor, uint32_t max, int64_t now,
                       int (*fn)(const struct cn_chunk *c, void *arg), void *arg)
{
    uint32_t listed = 0;
    uint64_t i = cursor ? cursor - 1 : 0;
    for (; i < s->nslots && listed < max; i++) {
        struct cn_chunk *c = &s->slots[i];
        if (c->data == NULL) continue;
        if (expired(c, now)) {
            drop(s, link_to(s, (uint32_t)i), (uint32_t)i);
            s->expired++;
            continue;
        }
        if (fn(c, arg) != 0) return i + 1; /* restart at the refused chunk */
        listed++;
    }
    return i >= s->nslots ? 0 : i + 1;
}
