/* common/hash.h — non-cryptographic hashing of keys (no allocation). */
#ifndef FNCACHE_COMMON_HASH_H
#define FNCACHE_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 64-bit FNV-1a with a final avalanche, so low bits make good bucket indices. */
uint64_t cm_hash64(const void *data, size_t len);

#endif
