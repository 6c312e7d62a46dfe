/* tests/integration/mcp_miniserver.c — a tiny memcached made of proto/ and
 * a linked list, for the differential test against real memcached.
 *
 * Usage: mcp_miniserver PORT   (127.0.0.1, one connection at a time)
 * It serves the text, meta and binary protocols with memcached 1.6.18's
 * semantics for the commands the reference scenarios use. Every reply is
 * produced by the proto/ writer; values are read into item memory through
 * mcp_value_dest and written back as their own iovecs.
 */
#include "proto/mcp.h"
#include "proto/mcp_int.h" /* mcp_tok_u64: memcached's number rules */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

struct item {
    struct item *next;
    char key[MCP_KEY_MAX + 1];
    size_t nkey;
    uint32_t flags;
    int32_t exptime;
    uint64_t cas;
    char *val;
    size_t vlen;
    int fetched, token_sent, stale, key_binary;
};

struct server {
    struct item *items;
    uint64_t cas_seq;
};

/* One connection: read buffer, parser, pending request, output. */
struct conn {
    struct server *s;
    int fd;
    struct mcp_parser p;
    struct mcp_request req;    /* header of the value being read */
    char key[MCP_KEY_MAX + 1]; /* its key, copied: the read buffer moves */
    size_t nkey;
    char *val; /* value destination */
    struct iovec iov[1024];
    char scratch[65536];
    struct mcp_wbuf w;
    char *pending[1024]; /* value copies referenced by iovecs */
    size_t npending;
    int closing;
};

static struct item *find(struct server *s, const char *k, size_t n)
{
    for (struct item *it = s->items; it; it = it->next)
        if (it->nkey == n && !memcmp(it->key, k, n)) return it;
    return NULL;
}

static void unlink_item(struct server *s, struct item *x)
{
    for (struct item **pp = &s->items; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            free(x->val);
            free(x);
            return;
        }
}

static struct item *put_item(struct server *s, const char *k, size_t n, uint32_t flags, int32_t exp,
                             char *val, size_t vlen)
{
    struct item *old = find(s, k, n);
    if (old) unlink_item(s, old);
    struct item *it = calloc(1, sizeof(*it));
    memcpy(it->key, k, n);
    it->nkey = n;
    it->flags = flags;
    it->exptime = exp;
    it->val = val;
    it->vlen = vlen;
    it->cas = ++s->cas_seq;
    it->next = s->items;
    s->items = it;
    return it;
}

static void flush_out(struct conn *c)
{
    size_t off = 0;
    while (off < c->w.niov) {
        size_t n = c->w.niov - off > 512 ? 512 : c->w.niov - off;
        ssize_t k = writev(c->fd, c->w.iov + off, (int)n);
        if (k < 0) {
            if (errno == EINTR) continue;
            break;
        }
        /* advance over what was written */
        size_t kk = (size_t)k;
        while (kk && off < c->w.niov) {
            if (kk >= c->w.iov[off].iov_len) {
                kk -= c->w.iov[off].iov_len;
                off++;
            } else {
                c->w.iov[off].iov_base = (char *)c->w.iov[off].iov_base + kk;
                c->w.iov[off].iov_len -= kk;
                kk = 0;
            }
        }
    }
    for (size_t i = 0; i < c->npending; i++)
        free(c->pending[i]);
    c->npending = 0;
    mcp_wbuf_init(&c->w, c->iov, 1024, c->scratch, sizeof(c->scratch));
}

/* Values are referenced by the output; a copy keeps them alive until the
 * write, even if a later command in the same batch frees the item. */
static const char *keep(struct conn *c, const char *v, size_t n)
{
    if (c->npending == 1024 || c->w.niov > 900 || c->w.used > 60000) flush_out(c);
    char *p = malloc(n + 1);
    memcpy(p, v, n);
    c->pending[c->npending++] = p;
    return p;
}

static void room(struct conn *c)
{
    if (c->w.niov > 900 || c->w.used > 60000) flush_out(c);
}

/* ---- text ---- */

static void text_get(struct conn *c, const struct mcp_request *r)
{
    size_t pos = 0, nk;
    const char *k;
    int with_cas = r->cmd == MCP_CMD_GETS || r->cmd == MCP_CMD_GATS;
    int touch = r->cmd == MCP_CMD_GAT || r->cmd == MCP_CMD_GATS;
    while (mcp_key_next(r, &pos, &k, &nk)) {
        struct item *it = find(c->s, k, nk);
        if (!it) continue;
        if (touch) it->exptime = r->exptime;
        it->fetched = 1;
        room(c);
        mcp_w_value(&c->w, it->key, it->nkey, it->flags, keep(c, it->val, it->vlen), it->vlen,
                    with_cas ? &it->cas : NULL);
    }
    mcp_w_reply(&c->w, MCP_R_END);
}

/* incr/decr on an item, as memcached's do_add_delta: the number is read
 * with safe_strtoull's rules; a result that fits is written in place and
 * padded with spaces. 0 ok, -1 non-numeric. */
static int arith(struct server *s, struct item *it, int incr, uint64_t delta, uint64_t *res)
{
    uint64_t v;
    if (!it->vlen || !mcp_tok_u64(it->val, it->vlen, &v)) return -1;
    if (incr)
        v += delta;
    else
        v = delta > v ? 0 : v - delta;
    char tmp[24];
    size_t n = (size_t)snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
    if (n <= it->vlen) {
        memset(it->val, ' ', it->vlen);
        memcpy(it->val, tmp, n);
    } else {
        free(it->val);
        it->val = malloc(n + 1);
        memcpy(it->val, tmp, n);
        it->vlen = n;
    }
    it->cas = ++s->cas_seq;
    *res = v;
    return 0;
}

static void text_request(struct conn *c, const struct mcp_request *r)
{
    struct server *s = c->s;
    struct item *it;
    struct mcp_wbuf *w = &c->w;
    int quiet = r->noreply;
    struct mcp_wbuf sink;
    struct iovec siov[4];
    char sbuf[256];
    if (quiet) { /* write into a sink that is dropped */
        mcp_wbuf_init(&sink, siov, 4, sbuf, sizeof(sbuf));
        w = &sink;
    }
    switch (r->cmd) {
    case MCP_CMD_GET:
    case MCP_CMD_GETS:
    case MCP_CMD_GAT:
    case MCP_CMD_GATS: text_get(c, r); break;
    case MCP_CMD_DELETE:
        it = find(s, r->key, r->nkey);
        if (it) unlink_item(s, it);
        mcp_w_reply(w, it ? MCP_R_DELETED : MCP_R_NOT_FOUND);
        break;
    case MCP_CMD_INCR:
    case MCP_CMD_DECR: {
        uint64_t v;
        it = find(s, r->key, r->nkey);
        if (!it)
            mcp_w_reply(w, MCP_R_NOT_FOUND);
        else if (arith(s, it, r->cmd == MCP_CMD_INCR, r->delta, &v))
            mcp_w_error(w, MCP_E_NON_NUMERIC);
        else
            mcp_w_number(w, v);
        break;
    }
    case MCP_CMD_TOUCH:
        it = find(s, r->key, r->nkey);
        if (it) it->exptime = r->exptime;
        mcp_w_reply(w, it ? MCP_R_TOUCHED : MCP_R_NOT_FOUND);
        break;
    case MCP_CMD_FLUSH_ALL:
        if (!r->has_arg || r->exptime <= 0)
            while (s->items)
                unlink_item(s, s->items);
        mcp_w_reply(w, MCP_R_OK);
        break;
    case MCP_CMD_VERSION: mcp_w_version(w, "1.6.18"); break;
    case MCP_CMD_VERBOSITY: mcp_w_reply(w, MCP_R_OK); break;
    case MCP_CMD_QUIT: c->closing = 1; break;
    case MCP_CMD_MN: mcp_w_reply(w, MCP_R_MN); break;
    case MCP_CMD_STATS: mcp_w_reply(w, MCP_R_END); break;
    default: break;
    }
}

static void text_store(struct conn *c, const struct mcp_request *r, char *val)
{
    struct server *s = c->s;
    struct item *it = find(s, c->key, c->nkey);
    enum mcp_reply rep = MCP_R_STORED;
    size_t vlen = (size_t)r->vlen;
    switch (r->cmd) {
    case MCP_CMD_SET:
        put_item(s, c->key, c->nkey, r->flags, r->exptime, val, vlen);
        val = NULL;
        break;
    case MCP_CMD_ADD:
        if (it) {
            rep = MCP_R_NOT_STORED;
        } else {
            put_item(s, c->key, c->nkey, r->flags, r->exptime, val, vlen);
            val = NULL;
        }
        break;
    case MCP_CMD_REPLACE:
        if (!it) {
            rep = MCP_R_NOT_STORED;
        } else {
            put_item(s, c->key, c->nkey, r->flags, r->exptime, val, vlen);
            val = NULL;
        }
        break;
    case MCP_CMD_APPEND:
    case MCP_CMD_PREPEND:
        if (!it) {
            rep = MCP_R_NOT_STORED;
        } else {
            char *nv = malloc(it->vlen + vlen + 1);
            if (r->cmd == MCP_CMD_APPEND) {
                memcpy(nv, it->val, it->vlen);
                memcpy(nv + it->vlen, val, vlen);
            } else {
                memcpy(nv, val, vlen);
                memcpy(nv + vlen, it->val, it->vlen);
            }
            put_item(s, c->key, c->nkey, it->flags, it->exptime, nv, it->vlen + vlen);
        }
        break;
    case MCP_CMD_CAS:
        if (!it) {
            rep = MCP_R_NOT_FOUND;
        } else if (it->cas != r->cas) {
            rep = MCP_R_EXISTS;
        } else {
            put_item(s, c->key, c->nkey, r->flags, r->exptime, val, vlen);
            val = NULL;
        }
        break;
    default: break;
    }
    free(val);
    if (!r->noreply) mcp_w_reply(&c->w, rep);
}

/* ---- meta ---- */

static void meta_request(struct conn *c, const struct mcp_request *r)
{
    struct server *s = c->s;
    struct item *it = find(s, r->key, r->nkey);
    struct mcp_meta_res res = {0};
    const uint64_t seen = r->meta.seen;
    switch (r->cmd) {
    case MCP_CMD_MN: mcp_w_reply(&c->w, MCP_R_MN); return;
    case MCP_CMD_MG: {
        int created = 0;
        if (!it && (seen & MCP_MF('N'))) {
            it = put_item(s, r->key, r->nkey, 0, r->meta.vivify_ttl, calloc(1, 1), 0);
            it->key_binary = r->key_binary;
            created = 1;
        }
        if (!it) {
            if (!mcp_meta_quiet(r, MCP_M_EN))
                mcp_w_meta(&c->w, MCP_M_EN, r, r->key, r->nkey, NULL, NULL, 0);
            return;
        }
        if (seen & MCP_MF('T')) it->exptime = r->meta.ttl;
        res.have =
            MCP_MF('s') | MCP_MF('t') | MCP_MF('c') | MCP_MF('f') | MCP_MF('l') | MCP_MF('h');
        res.size = it->vlen;
        res.ttl = it->exptime ? it->exptime : -1;
        res.cas = it->cas;
        res.flags = it->flags;
        res.hit = (unsigned)it->fetched;
        res.token_sent = (unsigned)(it->token_sent && !created);
        res.stale = (unsigned)it->stale;
        if (created || (it->stale && !it->token_sent)) {
            res.win = 1;
            it->token_sent = 1;
        }
        it->fetched = 1;
        room(c);
        if (seen & MCP_MF('v'))
            mcp_w_meta(&c->w, MCP_M_VA, r, it->key, it->nkey, &res, keep(c, it->val, it->vlen),
                       it->vlen);
        else
            mcp_w_meta(&c->w, MCP_M_HD, r, it->key, it->nkey, &res, NULL, 0);
        return;
    }
    case MCP_CMD_MD: {
        enum mcp_meta_code code = MCP_M_HD;
        if (!it)
            code = MCP_M_NF;
        else if ((seen & MCP_MF('C')) && it->cas != r->meta.cas_in)
            code = MCP_M_EX;
        else if (seen & MCP_MF('I')) {
            it->stale = 1;
            it->token_sent = 0;
            it->cas = ++s->cas_seq;
            if (seen & MCP_MF('T')) it->exptime = r->meta.ttl;
        } else
            unlink_item(s, it);
        if (!mcp_meta_quiet(r, code)) mcp_w_meta(&c->w, code, r, r->key, r->nkey, NULL, NULL, 0);
        return;
    }
    case MCP_CMD_MA: {
        int incr = !(r->meta.mode == 'D' || r->meta.mode == '-');
        int created = 0;
        uint64_t v = 0;
        enum mcp_meta_code code = MCP_M_HD;
        if (!it) {
            if (seen & MCP_MF('N')) {
                char tmp[24];
                int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)r->meta.initial);
                char *val = malloc((size_t)n + 1);
                memcpy(val, tmp, (size_t)n);
                it = put_item(s, r->key, r->nkey, 0, r->meta.vivify_ttl, val, (size_t)n);
                created = 1; /* memcached shows HD here even with q */
            } else {
                mcp_w_meta(&c->w, MCP_M_NF, r, r->key, r->nkey, NULL, NULL, 0);
                return;
            }
        } else if (!it->vlen) { /* memcached: empty is non-numeric, before C */
            mcp_w_error(&c->w, MCP_E_NON_NUMERIC);
            return;
        } else if ((seen & MCP_MF('C')) && it->cas != r->meta.cas_in) {
            mcp_w_meta(&c->w, MCP_M_EX, r, r->key, r->nkey, NULL, NULL, 0);
            return;
        } else if (arith(s, it, incr, r->meta.delta, &v)) {
            mcp_w_error(&c->w, MCP_E_NON_NUMERIC);
            return;
        }
        if (seen & MCP_MF('T')) it->exptime = r->meta.ttl;
        res.have = MCP_MF('t') | MCP_MF('c');
        res.ttl = it->exptime ? it->exptime : -1;
        res.cas = it->cas;
        if (!created && mcp_meta_quiet(r, (seen & MCP_MF('v')) ? MCP_M_VA : MCP_M_HD)) {
            /* memcached: q hides a successful ma, VA included */
        } else if (seen & MCP_MF('v')) {
            room(c);
            /* the number itself, not the space-padded item */
            char num[24];
            size_t n = (size_t)snprintf(num, sizeof(num), "%llu",
                                        (unsigned long long)(created ? r->meta.initial : v));
            mcp_w_meta(&c->w, MCP_M_VA, r, r->key, r->nkey, &res, keep(c, num, n), n);
        } else if (!r->noreply || created) {
            mcp_w_meta(&c->w, code, r, r->key, r->nkey, &res, NULL, 0);
        }
        return;
    }
    default: return;
    }
}

static void meta_store(struct conn *c, const struct mcp_request *r, char *val)
{
    struct server *s = c->s;
    struct item *it = find(s, c->key, c->nkey);
    enum mcp_meta_code code = MCP_M_HD;
    size_t vlen = (size_t)r->vlen;
    char mode = r->meta.mode ? r->meta.mode : 'S';
    const uint64_t seen = r->meta.seen;
    struct mcp_meta_res res = {.have = MCP_MF('c')}; /* memcached: c0 unless stored */
    if ((seen & MCP_MF('C')) && (mode == 'S' || mode == 'R')) {
        if (!it)
            code = MCP_M_NF;
        else if (it->cas != r->meta.cas_in)
            code = MCP_M_EX;
    } else if ((seen & MCP_MF('C')) && (mode == 'A' || mode == 'P') && it &&
               it->cas != r->meta.cas_in) {
        code = MCP_M_EX; /* memcached's simplified CAS check */
    }
    if (code == MCP_M_HD) {
        switch (mode) {
        case 'E':
            if (it) code = MCP_M_NS;
            break;
        case 'R':
        case 'A':
        case 'P':
            if (!it) code = MCP_M_NS;
            break;
        default: break;
        }
    }
    if (code == MCP_M_HD) {
        if (mode == 'A' || mode == 'P') {
            char *nv = malloc(it->vlen + vlen + 1);
            if (mode == 'A') {
                memcpy(nv, it->val, it->vlen);
                memcpy(nv + it->vlen, val, vlen);
            } else {
                memcpy(nv, val, vlen);
                memcpy(nv + vlen, it->val, it->vlen);
            }
            it = put_item(s, c->key, c->nkey, it->flags, it->exptime, nv, it->vlen + vlen);
        } else {
            it = put_item(s, c->key, c->nkey, r->meta.client_flags, r->meta.ttl, val, vlen);
            val = NULL;
        }
        res.cas = it->cas;
    }
    free(val);
    if (!mcp_meta_quiet(r, code)) mcp_w_meta(&c->w, code, r, c->key, c->nkey, &res, NULL, 0);
}

/* ---- binary ---- */

static void bin_reply(struct conn *c, const struct mcp_request *r, uint16_t status, uint64_t cas,
                      const void *ext, uint8_t next, const char *key, size_t nkey, const char *val,
                      size_t vlen)
{
    struct mcp_bin_res b = {.opcode = r->bin.opcode,
                            .status = status,
                            .opaque = r->bin.opaque,
                            .cas = cas,
                            .extras = ext,
                            .nextras = next,
                            .key = key,
                            .nkey = (uint16_t)nkey};
    room(c);
    mcp_w_bin(&c->w, &b, val ? keep(c, val, vlen) : NULL, (uint32_t)vlen);
}

static void bin_status(struct conn *c, const struct mcp_request *r, enum mcp_bin_status st)
{
    room(c);
    mcp_w_bin_status(&c->w, r->bin.opcode, r->bin.opaque, st);
}

static void bin_request(struct conn *c, const struct mcp_request *r)
{
    struct server *s = c->s;
    struct item *it = r->nkey ? find(s, r->key, r->nkey) : NULL;
    switch (r->cmd) {
    case MCP_CMD_GET:
    case MCP_CMD_GAT:
        if (!it) {
            if (r->noreply) return;
            if (r->ret_key)
                bin_reply(c, r, MCP_BS_KEY_ENOENT, 0, NULL, 0, r->key, r->nkey, NULL, 0);
            else
                bin_status(c, r, MCP_BS_KEY_ENOENT);
            return;
        }
        if (r->cmd == MCP_CMD_GAT) it->exptime = r->exptime;
        {
            unsigned char fl[4] = {(unsigned char)(it->flags >> 24),
                                   (unsigned char)(it->flags >> 16),
                                   (unsigned char)(it->flags >> 8), (unsigned char)it->flags};
            bin_reply(c, r, 0, it->cas, fl, 4, r->ret_key ? it->key : NULL,
                      r->ret_key ? it->nkey : 0, it->val, it->vlen);
        }
        return;
    case MCP_CMD_TOUCH:
        if (!it) {
            bin_status(c, r, MCP_BS_KEY_ENOENT);
            return;
        }
        it->exptime = r->exptime;
        {
            unsigned char fl[4] = {(unsigned char)(it->flags >> 24),
                                   (unsigned char)(it->flags >> 16),
                                   (unsigned char)(it->flags >> 8), (unsigned char)it->flags};
            bin_reply(c, r, 0, it->cas, fl, 4, NULL, 0, NULL, 0);
        }
        return;
    case MCP_CMD_DELETE:
        if (!it) {
            bin_status(c, r, MCP_BS_KEY_ENOENT);
            return;
        }
        unlink_item(s, it);
        if (!r->noreply) bin_reply(c, r, 0, 0, NULL, 0, NULL, 0, NULL, 0);
        return;
    case MCP_CMD_INCR:
    case MCP_CMD_DECR: {
        uint64_t v;
        if (!it) {
            if (r->exptime == -1) {
                bin_status(c, r, MCP_BS_KEY_ENOENT);
                return;
            }
            char tmp[24];
            int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)r->initial);
            char *val = malloc((size_t)n + 1);
            memcpy(val, tmp, (size_t)n);
            it = put_item(s, r->key, r->nkey, 0, r->exptime, val, (size_t)n);
            v = r->initial;
        } else if (arith(s, it, r->cmd == MCP_CMD_INCR, r->delta, &v)) {
            bin_status(c, r, MCP_BS_DELTA_BADVAL);
            return;
        }
        if (r->noreply) return;
        unsigned char b[8];
        for (int i = 0; i < 8; i++)
            b[i] = (unsigned char)(v >> (56 - 8 * i));
        bin_reply(c, r, 0, it->cas, NULL, 0, NULL, 0, (const char *)b, 8);
        return;
    }
    case MCP_CMD_FLUSH_ALL:
        while (s->items)
            unlink_item(s, s->items);
        if (!r->noreply) bin_reply(c, r, 0, 0, NULL, 0, NULL, 0, NULL, 0);
        return;
    case MCP_CMD_NOOP: bin_reply(c, r, 0, 0, NULL, 0, NULL, 0, NULL, 0); return;
    case MCP_CMD_VERSION: bin_reply(c, r, 0, 0, NULL, 0, NULL, 0, "1.6.18", 6); return;
    case MCP_CMD_VERBOSITY: bin_reply(c, r, 0, 0, NULL, 0, NULL, 0, NULL, 0); return;
    case MCP_CMD_QUIT:
        if (!r->noreply) bin_reply(c, r, 0, 0, NULL, 0, NULL, 0, NULL, 0);
        c->closing = 1;
        return;
    default: return;
    }
}

static void bin_store(struct conn *c, const struct mcp_request *r, char *val)
{
    struct server *s = c->s;
    struct item *it = find(s, c->key, c->nkey);
    size_t vlen = (size_t)r->vlen;
    enum mcp_bin_status st = MCP_BS_SUCCESS;
    if (r->cas && (!it || it->cas != r->cas)) {
        st = it ? MCP_BS_KEY_EEXISTS : MCP_BS_KEY_ENOENT;
    } else {
        switch (r->cmd) {
        case MCP_CMD_ADD:
            if (it) st = MCP_BS_KEY_EEXISTS;
            break;
        case MCP_CMD_REPLACE:
            if (!it) st = MCP_BS_KEY_ENOENT;
            break;
        case MCP_CMD_APPEND:
        case MCP_CMD_PREPEND:
            if (!it) st = MCP_BS_NOT_STORED;
            break;
        default: break;
        }
    }
    if (st == MCP_BS_SUCCESS) {
        if (r->cmd == MCP_CMD_APPEND || r->cmd == MCP_CMD_PREPEND) {
            char *nv = malloc(it->vlen + vlen + 1);
            if (r->cmd == MCP_CMD_APPEND) {
                memcpy(nv, it->val, it->vlen);
                memcpy(nv + it->vlen, val, vlen);
            } else {
                memcpy(nv, val, vlen);
                memcpy(nv + vlen, it->val, it->vlen);
            }
            it = put_item(s, c->key, c->nkey, it->flags, it->exptime, nv, it->vlen + vlen);
        } else {
            it = put_item(s, c->key, c->nkey, r->flags, r->exptime, val, vlen);
            val = NULL;
        }
        if (!r->noreply) bin_reply(c, r, 0, it->cas, NULL, 0, NULL, 0, NULL, 0);
    } else {
        bin_status(c, r, st);
    }
    free(val);
}

/* ---- the connection loop ---- */

static void on_error(struct conn *c, int rc)
{
    if (c->req.proto == MCP_PROTO_BINARY) {
        if (rc == MCP_E_BIN_INVALID || rc == MCP_E_BIN_UNKNOWN || rc == MCP_E_BIN_TOO_LARGE)
            bin_status(c, &c->req, mcp_err_bin_status(rc));
    } else if (!mcp_err_silent(&c->req, rc)) {
        mcp_w_error(&c->w, rc);
    }
    if (mcp_err_fatal(rc)) c->closing = 1;
}

static void serve(struct server *s, int fd)
{
    struct conn *c = calloc(1, sizeof(*c));
    size_t cap = 2u << 20, have = 0;
    char *buf = malloc(cap);
    c->s = s;
    c->fd = fd;
    mcp_parser_init(&c->p, NULL);
    mcp_wbuf_init(&c->w, c->iov, 1024, c->scratch, sizeof(c->scratch));
    while (!c->closing) {
        ssize_t k = read(fd, buf + have, cap - have);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        have += (size_t)k;
        size_t pos = 0;
        while (!c->closing) {
            size_t used = 0;
            struct mcp_request r;
            int rc = mcp_parse(&c->p, buf + pos, have - pos, &r, &used);
            pos += used;
            if (rc == MCP_AGAIN) break;
            if (rc == MCP_VALUE) {
                c->req = r;
                c->nkey = r.nkey;
                memcpy(c->key, r.key, r.nkey);
                c->val = malloc((size_t)r.vlen + 1);
                mcp_value_dest(&c->p, c->val);
                continue;
            }
            if (rc == MCP_VALUE_DONE) {
                if (c->req.proto == MCP_PROTO_BINARY)
                    bin_store(c, &c->req, c->val);
                else if (c->req.cmd == MCP_CMD_MS)
                    meta_store(c, &c->req, c->val);
                else
                    text_store(c, &c->req, c->val);
                c->val = NULL;
                continue;
            }
            if (rc == MCP_REQUEST) {
                c->req = r;
                if (r.proto == MCP_PROTO_BINARY)
                    bin_request(c, &r);
                else if (r.cmd >= MCP_CMD_MG && r.cmd <= MCP_CMD_MA)
                    meta_request(c, &r);
                else if (r.cmd == MCP_CMD_MN)
                    meta_request(c, &r);
                else
                    text_request(c, &r);
                continue;
            }
            if (rc == MCP_E_BAD_CHUNK) {
                free(c->val);
                c->val = NULL;
            } else {
                c->req = r;
            }
            on_error(c, rc);
        }
        memmove(buf, buf + pos, have - pos);
        have -= pos;
        flush_out(c);
    }
    flush_out(c);
    free(c->val);
    free(buf);
    free(c);
    close(fd);
}

int main(int argc, char **argv)
{
    struct server s = {0};
    if (argc != 2) {
        fprintf(stderr, "usage: mcp_miniserver PORT\n");
        return 2;
    }
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)atoi(argv[1])),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 8)) {
        perror("bind");
        return 1;
    }
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR) continue;
            return 1;
        }
        serve(&s, fd);
    }
}
