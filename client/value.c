/* client/value.c — generate and verify self-describing bench values. */
#include "client/value.h"

#include <string.h>

#include "common/hash.h"

#define MAGIC 0x31636e66u /* "fnc1" little-endian */
#define GOLDEN 0x9e3779b97f4a7c15ull
#define SHORT_TAG 0x5348524f52545631ull

static uint32_t check_of(uint64_t key_hash, uint64_t version, uint64_t len)
{
    return (uint32_t)cm_mix64(cm_mix64(cm_mix64(MAGIC ^ key_hash) ^ version) ^ len);
}

uint64_t cl_value_key_hash(const char *key, size_t len)
{
    return cm_hash64(key, len);
}

/* The stream for `seed`: bytes [0, len) of words cm_mix64(seed + (i+1)*GOLDEN).
 * Compared against `cmp` when it is not NULL (returns the first differing
 * offset, or len); written to `out` otherwise. */
static size_t stream(uint64_t seed, unsigned char *out, const unsigned char *cmp, size_t len)
{
    size_t words = len / 8, i;
    uint64_t w;
    if (cmp == NULL) {
        for (i = 0; i < words; i++) {
            w = cm_mix64(seed + (i + 1) * GOLDEN);
            memcpy(out + 8 * i, &w, 8);
        }
    } else {
        for (i = 0; i < words; i++) {
            uint64_t got;
            w = cm_mix64(seed + (i + 1) * GOLDEN);
            memcpy(&got, cmp + 8 * i, 8);
            if (got != w) {
                size_t at = 8 * i;
                while (cmp[at] == ((unsigned char *)&w)[at - 8 * i])
                    at++;
                return at;
            }
        }
    }
    size_t tail = len - 8 * words;
    if (tail == 0) return len;
    w = cm_mix64(seed + (words + 1) * GOLDEN);
    const unsigned char *wb = (const unsigned char *)&w;
    if (cmp == NULL) {
        memcpy(out + 8 * words, wb, tail);
        return len;
    }
    for (size_t k = 0; k < tail; k++)
        if (cmp[8 * words + k] != wb[k]) return 8 * words + k;
    return len;
}

static uint64_t body_seed(uint64_t key_hash, uint64_t version)
{
    return cm_mix64(key_hash ^ cm_mix64(version + GOLDEN));
}

void cl_value_fill(void *buf, size_t len, uint64_t key_hash, uint64_t version)
{
    unsigned char *b = buf;
    if (len < CL_VALUE_HEADER) {
        stream(cm_mix64(key_hash ^ SHORT_TAG ^ len), b, NULL, len);
        return;
    }
    uint32_t magic = MAGIC, check = check_of(key_hash, version, len);
    uint64_t l = len;
    memcpy(b, &magic, 4);
    memcpy(b + 4, &check, 4);
    memcpy(b + 8, &key_hash, 8);
    memcpy(b + 16, &version, 8);
    memcpy(b + 24, &l, 8);
    stream(body_seed(key_hash, version), b + CL_VALUE_HEADER, NULL, len - CL_VALUE_HEADER);
}

enum cl_value_verdict cl_value_verify(const void *buf, size_t len, uint64_t key_hash,
                                      uint64_t *version, size_t *bad_offset)
{
    const unsigned char *b = buf;
    size_t bad;
    if (len < CL_VALUE_HEADER) {
        bad = stream(cm_mix64(key_hash ^ SHORT_TAG ^ len), NULL, b, len);
        if (bad == len) {
            if (version) *version = 0;
            return CL_VALUE_OK;
        }
        if (bad_offset) *bad_offset = bad;
        return CL_VALUE_BAD_BODY;
    }
    uint32_t magic, check;
    uint64_t kh, ver, l;
    memcpy(&magic, b, 4);
    memcpy(&check, b + 4, 4);
    memcpy(&kh, b + 8, 8);
    memcpy(&ver, b + 16, 8);
    memcpy(&l, b + 24, 8);
    enum cl_value_verdict v = CL_VALUE_OK;
    bad = 0;
    if (magic != MAGIC || check != check_of(kh, ver, l)) {
        v = CL_VALUE_BAD_HEADER;
    } else if (kh != key_hash) {
        v = CL_VALUE_WRONG_KEY;
        bad = 8;
    } else if (l != len) {
        v = CL_VALUE_WRONG_LENGTH;
        bad = 24;
    } else {
        bad = CL_VALUE_HEADER +
              stream(body_seed(kh, ver), NULL, b + CL_VALUE_HEADER, len - CL_VALUE_HEADER);
        if (bad != len) v = CL_VALUE_BAD_BODY;
    }
    if (v == CL_VALUE_OK && version) *version = ver;
    if (v != CL_VALUE_OK && bad_offset) *bad_offset = bad;
    return v;
}

const char *cl_value_verdict_name(enum cl_value_verdict v)
{
    switch (v) {
    case CL_VALUE_OK: return "ok";
    case CL_VALUE_BAD_HEADER: return "not a bench value or its header was altered";
    case CL_VALUE_WRONG_KEY: return "the value of another key";
    case CL_VALUE_WRONG_LENGTH: return "length differs from the header's";
    case CL_VALUE_BAD_BODY: return "bytes differ from what the header generates";
    }
    return "?";
}
