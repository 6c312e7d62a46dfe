/* client/value.h — bench values that can be checked byte for byte without
 * being stored (prefix cl_value_).
 *
 * A value of len >= CL_VALUE_HEADER bytes is a 32-byte header followed by a
 * pseudo-random body:
 *   [0,4)   magic "fnc1"
 *   [4,8)   check: a hash of magic, key hash, version and length
 *   [8,16)  key hash (cl_value_key_hash of the key it was written under)
 *   [16,24) version (the writer's counter for that key)
 *   [24,32) length
 *   [32,..) word i = mix(seed + i * golden), seed from (key hash, version)
 * all little-endian. A reader needs only the key: the header names the
 * version, and the body must be exactly what that header generates. So a
 * value written by any writer, at any version, verifies; an altered byte
 * anywhere does not (a header byte breaks the check, the key hash, the
 * length or the body's seed; a body byte breaks the body).
 * Values shorter than the header are the first len bytes of a stream seeded
 * by (key hash, len) alone: they are checked against the key, with no
 * version.
 * The caller owns every buffer; nothing allocates.
 */
#ifndef FNCACHE_CLIENT_VALUE_H
#define FNCACHE_CLIENT_VALUE_H

#include <stddef.h>
#include <stdint.h>

#define CL_VALUE_HEADER 32

enum cl_value_verdict {
    CL_VALUE_OK = 0,
    CL_VALUE_BAD_HEADER,   /* magic or check field wrong: not a bench value, or altered */
    CL_VALUE_WRONG_KEY,    /* a consistent header, for another key */
    CL_VALUE_WRONG_LENGTH, /* the header's length is not the value's */
    CL_VALUE_BAD_BODY,     /* a byte of the body differs from what the header generates */
};

uint64_t cl_value_key_hash(const char *key, size_t len);
/* Fill buf[0..len) with the value of (key hash, version). */
void cl_value_fill(void *buf, size_t len, uint64_t key_hash, uint64_t version);
/* Check a value read under the key with this hash. On CL_VALUE_OK, *version
 * is the version it was written at (0 for short values); otherwise
 * *bad_offset is the first byte found wrong. Either pointer may be NULL. */
enum cl_value_verdict cl_value_verify(const void *buf, size_t len, uint64_t key_hash,
                                      uint64_t *version, size_t *bad_offset);
const char *cl_value_verdict_name(enum cl_value_verdict v);

#endif
