/* cachenode/bench_node.c — node PUT and GET throughput over loopback,
 * beside a plain TCP transfer of the same bytes in the same run.
 *
 * It plays the proxy: listens on a loopback port, invokes CONNS nodes
 * (functions PREFIX0..) through the Lambda Invoke API at --faas, answers
 * their hellos, and streams chunks with a window of requests in flight.
 *
 * usage: bench_node --faas URL --prefix NAME [--sizes MB,..] [--conns N,..]
 *                   [--total MB]
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "proto/frame.h"

#define WINDOW 4
#define MAX_CONNS 16

struct invoke_arg {
    const char *url;
    char payload[256];
    long status;
};

static size_t discard(char *p, size_t s, size_t n, void *a) { (void)p; (void)a; return s * n; }

static void *invoke(void *arg)
{
    struct invoke_arg *a = arg;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, a->url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, a->payload);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    curl_easy_cleanup(c);
    return NULL;
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *b = p;
    while (n > 0) {
        ssize_t k = write(fd, b, n);
        if (k <= 0) return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

static int read_all(int fd, void *p, size_t n)
{
    char *b = p;
    while (n > 0) {
        ssize_t k = read(fd, b, n);
        if (k <= 0) return -1;
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Read one frame; its body goes into `body` (cap bytes). */
static int read_frame(int fd, struct mcp_frame_header *h, unsigned char *meta, unsigned char *body, size_t cap)
{
    unsigned char hd[MCP_FRAME_HEADER_LEN];
    if (read_all(fd, hd, sizeof hd) != 0 || mcp_frame_header_decode(hd, sizeof hd, h) != MCP_FRAME_HEADER_LEN)
        return -1;
    if (read_all(fd, meta, h->meta_len) != 0 || h->body_len > cap) return -1;
    return read_all(fd, body, h->body_len);
}

static int send_frame(int fd, uint8_t op, uint32_t seq, const unsigned char *meta, size_t meta_len,
                      const unsigned char *body, size_t body_len)
{
    unsigned char hd[MCP_FRAME_HEADER_LEN];
    struct mcp_frame_header h = {op, 0, (uint16_t)meta_len, seq, body_len};
    mcp_frame_header_encode(hd, &h);
    if (write_all(fd, hd, sizeof hd) != 0 || write_all(fd, meta, meta_len) != 0) return -1;
    return body_len ? write_all(fd, body, body_len) : 0;
}

struct worker {
    int fd, id;
    int op;          /* MCP_OP_PUT or MCP_OP_GET */
    size_t chunk;    /* bytes */
    unsigned count;  /* chunks */
    unsigned char *buf;
    int failed;
};

static size_t chunk_meta(unsigned char *out, int id, unsigned i, size_t chunk)
{
    char key[64];
    snprintf(key, sizeof key, "bench-%d-%u", id, i);
    struct mcp_chunk_meta m = {.version = 1, .size = chunk, .index = 0, .d = 1, .p = 0,
                               .key_len = (uint16_t)strlen(key), .key = (const unsigned char *)key};
    return (size_t)mcp_chunk_meta_encode(out, MCP_FRAME_MAX_META, &m);
}

static void *run_worker(void *arg)
{
    struct worker *w = arg;
    unsigned char meta[MCP_FRAME_MAX_META], rmeta[MCP_FRAME_MAX_META];
    unsigned sent = 0, done = 0;
    while (done < w->count) {
        while (sent < w->count && sent - done < WINDOW) {
            size_t ml = chunk_meta(meta, w->id, sent, w->chunk);
            if (send_frame(w->fd, (uint8_t)w->op, sent, meta, ml, w->op == MCP_OP_PUT ? w->buf : NULL,
                           w->op == MCP_OP_PUT ? w->chunk : 0) != 0) goto fail;
            sent++;
        }
        struct mcp_frame_header h;
        if (read_frame(w->fd, &h, rmeta, w->buf, w->chunk) != 0 || h.status != MCP_ST_OK) goto fail;
        done++;
    }
    return NULL;
fail:
    w->failed = 1;
    return NULL;
}

/* Plain TCP: the same bytes, same chunking, one direction, no protocol. */
struct pipe_arg {
    int fd;
    size_t chunk, total;
    unsigned char *buf;
};

static void *pipe_reader(void *arg)
{
    struct pipe_arg *p = arg;
    for (size_t got = 0; got < p->total; got += p->chunk)
        if (read_all(p->fd, p->buf, p->chunk) != 0) break;
    return NULL;
}

static void *pipe_writer(void *arg)
{
    struct pipe_arg *p = arg;
    for (size_t sent = 0; sent < p->total; sent += p->chunk)
        if (write_all(p->fd, p->buf, p->chunk) != 0) break;
    return NULL;
}

static double plain_tcp(int conns, size_t chunk, size_t per_conn)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    bind(ls, (struct sockaddr *)&a, sizeof a);
    listen(ls, MAX_CONNS);
    getsockname(ls, (struct sockaddr *)&a, &al);
    pthread_t th[2 * MAX_CONNS];
    struct pipe_arg args[2 * MAX_CONNS];
    int fds[2 * MAX_CONNS];
    for (int i = 0; i < conns; i++) {
        fds[2 * i] = socket(AF_INET, SOCK_STREAM, 0);
        connect(fds[2 * i], (struct sockaddr *)&a, sizeof a);
        fds[2 * i + 1] = accept(ls, NULL, NULL);
    }
    uint64_t t0 = cm_now_ns();
    for (int i = 0; i < 2 * conns; i++) {
        args[i] = (struct pipe_arg){fds[i], chunk, per_conn, malloc(chunk)};
        memset(args[i].buf, i, chunk);
        pthread_create(&th[i], NULL, i % 2 ? pipe_reader : pipe_writer, &args[i]);
    }
    for (int i = 0; i < 2 * conns; i++) pthread_join(th[i], NULL);
    double secs = (double)(cm_now_ns() - t0) / 1e9;
    for (int i = 0; i < 2 * conns; i++) {
        close(fds[i]);
        free(args[i].buf);
    }
    close(ls);
    return (double)per_conn * conns / secs / 1e6;
}

static int parse_list(const char *s, long *out, int max)
{
    int n = 0;
    for (char *end; *s && n < max; s = *end ? end + 1 : end) {
        out[n++] = strtol(s, &end, 10);
        if (end == s || out[n - 1] <= 0) return -1;
    }
    return n;
}

int main(int argc, char **argv)
{
    const char *faas = NULL, *prefix = NULL;
    long sizes[8] = {1, 10}, conns[8] = {1, 4}, total_mb = 256;
    int nsizes = 2, nconns = 2;
    static const struct option opts[] = {{"faas", required_argument, NULL, 'f'},
                                         {"prefix", required_argument, NULL, 'p'},
                                         {"sizes", required_argument, NULL, 's'},
                                         {"conns", required_argument, NULL, 'c'},
                                         {"total", required_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 'f') faas = optarg;
        else if (c == 'p') prefix = optarg;
        else if (c == 's') nsizes = parse_list(optarg, sizes, 8);
        else if (c == 'c') nconns = parse_list(optarg, conns, 8);
        else if (c == 't') total_mb = strtol(optarg, NULL, 10);
        else nsizes = -1;
    }
    if (faas == NULL || prefix == NULL || nsizes <= 0 || nconns <= 0 || total_mb <= 0) {
        fprintf(stderr, "usage: bench_node --faas URL --prefix NAME [--sizes MB,..] [--conns N,..] [--total MB]\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);

    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, MAX_CONNS) != 0) return 1;
    getsockname(ls, (struct sockaddr *)&a, &al);

    printf("node PUT/GET over loopback vs plain TCP, %ld MB per run, %d requests in flight per connection\n",
           total_mb, WINDOW);
    printf("PUT: into fresh memory; PUT2: the same keys again, into memory the node reuses\n");
    printf("%-6s %5s  %9s %9s %9s %9s  %7s %7s %7s\n", "chunk", "conns", "PUT MB/s", "PUT2 MB/s", "GET MB/s",
           "TCP MB/s", "PUT/TCP", "PUT2/TCP", "GET/TCP");
    for (int ci = 0; ci < nconns; ci++) {
        int n = (int)conns[ci];
        if (n > MAX_CONNS) n = MAX_CONNS;
        pthread_t inv_th[MAX_CONNS];
        struct invoke_arg inv[MAX_CONNS];
        struct worker w[MAX_CONNS];
        for (int i = 0; i < n; i++) {
            char url[512];
            snprintf(url, sizeof url, "%s/2015-03-31/functions/%s%d/invocations", faas, prefix, i);
            inv[i].url = strdup(url);
            snprintf(inv[i].payload, sizeof inv[i].payload,
                     "{\"cmd\":\"serve\",\"proxy\":\"127.0.0.1:%d\",\"token\":\"bench\",\"idle_ms\":3000}",
                     ntohs(a.sin_port));
            pthread_create(&inv_th[i], NULL, invoke, &inv[i]);
        }
        for (int i = 0; i < n; i++) {
            struct mcp_frame_header h;
            unsigned char meta[MCP_FRAME_MAX_META];
            w[i].fd = accept(ls, NULL, NULL);
            int one = 1;
            setsockopt(w[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (w[i].fd < 0 || read_frame(w[i].fd, &h, meta, NULL, 0) != 0 || h.op != MCP_OP_HELLO) {
                fprintf(stderr, "bench_node: node %d did not say hello\n", i);
                return 1;
            }
            send_frame(w[i].fd, MCP_OP_HELLO | MCP_FRAME_REPLY, h.seq, NULL, 0, NULL, 0);
        }
        for (int si = 0; si < nsizes; si++) {
            size_t chunk = (size_t)sizes[si] << 20;
            unsigned count = (unsigned)((size_t)total_mb / (size_t)sizes[si] / (size_t)n);
            if (count == 0) count = 1;
            double rate[3]; /* PUT into fresh memory, PUT again (memory reused), GET */
            for (int phase = 0; phase < 3; phase++) {
                pthread_t th[MAX_CONNS];
                for (int i = 0; i < n; i++) {
                    w[i].id = i;
                    w[i].op = phase < 2 ? MCP_OP_PUT : MCP_OP_GET;
                    w[i].chunk = chunk;
                    w[i].count = count;
                    w[i].buf = malloc(chunk);
                    w[i].failed = 0;
                    memset(w[i].buf, 0x5A, chunk);
                }
                uint64_t t0 = cm_now_ns();
                for (int i = 0; i < n; i++) pthread_create(&th[i], NULL, run_worker, &w[i]);
                for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
                double secs = (double)(cm_now_ns() - t0) / 1e9;
                for (int i = 0; i < n; i++) {
                    if (w[i].failed) {
                        fprintf(stderr, "bench_node: connection %d failed during %s\n", i, phase == 2 ? "GET" : "PUT");
                        return 1;
                    }
                    free(w[i].buf);
                }
                rate[phase] = (double)chunk * count * n / secs / 1e6;
            }
            /* free the node's memory for the next size */
            for (int i = 0; i < n; i++) {
                unsigned char meta[MCP_FRAME_MAX_META], rmeta[MCP_FRAME_MAX_META];
                struct mcp_frame_header h;
                for (unsigned k = 0; k < count; k++) {
                    size_t ml = chunk_meta(meta, i, k, chunk);
                    send_frame(w[i].fd, MCP_OP_DEL, k, meta, ml, NULL, 0);
                    read_frame(w[i].fd, &h, rmeta, NULL, 0);
                }
            }
            double tcp = plain_tcp(n, chunk, chunk * count);
            printf("%3ld MB %5d  %9.0f %9.0f %9.0f %9.0f  %7.2f %7.2f %7.2f\n", sizes[si], n, rate[0], rate[1],
                   rate[2], tcp, rate[0] / tcp, rate[1] / tcp, rate[2] / tcp);
            fflush(stdout);
        }
        for (int i = 0; i < n; i++) {
            close(w[i].fd); /* the node sees the proxy leave and returns */
            pthread_join(inv_th[i], NULL);
            free((void *)inv[i].url);
        }
    }
    close(ls);
    return 0;
}
