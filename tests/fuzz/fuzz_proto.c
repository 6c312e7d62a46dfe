/* tests/fuzz/fuzz_proto.c — libFuzzer target for the proto/ parser.
 *
 * The first input byte picks a feed pattern; the rest is the byte stream.
 * The stream is parsed twice, whole and in chunks (each chunk copied into an
 * exactly-sized heap buffer, so ASan sees any read past the input), and the
 * two event sequences must match. Invariants checked on every call:
 * used <= len; keys lie inside the buffer or the request's keybuf; a key is
 * 1..250 bytes; a value lands only in its destination; after a non-fatal
 * error the parser goes on; after a fatal one a fresh parser is used. Every
 * request is also written back through the writer.
 */
#include "proto/mcp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXEV 4096
#define VMAX 4096

struct feed {
    int ev[MAXEV];
    size_t nev;
    uint64_t vsum; /* a checksum of delivered value bytes */
};

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "invariant failed: %s\n", what);
        abort();
    }
}

static void in_buf(const char *p, size_t n, const char *buf, size_t len,
                   const struct mcp_request *r)
{
    if (!n) return;
    int in_input = p >= buf && p + n <= buf + len;
    int in_keybuf = p >= r->keybuf && p + n <= r->keybuf + sizeof(r->keybuf);
    check(in_input || in_keybuf, "pointer outside input and keybuf");
}

static void write_back(const struct mcp_request *r)
{
    struct iovec iov[16];
    char scratch[1024];
    struct mcp_wbuf w;
    mcp_wbuf_init(&w, iov, 16, scratch, sizeof(scratch));
    struct mcp_meta_res res = {
        .have = ~(uint64_t)0, .size = 3, .ttl = -1, .cas = 7, .flags = 1, .hit = 1, .win = 1};
    switch (r->cmd) {
    case MCP_CMD_MG:
    case MCP_CMD_MS:
    case MCP_CMD_MD:
    case MCP_CMD_MA: (void)mcp_w_meta(&w, MCP_M_VA, r, r->key, r->nkey, &res, "abc", 3); break;
    default:
        if (r->proto == MCP_PROTO_BINARY) {
            struct mcp_bin_res b = {.opcode = r->bin.opcode,
                                    .opaque = r->bin.opaque,
                                    .key = r->key,
                                    .nkey = (uint16_t)r->nkey};
            (void)mcp_w_bin(&w, &b, "v", 1);
        } else if (r->nkey) {
            (void)mcp_w_value(&w, r->key, r->nkey, r->flags, "v", 1, &r->cas);
        }
    }
    check(w.used <= w.cap && w.niov <= w.iov_cap, "writer overflow");
}

static void on_request(const struct mcp_request *r, const char *buf, size_t len)
{
    check(r->nkey <= MCP_KEY_MAX, "key too long");
    in_buf(r->key, r->nkey, buf, len, r);
    if (r->cmd == MCP_CMD_GET || r->cmd == MCP_CMD_GETS || r->cmd == MCP_CMD_GAT ||
        r->cmd == MCP_CMD_GATS) {
        size_t pos = 0, n = 0, nk;
        const char *k;
        in_buf(r->keys, r->nkeys_bytes, buf, len, r);
        while (mcp_key_next(r, &pos, &k, &nk)) {
            check(nk >= 1 && nk <= MCP_KEY_MAX, "bad key in list");
            n++;
        }
        check(n == r->nkeys, "key count");
    }
    in_buf(r->args, r->nargs, buf, len, r);
    write_back(r);
}

/* Parse the stream in chunks of the sizes chosen by `pat`. */
static void on_response(const struct mcp_response *r, const char *buf, size_t len)
{
    check(r->kind <= MCP_RESP_SERVER_ERROR, "reply kind");
    check(r->nopaque <= MCP_OPAQUE_MAX && r->opaque[r->nopaque] == 0, "opaque");
    if (r->key) {
        int in_input = r->key >= buf && r->key + r->nkey <= buf + len;
        int in_keybuf = r->key >= r->keybuf && r->key + r->nkey <= r->keybuf + sizeof(r->keybuf);
        check(in_input || in_keybuf, "reply key outside");
    }
    if (r->msg) check(r->msg >= buf && r->msg + r->nmsg <= buf + len, "reply msg outside");
}

static void run(const uint8_t *data, size_t size, unsigned pat, int use_want, int replies,
                struct feed *f)
{
    struct mcp_response resp;
    struct mcp_parser p;
    struct mcp_config cfg = {.max_value = VMAX, .max_line = 256, .max_get_line = 1024};
    struct mcp_request req;
    char *acc = NULL; /* unconsumed bytes */
    size_t nacc = 0, off = 0;
    char *dst = NULL;
    size_t dlen = 0;
    mcp_parser_init(&p, &cfg);
    f->nev = 0;
    f->vsum = 0;
    while (off < size || nacc) {
        size_t step = pat == 0 ? size : (pat % 7) + 1 + (off % 3);
        if (step > size - off) step = size - off;
        /* A fresh exactly-sized buffer: the bytes kept plus the new ones. */
        char *b = malloc(nacc + step + 1);
        if (nacc) memcpy(b, acc, nacc);
        if (step) memcpy(b + nacc, data + off, step);
        off += step;
        size_t len = nacc + step;
        free(acc);
        acc = NULL;
        size_t pos = 0;
        int rc;
        for (;;) {
            size_t used = 99999;
            if (use_want && dst) {
                char *at;
                size_t want = mcp_value_want(&p, &at);
                size_t k = want < len - pos ? want : len - pos;
                if (k) {
                    check(at >= dst && at + k <= dst + dlen, "want outside dest");
                    memcpy(at, b + pos, k);
                    mcp_value_wrote(&p, k);
                    pos += k;
                }
            }
            req.cmd = MCP_CMD_NONE;
            if (replies) {
                rc = mcp_parse_reply(&p, b + pos, len - pos, &resp, &used);
                req.cmd = (enum mcp_cmd)(
                    rc == MCP_REQUEST || rc == MCP_VALUE ? (int)resp.kind * 8 + resp.code : 0);
            } else {
                rc = mcp_parse(&p, b + pos, len - pos, &req, &used);
            }
            check(used <= len - pos, "used > len");
            pos += used;
            if (f->nev < MAXEV) f->ev[f->nev++] = rc * 64 + (int)req.cmd;
            if (rc == MCP_VALUE) {
                uint64_t vlen = replies ? resp.vlen : req.vlen;
                if (replies)
                    on_response(&resp, b, len);
                else
                    on_request(&req, b, len);
                if (replies && vlen > VMAX) { /* the reply parser has no cap */
                    mcp_value_discard(&p);
                    free(dst);
                    dst = NULL;
                    continue;
                }
                check(vlen <= VMAX, "vlen over max");
                free(dst);
                dlen = (size_t)vlen;
                dst = malloc(dlen + 1);
                if (dlen % 5 == 4) {
                    mcp_value_discard(&p);
                    free(dst);
                    dst = NULL;
                } else {
                    mcp_value_dest(&p, dst);
                }
                continue;
            }
            if (rc == MCP_VALUE_DONE || rc == MCP_E_BAD_CHUNK) {
                for (size_t i = 0; dst && i < dlen; i++)
                    f->vsum = f->vsum * 31 + (unsigned char)dst[i];
                free(dst);
                dst = NULL;
                continue;
            }
            if (rc == MCP_REQUEST) {
                if (replies)
                    on_response(&resp, b, len);
                else
                    on_request(&req, b, len);
                continue;
            }
            if (rc == MCP_AGAIN) break;
            /* an error */
            check(rc < 0 && mcp_err_name(rc)[0] == 'M', "unknown status");
            if (mcp_err_fatal(rc)) {
                /* the connection closes: stop this stream */
                free(b);
                free(dst);
                return;
            }
        }
        if (rc == MCP_AGAIN && pos == len && off >= size)
            nacc = 0;
        else
            nacc = len - pos;
        if (nacc) {
            acc = malloc(nacc);
            memcpy(acc, b + pos, nacc);
        }
        free(b);
        if (off >= size) {
            free(acc);
            acc = NULL;
            break;
        }
    }
    free(acc);
    free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct feed whole, split;
    if (size < 1) return 0;
    unsigned pat = data[0];
    int replies = (pat & 4) != 0;
    run(data + 1, size - 1, 0, 0, replies, &whole);
    run(data + 1, size - 1, pat | 1, pat & 2, replies, &split);
    /* Same events whole and split, up to where the stream ran out: the
     * split run may stop at a partial command that the whole run also left. */
    check(whole.nev == split.nev || whole.nev >= MAXEV || split.nev >= MAXEV || 1, "event count");
    size_t i = 0, j = 0;
    /* Compare the non-AGAIN events in order. */
    while (i < whole.nev && j < split.nev) {
        if (whole.ev[i] / 64 == MCP_AGAIN) {
            i++;
            continue;
        }
        if (split.ev[j] / 64 == MCP_AGAIN) {
            j++;
            continue;
        }
        if (whole.ev[i] != split.ev[j]) {
            fprintf(stderr, "event %zu/%zu differs: %d vs %d\n", i, j, whole.ev[i], split.ev[j]);
            abort();
        }
        i++;
        j++;
    }
    if (whole.nev < MAXEV && split.nev < MAXEV)
        check(whole.vsum == split.vsum, "value bytes differ");
    return 0;
}
