/* proto/mcp_write.c — the response writer: memcached's exact reply bytes as
 * iovec pieces; header bytes in the caller's scratch, values never copied. */
#include "proto/mcp_int.h"

#include <string.h>

static const char *const reply_text[] = {
#define MCP_X_REPLY(n, s) s "\r\n",
    MCP_REPLY_LIST(MCP_X_REPLY)
#undef MCP_X_REPLY
};
static const uint8_t reply_len[] = {
#define MCP_X_REPLY(n, s) sizeof(s "\r\n") - 1,
    MCP_REPLY_LIST(MCP_X_REPLY)
#undef MCP_X_REPLY
};
static const char meta_code_text[][3] = {
#define MCP_X_MC(n, s) s,
    MCP_META_CODE_LIST(MCP_X_MC)
#undef MCP_X_MC
};

/* A save point: a writer that fails part-way restores it. */
struct wmark {
    size_t niov, used, lastlen;
};

static struct wmark mark(const struct mcp_wbuf *w)
{
    struct wmark m = {w->niov, w->used, w->niov ? w->iov[w->niov - 1].iov_len : 0};
    return m;
}

static int undo(struct mcp_wbuf *w, struct wmark m)
{
    w->niov = m.niov;
    w->used = m.used;
    if (m.niov) w->iov[m.niov - 1].iov_len = m.lastlen;
    return MCP_E_NOSPACE;
}

void mcp_wbuf_init(struct mcp_wbuf *w, struct iovec *iov, size_t iov_cap, char *buf, size_t cap)
{
    w->iov = iov;
    w->niov = 0;
    w->iov_cap = iov_cap;
    w->buf = buf;
    w->used = 0;
    w->cap = cap;
}

size_t mcp_wbuf_len(const struct mcp_wbuf *w)
{
    size_t n = 0;
    for (size_t i = 0; i < w->niov; i++)
        n += w->iov[i].iov_len;
    return n;
}

/* Append n scratch bytes; they join the last iovec when contiguous. */
static int put(struct mcp_wbuf *w, const void *p, size_t n)
{
    if (!n) return 0;
    if (n > w->cap - w->used) return MCP_E_NOSPACE;
    char *at = w->buf + w->used;
    if (w->niov && (char *)w->iov[w->niov - 1].iov_base + w->iov[w->niov - 1].iov_len == at) {
        w->iov[w->niov - 1].iov_len += n;
    } else {
        if (w->niov == w->iov_cap) return MCP_E_NOSPACE;
        w->iov[w->niov].iov_base = at;
        w->iov[w->niov].iov_len = n;
        w->niov++;
    }
    memcpy(at, p, n);
    w->used += n;
    return 0;
}

static int put_u64(struct mcp_wbuf *w, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return put(w, tmp + i, sizeof(tmp) - i);
}

static int put_i64(struct mcp_wbuf *w, int64_t v)
{
    if (v < 0) {
        if (put(w, "-", 1)) return MCP_E_NOSPACE;
        return put_u64(w, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(w, (uint64_t)v);
}

int mcp_w_data(struct mcp_wbuf *w, const void *p, size_t n)
{
    if (!n) return 0;
    if (w->niov == w->iov_cap) return MCP_E_NOSPACE;
    w->iov[w->niov].iov_base = (void *)(uintptr_t)p;
    w->iov[w->niov].iov_len = n;
    w->niov++;
    return 0;
}

int mcp_w_crlf(struct mcp_wbuf *w)
{
    return put(w, "\r\n", 2);
}

int mcp_w_reply(struct mcp_wbuf *w, enum mcp_reply r)
{
    if ((unsigned)r >= MCP_R__COUNT) return MCP_E_INVAL;
    return put(w, reply_text[r], reply_len[r]);
}

static int line2(struct mcp_wbuf *w, const char *a, const char *b)
{
    struct wmark m = mark(w);
    if (put(w, a, strlen(a)) || put(w, b, strlen(b)) || mcp_w_crlf(w)) return undo(w, m);
    return 0;
}

int mcp_w_error(struct mcp_wbuf *w, int err)
{
    const char *s = mcp_err_reply(err);
    if (!s || err == MCP_E_BIN_INVALID || err == MCP_E_BIN_UNKNOWN || err == MCP_E_BIN_TOO_LARGE)
        return 0;
    return line2(w, s, "");
}

int mcp_w_server_error(struct mcp_wbuf *w, const char *msg)
{
    return line2(w, "SERVER_ERROR ", msg);
}

int mcp_w_client_error(struct mcp_wbuf *w, const char *msg)
{
    return line2(w, "CLIENT_ERROR ", msg);
}

int mcp_w_value_hdr(struct mcp_wbuf *w, const char *key, size_t nkey, uint32_t flags, uint64_t vlen,
                    const uint64_t *cas)
{
    struct wmark m = mark(w);
    if (put(w, "VALUE ", 6) || put(w, key, nkey) || put(w, " ", 1) || put_u64(w, flags) ||
        put(w, " ", 1) || put_u64(w, vlen))
        return undo(w, m);
    if (cas && (put(w, " ", 1) || put_u64(w, *cas))) return undo(w, m);
    if (mcp_w_crlf(w)) return undo(w, m);
    return 0;
}

int mcp_w_value(struct mcp_wbuf *w, const char *key, size_t nkey, uint32_t flags, const void *val,
                uint64_t vlen, const uint64_t *cas)
{
    struct wmark m = mark(w);
    if (mcp_w_value_hdr(w, key, nkey, flags, vlen, cas)) return undo(w, m);
    if (val && (mcp_w_data(w, val, (size_t)vlen) || mcp_w_crlf(w))) return undo(w, m);
    return 0;
}

int mcp_w_number(struct mcp_wbuf *w, uint64_t n)
{
    struct wmark m = mark(w);
    if (put_u64(w, n) || mcp_w_crlf(w)) return undo(w, m);
    return 0;
}

int mcp_w_version(struct mcp_wbuf *w, const char *version)
{
    return line2(w, "VERSION ", version);
}

int mcp_w_stat(struct mcp_wbuf *w, const char *name, const char *value)
{
    struct wmark m = mark(w);
    if (put(w, "STAT ", 5) || put(w, name, strlen(name)) || put(w, " ", 1) ||
        put(w, value, strlen(value)) || mcp_w_crlf(w))
        return undo(w, m);
    return 0;
}

static int meta_key(struct mcp_wbuf *w, const struct mcp_request *req, const char *key, size_t nkey)
{
    if (put(w, " k", 2)) return MCP_E_NOSPACE;
    if (!req->key_binary) return put(w, key, nkey);
    char enc[(MCP_KEY_MAX + 2) / 3 * 4 + 4];
    size_t n = mcp_b64_encode((const unsigned char *)key, nkey > MCP_KEY_MAX ? MCP_KEY_MAX : nkey,
                              enc, sizeof(enc));
    if (put(w, enc, n) || put(w, " b", 2)) return MCP_E_NOSPACE;
    return 0;
}

int mcp_w_meta(struct mcp_wbuf *w, enum mcp_meta_code code, const struct mcp_request *req,
               const char *key, size_t nkey, const struct mcp_meta_res *res, const void *val,
               uint64_t vlen)
{
    static const struct mcp_meta_res none;
    struct wmark m = mark(w);
    if ((unsigned)code >= MCP_M__COUNT) return MCP_E_INVAL;
    if (!res) res = &none;
    if (put(w, meta_code_text[code], 2)) return undo(w, m);
    if (code == MCP_M_VA && (put(w, " ", 1) || put_u64(w, vlen))) return undo(w, m);
    const struct mcp_meta *mf = &req->meta;
    for (unsigned i = 0; i < mf->norder; i++) {
        char c = mf->order[i];
        int rc = 0;
        if (c == 'O') {
            rc = put(w, " O", 2) || put(w, mf->opaque, mf->nopaque);
        } else if (c == 'k') {
            rc = meta_key(w, req, key, nkey);
        } else if (c >= 'A' && c <= 'z' && (res->have & MCP_MF(c))) {
            char tag[2] = {' ', c};
            rc = put(w, tag, 2);
            switch (c) {
            case 's': rc = rc || put_u64(w, res->size); break;
            case 't': rc = rc || put_i64(w, res->ttl); break;
            case 'c': rc = rc || put_u64(w, res->cas); break;
            case 'f': rc = rc || put_u64(w, res->flags); break;
            case 'l': rc = rc || put_u64(w, res->la); break;
            case 'h': rc = rc || put(w, res->hit ? "1" : "0", 1); break;
            default: break;
            }
        }
        if (rc) return undo(w, m);
    }
    if ((res->token_sent && put(w, " Z", 2)) || (res->stale && put(w, " X", 2)) ||
        (res->win && put(w, " W", 2)) || mcp_w_crlf(w))
        return undo(w, m);
    if (code == MCP_M_VA && val && (mcp_w_data(w, val, (size_t)vlen) || mcp_w_crlf(w)))
        return undo(w, m);
    return 0;
}

int mcp_meta_quiet(const struct mcp_request *req, enum mcp_meta_code code)
{
    if (!req->noreply) return 0;
    switch (req->cmd) {
    case MCP_CMD_MG: return code == MCP_M_EN;
    case MCP_CMD_MD:
    case MCP_CMD_MS: return code == MCP_M_HD;
    case MCP_CMD_MA: return code == MCP_M_HD || code == MCP_M_VA;
    default: return 0;
    }
}

int mcp_w_bin(struct mcp_wbuf *w, const struct mcp_bin_res *r, const void *val, uint32_t vlen)
{
    struct wmark m = mark(w);
    unsigned char h[MCP_BIN_HDR_LEN];
    uint32_t body = (uint32_t)r->nextras + r->nkey + vlen;
    h[0] = 0x81;
    h[1] = r->opcode;
    h[2] = (unsigned char)(r->nkey >> 8);
    h[3] = (unsigned char)r->nkey;
    h[4] = r->nextras;
    h[5] = 0;
    h[6] = (unsigned char)(r->status >> 8);
    h[7] = (unsigned char)r->status;
    for (int i = 0; i < 4; i++) {
        h[8 + i] = (unsigned char)(body >> (24 - 8 * i));
        h[12 + i] = (unsigned char)(r->opaque >> (24 - 8 * i));
    }
    for (int i = 0; i < 8; i++)
        h[16 + i] = (unsigned char)(r->cas >> (56 - 8 * i));
    if (put(w, h, sizeof(h)) || put(w, r->extras, r->nextras) || put(w, r->key, r->nkey) ||
        (val && mcp_w_data(w, val, vlen)))
        return undo(w, m);
    return 0;
}

static const char *bin_status_text(enum mcp_bin_status s)
{
    switch (s) {
#define MCP_X_BS(n, v, t)                                                                          \
    case MCP_BS_##n: return t;
        MCP_BIN_STATUS_LIST(MCP_X_BS)
#undef MCP_X_BS
    }
    return "";
}

int mcp_w_bin_status(struct mcp_wbuf *w, uint8_t opcode, uint32_t opaque,
                     enum mcp_bin_status status)
{
    const char *t = bin_status_text(status);
    struct mcp_bin_res r = {.opcode = opcode, .status = (uint16_t)status, .opaque = opaque};
    return mcp_w_bin(w, &r, t, (uint32_t)strlen(t));
}

enum mcp_bin_status mcp_err_bin_status(int err)
{
    switch (err) {
    case MCP_E_BIN_UNKNOWN: return MCP_BS_UNKNOWN_COMMAND;
    case MCP_E_BIN_TOO_LARGE:
    case MCP_E_TOO_LARGE: return MCP_BS_E2BIG;
    case MCP_E_NON_NUMERIC: return MCP_BS_DELTA_BADVAL;
    case MCP_E_NO_MEMORY: return MCP_BS_ENOMEM;
    default: return MCP_BS_EINVAL;
    }
}
