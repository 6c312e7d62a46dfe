/* common/hash.h — non-cryptographic hashing of keys (no allocation). */
#ifndef FNCACHE_COMMON_HASH_H
#define FNCACHE_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit FNV-1a with a final avalanche, so low bits make good bucket indices. */
uint64_t cm_hash64(const void *data, size_t len);
/* An avalanche of one 64-bit word (every input bit moves every output bit). */
uint64_t cm_mix64(uint64_t x);

#endif
