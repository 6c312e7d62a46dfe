/* proto/mcp_reply.c — reply lines of the meta protocol, for the proxy's
 * side of the node connection: status code, return flags, error lines. */
#include "proto/mcp_int.h"

#include <string.h>

static int code_of(const char *s, size_t n)
{
    static const char codes[][3] = {
#define MCP_X_MC(n_, s_) s_,
        MCP_META_CODE_LIST(MCP_X_MC)
#undef MCP_X_MC
    };
    if (n != 2) return -1;
    for (int i = 0; i < MCP_M__COUNT; i++)
        if (s[0] == codes[i][0] && s[1] == codes[i][1]) return i;
    return -1;
}

static bool starts(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && !memcmp(s, lit, k);
}

int mcp_reply_line(const char *line, size_t n, struct mcp_response *r)
{
    size_t i = 0;
    /* error lines first: their text may hold anything */
    if (n == 5 && !memcmp(line, "ERROR", 5)) {
        r->kind = MCP_RESP_ERROR;
        return MCP_RESPONSE;
    }
    if (starts(line, n, "CLIENT_ERROR") || starts(line, n, "SERVER_ERROR")) {
        r->kind = line[0] == 'C' ? MCP_RESP_CLIENT_ERROR : MCP_RESP_SERVER_ERROR;
        size_t k = 12;
        while (k < n && line[k] == ' ')
            k++;
        r->msg = line + k;
        r->nmsg = n - k;
        return MCP_RESPONSE;
    }
    /* tokens: code, [length], flags */
    struct mcp_tok t[MCP_TOKENS_MAX];
    size_t nt = 0;
    while (i < n) {
        while (i < n && line[i] == ' ')
            i++;
        if (i >= n) break;
        const char *e = memchr(line + i, ' ', n - i);
        size_t end = e ? (size_t)(e - line) : n;
        if (nt == MCP_TOKENS_MAX) return MCP_E_BAD_FORMAT;
        t[nt].s = line + i;
        t[nt].n = end - i;
        nt++;
        i = end;
    }
    if (nt == 0) return MCP_E_BAD_FORMAT;
    if (t[0].n == 2 && t[0].s[0] == 'M' && t[0].s[1] == 'N') {
        r->kind = MCP_RESP_MN;
        return MCP_RESPONSE;
    }
    int code = code_of(t[0].s, t[0].n);
    if (code < 0) return MCP_E_BAD_FORMAT;
    r->kind = MCP_RESP_META;
    r->code = code;
    size_t first = 1;
    if (code == MCP_M_VA) {
        int32_t v;
        if (nt < 2 || !mcp_tok_i32(t[1].s, t[1].n, &v) || v < 0) return MCP_E_BAD_FORMAT;
        r->vlen = (uint64_t)v;
        first = 2;
    }
    bool b64 = false;
    for (size_t k = first; k < nt; k++) {
        unsigned char c = (unsigned char)t[k].s[0];
        const char *v = t[k].s + 1;
        size_t vn = t[k].n - 1;
        bool ok = true;
        switch (c) {
        case 'O':
            if (vn > MCP_OPAQUE_MAX) return MCP_E_META_OPAQUE_LONG;
            memcpy(r->opaque, v, vn);
            r->opaque[vn] = 0;
            r->nopaque = (uint8_t)vn;
            break;
        case 'k':
            r->key = v;
            r->nkey = vn;
            break;
        case 'b': b64 = true; break;
        case 'c': ok = mcp_tok_u64(v, vn, &r->cas); break;
        case 'f': ok = mcp_tok_u32(v, vn, &r->flags); break;
        case 's': ok = mcp_tok_u64(v, vn, &r->size); break;
        case 'l': ok = mcp_tok_u32(v, vn, &r->la); break;
        case 't': {
            int32_t tt;
            ok = mcp_tok_i32(v, vn, &tt);
            r->ttl = tt;
            break;
        }
        case 'h': r->hit = vn == 1 && v[0] == '1'; break;
        case 'W': r->win = 1; break;
        case 'X': r->stale = 1; break;
        case 'Z': r->token_sent = 1; break;
        default: break; /* flags we do not know: ignored */
        }
        if (!ok) return MCP_E_BAD_FORMAT;
        if (c >= 'A' && c <= 'z') r->have |= MCP_MF(c);
    }
    if (b64 && r->key) {
        size_t k = mcp_b64_decode(r->key, r->nkey, r->keybuf, sizeof(r->keybuf));
        if (!k) return MCP_E_META_BAD_KEY;
        r->key = r->keybuf;
        r->nkey = k;
    }
    return code == MCP_M_VA ? MCP_VALUE : MCP_RESPONSE;
}
