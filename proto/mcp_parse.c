/* proto/mcp_parse.c — the incremental framer: header lines, binary headers,
 * value delivery into the caller's buffer, swallowing, shared number rules. */
#include "proto/mcp_int.h"

#include <stddef.h>
#include <string.h>

enum parse_state {
    ST_HEADER = 0, /* waiting for a header line / binary header */
    ST_NEED_DEST,  /* MCP_VALUE returned, no destination named yet */
    ST_VALUE,      /* copying value bytes (then the trailer, text) */
    ST_SWALLOW,    /* skipping `remaining` bytes after an error */
};

struct err_info {
    const char *name;
    const char *reply;
    int fatal;
};

static const struct err_info err_table[] = {
#define MCP_X_ERR(n, s, f) {"MCP_E_" #n, s, f},
    MCP_ERR_LIST(MCP_X_ERR)
#undef MCP_X_ERR
};

static const struct err_info *err_lookup(int err)
{
    if (err <= MCP_E__FIRST || err >= MCP_E__END) return NULL;
    return &err_table[err - MCP_E__FIRST - 1];
}

const char *mcp_err_name(int err)
{
    const struct err_info *e = err_lookup(err);
    return e ? e->name : "MCP_E_UNKNOWN";
}

const char *mcp_err_reply(int err)
{
    const struct err_info *e = err_lookup(err);
    return e ? e->reply : NULL;
}

int mcp_err_fatal(int err)
{
    const struct err_info *e = err_lookup(err);
    return e ? e->fatal : 1;
}

static const char *const cmd_names[] = {"none",
#define MCP_X_NAME(n, s) s,
                                        MCP_CMD_LIST(MCP_X_NAME)
#undef MCP_X_NAME
};

const char *mcp_cmd_name(enum mcp_cmd c)
{
    if ((unsigned)c >= MCP_CMD__COUNT) return "none";
    return cmd_names[c];
}

int mcp_err_silent(const struct mcp_request *req, int err)
{
    /* memcached's text noreply hides every reply, errors included, once the
     * command's arguments were counted right (req->noreply is set then). */
    (void)err;
    return req->proto == MCP_PROTO_TEXT && req->noreply && req->cmd != MCP_CMD_MG &&
           req->cmd != MCP_CMD_MS && req->cmd != MCP_CMD_MD && req->cmd != MCP_CMD_MA;
}

/* ---- numbers, as memcached's safe_strtoull/safe_strtoul/safe_strtol ---- */

static bool is_cspace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* Skip leading white space and a sign; digits follow. Returns the index of
 * the first digit or n when there is none. */
static size_t num_start(const char *s, size_t n, bool *neg)
{
    size_t i = 0;
    while (i < n && is_cspace(s[i]))
        i++;
    *neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-')) {
        *neg = s[i] == '-';
        i++;
    }
    if (i >= n || s[i] < '0' || s[i] > '9') return n;
    return i;
}

/* After the digits, strtol's end pointer must be at a space or the end. */
static bool num_end_ok(const char *s, size_t n, size_t i)
{
    return i == n || is_cspace(s[i]);
}

bool mcp_tok_u64(const char *s, size_t n, uint64_t *out)
{
    bool neg;
    size_t i = num_start(s, n, &neg);
    uint64_t v = 0;
    if (i >= n) return false;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return false; /* ERANGE */
        v = v * 10 + d;
    }
    if (!num_end_ok(s, n, i)) return false;
    if (neg) {
        /* strtoull negates; memcached refuses a result with the sign bit
         * set when the text had a '-'. */
        v = (uint64_t)0 - v;
        if (v & (UINT64_C(1) << 63)) return false;
    }
    *out = v;
    return true;
}

bool mcp_tok_u32(const char *s, size_t n, uint32_t *out)
{
    uint64_t v;
    if (!mcp_tok_u64(s, n, &v)) return false;
    *out = (uint32_t)v;
    return true;
}

bool mcp_tok_i32(const char *s, size_t n, int32_t *out)
{
    /* strtol into a 64-bit long (ERANGE beyond), then memcached stores it
     * in an int32_t: the value is truncated, as memcached 1.6.18 does. */
    bool neg;
    size_t i = num_start(s, n, &neg);
    uint64_t v = 0;
    if (i >= n) return false;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_C(9223372036854775808) - d) / 10) return false;
        v = v * 10 + d;
    }
    if (!num_end_ok(s, n, i)) return false;
    if (!neg && v > INT64_MAX) return false;
    uint64_t u = neg ? (uint64_t)0 - v : v;
    *out = (int32_t)(uint32_t)u;
    return true;
}

/* ---- base64 (meta b flag) ---- */

static int b64_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

size_t mcp_b64_decode(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    if (n == 0 || n % 4 != 0) return 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)in[i + (size_t)j];
            if (c == '=' && i + 4 == n && j >= 2) {
                v[j] = 0;
                pad++;
                continue;
            }
            if (pad) return 0; /* data after padding */
            v[j] = b64_val(c);
            if (v[j] < 0) return 0;
        }
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) |
                     (uint32_t)v[3];
        size_t k = 3 - (size_t)pad;
        if (o + k > cap) return 0;
        out[o++] = (char)(w >> 16);
        if (k > 1) out[o++] = (char)(w >> 8);
        if (k > 2) out[o++] = (char)w;
    }
    return o;
}

size_t mcp_b64_encode(const unsigned char *in, size_t n, char *out, size_t cap)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    if ((n + 2) / 3 * 4 > cap) return 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t w = (uint32_t)in[i] << 16;
        if (i + 1 < n) w |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n) w |= in[i + 2];
        out[o++] = a[(w >> 18) & 63];
        out[o++] = a[(w >> 12) & 63];
        out[o++] = i + 1 < n ? a[(w >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? a[w & 63] : '=';
    }
    return o;
}

/* ---- keys of get-family requests ---- */

int mcp_key_next(const struct mcp_request *req, size_t *pos, const char **key, size_t *nkey)
{
    size_t i = *pos;
    const char *s = req->keys;
    if (req->proto == MCP_PROTO_BINARY) { /* one key, spaces allowed */
        if (i || !req->nkey) return 0;
        *key = req->key;
        *nkey = req->nkey;
        *pos = 1;
        return 1;
    }
    size_t n = req->nkeys_bytes;
    while (i < n && s[i] == ' ')
        i++;
    if (i >= n) return 0;
    size_t st = i;
    while (i < n && s[i] != ' ')
        i++;
    *key = s + st;
    *nkey = i - st;
    *pos = i;
    return 1;
}

/* ---- the framer ---- */

void mcp_parser_init(struct mcp_parser *p, const struct mcp_config *cfg)
{
    memset(p, 0, sizeof(*p));
    if (cfg) {
        p->cfg = *cfg;
    }
    if (!p->cfg.max_value) p->cfg.max_value = MCP_VALUE_MAX_DEFAULT;
    if (!p->cfg.max_line) p->cfg.max_line = MCP_LINE_MAX;
    if (!p->cfg.max_get_line) p->cfg.max_get_line = MCP_GET_LINE_MAX;
    if (p->cfg.max_get_line < p->cfg.max_line) p->cfg.max_get_line = p->cfg.max_line;
}

void mcp_parser_set_proto(struct mcp_parser *p, enum mcp_proto proto)
{
    p->proto = proto;
}

void mcp_value_dest(struct mcp_parser *p, void *dst)
{
    if (p->state != ST_NEED_DEST) return;
    p->dst = dst;
    p->has_dest = 1;
    p->state = ST_VALUE;
}

void mcp_value_discard(struct mcp_parser *p)
{
    mcp_value_dest(p, NULL);
}

size_t mcp_value_want(const struct mcp_parser *p, char **at)
{
    if (p->state != ST_VALUE || !p->dst) {
        *at = NULL;
        return 0;
    }
    *at = p->dst + p->got;
    return p->remaining > SIZE_MAX ? SIZE_MAX : (size_t)p->remaining;
}

void mcp_value_wrote(struct mcp_parser *p, size_t n)
{
    if (p->state != ST_VALUE || !p->dst || n > p->remaining) return;
    p->got += n;
    p->remaining -= n;
}

/* Does this (possibly partial) line start a get-family command, whose lines
 * may be longer (memcached lets long multigets through)? */
static bool get_family(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] == ' ' && i < 100)
        i++;
    s += i;
    n -= i;
    return (n >= 4 && (!memcmp(s, "get ", 4) || !memcmp(s, "gat ", 4))) ||
           (n >= 5 && (!memcmp(s, "gets ", 5) || !memcmp(s, "gats ", 5)));
}

static int text_header(struct mcp_parser *p, const char *buf, size_t len, struct mcp_request *req,
                       struct mcp_response *resp, size_t *used)
{
    size_t from = p->scanned < len ? p->scanned : len;
    const char *nl = memchr(buf + from, '\n', len - from);
    size_t cap = p->cfg.max_line;
    *used = 0;
    if (!nl) {
        p->scanned = len;
        if (len > cap && (!get_family(buf, len) || len > p->cfg.max_get_line)) {
            p->scanned = 0;
            return MCP_E_LINE_TOO_LONG;
        }
        return MCP_AGAIN;
    }
    size_t n = (size_t)(nl - buf);
    p->scanned = 0;
    *used = n + 1;
    if (n > cap && (!get_family(buf, n) || n > p->cfg.max_get_line)) return MCP_E_LINE_TOO_LONG;
    if (n > 1 && buf[n - 1] == '\r') n--;
    uint64_t swallow = 0, vlen = 0;
    int rc;
    if (resp) {
        memset(resp, 0, offsetof(struct mcp_response, keybuf));
        rc = mcp_reply_line(buf, n, resp);
        vlen = resp->vlen;
    } else {
        /* meta and bin are filled only by the commands that use them */
        memset(req, 0, offsetof(struct mcp_request, meta));
        req->proto = MCP_PROTO_TEXT;
        rc = mcp_text_line(&p->cfg, buf, n, req, &swallow);
        vlen = req->vlen;
    }
    if (rc == MCP_VALUE) {
        p->remaining = vlen;
        p->got = 0;
        p->ntrail = 0;
        p->trail_bad = 0;
        p->trailer = 1;
        p->dst = NULL;
        p->has_dest = 0;
        p->state = ST_NEED_DEST;
    } else if (rc < 0 && swallow) {
        p->remaining = swallow;
        p->state = ST_SWALLOW;
    }
    return rc;
}

static int bin_header(struct mcp_parser *p, const char *buf, size_t len, struct mcp_request *req,
                      size_t *used)
{
    uint64_t swallow = 0;
    size_t n = 0;
    *used = 0;
    int rc = mcp_bin_request(&p->cfg, buf, len, req, &n, &swallow);
    if (rc == MCP_AGAIN) return rc;
    *used = n;
    if (rc == MCP_VALUE) {
        p->remaining = req->vlen;
        p->got = 0;
        p->ntrail = 0;
        p->trail_bad = 0;
        p->trailer = 0;
        p->dst = NULL;
        p->has_dest = 0;
        p->state = ST_NEED_DEST;
    } else if (rc < 0 && swallow) {
        p->remaining = swallow;
        p->state = ST_SWALLOW;
    }
    return rc;
}

static int run(struct mcp_parser *p, const char *buf, size_t len, struct mcp_request *req,
               struct mcp_response *resp, size_t *used)
{
    size_t off = 0;
    for (;;) {
        size_t avail = len - off;
        switch (p->state) {
        case ST_SWALLOW: {
            size_t k = p->remaining < avail ? (size_t)p->remaining : avail;
            off += k;
            p->remaining -= k;
            if (p->remaining) {
                *used = off;
                return MCP_AGAIN;
            }
            p->state = ST_HEADER;
            continue;
        }
        case ST_NEED_DEST: *used = off; return avail ? MCP_E_NO_DEST : MCP_AGAIN;
        case ST_VALUE: {
            size_t k = p->remaining < avail ? (size_t)p->remaining : avail;
            if (k && p->dst) memcpy(p->dst + p->got, buf + off, k);
            p->got += k;
            p->remaining -= k;
            off += k;
            if (p->remaining) {
                *used = off;
                return MCP_AGAIN;
            }
            if (p->trailer) {
                while (p->ntrail < 2 && off < len) {
                    if (buf[off] != "\r\n"[p->ntrail]) p->trail_bad = 1;
                    p->ntrail++;
                    off++;
                }
                if (p->ntrail < 2) {
                    *used = off;
                    return MCP_AGAIN;
                }
            }
            p->state = ST_HEADER;
            p->dst = NULL;
            p->has_dest = 0;
            *used = off;
            return p->trail_bad ? MCP_E_BAD_CHUNK : MCP_VALUE_DONE;
        }
        default: {
            size_t n = 0;
            int rc;
            if (!avail) {
                *used = off;
                return MCP_AGAIN;
            }
            if (p->proto == MCP_PROTO_UNKNOWN && !resp)
                p->proto = (unsigned char)buf[off] == 0x80 ? MCP_PROTO_BINARY : MCP_PROTO_TEXT;
            if (resp)
                rc = text_header(p, buf + off, avail, NULL, resp, &n);
            else if (p->proto == MCP_PROTO_BINARY)
                rc = bin_header(p, buf + off, avail, req, &n);
            else
                rc = text_header(p, buf + off, avail, req, NULL, &n);
            off += n;
            *used = off;
            return rc;
        }
        }
    }
}

int mcp_parse(struct mcp_parser *p, const char *buf, size_t len, struct mcp_request *req,
              size_t *used)
{
    return run(p, buf, len, req, NULL, used);
}

int mcp_parse_reply(struct mcp_parser *p, const char *buf, size_t len, struct mcp_response *resp,
                    size_t *used)
{
    return run(p, buf, len, NULL, resp, used);
}
