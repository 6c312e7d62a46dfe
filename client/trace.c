/* client/trace.c — load a CSV request trace. */
#include "client/trace.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/workload.h"

static int op_of(const char *s, size_t n)
{
    static const struct {
        const char *name;
        enum cl_op op;
    } names[] = {{"get", CL_OP_GET},   {"read", CL_OP_GET},  {"set", CL_OP_SET},
                 {"put", CL_OP_SET},   {"write", CL_OP_SET}, {"delete", CL_OP_DELETE},
                 {"del", CL_OP_DELETE}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && strncasecmp(names[i].name, s, n) == 0)
            return (int)names[i].op;
    return -1;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (q == NULL) return -ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

/* Split a line into exactly 4 comma-separated fields, trimmed. */
static int fields(char *s, char *f[4])
{
    for (int n = 0;; n++) {
        char *c = strchr(s, ',');
        if (c != NULL) *c = 0;
        if (n == 4) return -1;
        f[n] = cl_trim(s);
        if (c == NULL) return n == 3 ? 0 : -1;
        s = c + 1;
    }
}

int cl_trace_parse(struct cl_trace *t, const char *text, size_t len, const char *name, char *err,
                   size_t errlen)
{
    *t = (struct cl_trace){0};
    size_t ops_cap = 0, keys_cap = 0;
    double t0 = 0, last = -INFINITY;
    char line[1024];
    unsigned no = 0;
    int rc = 0, header = 0;
    for (size_t at = 0; at < len && rc == 0;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = (nl ? (size_t)(nl - text) : len) - at;
        no++;
        if (n >= sizeof line) {
            snprintf(err, errlen, "%s:%u: line too long", name, no);
            rc = -EINVAL;
            break;
        }
        memcpy(line, text + at, n);
        line[n] = 0;
        at += n + 1;
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        if (*s == 0 || *s == '#') continue;
        char *f[4], *end;
        const char *why = NULL;
        if (fields(s, f) != 0) {
            why = "want timestamp,op,key,size";
        } else {
            double ts = strtod(f[0], &end);
            if (end == f[0] || *end || !isfinite(ts)) {
                if (t->n == 0 && !header) { /* a header line */
                    header = 1;
                    continue;
                }
                why = "bad timestamp";
            } else if (ts < last) {
                why = "timestamps go backwards";
            } else {
                int op = op_of(f[1], strlen(f[1]));
                size_t kl = strlen(f[2]);
                uint64_t size = 0;
                int bad_key = !cl_key_valid(f[2], kl);
                if (op < 0)
                    why = "op must be get, set or delete";
                else if (bad_key)
                    why = "bad key (1..250 bytes, no spaces or control characters)";
                else if (op == CL_OP_SET && cl_size_value(f[3], &size) != 0)
                    why = "bad size";
                else if (grow((void **)&t->ops, &ops_cap, t->n + 1, sizeof *t->ops) ||
                         grow((void **)&t->keys, &keys_cap, t->keys_len + kl + 1, 1) ||
                         t->keys_len > UINT32_MAX) {
                    rc = -ENOMEM;
                    snprintf(err, errlen, "%s: out of memory", name);
                    break;
                } else {
                    if (t->n == 0) t0 = ts;
                    last = ts;
                    t->ops[t->n++] = (struct cl_trace_op){.t = ts - t0,
                                                          .size = size,
                                                          .key_off = (uint32_t)t->keys_len,
                                                          .key_len = (uint16_t)kl,
                                                          .op = (uint8_t)op};
                    memcpy(t->keys + t->keys_len, f[2], kl + 1);
                    t->keys_len += kl + 1;
                }
            }
        }
        if (why != NULL) {
            snprintf(err, errlen, "%s:%u: %s", name, no, why);
            rc = -EINVAL;
        }
    }
    if (rc == 0 && t->n == 0) {
        snprintf(err, errlen, "%s: no requests in the trace", name);
        rc = -EINVAL;
    }
    if (rc != 0) cl_trace_free(t);
    return rc;
}

int cl_trace_load(struct cl_trace *t, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        if (fd >= 0) close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode) || st.st_size == 0) { /* it is mapped: a pipe or device cannot be */
        close(fd);
        snprintf(err, errlen, "%s: %s", path, S_ISREG(st.st_mode) ? "no requests in the trace" : "not a regular file");
        return -EINVAL;
    }
    void *text = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (text == MAP_FAILED) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    int rc = cl_trace_parse(t, text, (size_t)st.st_size, path, err, errlen);
    munmap(text, (size_t)st.st_size);
    return rc;
}

void cl_trace_free(struct cl_trace *t)
{
    free(t->ops);
    free(t->keys);
    *t = (struct cl_trace){0};
}
