/* common/hash.c — key hashing. */
#include "common/hash.h"

uint64_t cm_hash64(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return cm_mix64(h);
}
