/* client/transfer.c — put/get/rm of whole files, with a progress bar.
 *
 * libmemcached sends and receives a value inside one blocking call and
 * reports no progress, so a second thread watches the connection itself:
 * it finds the socket whose peer is the key's server and reads the kernel's
 * per-connection counters (TCP_INFO: bytes acknowledged by the peer for a
 * put, bytes received for a get). The connection is the process's own and
 * fresh, so the counters start with this transfer. */
#include "client/transfer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/tcp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/conn.h"
#include "client/out.h"
#include "common/clock.h"

#define BAR_DELAY_MS 300            /* transfers quicker than this draw nothing */
#define INPUT_MAX ((size_t)4 << 30) /* beyond any server's largest value */
#define FD_SCAN_MAX 1024

struct progress {
    pthread_t th;
    struct addrinfo *peer; /* the key's server, resolved by the caller's thread */
    int fd;                /* its connection, once found (-1 before) */
    int sending;           /* count bytes acknowledged (put) or received (get) */
    const char *label;
    uint64_t total; /* 0: unknown */
    uint64_t t0;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, drawn, running;
};

/* The socket connected to p->peer, or -1 (libmemcached connects during the
 * call, so the bar looks for it when it first draws). */
static int find_connection(const struct progress *p)
{
    for (int fd = 0; fd < FD_SCAN_MAX; fd++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        if (getpeername(fd, (struct sockaddr *)&sa, &len) != 0) continue;
        for (const struct addrinfo *ai = p->peer; ai != NULL; ai = ai->ai_next)
            if (len == ai->ai_addrlen && memcmp(&sa, ai->ai_addr, len) == 0) return fd;
    }
    return -1;
}

static int moved_bytes(const struct progress *p, uint64_t *out)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    if (getsockopt(p->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return -1;
    *out = p->sending ? ti.tcpi_bytes_acked : ti.tcpi_bytes_received;
    return 0;
}

static void draw(struct progress *p)
{
    uint64_t moved;
    if (p->fd < 0) p->fd = find_connection(p);
    if (p->fd < 0 || moved_bytes(p, &moved) != 0) return;
    double secs = (double)(cm_now_ms() - p->t0) / 1000.0;
    char a[32], b[32], r[32];
    cl_fmt_bytes(r, sizeof r, secs > 0 ? (double)moved / secs : 0);
    if (p->total > 0) {
        if (moved > p->total) moved = p->total;
        int width = 30, fill = (int)((double)moved / (double)p->total * width);
        char bar[31];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        fprintf(stderr, "\r%s [%s] %3.0f%%  %s / %s  %s/s \033[K", p->label, bar,
                100.0 * (double)moved / (double)p->total, cl_fmt_bytes(a, sizeof a, (double)moved),
                cl_fmt_bytes(b, sizeof b, (double)p->total), r);
    } else {
        fprintf(stderr, "\r%s  %s  %s/s \033[K", p->label, cl_fmt_bytes(a, sizeof a, (double)moved),
                r);
    }
    p->drawn = 1;
}

static void *progress_main(void *arg)
{
    struct progress *p = arg;
    pthread_mutex_lock(&p->mu);
    for (int first = 1; !p->done; first = 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long ms = first ? BAR_DELAY_MS : 200;
        ts.tv_nsec += ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        while (!p->done && pthread_cond_timedwait(&p->cv, &p->mu, &ts) != ETIMEDOUT) {
        }
        if (!p->done) draw(p);
    }
    if (p->drawn) fprintf(stderr, "\r\033[K");
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Start drawing, unless disabled or the server cannot be resolved. */
static void progress_start(struct progress *p, int enabled, memcached_st *m, const char *key,
                           int sending, const char *label, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->fd = -1;
    if (!enabled) return;
    memcached_return_t rc;
    const memcached_instance_st *in = memcached_server_by_key(m, key, strlen(key), &rc);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    char port[16];
    if (in == NULL) return;
    snprintf(port, sizeof port, "%u", (unsigned)memcached_server_port(in));
    if (getaddrinfo(memcached_server_name(in), port, &hints, &p->peer) != 0) return;
    p->sending = sending;
    p->label = label;
    p->total = total;
    p->t0 = cm_now_ms();
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->running = pthread_create(&p->th, NULL, progress_main, p) == 0;
}

static void progress_stop(struct progress *p)
{
    if (p->running) {
        pthread_mutex_lock(&p->mu);
        p->done = 1;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->th, NULL);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
    }
    if (p->peer) freeaddrinfo(p->peer);
}

static int server_error(memcached_st *m, const char *what, const char *key, memcached_return_t rc)
{
    char msg[512];
    if (rc == MEMCACHED_NOTFOUND)
        fprintf(stderr, "fncache: %s %s: not found\n", what, key);
    else
        fprintf(stderr, "fncache: %s %s: %s\n", what, key,
                cl_conn_error(m, key, rc, msg, sizeof msg));
    return cl_conn_exit_code(rc);
}

/* The whole input: a regular file is mapped, anything else read. *map says
 * which, for release_input. */
static int read_input(const char *path, char **data, size_t *len, int *map)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY);
    struct stat st;
    *data = NULL;
    *len = 0;
    *map = 0;
    if (fd < 0 || fstat(fd, &st) != 0) goto fail;
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > INPUT_MAX) { /* the same bound as for a pipe */
        errno = EFBIG;
        goto fail;
    }
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p == MAP_FAILED) goto fail;
        *data = p;
        *len = (size_t)st.st_size;
        *map = 1;
    } else {
        size_t cap = 0;
        for (;;) {
            if (*len == cap) {
                if (cap >= INPUT_MAX) {
                    errno = EFBIG;
                    goto fail;
                }
                cap = cap ? 2 * cap : 1 << 16;
                char *q = realloc(*data, cap);
                if (q == NULL) goto fail;
                *data = q;
            }
            ssize_t n = read(fd, *data + *len, cap - *len);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) goto fail;
            if (n == 0) break;
            *len += (size_t)n;
        }
    }
    if (fd != STDIN_FILENO) close(fd);
    return 0;
fail:;
    int e = errno;
    if (fd > STDIN_FILENO) close(fd);
    if (!*map) free(*data);
    *data = NULL;
    return -e;
}

static void release_input(char *data, size_t len, int map)
{
    if (map)
        munmap(data, len);
    else
        free(data);
}

int cl_xfer_put(memcached_st *m, const char *key, const char *path, const struct cl_xfer_opts *o)
{
    char *data;
    size_t len;
    int map, rc = read_input(path, &data, &len, &map);
    if (rc != 0) {
        fprintf(stderr, "fncache: put %s: cannot read %s: %s\n", key, path, strerror(-rc));
        return 4;
    }
    struct progress p;
    char label[300];
    snprintf(label, sizeof label, "put %.250s", key);
    progress_start(&p, o->progress, m, key, 1, label, len);
    memcached_return_t r =
        memcached_set(m, key, strlen(key), len ? data : "", len, o->expire, o->flags);
    progress_stop(&p);
    release_input(data, len, map);
    return r == MEMCACHED_SUCCESS ? 0 : server_error(m, "put", key, r);
}

static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int cl_xfer_get(memcached_st *m, const char *key, const char *path, const struct cl_xfer_opts *o)
{
    struct progress p;
    char label[300];
    snprintf(label, sizeof label, "get %.250s", key);
    size_t len = 0;
    uint32_t flags;
    memcached_return_t r;
    progress_start(&p, o->progress, m, key, 0, label, 0);
    char *v = memcached_get(m, key, strlen(key), &len, &flags, &r);
    progress_stop(&p);
    if (r != MEMCACHED_SUCCESS) {
        free(v);
        return server_error(m, "get", key, r);
    }
    /* the file is created only once the value is here: a miss leaves it alone */
    int to_stdout = path == NULL || strcmp(path, "-") == 0;
    int fd = to_stdout ? STDOUT_FILENO : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -errno : write_all(fd, v ? v : "", len);
    if (!to_stdout && fd >= 0 && close(fd) != 0 && rc == 0) rc = -errno;
    free(v);
    if (rc != 0) {
        fprintf(stderr, "fncache: get %s: cannot write %s: %s\n", key, to_stdout ? "stdout" : path,
                strerror(-rc));
        return 4;
    }
    return 0;
}

int cl_xfer_rm(memcached_st *m, const char *key)
{
    memcached_return_t r = memcached_delete(m, key, strlen(key), 0);
    return r == MEMCACHED_SUCCESS ? 0 : server_error(m, "rm", key, r);
}
