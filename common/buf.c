/* common/buf.c — growable byte buffer. */
#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

int cm_buf_append(struct cm_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) return -1;
        b->data = grown;
        b->cap = cap;
    }
    if (n > 0) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

void cm_buf_free(struct cm_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
