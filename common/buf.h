/* common/buf.h — a growable byte buffer, kept NUL-terminated so text bodies
 * can be read as strings. The struct's owner frees `data` (cm_buf_free). */
#ifndef FNCACHE_COMMON_BUF_H
#define FNCACHE_COMMON_BUF_H

#include <stddef.h>

struct cm_buf {
    char *data;   /* NULL until something is appended */
    size_t len, cap;
};

/* Append n bytes. Returns 0, or -1 when out of memory (b unchanged). */
int cm_buf_append(struct cm_buf *b, const void *p, size_t n);
void cm_buf_free(struct cm_buf *b);

#endif
