/* ec/ecs.h — Reed-Solomon erasure-coded stripes over isa-l.
 *
 * A code has d data chunks and p parity chunks (1 <= d, 0 <= p,
 * d + p <= ECS_MAX_CHUNKS). Chunks are numbered 0..d-1 (data, in object
 * order) then d..d+p-1 (parity). Sets of chunks are bit masks (bit i =
 * chunk i), which is why d + p is capped at 64.
 *
 * Layout of an object of `len` bytes:
 *   chunk_len = ecs_chunk_len(d, len)   ceil(len / d) rounded up to ECS_ALIGN
 *   stripe    = d * chunk_len bytes     the object, then zero padding
 * The caller allocates the stripe buffer (ecs_stripe_size), lets the object
 * land at its start, and ecs_stripe_split() hands back the d data chunks as
 * pointers into it: nothing is copied. Parity chunks are separate buffers of
 * chunk_len bytes, also the caller's.
 *
 * Ownership: struct ecs_code owns its matrices and its cache of decode
 * tables; every chunk buffer belongs to the caller and is never kept.
 * After ecs_code_init() a code may be used from several threads at once.
 *
 * Errors are negative ECS_E* codes; ecs_strerror() names them.
 */
#ifndef FNCACHE_EC_ECS_H
#define FNCACHE_EC_ECS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define ECS_MAX_CHUNKS 64
#define ECS_ALIGN 64
/* isa-l takes lengths as int. */
#define ECS_MAX_CHUNK_LEN ((size_t)0x7fffffc0)

#define ECS_ERRORS(X)                                                    \
    X(ECS_EINVAL, -1, "invalid code parameters or chunk set")            \
    X(ECS_ETOOMANY, -2, "too many chunks lost: fewer than d remain")     \
    X(ECS_ETOOBIG, -3, "chunk longer than isa-l can process")            \
    X(ECS_ENOMEM, -4, "out of memory")

enum ecs_error {
#define ECS_ENUM(name, value, text) name = value,
    ECS_ERRORS(ECS_ENUM)
#undef ECS_ENUM
};

struct ecs_tables; /* cached decode tables, private to ecs.c */

/* A Reed-Solomon code. Fields are read-only after ecs_code_init(). */
struct ecs_code {
    int d;                          /* data chunks */
    int p;                          /* parity chunks */
    unsigned char *matrix;          /* (d+p) x d systematic Cauchy matrix */
    unsigned char *encode_tables;   /* isa-l tables for the p parity rows */
    pthread_mutex_t cache_lock;     /* guards the decode-table cache */
    struct ecs_tables *cache;       /* open-addressed, ECS_CACHE_SLOTS entries */
    unsigned cache_used;
};

/* Prepare a d+p code. Returns 0, ECS_EINVAL or ECS_ENOMEM. */
int ecs_code_init(struct ecs_code *code, int d, int p);
/* Free what ecs_code_init() allocated. Safe on a zeroed struct. */
void ecs_code_free(struct ecs_code *code);

/* Length of each chunk for an object of len bytes split d ways (0 for an
 * empty object). Callers check it against ECS_MAX_CHUNK_LEN. */
size_t ecs_chunk_len(int d, size_t len);
/* Bytes to allocate for the stripe buffer: d * ecs_chunk_len(d, len). */
size_t ecs_stripe_size(int d, size_t len);
/* Zero the padding after the object in a stripe buffer of
 * ecs_stripe_size(d, len) bytes and point data[0..d-1] at its chunks. */
void ecs_stripe_split(int d, unsigned char *stripe, size_t len, unsigned char **data);

/* Compute parity[0..p-1] from data[0..d-1], each chunk_len bytes. */
int ecs_encode(const struct ecs_code *code, size_t chunk_len,
               unsigned char *const *data, unsigned char **parity);

/* Rebuild chunks from survivors. chunks[0..d+p-1] point at chunk_len-byte
 * buffers: those in `present` hold good contents, those in `rebuild` are
 * overwritten with the chunk they should hold. Others may be NULL.
 * `rebuild` must not overlap `present`. An empty `rebuild` returns 0 at once
 * without touching any buffer (the all-data-present fast path). Returns 0,
 * ECS_ETOOMANY (fewer than d present; nothing written), ECS_EINVAL or
 * ECS_ETOOBIG. */
int ecs_decode(struct ecs_code *code, size_t chunk_len, unsigned char **chunks,
               uint64_t present, uint64_t rebuild);

/* The data chunks missing from `present` (what a reader must rebuild). */
uint64_t ecs_missing_data(const struct ecs_code *code, uint64_t present);
/* All d+p chunks of the code, as a mask. */
uint64_t ecs_all_chunks(const struct ecs_code *code);

/* Checksum of one chunk (CRC32C, isa-l crc32_iscsi). */
uint32_t ecs_crc(const unsigned char *chunk, size_t len);
/* The checksum of a chunk's bytes so far, carried on over the next len
 * bytes: ecs_crc_update(ecs_crc(a, n), a + n, m) == ecs_crc(a, n + m). */
uint32_t ecs_crc_update(uint32_t crc, const unsigned char *buf, size_t len);

/* Data chunks to use for an object of len bytes under a d_max+p code: as
 * many as keep each chunk at least min_chunk bytes, at least 1, at most
 * d_max. Small objects thus become 1+p copies. */
int ecs_adaptive_d(size_t len, int d_max, size_t min_chunk);

/* Name of the isa-l encode routine in use ("avx2", "avx", ...). */
const char *ecs_impl_name(void);

const char *ecs_strerror(int err);

#endif
