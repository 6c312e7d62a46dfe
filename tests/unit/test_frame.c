/* tests/unit/test_frame.c — node-protocol frames: round trips, partial input,
 * and every way a frame can be malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "proto/frame.h"

static void test_header_round_trip_and_partial(void **state)
{
    (void)state;
    struct mcp_frame_header h = {MCP_OP_GET | MCP_FRAME_REPLY, MCP_ST_NOT_FOUND, 300, 0xDEADBEEF,
                                 (uint64_t)1 << 30};
    unsigned char buf[MCP_FRAME_HEADER_LEN], exp[] = {0xFC, 1, 0x83, 1, 0x01, 0x2C, 0, 0,
                                                      0xDE, 0xAD, 0xBE, 0xEF, 0, 0, 0, 0,
                                                      0, 0, 0, 0, 0x40, 0, 0, 0};
    mcp_frame_header_encode(buf, &h);
    assert_memory_equal(buf, exp, sizeof exp); /* big-endian, as documented */
    /* Any prefix is "need more", never an error or a header. */
    for (size_t len = 0; len < MCP_FRAME_HEADER_LEN; len++) {
        struct mcp_frame_header out;
        assert_int_equal(mcp_frame_header_decode(buf, len, &out), 0);
    }
    struct mcp_frame_header out;
    assert_int_equal(mcp_frame_header_decode(buf, sizeof buf, &out), MCP_FRAME_HEADER_LEN);
    assert_int_equal(out.op, h.op);
    assert_int_equal(out.status, h.status);
    assert_int_equal(out.meta_len, h.meta_len);
    assert_int_equal(out.seq, h.seq);
    assert_int_equal(out.body_len, h.body_len);
    assert_string_equal(mcp_frame_op_name(out.op), "get");
    assert_string_equal(mcp_frame_status_text(out.status), "not found");
}

static void test_header_garbage_refused_early(void **state)
{
    (void)state;
    struct mcp_frame_header h;
    unsigned char buf[MCP_FRAME_HEADER_LEN];
    struct mcp_frame_header ok = {MCP_OP_PUT, 0, 10, 1, 100};
    assert_int_equal(mcp_frame_header_decode((const unsigned char *)"GET / HTTP/1.1\r\n", 16, &h), MCP_FRAME_EMAGIC);
    assert_int_equal(mcp_frame_header_decode((const unsigned char *)"g", 1, &h), MCP_FRAME_EMAGIC);
    mcp_frame_header_encode(buf, &ok);
    buf[1] = 2;
    assert_int_equal(mcp_frame_header_decode(buf, 2, &h), MCP_FRAME_EVERSION);
    mcp_frame_header_encode(buf, &ok);
    buf[2] = 0x42;
    assert_int_equal(mcp_frame_header_decode(buf, 3, &h), MCP_FRAME_EOP);
    buf[2] = 0;
    assert_int_equal(mcp_frame_header_decode(buf, sizeof buf, &h), MCP_FRAME_EOP);
    struct mcp_frame_header big_meta = {MCP_OP_PUT, 0, MCP_FRAME_MAX_META + 1, 1, 0};
    mcp_frame_header_encode(buf, &big_meta);
    assert_int_equal(mcp_frame_header_decode(buf, sizeof buf, &h), MCP_FRAME_ETOOLONG);
    struct mcp_frame_header big_body = {MCP_OP_PUT, 0, 0, 1, MCP_FRAME_MAX_BODY + 1};
    mcp_frame_header_encode(buf, &big_body);
    assert_int_equal(mcp_frame_header_decode(buf, sizeof buf, &h), MCP_FRAME_ETOOLONG);
    assert_string_equal(mcp_frame_strerror(MCP_FRAME_EMAGIC), "bad magic byte");
}

static struct mcp_chunk_meta sample(const char *key)
{
    return (struct mcp_chunk_meta){.version = 0x0102030405060708ull, .size = 123456789,
                                   .expiry = 1900000000, .flags = 0xFFFFFFFF, .crc = 0xCAFEBABE,
                                   .index = 11, .d = 10, .p = 2, .key_len = (uint16_t)strlen(key),
                                   .key = (const unsigned char *)key};
}

static void assert_meta_equal(const struct mcp_chunk_meta *a, const struct mcp_chunk_meta *b)
{
    assert_int_equal(a->version, b->version);
    assert_int_equal(a->size, b->size);
    assert_int_equal(a->expiry, b->expiry);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->crc, b->crc);
    assert_int_equal(a->index, b->index);
    assert_int_equal(a->d, b->d);
    assert_int_equal(a->p, b->p);
    assert_int_equal(a->key_len, b->key_len);
    assert_memory_equal(a->key, b->key, a->key_len);
}

static void test_chunk_meta(void **state)
{
    (void)state;
    unsigned char buf[512];
    struct mcp_chunk_meta m = sample("user:42"), out;
    int n = mcp_chunk_meta_encode(buf, sizeof buf, &m);
    assert_int_equal(n, MCP_CHUNK_META_FIXED + 7);
    assert_int_equal(mcp_chunk_meta_decode(buf, (size_t)n, &out), 0);
    assert_meta_equal(&m, &out);
    assert_ptr_equal(out.key, buf + MCP_CHUNK_META_FIXED); /* borrowed, not copied */
    /* truncated anywhere, or trailing bytes */
    for (int len = 0; len < n; len++) assert_int_equal(mcp_chunk_meta_decode(buf, (size_t)len, &out), MCP_FRAME_EMETA);
    assert_int_equal(mcp_chunk_meta_decode(buf, (size_t)n + 1, &out), MCP_FRAME_EMETA);
    /* output too small */
    assert_int_equal(mcp_chunk_meta_encode(buf, (size_t)n - 1, &m), MCP_FRAME_ESPACE);
    /* key length limits and chunk index outside the stripe */
    char key[260];
    memset(key, 'k', sizeof key);
    key[251] = 0;
    m = sample(key);
    n = mcp_chunk_meta_encode(buf, sizeof buf, &m);
    assert_int_equal(mcp_chunk_meta_decode(buf, (size_t)n, &out), MCP_FRAME_EMETA);
    key[250] = 0;
    m = sample(key);
    n = mcp_chunk_meta_encode(buf, sizeof buf, &m);
    assert_int_equal(mcp_chunk_meta_decode(buf, (size_t)n, &out), 0);
    m = sample("");
    n = mcp_chunk_meta_encode(buf, sizeof buf, &m);
    assert_int_equal(mcp_chunk_meta_decode(buf, (size_t)n, &out), MCP_FRAME_EMETA);
    m = sample("k");
    m.index = 12;
    n = mcp_chunk_meta_encode(buf, sizeof buf, &m);
    assert_int_equal(mcp_chunk_meta_decode(buf, (size_t)n, &out), MCP_FRAME_EMETA);
    m.index = 0xFF; /* "all chunks", for DEL */
    n = mcp_chunk_meta_encode(buf, sizeof buf, &m);
    assert_int_equal(mcp_chunk_meta_decode(buf, (size_t)n, &out), 0);
}

static void test_list_records(void **state)
{
    (void)state;
    unsigned char body[4096];
    const char *keys[] = {"a", "bb", "a-much-longer-key/with/parts"};
    size_t pos = 0;
    for (int i = 0; i < 3; i++) {
        struct mcp_chunk_meta m = sample(keys[i]);
        m.index = (uint8_t)i;
        int n = mcp_list_record_encode(body + pos, sizeof body - pos, &m);
        assert_true(n > 0);
        pos += (size_t)n;
    }
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        struct mcp_chunk_meta m;
        int n = mcp_list_record_decode(body + at, pos - at, &m);
        assert_true(n > 0);
        assert_int_equal(m.index, i);
        assert_int_equal(m.key_len, strlen(keys[i]));
        assert_memory_equal(m.key, keys[i], m.key_len);
        at += (size_t)n;
    }
    assert_int_equal(at, pos);
    struct mcp_chunk_meta m;
    assert_int_equal(mcp_list_record_decode(body, 1, &m), MCP_FRAME_EMETA);
    assert_int_equal(mcp_list_record_decode(body, 20, &m), MCP_FRAME_EMETA); /* record cut */
    body[0] = 0xFF; /* length past the buffer */
    assert_int_equal(mcp_list_record_decode(body, pos, &m), MCP_FRAME_EMETA);

    unsigned char buf[64];
    struct mcp_list_req rq = {77, 1000}, rq2;
    struct mcp_list_reply rp = {0, 3}, rp2;
    assert_int_equal(mcp_list_req_encode(buf, sizeof buf, &rq), 12);
    assert_int_equal(mcp_list_req_decode(buf, 12, &rq2), 0);
    assert_int_equal(rq2.cursor, 77);
    assert_int_equal(rq2.max, 1000);
    assert_int_equal(mcp_list_req_decode(buf, 11, &rq2), MCP_FRAME_EMETA);
    assert_int_equal(mcp_list_reply_encode(buf, sizeof buf, &rp), 12);
    assert_int_equal(mcp_list_reply_decode(buf, 12, &rp2), 0);
    assert_int_equal(rp2.count, 3);
    assert_int_equal(mcp_list_reply_encode(buf, 4, &rp), MCP_FRAME_ESPACE);
}

static void test_hello(void **state)
{
    (void)state;
    struct mcp_hello h = {.proto_version = MCP_FRAME_VERSION, .mem_limit = 3008ull << 20,
                          .chunks = 5, .bytes = 1 << 20, .name = "fncache-node-3", .name_len = 14,
                          .token = "0123456789abcdef", .token_len = 16};
    for (int i = 0; i < MCP_FRAME_INSTANCE_LEN; i++) h.instance[i] = (uint8_t)(i * 17);
    unsigned char buf[256];
    int n = mcp_hello_encode(buf, sizeof buf, &h);
    assert_int_equal(n, 2 + 16 + 24 + 2 + 14 + 2 + 16);
    struct mcp_hello out;
    assert_int_equal(mcp_hello_decode(buf, (size_t)n, &out), 0);
    assert_int_equal(out.proto_version, MCP_FRAME_VERSION);
    assert_memory_equal(out.instance, h.instance, MCP_FRAME_INSTANCE_LEN);
    assert_int_equal(out.mem_limit, h.mem_limit);
    assert_int_equal(out.chunks, 5);
    assert_int_equal(out.bytes, 1 << 20);
    assert_int_equal(out.name_len, 14);
    assert_memory_equal(out.name, "fncache-node-3", 14);
    assert_memory_equal(out.token, "0123456789abcdef", 16);
    for (int len = 0; len < n; len++) assert_int_equal(mcp_hello_decode(buf, (size_t)len, &out), MCP_FRAME_EMETA);
    buf[n - 17] = 200; /* token length past the end */
    assert_int_equal(mcp_hello_decode(buf, (size_t)n, &out), MCP_FRAME_EMETA);
}

/* A stream of frames: PUT with body, GET without meta body, PING with
 * nothing, PUT whose body is skipped, and a zero-length-body PUT. */
static size_t build_stream(unsigned char *out)
{
    size_t at = 0;
    struct { uint8_t op; const char *meta; size_t body; } f[] = {
        {MCP_OP_PUT, "meta-one", 1000}, {MCP_OP_GET, "m2", 0}, {MCP_OP_PING, "", 0},
        {MCP_OP_PUT, "skip-me", 300}, {MCP_OP_PUT, "empty", 0}};
    for (unsigned i = 0; i < 5; i++) {
        struct mcp_frame_header h = {f[i].op, 0, (uint16_t)strlen(f[i].meta), i, f[i].body};
        mcp_frame_header_encode(out + at, &h);
        at += MCP_FRAME_HEADER_LEN;
        memcpy(out + at, f[i].meta, h.meta_len);
        at += h.meta_len;
        for (size_t b = 0; b < f[i].body; b++) out[at++] = (unsigned char)(b * 7 + i);
    }
    return at;
}

/* Feed the stream in pieces of `step` bytes (0 = split once at `cut`),
 * reading bodies through the feed or straight into the room. */
static void read_stream(const unsigned char *in, size_t len, size_t step, size_t cut, int direct)
{
    struct mcp_frame_reader r;
    mcp_frame_reader_init(&r);
    unsigned char body[1000];
    unsigned frames = 0;
    size_t at = 0;
    while (at < len) {
        size_t piece = step ? step : (at < cut ? cut - at : len - at);
        if (piece > len - at) piece = len - at;
        size_t room_len;
        unsigned char *room = mcp_frame_reader_body_room(&r, &room_len);
        if (direct && room != NULL) { /* as if the socket wrote into it */
            size_t n = piece < room_len ? piece : room_len;
            memcpy(room, in + at, n);
            at += n;
            if (mcp_frame_reader_body_filled(&r, n) == MCP_RD_DONE) goto frame_done;
            continue;
        }
        size_t used;
        int ev = mcp_frame_reader_feed(&r, in + at, piece, &used);
        assert_true(ev >= 0);
        assert_true(used <= piece);
        at += used;
        if (ev == MCP_RD_MORE) {
            assert_int_equal(used, piece); /* MORE means everything was taken */
            continue;
        }
        if (ev == MCP_RD_META) {
            assert_int_equal(r.h.seq, frames);
            if (r.h.body_len == 0) goto frame_done;
            memset(body, 0, sizeof body);
            assert_int_equal(mcp_frame_reader_body(&r, r.h.seq == 3 ? NULL : body), MCP_RD_MORE);
            continue;
        }
    frame_done:
        if (r.h.seq == 0) {
            assert_memory_equal(r.meta, "meta-one", 8);
            for (size_t b = 0; b < 1000; b++) assert_int_equal(body[b], (unsigned char)(b * 7));
        }
        if (r.h.seq == 1) assert_memory_equal(r.meta, "m2", 2);
        if (r.h.seq == 4) assert_memory_equal(r.meta, "empty", 5);
        assert_true(mcp_frame_reader_idle(&r));
        frames++;
    }
    assert_int_equal(frames, 5);
}

static void test_reader_scan_mode(void **state)
{
    (void)state;
    unsigned char stream[4096];
    size_t len = build_stream(stream);
    for (int direct = 0; direct < 2; direct++) {
        read_stream(stream, len, len, 0, direct);      /* whole */
        read_stream(stream, len, 1, 0, direct);        /* a byte at a time */
        for (size_t cut = 1; cut < len; cut++) read_stream(stream, len, 0, cut, direct); /* every split */
    }
}

static void test_reader_garbage(void **state)
{
    (void)state;
    struct mcp_frame_reader r;
    unsigned char stream[4096];
    size_t len = build_stream(stream), used;
    mcp_frame_reader_init(&r);
    /* a good frame, then garbage where the next header should be */
    memcpy(stream + 24 + 8 + 1000, "set k 0 0 1\r\n", 13);
    int ev = mcp_frame_reader_feed(&r, stream, len, &used);
    assert_int_equal(ev, MCP_RD_META);
    unsigned char body[1000];
    mcp_frame_reader_body(&r, body);
    size_t at = used;
    ev = mcp_frame_reader_feed(&r, stream + at, len - at, &used);
    assert_int_equal(ev, MCP_RD_DONE);
    at += used;
    ev = mcp_frame_reader_feed(&r, stream + at, len - at, &used);
    assert_int_equal(ev, MCP_FRAME_EMAGIC);
    assert_true(used <= MCP_FRAME_HEADER_LEN); /* refused within the header */
}

/* The stream input: reads of every size land in the buffer or, for a body,
 * straight in its destination; frames come out whole. */
static void test_inbuf_reads_of_every_size(void **state)
{
    (void)state;
    unsigned char stream[4096];
    size_t len = build_stream(stream);
    for (size_t step = 1; step <= len; step += step < 64 ? 1 : 97) {
        struct mcp_frame_reader r;
        unsigned char buf[2 * MCP_FRAME_MAX_META], body[1000];
        struct mcp_frame_inbuf in = {.buf = buf, .cap = sizeof buf};
        mcp_frame_reader_init(&r);
        size_t at = 0, direct_bytes = 0;
        unsigned frames = 0;
        while (at < len) {
            size_t room_len;
            unsigned char *room = mcp_frame_inbuf_room(&in, &r, &room_len);
            size_t n = step < room_len ? step : room_len;
            if (n > len - at) n = len - at;
            memcpy(room, stream + at, n); /* as a socket read would */
            at += n;
            if (in.direct) direct_bytes += n;
            for (int ev = mcp_frame_inbuf_landed(&in, &r, n);; ev = mcp_frame_inbuf_next(&in, &r)) {
                assert_true(ev >= 0);
                if (ev == MCP_RD_META && r.h.body_len > 0) {
                    mcp_frame_reader_body(&r, r.h.seq == 3 ? NULL : body);
                } else if (ev == MCP_RD_META || ev == MCP_RD_DONE) {
                    if (r.h.seq == 0) for (size_t b = 0; b < 1000; b++) assert_int_equal(body[b], (unsigned char)(b * 7));
                    frames++;
                } else if (in.pos == in.len) {
                    break;
                }
            }
        }
        assert_int_equal(frames, 5);
        /* reads shorter than the first body leave part of it to a direct read */
        if (step >= 100 && step <= 512 && direct_bytes == 0) fail_msg("step %zu: no body read directly", step);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_round_trip_and_partial),
        cmocka_unit_test(test_header_garbage_refused_early),
        cmocka_unit_test(test_chunk_meta),
        cmocka_unit_test(test_list_records),
        cmocka_unit_test(test_hello),
        cmocka_unit_test(test_reader_scan_mode),
        cmocka_unit_test(test_reader_garbage),
        cmocka_unit_test(test_inbuf_reads_of_every_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
