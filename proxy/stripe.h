/* proxy/stripe.h — objects to chunks on nodes and back.
 *
 * An object's bytes live in one struct px_value: the stripe buffer (the
 * object, zero-padded to d chunks, where a client's value lands and where a
 * read's data chunks land) and p parity chunks. Writing checksums the data
 * chunks and encodes the parity (two jobs on libuv's thread pool at once
 * for large objects; the data chunks leave as soon as they are summed) and
 * PUTs chunk i to nodes[i]. Reading GETs every chunk not known missing
 * straight into its slot and answers as soon as any d have arrived with
 * good checksums (first d win); missing data chunks are then rebuilt in
 * place. Once the answer is decided (before a rebuild starts), chunks still
 * on their way are detached: their bytes are dropped as they come, so no
 * straggler lands in a slot that is being rebuilt or sent.
 *
 * A read with a `ready` callback streams: its data chunks are reported in
 * order as they verify, and taken two at a time, the others held in the
 * kernel's buffers (px_op.hold) until their turn, or until a chunk is lost.
 *
 * Ownership: values are reference-counted; px_stripe_write and
 * px_stripe_read hold a reference while they work. struct px_write and
 * struct px_read belong to the caller and must live until their `done`
 * callback (for a read this comes after the answer, once the last
 * straggler has finished). Keys are copied.
 */
#ifndef FNCACHE_PROXY_STRIPE_H
#define FNCACHE_PROXY_STRIPE_H

#include <stdint.h>
#include <uv.h>

#include "ec/ecs.h"
#include "proxy/pool.h"

/* Large buffers kept for reuse. Memory the process touched before costs
 * nothing to write into; fresh memory costs a page fault per 4 KiB, which
 * costs a third of the speed of a 100 MB read (make bench-proxy: 100 MB GET
 * 335-370 MB/s without, 460-480 with). Used from the loop thread only. */
#define PX_POOL_SLOTS 16 /* a value and its parity for each of 8 large reads */
#define PX_POOL_MIN ((size_t)1 << 20) /* smaller buffers come and go with malloc */
struct px_bufpool {
    uint64_t max_bytes, bytes;
    unsigned n;
    struct px_pooled { unsigned char *buf; size_t cap; } slot[PX_POOL_SLOTS];
    uint64_t hits, misses;
};

struct px_value {
    uint32_t refs;
    struct px_bufpool *pool;    /* where the buffers go back, or NULL */
    size_t data_cap, parity_cap;
    uint64_t len;               /* object bytes */
    int d, p;
    size_t chunk_len;
    unsigned char *data;        /* d * chunk_len */
    unsigned char *parity;      /* p * chunk_len */
    uint32_t crc[ECS_MAX_CHUNKS];
};

/* A value for an object of len bytes under a d+p code; NULL when out of
 * memory or the chunks would be too long. One reference. With a pool, its
 * buffers come from it and go back to it. */
struct px_value *px_value_new(uint64_t len, int d, int p);
struct px_value *px_value_new_pooled(struct px_bufpool *pool, uint64_t len, int d, int p);
void px_bufpool_free(struct px_bufpool *pool);
struct px_value *px_value_ref(struct px_value *v);
void px_value_unref(struct px_value *v);
unsigned char *px_value_chunk(struct px_value *v, int i);

struct px_stripe {
    uv_loop_t *loop;
    struct px_pool *pool;
    int d_max, p;
    size_t min_chunk;           /* adaptive width: chunks at least this long */
    uint64_t offload_bytes;     /* objects this large are coded off the loop */
    struct px_bufpool buffers;  /* stripe buffers for reads and client values */
    struct ecs_code codes[ECS_MAX_CHUNKS + 1]; /* codes[d], made when first used */
    uint64_t decodes, bad_chunks;
};

int px_stripe_init(struct px_stripe *st, uv_loop_t *loop, struct px_pool *pool, int d_max, int p,
                   size_t min_chunk);
void px_stripe_free(struct px_stripe *st);
/* The code for d data chunks (and the stripe's p), or NULL. */
struct ecs_code *px_stripe_code(struct px_stripe *st, int d);
/* d for an object of len bytes. */
int px_stripe_width(const struct px_stripe *st, uint64_t len);

struct px_write {
    /* request */
    struct px_value *v;
    const unsigned char *key;
    uint16_t key_len;
    uint64_t version;
    int64_t expiry;
    uint32_t flags;
    uint16_t nodes[ECS_MAX_CHUNKS];
    uint64_t only;              /* 0: every chunk; else just these (a repair) */
    void (*done)(struct px_write *w, int status); /* 0, or -EIO when a chunk was refused */
    void *arg;
    /* result */
    uint64_t failed;            /* chunks not stored */
    /* private */
    struct px_stripe *st;
    unsigned char keybuf[MCP_FRAME_MAX_KEY];
    int pending, coding;        /* PUTs not yet answered, coding jobs not yet done */
    uv_work_t summing, encoding;
    struct px_op *ops;          /* d+p of them, allocated while writing */
};

/* Encode w->v (whose data region holds the object), checksum its chunks
 * into v->crc and store them (those in w->only, if set). */
void px_stripe_write(struct px_stripe *st, struct px_write *w);

struct px_read {
    /* request */
    const unsigned char *key;
    uint16_t key_len;
    uint64_t version, size;
    int d, p;
    uint16_t nodes[ECS_MAX_CHUNKS];
    uint32_t crc[ECS_MAX_CHUNKS];
    uint64_t skip;              /* chunks known missing: not asked for */
    void (*answer)(struct px_read *r, int status); /* 0: r->v holds the object; -ENOENT: fewer than d */
    void (*done)(struct px_read *r);               /* every op finished: r may be freed */
    /* optional: object bytes [0, upto) are final (the leading data chunks,
     * verified), before the answer; a large value can start on its way */
    void (*ready)(struct px_read *r, uint64_t upto);
    void *arg;
    /* result */
    struct px_value *v;         /* the read's reference; take your own in answer() */
    uint64_t good, lost;        /* chunks that arrived verified / that failed */
    uint64_t unreachable;       /* of the lost: no answer from the node (may still be there) */
    /* private */
    struct px_stripe *st;
    unsigned char keybuf[MCP_FRAME_MAX_KEY];
    int outstanding, answered, decoding;
    int ready_chunks;           /* leading data chunks reported through ready */
    uint64_t asked;
    uv_work_t work;
    struct px_op *ops;          /* d+p of them, allocated while reading */
};

void px_stripe_read(struct px_stripe *st, struct px_read *r);

/* Send op (MCP_OP_DEL, or MCP_OP_TOUCH with a new expiry) for each chunk
 * i in `chunks` of an object version to nodes[i], fire and forget. */
void px_stripe_notify(struct px_stripe *st, uint8_t op, const unsigned char *key, uint16_t key_len,
                      uint64_t version, int64_t expiry, uint64_t chunks, const uint16_t *nodes);
/* Every chunk of a d+p stripe. */
#define PX_ALL_CHUNKS(n) ((n) >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << (n)) - 1)

#endif
