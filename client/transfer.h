/* client/transfer.h — `fncache put`, `get` and `rm`: files in and out of the
 * cache through libmemcached, with a progress bar on a terminal
 * (prefix cl_xfer_).
 *
 * Each returns the command's exit status (0 done, 1 no such key, 3 server
 * or network error, 4 local file error) and prints its own error message,
 * prefixed "fncache: ", to stderr. The memcached_st is the caller's.
 */
#ifndef FNCACHE_CLIENT_TRANSFER_H
#define FNCACHE_CLIENT_TRANSFER_H

#include <libmemcached/memcached.h>
#include <stdint.h>

struct cl_xfer_opts {
    int progress;   /* draw a progress bar on stderr (a terminal) */
    uint32_t flags; /* memcached flags stored with a put */
    time_t expire;  /* seconds, 0 = never */
};

/* path "-" is stdin / stdout. */
int cl_xfer_put(memcached_st *m, const char *key, const char *path, const struct cl_xfer_opts *o);
int cl_xfer_get(memcached_st *m, const char *key, const char *path, const struct cl_xfer_opts *o);
int cl_xfer_rm(memcached_st *m, const char *key);

#endif
