/* proto/bench_proto.c — parse throughput of the proto/ codec on one core.
 *
 * Pipelines of small commands (text get/set, meta mg/ms, binary get/set)
 * are built once in memory and parsed repeatedly, as a connection would see
 * them in 64 KiB reads; small values are copied into a destination. Then
 * "set" headers of 1 MiB values, whose bytes the caller reads straight into
 * the destination (mcp_value_want/wrote), so only the framing is measured.
 * Prints commands per second for each; run it with `make bench-proto`.
 */
#include "proto/mcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define READ_SIZE 65536

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct buf {
    char *s;
    size_t n, cap;
};

static void add(struct buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) exit(1);
    }
    memcpy(b->s + b->n, p, n);
    b->n += n;
}

/* Parse `in` as a stream of READ_SIZE reads; returns the commands seen. */
static size_t parse_stream(const struct buf *in, char *dst, int direct)
{
    struct mcp_parser p;
    struct mcp_request r;
    struct mcp_config cfg = {.max_value = 2u << 20};
    size_t cmds = 0, off = 0, keep = 0;
    static char rbuf[READ_SIZE + 4096];
    mcp_parser_init(&p, &cfg);
    while (off < in->n) {
        /* a read: the kept partial header, then new bytes */
        size_t k = in->n - off < READ_SIZE ? in->n - off : READ_SIZE;
        char *at;
        size_t want = direct ? mcp_value_want(&p, &at) : 0;
        if (want) { /* the value goes straight to its destination */
            size_t d = want < in->n - off ? want : in->n - off;
            mcp_value_wrote(&p, d); /* (a real caller's read() wrote it) */
            off += d;
            continue;
        }
        memcpy(rbuf + keep, in->s + off, k);
        off += k;
        size_t len = keep + k, pos = 0;
        for (;;) {
            size_t used;
            int rc = mcp_parse(&p, rbuf + pos, len - pos, &r, &used);
            pos += used;
            if (rc == MCP_AGAIN) break;
            if (rc == MCP_REQUEST) {
                cmds++;
            } else if (rc == MCP_VALUE) {
                cmds++;
                /* bytes already read are copied by the parser; later
                 * ones (direct) are read straight into dst */
                mcp_value_dest(&p, dst);
            } else if (rc < 0 && rc != MCP_E_BAD_CHUNK) {
                fprintf(stderr, "parse error %s\n", mcp_err_name(rc));
                exit(1);
            }
        }
        keep = len - pos;
        memmove(rbuf, rbuf + pos, keep);
    }
    return cmds;
}

/* Rounds of the whole stream for at least min_time seconds; prints the
 * best round (the machine is shared: the best round is the codec's speed)
 * and the mean over all rounds. */
static void bench(const char *name, const struct buf *in, size_t ncmds, char *dst, int direct,
                  double min_time)
{
    size_t total = 0, rounds = 0;
    double t0 = now(), t, best = 1e9;
    do {
        double r0 = now();
        size_t got = parse_stream(in, dst, direct);
        double dt = now() - r0;
        if (got != ncmds) {
            fprintf(stderr, "%s: parsed %zu commands, expected %zu\n", name, got, ncmds);
            exit(1);
        }
        if (dt < best) best = dt;
        total += got;
        rounds++;
        t = now() - t0;
    } while (t < min_time);
    printf("%-44s %8.2f M commands/s best, %6.2f mean  (%zu rounds, %.0f MB/s best)\n", name,
           (double)ncmds / best / 1e6, (double)total / t / 1e6, rounds, (double)in->n / best / 1e6);
}

static void bin_hdr(struct buf *b, unsigned op, unsigned keylen, unsigned extlen, unsigned bodylen)
{
    unsigned char h[24] = {0x80, (unsigned char)op, (unsigned char)(keylen >> 8),
                           (unsigned char)keylen, (unsigned char)extlen};
    h[8] = (unsigned char)(bodylen >> 24);
    h[9] = (unsigned char)(bodylen >> 16);
    h[10] = (unsigned char)(bodylen >> 8);
    h[11] = (unsigned char)bodylen;
    add(b, h, 24);
}

int main(int argc, char **argv)
{
    double min_time = argc > 1 ? atof(argv[1]) : 1.0;
    const size_t n = 200000;
    char *dst = malloc(2u << 20);
    char line[128];
    struct buf text = {0}, meta = {0}, bin = {0}, gets = {0}, big = {0};

    for (size_t i = 0; i < n; i++) {
        int k;
        if (i % 2) {
            k = snprintf(line, sizeof(line), "get key:%06zu\r\n", i);
        } else {
            k = snprintf(line, sizeof(line), "set key:%06zu 0 0 10\r\n0123456789\r\n", i);
        }
        add(&text, line, (size_t)k);
        k = snprintf(line, sizeof(line), "get key:%06zu\r\n", i);
        add(&gets, line, (size_t)k);
        if (i % 2)
            k = snprintf(line, sizeof(line), "mg key:%06zu v f\r\n", i);
        else
            k = snprintf(line, sizeof(line), "ms key:%06zu 10 T0\r\n0123456789\r\n", i);
        add(&meta, line, (size_t)k);
        k = snprintf(line, sizeof(line), "key:%06zu", i);
        if (i % 2) {
            bin_hdr(&bin, 0x00, (unsigned)k, 0, (unsigned)k);
            add(&bin, line, (size_t)k);
        } else {
            static const char ext[8] = {0};
            bin_hdr(&bin, 0x01, (unsigned)k, 8, (unsigned)k + 8 + 10);
            add(&bin, ext, 8);
            add(&bin, line, (size_t)k);
            add(&bin, "0123456789", 10);
        }
    }
    const size_t nbig = 64;
    char *value = calloc(1, 1u << 20);
    for (size_t i = 0; i < nbig; i++) {
        int k = snprintf(line, sizeof(line), "set big:%06zu 0 0 1048576\r\n", i);
        add(&big, line, (size_t)k);
        add(&big, value, 1u << 20);
        add(&big, "\r\n", 2);
    }

    printf("proto/ parse throughput, one core, %d-byte reads\n", READ_SIZE);
    bench("text get (pipeline)", &gets, n, dst, 0, min_time);
    bench("text get+set 10-byte values (pipeline)", &text, n, dst, 0, min_time);
    bench("meta mg+ms 10-byte values (pipeline)", &meta, n, dst, 0, min_time);
    bench("binary get+set 10-byte values (pipeline)", &bin, n, dst, 0, min_time);
    bench("text set headers, 1 MiB values read direct", &big, nbig, dst, 1, min_time);
    free(value);
    free(dst);
    free(text.s);
    free(gets.s);
    free(meta.s);
    free(bin.s);
    free(big.s);
    return 0;
}
