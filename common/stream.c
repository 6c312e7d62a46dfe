/* common/stream.c — see stream.h. */
#include "common/stream.h"

int cm_stream_write(uv_write_t *req, uv_stream_t *s, uv_buf_t *bufs, unsigned n, uv_write_cb cb)
{
    int wrote = uv_try_write(s, bufs, n); /* UV_EAGAIN too while writes are queued: order holds */
    if (wrote < 0 && wrote != UV_EAGAIN) return wrote;
    size_t left = wrote > 0 ? (size_t)wrote : 0;
    while (n > 0 && left >= bufs->len) {
        left -= bufs->len;
        bufs++;
        n--;
    }
    if (n == 0) return 1;
    bufs->base += left;
    bufs->len -= left;
    int rc = uv_write(req, s, bufs, n, cb);
    return rc < 0 ? rc : 0;
}
