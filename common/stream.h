/* common/stream.h — writing to a libuv stream without a poll round trip.
 *
 * uv_write() of a few bytes that the kernel takes at once still costs an
 * epoll_ctl() per write (libuv re-arms the watcher when the write
 * completes), which is a third of the syscalls of a small request through
 * the proxy. cm_stream_write() tries the kernel first and queues only what
 * is left. The caller owns req and the bytes, as with uv_write().
 */
#ifndef FNCACHE_COMMON_STREAM_H
#define FNCACHE_COMMON_STREAM_H

#include <uv.h>

/* Write bufs[0..n) to s. Returns 1 when it all went at once (req unused,
 * cb never runs), 0 when the rest was queued with uv_write(req, ..., cb),
 * or a negative libuv error. bufs may be changed. */
int cm_stream_write(uv_write_t *req, uv_stream_t *s, uv_buf_t *bufs, unsigned n, uv_write_cb cb);

#endif
