/* client/conn.h — server lists and libmemcached handles (prefix cl_conn_,
 * cl_servers_).
 *
 * Several servers are one consistent-hash ring, ketama as libmemcached
 * does it (MD5 points, MEMCACHED_BEHAVIOR_KETAMA), so keys land where any
 * other libmemcached client configured the same way puts them.
 * cl_conn_open returns a memcached_st the caller frees (memcached_free);
 * one per thread (libmemcached handles are not shared between threads).
 */
#ifndef FNCACHE_CLIENT_CONN_H
#define FNCACHE_CLIENT_CONN_H

#include <libmemcached/memcached.h>
#include <stddef.h>

#define CL_SERVERS_MAX 64

struct cl_server {
    char host[256];
    unsigned port;
};

struct cl_conn_opts {
    struct cl_server servers[CL_SERVERS_MAX];
    unsigned nservers;
    int binary;          /* memcached's binary protocol instead of text */
    unsigned timeout_ms; /* for one network wait (poll), not a whole transfer */
};

/* Add "host:port", "host" (port 11211), "[v6addr]:port", or a comma-
 * separated list of them. Returns 0, or -EINVAL with a message in err. */
int cl_servers_add(struct cl_conn_opts *o, const char *spec, char *err, size_t errlen);
/* "host:port" of server i. */
const char *cl_server_name(const struct cl_server *s, char *buf, size_t cap);

/* A handle over every server (or only server `only` when >= 0). NULL when
 * out of memory. Connections are made on first use. */
memcached_st *cl_conn_open(const struct cl_conn_opts *o, int only);

/* `stats <group>` over a plain TCP connection in the text protocol, for
 * replies libmemcached cannot parse: its stats reader keeps only the first
 * word of a value, and a `stats nodes` line has several. `line` is called
 * for each "STAT name value" (value = the rest of the line); a nonzero
 * return stops the read. Returns 0 after END, 1 when the server does not
 * know the group (ERROR, CLIENT_ERROR or SERVER_ERROR), or -1 with a
 * message in err. */
int cl_conn_stats_group(const struct cl_server *s, const char *group, unsigned timeout_ms,
                        int (*line)(void *ctx, const char *name, size_t nlen, const char *value,
                                    size_t vlen),
                        void *ctx, char *err, size_t errlen);

/* A message for a failed libmemcached call on `key`: the server it went to,
 * libmemcached's name for the failure, and the system's reason if any. */
const char *cl_conn_error(memcached_st *m, const char *key, memcached_return_t rc, char *buf,
                          size_t cap);

/* The command line's exit status for a libmemcached result: 0 success,
 * 1 not found, 3 anything the server or the network did. */
int cl_conn_exit_code(memcached_return_t rc);

#endif
