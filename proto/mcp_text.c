/* proto/mcp_text.c — header lines of the text and meta protocols: tokens,
 * command dispatch and argument rules, as memcached 1.6.18 applies them. */
#include "proto/mcp_int.h"

#include <string.h>

/* Split on ' ' (memcached splits on spaces only; empty tokens vanish).
 * Keeps up to `max` tokens; returns how many there are in all. */
static size_t tokenize(const char *s, size_t n, struct mcp_tok *t, size_t max)
{
    size_t count = 0, i = 0;
    while (i < n) {
        while (i < n && s[i] == ' ')
            i++;
        if (i >= n) break;
        const char *p = memchr(s + i, ' ', n - i);
        size_t e = p ? (size_t)(p - s) : n;
        if (count < max) {
            t[count].s = s + i;
            t[count].n = e - i;
        }
        count++;
        i = e;
    }
    return count;
}

static bool tok_is(const struct mcp_tok *t, const char *lit, size_t n)
{
    return t->n == n && !memcmp(t->s, lit, n);
}
#define TOK_IS(t, lit) tok_is((t), (lit), sizeof(lit) - 1)

/* 1..250 bytes; no control characters (protocol.txt; see docs/proto.md). */
static int check_key(const char *k, size_t n)
{
    if (n == 0 || n > MCP_KEY_MAX) return MCP_E_BAD_FORMAT;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c < 0x20 || c == 0x7f) return MCP_E_BAD_FORMAT;
    }
    return 0;
}

static enum mcp_cmd lookup(const struct mcp_tok *t)
{
    static const struct {
        const char *s;
        enum mcp_cmd c;
    } verbs[] = {
#define MCP_X_V(n, s) {s, MCP_CMD_##n},
        MCP_CMD_LIST(MCP_X_V)
#undef MCP_X_V
    };
    /* Fast path for the hot ones. */
    if (t->n == 3 && t->s[0] == 'g' && t->s[1] == 'e' && t->s[2] == 't') return MCP_CMD_GET;
    if (t->n == 3 && t->s[0] == 's' && t->s[1] == 'e' && t->s[2] == 't') return MCP_CMD_SET;
    if (t->n == 2 && t->s[0] == 'm') {
        switch (t->s[1]) {
        case 'g': return MCP_CMD_MG;
        case 's': return MCP_CMD_MS;
        case 'd': return MCP_CMD_MD;
        case 'a': return MCP_CMD_MA;
        case 'n': return MCP_CMD_MN;
        default: return MCP_CMD_NONE;
        }
    }
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
        if (tok_is(t, verbs[i].s, strlen(verbs[i].s)))
            return verbs[i].c == MCP_CMD_NOOP ? MCP_CMD_NONE : verbs[i].c;
    return MCP_CMD_NONE;
}

/* get/gets (keys from token 1) and gat/gats (exptime, then keys). */
static int parse_get(const char *line, size_t n, const struct mcp_tok *t, size_t nt,
                     struct mcp_request *req)
{
    size_t first = 1;
    if (req->cmd == MCP_CMD_GAT || req->cmd == MCP_CMD_GATS) {
        if (nt < 2) return MCP_E_UNKNOWN_CMD;
        if (!mcp_tok_i32(t[1].s, t[1].n, &req->exptime)) return MCP_E_BAD_EXPTIME;
        first = 2;
    } else if (nt < 2) {
        return MCP_E_UNKNOWN_CMD;
    }
    if (nt <= first) { /* gat with no key: an empty answer, as memcached */
        req->keys = line + n;
        return MCP_REQUEST;
    }
    const char *s = t[first].s;
    size_t len = (size_t)(line + n - s);
    while (len && s[len - 1] == ' ')
        len--;
    req->keys = s;
    req->nkeys_bytes = len;
    size_t pos = 0;
    const char *k;
    size_t nk;
    while (mcp_key_next(req, &pos, &k, &nk)) {
        if (check_key(k, nk)) return MCP_E_BAD_FORMAT;
        if (!req->nkeys) {
            req->key = k;
            req->nkey = nk;
        }
        req->nkeys++;
    }
    return MCP_REQUEST;
}

static int parse_store(const struct mcp_config *cfg, const struct mcp_tok *t, size_t nt,
                       struct mcp_request *req, uint64_t *swallow)
{
    bool cas = req->cmd == MCP_CMD_CAS;
    size_t base = cas ? 6 : 5;
    int32_t vlen;
    if (nt != base && nt != base + 1) return MCP_E_UNKNOWN_CMD;
    /* memcached looks at the last token, whatever its position */
    req->noreply = TOK_IS(&t[nt - 1], "noreply");
    req->key = t[1].s;
    req->nkey = t[1].n;
    if (check_key(t[1].s, t[1].n)) return MCP_E_BAD_FORMAT;
    if (!mcp_tok_u32(t[2].s, t[2].n, &req->flags) || !mcp_tok_i32(t[3].s, t[3].n, &req->exptime) ||
        !mcp_tok_i32(t[4].s, t[4].n, &vlen))
        return MCP_E_BAD_FORMAT;
    if (cas) {
        if (!mcp_tok_u64(t[5].s, t[5].n, &req->cas)) return MCP_E_BAD_FORMAT;
        req->has_cas = 1;
    }
    if (vlen < 0 || vlen > INT32_MAX - 2) return MCP_E_BAD_FORMAT;
    req->vlen = (uint64_t)vlen;
    if (req->vlen > cfg->max_value) {
        *swallow = req->vlen + 2;
        return MCP_E_TOO_LARGE;
    }
    return MCP_VALUE;
}

/* Meta flags after the key (and ms's length): memcached's preparse. The
 * error it reports is the last one recorded before it stops, as there. */
static int meta_flags(const struct mcp_tok *t, size_t from, size_t nt, struct mcp_request *req,
                      int bad_default)
{
    struct mcp_meta *m = &req->meta;
    int err = 0;
    int errstr = bad_default;
    m->delta = 1;
    for (size_t i = from; i < nt; i++) {
        unsigned char o = (unsigned char)t[i].s[0];
        const char *v = t[i].s + 1;
        size_t vn = t[i].n - 1;
        if (o >= 127) return MCP_E_META_DUP_FLAG;
        if (o >= 'A' && o <= 'z') {
            if (m->seen & MCP_MF(o)) return MCP_E_META_DUP_FLAG;
            m->seen |= MCP_MF(o);
        }
        if (m->norder < MCP_META_TOKENS_MAX) m->order[m->norder++] = (char)o;
        switch (o) {
        case 'b': {
            size_t k = mcp_b64_decode(req->key, req->nkey, req->keybuf, sizeof(req->keybuf));
            if (!k) {
                errstr = MCP_E_META_BAD_KEY;
                err = 1;
            }
            req->key = req->keybuf;
            req->nkey = k;
            req->key_binary = 1;
            break;
        }
        case 'N':
            if (!mcp_tok_i32(v, vn, &m->vivify_ttl)) {
                errstr = MCP_E_META_BAD_TOKEN;
                err = 1;
            }
            break;
        case 'T':
            if (!mcp_tok_i32(v, vn, &m->ttl)) {
                errstr = MCP_E_META_BAD_TOKEN;
                err = 1;
            }
            break;
        case 'R':
            if (!mcp_tok_i32(v, vn, &m->recache)) {
                errstr = MCP_E_META_BAD_TOKEN;
                err = 1;
            }
            break;
        case 'O':
            if (vn <= MCP_OPAQUE_MAX) {
                memcpy(m->opaque, v, vn);
                m->opaque[vn] = 0;
                m->nopaque = (uint8_t)vn;
            }
            break;
        case 'l':
        case 'P':
        case 'L':
        case 'k':
        case 's':
        case 't':
        case 'c':
        case 'f':
        case 'v':
        case 'h':
        case 'u':
        case 'I': break;
        case 'q': req->noreply = 1; break;
        case 'F':
            if (!mcp_tok_u32(v, vn, &m->client_flags)) err = 1;
            break;
        case 'C':
            if (!mcp_tok_u64(v, vn, &m->cas_in)) {
                errstr = MCP_E_META_BAD_TOKEN;
                err = 1;
            } else {
                req->has_cas = 1;
            }
            break;
        case 'M':
            if (t[i].n != 2) {
                errstr = MCP_E_META_M_LENGTH;
                err = 1;
            } else {
                m->mode = t[i].s[1];
            }
            break;
        case 'J':
            if (!mcp_tok_u64(v, vn, &m->initial)) {
                errstr = MCP_E_META_BAD_INITIAL;
                err = 1;
            }
            break;
        case 'D':
            if (!mcp_tok_u64(v, vn, &m->delta)) {
                errstr = MCP_E_META_BAD_DELTA;
                err = 1;
            }
            break;
        default: return MCP_E_META_INVALID_FLAG;
        }
    }
    return err ? errstr : 0;
}

/* The O token is checked after the flags are accepted, as memcached does. */
static int meta_opaque_ok(const struct mcp_tok *t, size_t from, size_t nt)
{
    for (size_t i = from; i < nt; i++)
        if (t[i].s[0] == 'O' && t[i].n > MCP_OPAQUE_MAX + 1) return 0;
    return 1;
}

static int parse_meta(const struct mcp_config *cfg, const struct mcp_tok *t, size_t nt,
                      struct mcp_request *req, uint64_t *swallow)
{
    enum mcp_cmd c = req->cmd;
    int rc;
    if (nt < 2) return MCP_E_UNKNOWN_CMD;
    req->key = t[1].s;
    req->nkey = t[1].n;
    if (check_key(t[1].s, t[1].n)) return MCP_E_BAD_FORMAT;
    if (c == MCP_CMD_MS && nt == 2) return MCP_E_BAD_FORMAT;
    if (nt >= MCP_META_TOKENS_MAX + 1)
        return c == MCP_CMD_MG ? MCP_E_MG_TOO_MANY : MCP_E_META_TOO_MANY;
    req->nkeys = 1;
    if (c == MCP_CMD_MS) {
        int32_t vlen;
        if (!mcp_tok_i32(t[2].s, t[2].n, &vlen) || vlen < 0 || vlen > INT32_MAX - 2)
            return MCP_E_BAD_FORMAT;
        req->vlen = (uint64_t)vlen;
        *swallow = req->vlen + 2; /* any error from here skips the value */
        rc = meta_flags(t, 3, nt, req, MCP_E_BAD_FORMAT);
        if (rc) return rc;
        req->flags = req->meta.client_flags;
        req->exptime = req->meta.ttl;
        req->cas = req->meta.cas_in;
        switch (req->meta.mode) {
        case 0:
        case 'E':
        case 'A':
        case 'P':
        case 'R':
        case 'S': break;
        default: return MCP_E_MS_BAD_MODE;
        }
        if (!meta_opaque_ok(t, 3, nt)) return MCP_E_META_OPAQUE_LONG;
        if (req->vlen > cfg->max_value) return MCP_E_TOO_LARGE;
        *swallow = 0;
        return MCP_VALUE;
    }
    rc = meta_flags(t, 2, nt, req, MCP_E_BAD_FORMAT);
    if (rc) return c == MCP_CMD_MG ? rc : MCP_E_META_FLAG_OR_DUP;
    if (c == MCP_CMD_MA) {
        switch (req->meta.mode) {
        case 0:
        case 'I':
        case '+':
        case 'D':
        case '-': break;
        default: return MCP_E_MA_BAD_MODE;
        }
        req->delta = req->meta.delta;
        req->initial = req->meta.initial;
    }
    req->exptime = req->meta.ttl;
    req->cas = req->meta.cas_in;
    if (!meta_opaque_ok(t, 2, nt)) return MCP_E_META_OPAQUE_LONG;
    return MCP_REQUEST;
}

int mcp_text_line(const struct mcp_config *cfg, const char *line, size_t n, struct mcp_request *req,
                  uint64_t *swallow)
{
    struct mcp_tok t[MCP_TOKENS_MAX];
    size_t nt = tokenize(line, n, t, MCP_TOKENS_MAX);
    if (nt == 0) return MCP_E_UNKNOWN_CMD;
    req->cmd = lookup(&t[0]);
    /* Past MCP_TOKENS_MAX only get-family keys matter; other commands with
     * that many tokens are refused by their own count rules below. */
    size_t kept = nt < MCP_TOKENS_MAX ? nt : MCP_TOKENS_MAX;
    switch (req->cmd) {
    case MCP_CMD_GET:
    case MCP_CMD_GETS:
    case MCP_CMD_GAT:
    case MCP_CMD_GATS: return parse_get(line, n, t, kept, req);
    case MCP_CMD_SET:
    case MCP_CMD_ADD:
    case MCP_CMD_REPLACE:
    case MCP_CMD_APPEND:
    case MCP_CMD_PREPEND:
    case MCP_CMD_CAS:
        if (nt > MCP_TOKENS_MAX - 1) return MCP_E_UNKNOWN_CMD;
        return parse_store(cfg, t, nt, req, swallow);
    case MCP_CMD_DELETE: {
        if (nt < 2 || nt > 4) return MCP_E_UNKNOWN_CMD;
        req->key = t[1].s;
        req->nkey = t[1].n;
        req->nkeys = 1;
        if (nt > 2) {
            bool zero = TOK_IS(&t[2], "0");
            req->noreply = TOK_IS(&t[nt - 1], "noreply");
            if (!((nt == 3 && (zero || req->noreply)) || (nt == 4 && zero && req->noreply)))
                return MCP_E_DELETE_USAGE;
        }
        if (check_key(t[1].s, t[1].n)) return MCP_E_BAD_FORMAT;
        return MCP_REQUEST;
    }
    case MCP_CMD_INCR:
    case MCP_CMD_DECR:
        if (nt != 3 && nt != 4) return MCP_E_UNKNOWN_CMD;
        req->noreply = TOK_IS(&t[nt - 1], "noreply");
        req->key = t[1].s;
        req->nkey = t[1].n;
        req->nkeys = 1;
        if (check_key(t[1].s, t[1].n)) return MCP_E_BAD_FORMAT;
        if (!mcp_tok_u64(t[2].s, t[2].n, &req->delta)) return MCP_E_BAD_DELTA;
        return MCP_REQUEST;
    case MCP_CMD_TOUCH:
        if (nt != 3 && nt != 4) return MCP_E_UNKNOWN_CMD;
        req->noreply = TOK_IS(&t[nt - 1], "noreply");
        req->key = t[1].s;
        req->nkey = t[1].n;
        req->nkeys = 1;
        if (check_key(t[1].s, t[1].n)) return MCP_E_BAD_FORMAT;
        if (!mcp_tok_i32(t[2].s, t[2].n, &req->exptime)) return MCP_E_BAD_EXPTIME;
        return MCP_REQUEST;
    case MCP_CMD_FLUSH_ALL:
        if (nt > 3) return MCP_E_UNKNOWN_CMD;
        req->noreply = nt > 1 && TOK_IS(&t[nt - 1], "noreply");
        if (nt - (req->noreply ? 1 : 0) > 1) {
            if (!mcp_tok_i32(t[1].s, t[1].n, &req->exptime)) return MCP_E_BAD_EXPTIME;
            req->has_arg = 1;
        }
        return MCP_REQUEST;
    case MCP_CMD_VERBOSITY:
        if (nt != 2 && nt != 3) return MCP_E_UNKNOWN_CMD;
        req->noreply = TOK_IS(&t[nt - 1], "noreply");
        if (!mcp_tok_u32(t[1].s, t[1].n, &req->verbosity)) return MCP_E_BAD_FORMAT;
        return MCP_REQUEST;
    case MCP_CMD_STATS:
        if (nt > 1) {
            req->args = t[1].s;
            req->nargs = (size_t)(line + n - t[1].s);
            while (req->nargs && req->args[req->nargs - 1] == ' ')
                req->nargs--;
        } else {
            req->args = line + n;
        }
        return MCP_REQUEST;
    case MCP_CMD_VERSION:
    case MCP_CMD_QUIT: return MCP_REQUEST;
    case MCP_CMD_MN: memset(&req->meta, 0, sizeof(req->meta)); return MCP_REQUEST;
    case MCP_CMD_MG:
    case MCP_CMD_MS:
    case MCP_CMD_MD:
    case MCP_CMD_MA:
        memset(&req->meta, 0, sizeof(req->meta));
        if (nt > MCP_TOKENS_MAX)
            return req->cmd == MCP_CMD_MG ? MCP_E_MG_TOO_MANY : MCP_E_META_TOO_MANY;
        return parse_meta(cfg, t, nt, req, swallow);
    default: req->cmd = MCP_CMD_NONE; return MCP_E_UNKNOWN_CMD;
    }
}
