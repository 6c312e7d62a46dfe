/* client/trace.h — a request trace to replay: CSV lines of
 * `timestamp,op,key,size` (prefix cl_trace_).
 *
 * timestamp: seconds (fractions allowed), any origin, not decreasing;
 * op: get, set or delete (also GET/SET/DELETE, del, put); key: memcached
 * rules (1..250 bytes, no spaces or control characters); size: bytes of a
 * SET (k/m/g suffixes; ignored for other ops). A first line that is not a
 * number in its first field is a header; blank lines and lines starting
 * with '#' are skipped.
 *
 * cl_trace_load allocates the op array and one arena for the keys; both
 * belong to the struct until cl_trace_free.
 */
#ifndef FNCACHE_CLIENT_TRACE_H
#define FNCACHE_CLIENT_TRACE_H

#include <stddef.h>
#include <stdint.h>

enum cl_op { CL_OP_GET, CL_OP_SET, CL_OP_DELETE, CL_OPS };

struct cl_trace_op {
    double t; /* seconds after the first line */
    uint64_t size;
    uint32_t key_off; /* into cl_trace.keys */
    uint16_t key_len;
    uint8_t op; /* enum cl_op */
};

struct cl_trace {
    struct cl_trace_op *ops;
    size_t n;
    char *keys; /* every key, each NUL-terminated */
    size_t keys_len;
};

/* Returns 0, or a negative errno with "path:line: ..." in err. */
int cl_trace_load(struct cl_trace *t, const char *path, char *err, size_t errlen);
/* The same from a buffer (for tests); `name` labels error messages. */
int cl_trace_parse(struct cl_trace *t, const char *text, size_t len, const char *name, char *err,
                   size_t errlen);
void cl_trace_free(struct cl_trace *t);

static inline const char *cl_trace_key(const struct cl_trace *t, const struct cl_trace_op *op)
{
    return t->keys + op->key_off;
}

#endif
