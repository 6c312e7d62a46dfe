/* client/keys.h — random numbers and key popularity for the load generator
 * (prefix cl_rng_, cl_zipf_, cl_key_).
 *
 * cl_rng is splitmix64: one word of state, one thread each. cl_zipf draws
 * ranks 0..n-1 with P(rank k) proportional to 1/(k+1)^s by rejection-
 * inversion (Hoermann and Derflinger, 1996): constant time per draw and no
 * table, so a million keys cost nothing. Everything here lives in the
 * caller's structs; nothing allocates.
 */
#ifndef FNCACHE_CLIENT_KEYS_H
#define FNCACHE_CLIENT_KEYS_H

#include <stddef.h>
#include <stdint.h>

struct cl_rng {
    uint64_t s;
};

static inline uint64_t cl_rng_next(struct cl_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double cl_rng_unit(struct cl_rng *r)
{
    return (double)(cl_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n), n >= 1 (Lemire's multiply-shift; the bias is below
 * n / 2^64). */
static inline uint64_t cl_rng_below(struct cl_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)cl_rng_next(r) * n) >> 64);
}

struct cl_zipf {
    uint64_t n;
    double s;                /* exponent, > 0 */
    double h_x1, h_n, s_cut; /* precomputed integrals and acceptance bound */
};

/* n >= 1 ranks, exponent s > 0. Returns 0, or -EINVAL. */
int cl_zipf_init(struct cl_zipf *z, uint64_t n, double s);
/* A rank in [0, n): rank 0 is the most popular. */
uint64_t cl_zipf_sample(const struct cl_zipf *z, struct cl_rng *r);

/* Key popularity: uniform over n keys, or Zipf when zipf_s > 0. */
struct cl_keys {
    uint64_t n;
    int zipf;
    struct cl_zipf z;
};

int cl_keys_init(struct cl_keys *k, uint64_t n, double zipf_s);
uint64_t cl_keys_pick(const struct cl_keys *k, struct cl_rng *r);
/* Writes "<prefix><index>" into out (NUL-terminated); returns its length,
 * or -1 when it does not fit in cap bytes. */
int cl_key_name(char *out, size_t cap, const char *prefix, uint64_t index);

/* A memcached key: 1..250 bytes, no spaces or control characters. */
int cl_key_valid(const char *k, size_t n);

#endif
