/* client/conn.c — server lists, libmemcached handles. */
#include "client/conn.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "common/buf.h"

static int add_one(struct cl_conn_opts *o, const char *s, size_t len, char *err, size_t errlen)
{
    char spec[300];
    if (len == 0 || len >= sizeof spec) {
        snprintf(err, errlen, "bad server \"%.*s\" (want host:port)", (int)len, s);
        return -EINVAL;
    }
    memcpy(spec, s, len);
    spec[len] = 0;
    if (o->nservers == CL_SERVERS_MAX) {
        snprintf(err, errlen, "more than %d servers", CL_SERVERS_MAX);
        return -EINVAL;
    }
    struct cl_server *sv = &o->servers[o->nservers];
    char *host = spec, *port = NULL;
    if (spec[0] == '[') { /* [v6]:port */
        char *close = strchr(spec, ']');
        if (close == NULL || (close[1] != 0 && close[1] != ':')) goto bad;
        *close = 0;
        host = spec + 1;
        if (close[1] == ':') port = close + 2;
    } else {
        char *colon = strrchr(spec, ':');
        if (colon != NULL && strchr(spec, ':') != colon) goto bad; /* a bare v6 address needs [] */
        if (colon != NULL) {
            *colon = 0;
            port = colon + 1;
        }
    }
    if (host[0] == 0 || strlen(host) >= sizeof sv->host) goto bad;
    unsigned long p = 11211;
    if (port != NULL) {
        char *end;
        p = strtoul(port, &end, 10);
        if (port[0] < '0' || port[0] > '9' || *end || p == 0 || p > 65535) goto bad;
    }
    strcpy(sv->host, host);
    sv->port = (unsigned)p;
    o->nservers++;
    return 0;
bad:
    snprintf(err, errlen, "bad server \"%.*s\" (want host:port, [v6addr]:port or host)", (int)len,
             s);
    return -EINVAL;
}

int cl_servers_add(struct cl_conn_opts *o, const char *spec, char *err, size_t errlen)
{
    for (;;) {
        const char *comma = strchr(spec, ',');
        size_t len = comma ? (size_t)(comma - spec) : strlen(spec);
        int rc = add_one(o, spec, len, err, errlen);
        if (rc != 0 || comma == NULL) return rc;
        spec = comma + 1;
    }
}

const char *cl_server_name(const struct cl_server *s, char *buf, size_t cap)
{
    snprintf(buf, cap, strchr(s->host, ':') ? "[%s]:%u" : "%s:%u", s->host, s->port);
    return buf;
}

memcached_st *cl_conn_open(const struct cl_conn_opts *o, int only)
{
    memcached_st *m = memcached_create(NULL);
    if (m == NULL) return NULL;
    for (unsigned i = 0; i < o->nservers; i++)
        if (only < 0 || (unsigned)only == i)
            memcached_server_add(m, o->servers[i].host, (in_port_t)o->servers[i].port);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA, 1);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, (uint64_t)o->binary);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT,
                           o->timeout_ms < 5000 ? o->timeout_ms : 5000);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, o->timeout_ms);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, (uint64_t)o->timeout_ms * 1000);
    memcached_behavior_set(m, MEMCACHED_BEHAVIOR_SND_TIMEOUT, (uint64_t)o->timeout_ms * 1000);
    return m;
}

int cl_conn_exit_code(memcached_return_t rc)
{
    if (rc == MEMCACHED_SUCCESS) return 0;
    if (rc == MEMCACHED_NOTFOUND) return 1;
    return 3;
}

static int dial(const struct cl_server *s, unsigned timeout_ms, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    char port[16], name[300];
    snprintf(port, sizeof port, "%u", s->port);
    int rc = getaddrinfo(s->host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", cl_server_name(s, name, sizeof name), gai_strerror(rc));
        return -1;
    }
    int fd = -1, e = 0;
    struct timeval tv = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000};
    for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) continue;
        /* SO_SNDTIMEO bounds connect() as well, on Linux */
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errlen, "%s: %s", cl_server_name(s, name, sizeof name),
                 strerror(e ? e : EHOSTUNREACH));
    return fd;
}

int cl_conn_stats_group(const struct cl_server *s, const char *group, unsigned timeout_ms,
                        int (*line)(void *ctx, const char *name, size_t nlen, const char *value,
                                    size_t vlen),
                        void *ctx, char *err, size_t errlen)
{
    char req[300], name[300];
    int fd = dial(s, timeout_ms, err, errlen), n = snprintf(req, sizeof req, "stats %s\r\n", group);
    if (fd < 0) return -1;
    if (n < 0 || (size_t)n >= sizeof req || send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        snprintf(err, errlen, "%s: cannot send: %s", cl_server_name(s, name, sizeof name),
                 strerror(errno));
        close(fd);
        return -1;
    }
    struct cm_buf in = {0};
    size_t at = 0; /* start of the first line not yet handled */
    int rc = -1;
    for (;;) {
        char chunk[16384];
        ssize_t got = recv(fd, chunk, sizeof chunk, 0);
        if (got <= 0) {
            snprintf(err, errlen, "%s: stats %s: %s", cl_server_name(s, name, sizeof name), group,
                     got == 0 ? "connection closed mid-reply" : strerror(errno));
            break;
        }
        if (in.len > (16u << 20)) { /* no stats reply is this long: a server streaming nonsense */
            snprintf(err, errlen, "%s: stats %s: reply over 16 MiB", cl_server_name(s, name, sizeof name), group);
            break;
        }
        if (cm_buf_append(&in, chunk, (size_t)got) != 0) {
            snprintf(err, errlen, "out of memory");
            break;
        }
        char *nl;
        while ((nl = memchr(in.data + at, '\n', in.len - at)) != NULL) {
            char *l = in.data + at;
            size_t len = (size_t)(nl - l);
            if (len > 0 && l[len - 1] == '\r') len--;
            at = (size_t)(nl - in.data) + 1;
            if (len == 3 && memcmp(l, "END", 3) == 0) {
                rc = 0;
                goto done;
            }
            if (len > 5 && memcmp(l, "STAT ", 5) == 0) {
                const char *k = l + 5, *sp = memchr(k, ' ', len - 5);
                size_t kl = sp ? (size_t)(sp - k) : len - 5;
                const char *v = sp ? sp + 1 : l + len;
                if (line(ctx, k, kl, v, (size_t)(l + len - v)) != 0) {
                    snprintf(err, errlen, "out of memory");
                    goto done;
                }
            } else if ((len == 5 && memcmp(l, "ERROR", 5) == 0) ||
                       strncmp(l, "CLIENT_ERROR", 12) == 0 || strncmp(l, "SERVER_ERROR", 12) == 0) {
                rc = 1;
                goto done;
            } else {
                snprintf(err, errlen, "%s: unexpected reply to stats %s: %.*s",
                         cl_server_name(s, name, sizeof name), group, (int)(len < 80 ? len : 80),
                         l);
                goto done;
            }
        }
    }
done:
    cm_buf_free(&in);
    close(fd);
    return rc;
}

const char *cl_conn_error(memcached_st *m, const char *key, memcached_return_t rc, char *buf,
                          size_t cap)
{
    /* libmemcached's message reads "(0x...) TEXT,  host: h:p -> file:line":
     * keep TEXT (read before asking anything else of m) */
    char what[256];
    int same = memcached_last_error(m) == rc, sys = same ? memcached_last_error_errno(m) : 0;
    const char *msg = same ? memcached_last_error_message(m) : NULL,
               *open = msg ? strstr(msg, ") ") : NULL;
    snprintf(what, sizeof what, "%s", open && msg[0] == '(' ? open + 2 : msg ? msg : "");
    char *cut = strstr(what, "host:");
    if (cut == NULL) cut = strstr(what, " -> ");
    if (cut != NULL) {
        while (cut > what && (cut[-1] == ' ' || cut[-1] == ','))
            cut--;
        *cut = 0;
    }
    if (what[0] == 0) snprintf(what, sizeof what, "%s", memcached_strerror(m, rc));
    memcached_return_t e;
    const memcached_instance_st *in = key[0] ? memcached_server_by_key(m, key, strlen(key), &e)
                                             : memcached_server_instance_by_position(m, 0);
    if (sys != 0 && strstr(what, strerror(sys)) != NULL) sys = 0; /* said already */
    snprintf(buf, cap, "%s:%u: %s%s%s%s", in ? memcached_server_name(in) : "?",
             in ? (unsigned)memcached_server_port(in) : 0, what, sys ? " (" : "",
             sys ? strerror(sys) : "", sys ? ")" : "");
    return buf;
}
