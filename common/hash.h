/* common/hash.h — non-cryptographic hashing of keys (no allocation). */
#ifndef FNCACHE_COMMON_HASH_H
#define FNCACHE_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit FNV-1a with a final avalanche, so low bits make good bucket indices. */
uint64_t cm_hash64(const void *data, size_t len);
/* An avalanche of one 64-bit word (every input bit moves every output bit):
 * murmur3's finalizer, inline because hot loops (bench values) call it. */
static inline uint64_t cm_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

#endif
