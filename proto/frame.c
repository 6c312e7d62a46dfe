/* proto/frame.c — pack and unpack node-protocol frames. */
#include "proto/frame.h"

#include <string.h>

/* Bounds-checked big-endian cursor: once it overruns, every later call is a
 * no-op and `ok` stays 0, so encoders and decoders check once at the end. */
struct cursor {
    unsigned char *w;       /* writing, or NULL */
    const unsigned char *r; /* reading, or NULL */
    size_t pos, cap;
    int ok;
};

static int room(struct cursor *c, size_t n)
{
    if (!c->ok || c->cap - c->pos < n) return c->ok = 0;
    return 1;
}

static void put_uint(struct cursor *c, uint64_t v, int bytes)
{
    if (!room(c, (size_t)bytes)) return;
    for (int i = bytes - 1; i >= 0; i--, v >>= 8) c->w[c->pos + (size_t)i] = (unsigned char)v;
    c->pos += (size_t)bytes;
}

static uint64_t get_uint(struct cursor *c, int bytes)
{
    uint64_t v = 0;
    if (!room(c, (size_t)bytes)) return 0;
    for (int i = 0; i < bytes; i++) v = v << 8 | c->r[c->pos + (size_t)i];
    c->pos += (size_t)bytes;
    return v;
}

static void put_bytes(struct cursor *c, const void *p, size_t n)
{
    if (!room(c, n)) return;
    if (n > 0) memcpy(c->w + c->pos, p, n);
    c->pos += n;
}

static const unsigned char *get_bytes(struct cursor *c, size_t n)
{
    if (!room(c, n)) return NULL;
    const unsigned char *p = c->r + c->pos;
    c->pos += n;
    return p;
}

static struct cursor writer(unsigned char *out, size_t cap) { return (struct cursor){out, NULL, 0, cap, 1}; }
static struct cursor reader(const unsigned char *in, size_t len) { return (struct cursor){NULL, in, 0, len, 1}; }
static int written(const struct cursor *c) { return c->ok ? (int)c->pos : MCP_FRAME_ESPACE; }
/* A decoder must use every byte: trailing garbage is as wrong as too few. */
static int consumed(const struct cursor *c) { return c->ok && c->pos == c->cap ? 0 : MCP_FRAME_EMETA; }

static int known_op(int op)
{
    switch (op & ~MCP_FRAME_REPLY) {
#define MCP_OP_CASE(name, value, text) case name:
        MCP_FRAME_OPS(MCP_OP_CASE)
#undef MCP_OP_CASE
        return 1;
    }
    return 0;
}

int mcp_frame_header_decode(const unsigned char *buf, size_t len, struct mcp_frame_header *h)
{
    /* Judge the first bytes as soon as they arrive: garbage is refused
     * without waiting for a whole header. */
    if (len >= 1 && buf[0] != MCP_FRAME_MAGIC) return MCP_FRAME_EMAGIC;
    if (len >= 2 && buf[1] != MCP_FRAME_VERSION) return MCP_FRAME_EVERSION;
    if (len >= 3 && !known_op(buf[2])) return MCP_FRAME_EOP;
    if (len < MCP_FRAME_HEADER_LEN) return 0;
    struct cursor c = reader(buf, MCP_FRAME_HEADER_LEN);
    c.pos = 2;
    h->op = (uint8_t)get_uint(&c, 1);
    h->status = (uint8_t)get_uint(&c, 1);
    h->meta_len = (uint16_t)get_uint(&c, 2);
    get_uint(&c, 2);
    h->seq = (uint32_t)get_uint(&c, 4);
    get_uint(&c, 4);
    h->body_len = get_uint(&c, 8);
    if (h->meta_len > MCP_FRAME_MAX_META || h->body_len > MCP_FRAME_MAX_BODY) return MCP_FRAME_ETOOLONG;
    return MCP_FRAME_HEADER_LEN;
}

void mcp_frame_header_encode(unsigned char out[MCP_FRAME_HEADER_LEN], const struct mcp_frame_header *h)
{
    struct cursor c = writer(out, MCP_FRAME_HEADER_LEN);
    put_uint(&c, MCP_FRAME_MAGIC, 1);
    put_uint(&c, MCP_FRAME_VERSION, 1);
    put_uint(&c, h->op, 1);
    put_uint(&c, h->status, 1);
    put_uint(&c, h->meta_len, 2);
    put_uint(&c, 0, 2);
    put_uint(&c, h->seq, 4);
    put_uint(&c, 0, 4);
    put_uint(&c, h->body_len, 8);
}

static void chunk_meta_put(struct cursor *c, const struct mcp_chunk_meta *m)
{
    put_uint(c, m->version, 8);
    put_uint(c, m->size, 8);
    put_uint(c, (uint64_t)m->expiry, 8);
    put_uint(c, m->flags, 4);
    put_uint(c, m->crc, 4);
    put_uint(c, m->index, 1);
    put_uint(c, m->d, 1);
    put_uint(c, m->p, 1);
    put_uint(c, 0, 1);
    put_uint(c, m->key_len, 2);
    put_bytes(c, m->key, m->key_len);
}

static int chunk_meta_get(struct cursor *c, struct mcp_chunk_meta *m)
{
    m->version = get_uint(c, 8);
    m->size = get_uint(c, 8);
    m->expiry = (int64_t)get_uint(c, 8);
    m->flags = (uint32_t)get_uint(c, 4);
    m->crc = (uint32_t)get_uint(c, 4);
    m->index = (uint8_t)get_uint(c, 1);
    m->d = (uint8_t)get_uint(c, 1);
    m->p = (uint8_t)get_uint(c, 1);
    get_uint(c, 1);
    m->key_len = (uint16_t)get_uint(c, 2);
    m->key = get_bytes(c, m->key_len);
    if (!c->ok || m->key_len == 0 || m->key_len > MCP_FRAME_MAX_KEY) return MCP_FRAME_EMETA;
    /* index 0xFF means "every chunk" in DEL; otherwise it must be in the stripe */
    if (m->index != 0xFF && m->d + m->p > 0 && m->index >= m->d + m->p) return MCP_FRAME_EMETA;
    return 0;
}

int mcp_chunk_meta_encode(unsigned char *out, size_t cap, const struct mcp_chunk_meta *m)
{
    struct cursor c = writer(out, cap);
    chunk_meta_put(&c, m);
    return written(&c);
}

int mcp_chunk_meta_decode(const unsigned char *buf, size_t len, struct mcp_chunk_meta *m)
{
    struct cursor c = reader(buf, len);
    int rc = chunk_meta_get(&c, m);
    return rc < 0 ? rc : consumed(&c);
}

int mcp_list_record_encode(unsigned char *out, size_t cap, const struct mcp_chunk_meta *m)
{
    struct cursor c = writer(out, cap);
    put_uint(&c, MCP_CHUNK_META_FIXED + (uint64_t)m->key_len, 2);
    chunk_meta_put(&c, m);
    return written(&c);
}

int mcp_list_record_decode(const unsigned char *buf, size_t len, struct mcp_chunk_meta *m)
{
    struct cursor c = reader(buf, len);
    size_t rec = (size_t)get_uint(&c, 2);
    if (!c.ok || rec > len - 2) return MCP_FRAME_EMETA;
    int rc = mcp_chunk_meta_decode(buf + 2, rec, m);
    return rc < 0 ? rc : (int)(rec + 2);
}

int mcp_hello_encode(unsigned char *out, size_t cap, const struct mcp_hello *h)
{
    struct cursor c = writer(out, cap);
    put_uint(&c, h->proto_version, 2);
    put_bytes(&c, h->instance, MCP_FRAME_INSTANCE_LEN);
    put_uint(&c, h->mem_limit, 8);
    put_uint(&c, h->chunks, 8);
    put_uint(&c, h->bytes, 8);
    put_uint(&c, h->name_len, 2);
    put_bytes(&c, h->name, h->name_len);
    put_uint(&c, h->token_len, 2);
    put_bytes(&c, h->token, h->token_len);
    return written(&c);
}

int mcp_hello_decode(const unsigned char *buf, size_t len, struct mcp_hello *h)
{
    struct cursor c = reader(buf, len);
    h->proto_version = (uint16_t)get_uint(&c, 2);
    const unsigned char *id = get_bytes(&c, MCP_FRAME_INSTANCE_LEN);
    if (id != NULL) memcpy(h->instance, id, MCP_FRAME_INSTANCE_LEN);
    h->mem_limit = get_uint(&c, 8);
    h->chunks = get_uint(&c, 8);
    h->bytes = get_uint(&c, 8);
    h->name_len = (uint16_t)get_uint(&c, 2);
    h->name = (const char *)get_bytes(&c, h->name_len);
    h->token_len = (uint16_t)get_uint(&c, 2);
    h->token = (const char *)get_bytes(&c, h->token_len);
    return consumed(&c);
}

int mcp_list_req_encode(unsigned char *out, size_t cap, const struct mcp_list_req *r)
{
    struct cursor c = writer(out, cap);
    put_uint(&c, r->cursor, 8);
    put_uint(&c, r->max, 4);
    return written(&c);
}

int mcp_list_req_decode(const unsigned char *buf, size_t len, struct mcp_list_req *r)
{
    struct cursor c = reader(buf, len);
    r->cursor = get_uint(&c, 8);
    r->max = (uint32_t)get_uint(&c, 4);
    return consumed(&c);
}

int mcp_list_reply_encode(unsigned char *out, size_t cap, const struct mcp_list_reply *r)
{
    struct cursor c = writer(out, cap);
    put_uint(&c, r->next, 8);
    put_uint(&c, r->count, 4);
    return written(&c);
}

int mcp_list_reply_decode(const unsigned char *buf, size_t len, struct mcp_list_reply *r)
{
    struct cursor c = reader(buf, len);
    r->next = get_uint(&c, 8);
    r->count = (uint32_t)get_uint(&c, 4);
    return consumed(&c);
}

enum { RD_HEAD, RD_META, RD_BODY };

void mcp_frame_reader_init(struct mcp_frame_reader *r)
{
    r->state = RD_HEAD;
    r->got = 0;
    r->body = NULL;
}

int mcp_frame_reader_idle(const struct mcp_frame_reader *r) { return r->state == RD_HEAD && r->got == 0; }

static int body_done(struct mcp_frame_reader *r)
{
    r->state = RD_HEAD;
    r->got = 0;
    return MCP_RD_DONE;
}

int mcp_frame_reader_body(struct mcp_frame_reader *r, unsigned char *dest)
{
    if (r->h.body_len == 0) return MCP_RD_DONE; /* already complete */
    r->body = dest;
    r->state = RD_BODY;
    r->got = 0;
    return MCP_RD_MORE;
}

/* Metadata complete: a frame without a body is finished here. */
static int meta_complete(struct mcp_frame_reader *r)
{
    if (r->h.body_len == 0) {
        r->state = RD_HEAD;
        r->got = 0;
    }
    return MCP_RD_META;
}

unsigned char *mcp_frame_reader_body_room(const struct mcp_frame_reader *r, size_t *len)
{
    if (r->state != RD_BODY || r->body == NULL) return NULL;
    *len = (size_t)(r->h.body_len - r->got);
    return r->body + r->got;
}

void mcp_frame_reader_skip_body(struct mcp_frame_reader *r) { r->body = NULL; }

int mcp_frame_reader_body_filled(struct mcp_frame_reader *r, size_t n)
{
    r->got += n;
    return r->got == r->h.body_len ? body_done(r) : MCP_RD_MORE;
}

int mcp_frame_reader_feed(struct mcp_frame_reader *r, const unsigned char *buf, size_t len, size_t *used)
{
    size_t at = 0;
    int event = MCP_RD_MORE;
    while (at < len && event == MCP_RD_MORE) {
        size_t avail = len - at, take;
        switch (r->state) {
        case RD_HEAD: {
            take = MCP_FRAME_HEADER_LEN - r->got;
            if (take > avail) take = avail;
            memcpy(r->hdr + r->got, buf + at, take);
            r->got += take;
            at += take;
            int rc = mcp_frame_header_decode(r->hdr, r->got, &r->h);
            if (rc < 0) {
                *used = at;
                return rc;
            }
            if (rc > 0) {
                r->state = RD_META;
                r->got = 0;
                if (r->h.meta_len == 0) event = meta_complete(r);
            }
            break;
        }
        case RD_META:
            take = r->h.meta_len - r->got;
            if (take > avail) take = avail;
            memcpy(r->meta + r->got, buf + at, take);
            r->got += take;
            at += take;
            if (r->got == r->h.meta_len) event = meta_complete(r);
            break;
        default: /* RD_BODY */
            take = r->h.body_len - r->got < avail ? (size_t)(r->h.body_len - r->got) : avail;
            if (r->body != NULL) memcpy(r->body + r->got, buf + at, take);
            at += take;
            event = mcp_frame_reader_body_filled(r, take);
            break;
        }
    }
    *used = at;
    return event;
}

unsigned char *mcp_frame_inbuf_room(struct mcp_frame_inbuf *in, const struct mcp_frame_reader *r, size_t *n)
{
    size_t left;
    unsigned char *room = mcp_frame_reader_body_room(r, &left);
    if (room != NULL && in->pos == in->len) {
        in->direct = 1;
        *n = left > ((size_t)1 << 30) ? (size_t)1 << 30 : left;
        return room;
    }
    in->direct = 0;
    if (in->pos == in->len) {
        in->pos = in->len = 0;
    } else if (in->pos > 0) {
        memmove(in->buf, in->buf + in->pos, in->len - in->pos);
        in->len -= in->pos;
        in->pos = 0;
    }
    *n = in->cap - in->len;
    return in->buf + in->len;
}

int mcp_frame_inbuf_landed(struct mcp_frame_inbuf *in, struct mcp_frame_reader *r, size_t n)
{
    if (in->direct) return mcp_frame_reader_body_filled(r, n);
    in->len += n;
    return MCP_RD_MORE;
}

int mcp_frame_inbuf_next(struct mcp_frame_inbuf *in, struct mcp_frame_reader *r)
{
    if (in->pos == in->len) return MCP_RD_MORE;
    size_t used;
    int ev = mcp_frame_reader_feed(r, in->buf + in->pos, in->len - in->pos, &used);
    in->pos += used;
    return ev;
}

const char *mcp_frame_op_name(int op)
{
    switch (op & ~MCP_FRAME_REPLY) {
#define MCP_OP_NAME(name, value, text) case name: return text;
        MCP_FRAME_OPS(MCP_OP_NAME)
#undef MCP_OP_NAME
    }
    return "unknown";
}

const char *mcp_frame_status_text(int status)
{
    switch (status) {
#define MCP_ST_TEXT(name, value, text) case name: return text;
        MCP_FRAME_STATUSES(MCP_ST_TEXT)
#undef MCP_ST_TEXT
    }
    return "unknown status";
}

const char *mcp_frame_strerror(int err)
{
    switch (err) {
#define MCP_FE_TEXT(name, value, text) case name: return text;
        MCP_FRAME_ERRORS(MCP_FE_TEXT)
#undef MCP_FE_TEXT
    }
    return "unknown frame error";
}
