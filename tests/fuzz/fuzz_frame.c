/* tests/fuzz/fuzz_frame.c — libFuzzer target for the node protocol codec
 * (proto/frame.c): the bytes a node or a proxy may send the other side.
 *
 * The first input byte picks read sizes; the rest is the stream. It is fed
 * through mcp_frame_inbuf (the path both sides use) twice — whole, and in
 * reads of the chosen sizes, bodies landing straight in exactly-sized heap
 * buffers — and the two must see the same frames and body bytes. Every
 * frame's metadata goes through the decoder its op calls for, and what
 * decodes must encode back to the same bytes.
 */
#include "proto/frame.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 256

struct seen {
    int n, error;
    uint64_t sum;
};

static void check(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "invariant failed: %s\n", what);
        abort();
    }
}

static uint64_t mix(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* Decode the metadata as its op says, and encode it back. */
static void check_meta(const struct mcp_frame_header *h, const unsigned char *meta)
{
    unsigned char out[MCP_FRAME_MAX_META + 64];
    int op = h->op & ~MCP_FRAME_REPLY;
    if (op == MCP_OP_HELLO && !(h->op & MCP_FRAME_REPLY)) {
        struct mcp_hello hello;
        if (mcp_hello_decode(meta, h->meta_len, &hello) == 0) {
            int n = mcp_hello_encode(out, sizeof out, &hello);
            check(n == h->meta_len && memcmp(out, meta, (size_t)n) == 0, "hello round trip");
        }
    } else if (op == MCP_OP_LIST) {
        struct mcp_list_req rq;
        if (mcp_list_req_decode(meta, h->meta_len, &rq) == 0) {
            check(mcp_list_req_encode(out, sizeof out, &rq) == 12, "list request round trip");
        }
    } else if (op != MCP_OP_PING && op != MCP_OP_BYE) {
        struct mcp_chunk_meta m;
        if (mcp_chunk_meta_decode(meta, h->meta_len, &m) == 0) {
            check(m.key >= meta && m.key + m.key_len <= meta + h->meta_len, "key inside the metadata");
            int n = mcp_chunk_meta_encode(out, sizeof out, &m);
            /* the reserved byte is not kept: compare all but it */
            check(n == h->meta_len, "chunk meta length");
            check(memcmp(out, meta, 35) == 0 && memcmp(out + 36, meta + 36, (size_t)n - 36) == 0,
                  "chunk meta round trip");
        }
    }
}

static void feed(const unsigned char *data, size_t len, const uint8_t *sizes, size_t nsizes, struct seen *s)
{
    struct mcp_frame_reader r;
    unsigned char buf[2 * MCP_FRAME_MAX_META];
    struct mcp_frame_inbuf in = {.buf = buf, .cap = sizeof buf};
    unsigned char *body = NULL;
    mcp_frame_reader_init(&r);
    size_t at = 0, k = 0;
    while (at < len && !s->error) {
        size_t room_len;
        unsigned char *room = mcp_frame_inbuf_room(&in, &r, &room_len);
        check(room_len > 0, "room to read into");
        size_t step = nsizes ? (size_t)sizes[k++ % nsizes] + 1 : len;
        size_t n = step < room_len ? step : room_len;
        if (n > len - at) n = len - at;
        memcpy(room, data + at, n);
        at += n;
        for (int ev = mcp_frame_inbuf_landed(&in, &r, n);; ev = mcp_frame_inbuf_next(&in, &r)) {
            check(in.pos <= in.len && in.len <= in.cap, "buffer bounds");
            if (ev < 0) {
                s->error = ev;
                break;
            }
            if (ev == MCP_RD_META) {
                check(r.h.meta_len <= MCP_FRAME_MAX_META && r.h.body_len <= MCP_FRAME_MAX_BODY, "limits");
                check_meta(&r.h, r.meta);
                s->sum = mix(s->sum, r.meta, r.h.meta_len);
                if (r.h.body_len > 0) {
                    /* small bodies land in an exact heap buffer; large ones are skipped */
                    free(body);
                    body = r.h.body_len <= 65536 ? malloc(r.h.body_len) : NULL;
                    mcp_frame_reader_body(&r, body);
                } else {
                    s->n++;
                }
            } else if (ev == MCP_RD_DONE) {
                if (body != NULL) s->sum = mix(s->sum, body, r.h.body_len);
                free(body);
                body = NULL;
                s->n++;
            } else if (in.pos == in.len) {
                break;
            }
            if (s->n > MAX_FRAMES) return;
        }
    }
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t nsizes = data[0] % 8;
    const uint8_t *sizes = data + 1;
    if (size < 1 + nsizes) return 0;
    const unsigned char *stream = data + 1 + nsizes;
    size_t len = size - 1 - nsizes;
    struct seen whole = {0}, pieces = {0};
    feed(stream, len, NULL, 0, &whole);
    feed(stream, len, sizes, nsizes, &pieces);
    if (whole.n <= MAX_FRAMES && pieces.n <= MAX_FRAMES) {
        check(whole.n == pieces.n && whole.sum == pieces.sum, "same frames whole and in pieces");
        check((whole.error == 0) == (pieces.error == 0), "same verdict whole and in pieces");
    }
    return 0;
}
