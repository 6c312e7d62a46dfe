/* proxy/commands.c — what each memcached request means for the proxy: text,
 * meta and binary requests turned into px_cache calls, and their answers
 * written with proto/'s writer. Commands that wait for nodes answer from
 * their completion callbacks, then let the client go on (px_client_resume). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/container.h"
#include "proxy/client.h"

static void bin_reply(struct px_client *c, uint16_t status, uint64_t cas, const void *ext, uint8_t next,
                      const char *key, size_t nkey, struct px_value *v, const void *body, uint32_t nbody);
static void bin_status(struct px_client *c, enum mcp_bin_status st);
static enum mcp_meta_code meta_code(enum px_result r);
static void stats_lines(struct px_client *c, const char *group, void (*line)(void *, const char *, const char *));

static void emit_value(struct px_client *c, const char *key, size_t nkey, uint32_t flags,
                       struct px_value *v, const uint64_t *cas)
{
    /* header, data and CRLF must share a batch: it holds the reference */
    struct mcp_wbuf *w = px_client_room(c);
    if (w == NULL) return;
    if (mcp_w_value(w, key, nkey, flags, v->len ? (const void *)v->data : "", v->len, cas) != 0) {
        px_client_close(c, "reply does not fit");
        return;
    }
    px_client_hold(c, v);
}

static void reply(struct px_client *c, enum mcp_reply r) { EMIT(c, mcp_w_reply(w, r)); }

static void reply_result(struct px_client *c, enum px_result r)
{
    switch (r) {
    case PX_STORED: reply(c, MCP_R_STORED); break;
    case PX_NOT_STORED: reply(c, MCP_R_NOT_STORED); break;
    case PX_EXISTS: reply(c, MCP_R_EXISTS); break;
    case PX_NOT_FOUND: case PX_MISS: reply(c, MCP_R_NOT_FOUND); break;
    case PX_DELETED: reply(c, MCP_R_DELETED); break;
    case PX_TOUCHED: reply(c, MCP_R_TOUCHED); break;
    case PX_TOO_LARGE: EMIT(c, mcp_w_server_error(w, "object too large for cache")); break;
    case PX_NO_MEMORY: EMIT(c, mcp_w_error(w, MCP_E_NO_MEMORY)); break;
    case PX_NON_NUMERIC: EMIT(c, mcp_w_error(w, MCP_E_NON_NUMERIC)); break;
    case PX_FAILED: EMIT(c, mcp_w_server_error(w, "failed to store the object on the fleet")); break;
    case PX_HIT: break;
    }
}

/* Value bytes [k->sent, upto) to the client, as a batch of their own. */
static void emit_part(struct px_client *c, struct mget_key *k, uint64_t upto)
{
    struct mcp_wbuf *w = px_client_room(c);
    if (w == NULL || upto == k->sent) return;
    if (mcp_w_data(w, k->g.value->data + k->sent, upto - k->sent) != 0) {
        px_client_close(c, "reply does not fit");
        return;
    }
    px_client_hold(c, k->g.value);
    k->sent = upto;
    px_client_flush(c);
}

/* A single large value goes out as its leading chunks are verified, so
 * the client's copy overlaps the nodes' (only one key: replies keep order). */
static void mget_key_part(struct px_get *g, uint64_t upto)
{
    struct mget_key *k = cm_container_of(g, struct mget_key, g);
    struct px_client *c = k->m->c;
    if (c->closed) return;
    if (!k->streaming) {
        EMIT(c, mcp_w_value_hdr(w, k->key, g->nkey, g->flags, g->size, k->m->with_cas ? &g->cas : NULL));
        k->streaming = 1;
    }
    emit_part(c, k, upto);
}

static void mget_key_done(struct px_get *g, enum px_result r)
{
    struct mget_key *k = cm_container_of(g, struct mget_key, g);
    struct multi_get *m = k->m;
    k->r = r;
    if (--m->left > 0) return;
    struct px_client *c = m->c;
    if (!c->closed && k->streaming && r != PX_HIT) {
        /* the value broke off after its start went out: only closing
         * keeps the client from taking a part for the whole */
        px_client_close(c, "value broke off while streaming");
    } else if (!c->closed) {
        for (unsigned i = 0; i < m->n; i++) {
            struct mget_key *ki = &m->keys[i];
            if (ki->r != PX_HIT) continue;
            if (!ki->streaming) {
                emit_value(c, ki->key, ki->g.nkey, ki->g.flags, ki->g.value, m->with_cas ? &ki->g.cas : NULL);
                continue;
            }
            emit_part(c, ki, ki->g.value->len);
            EMIT(c, mcp_w_crlf(w));
        }
        reply(c, MCP_R_END);
    }
    for (unsigned i = 0; i < m->n; i++) px_value_unref(m->keys[i].g.value);
    c->mget = NULL;
    free(m);
    px_client_resume(c);
}

static void start_get(struct px_client *c, const struct mcp_request *r)
{
    struct multi_get *m = calloc(1, sizeof *m + r->nkeys * sizeof m->keys[0]);
    if (m == NULL) {
        EMIT(c, mcp_w_server_error(w, "out of memory"));
        return;
    }
    int touch = r->cmd == MCP_CMD_GAT || r->cmd == MCP_CMD_GATS;
    m->c = c;
    m->with_cas = r->cmd == MCP_CMD_GETS || r->cmd == MCP_CMD_GATS;
    m->n = m->left = r->nkeys;
    size_t pos = 0;
    const char *key;
    size_t nkey;
    for (unsigned i = 0; i < r->nkeys && mcp_key_next(r, &pos, &key, &nkey); i++) {
        struct mget_key *k = &m->keys[i];
        memcpy(k->key, key, nkey);
        k->m = m;
        k->g = (struct px_get){.key = k->key, .nkey = nkey, .touch = touch, .exptime = r->exptime,
                               .done = mget_key_done, .part = r->nkeys == 1 ? mget_key_part : NULL};
    }
    c->busy = 1;
    c->mget = m;
    for (unsigned i = 0; i < r->nkeys; i++) px_cache_get(c->fe->cache, &m->keys[i].g); /* may finish m */
}

static void store_done(struct px_store *s, enum px_result r)
{
    struct px_client *c = cm_container_of(s, struct px_client, store);
    const struct mcp_request *req = &c->req;
    if (c->closed) goto out;
    if (req->proto == MCP_PROTO_BINARY) {
        if (r == PX_STORED) {
            if (!req->noreply) bin_reply(c, MCP_BS_SUCCESS, s->cas, NULL, 0, NULL, 0, NULL, NULL, 0);
        } else if (r == PX_NOT_STORED) { /* memcached's statuses for each mode */
            bin_status(c, s->mode == PX_ADD ? MCP_BS_KEY_EEXISTS : s->mode == PX_REPLACE ? MCP_BS_KEY_ENOENT
                                                                                        : MCP_BS_NOT_STORED);
        } else {
            bin_status(c, r == PX_EXISTS ? MCP_BS_KEY_EEXISTS : r == PX_NOT_FOUND ? MCP_BS_KEY_ENOENT
                          : r == PX_TOO_LARGE ? MCP_BS_E2BIG : MCP_BS_ENOMEM);
        }
    } else if (req->cmd == MCP_CMD_MS) {
        enum mcp_meta_code code = meta_code(r);
        struct mcp_meta_res res = {.have = MCP_MF('c'), .cas = r == PX_STORED ? s->cas : 0};
        if (r == PX_TOO_LARGE || r == PX_NO_MEMORY || r == PX_FAILED) reply_result(c, r);
        else if (!(code == MCP_M_HD && req->noreply))
            EMIT(c, mcp_w_meta(w, code, req, c->key, c->nkey, &res, NULL, 0));
    } else if (!req->noreply) {
        reply_result(c, r);
    }
out:
    px_client_resume(c);
}

static void arith_done(struct px_arith *a, enum px_result r)
{
    struct px_client *c = cm_container_of(a, struct px_client, arith);
    if (!c->closed && !c->req.noreply) {
        if (r == PX_STORED) EMIT(c, mcp_w_number(w, a->value));
        else reply_result(c, r);
    }
    px_client_resume(c);
}


/* ---- meta commands ------------------------------------------------------ */

static int64_t ttl_left(int64_t expiry)
{
    if (expiry == 0) return -1;
    int64_t left = expiry - (int64_t)time(NULL);
    return left > 0 ? left : -1;
}

static void mg_done(struct px_get *g, enum px_result r)
{
    struct px_client *c = cm_container_of(g, struct px_client, get);
    const struct mcp_request *req = &c->req;
    if (c->closed) goto out;
    if (r != PX_HIT) {
        if (!req->noreply) EMIT(c, mcp_w_meta(w, MCP_M_EN, req, c->key, c->nkey, NULL, NULL, 0));
        goto out;
    }
    struct mcp_meta_res res = {.have = MCP_MF('s') | MCP_MF('t') | MCP_MF('c') | MCP_MF('f') | MCP_MF('l') | MCP_MF('h'),
                               .size = g->size, .ttl = ttl_left(g->expiry), .cas = g->cas, .flags = g->flags,
                               .la = g->last_access, .hit = g->fetched, .win = g->win, .stale = g->stale,
                               .token_sent = g->token_sent && !g->win};
    if (g->value != NULL && (req->meta.seen & MCP_MF('v'))) {
        struct mcp_wbuf *w = px_client_room(c);
        if (w != NULL && mcp_w_meta(w, MCP_M_VA, req, c->key, c->nkey, &res,
                                    g->value->len ? (const void *)g->value->data : "", g->value->len) == 0)
            px_client_hold(c, g->value);
    } else {
        EMIT(c, mcp_w_meta(w, MCP_M_HD, req, c->key, c->nkey, &res, NULL, 0));
    }
out:
    px_value_unref(g->value);
    g->value = NULL;
    px_client_resume(c);
}

static enum mcp_meta_code meta_code(enum px_result r)
{
    switch (r) {
    case PX_STORED: case PX_DELETED: case PX_TOUCHED: case PX_HIT: return MCP_M_HD;
    case PX_NOT_STORED: return MCP_M_NS;
    case PX_EXISTS: return MCP_M_EX;
    default: return MCP_M_NF;
    }
}

static void ma_done(struct px_arith *a, enum px_result r)
{
    struct px_client *c = cm_container_of(a, struct px_client, arith);
    const struct mcp_request *req = &c->req;
    if (c->closed) goto out;
    if (r == PX_NON_NUMERIC || r == PX_NO_MEMORY || r == PX_FAILED || r == PX_TOO_LARGE) {
        EMIT(c, mcp_w_error(w, r == PX_NON_NUMERIC ? MCP_E_NON_NUMERIC : MCP_E_NO_MEMORY));
    } else if (r != PX_STORED) {
        EMIT(c, mcp_w_meta(w, meta_code(r), req, c->key, c->nkey, NULL, NULL, 0));
    } else if (!req->noreply || a->created) { /* q hides a success, but not a creation (memcached) */
        struct mcp_meta_res res = {.have = MCP_MF('t') | MCP_MF('c'), .ttl = ttl_left(a->expiry), .cas = a->cas};
        if (req->meta.seen & MCP_MF('v')) {
            char num[24];
            int n = snprintf(num, sizeof num, "%" PRIu64, a->value);
            struct px_value *v = px_value_new((uint64_t)n, 1, 0);
            struct mcp_wbuf *w = v != NULL ? px_client_room(c) : NULL;
            if (w != NULL) {
                memcpy(v->data, num, (size_t)n);
                if (mcp_w_meta(w, MCP_M_VA, req, c->key, c->nkey, &res, v->data, (uint64_t)n) == 0) px_client_hold(c, v);
            }
            px_value_unref(v);
        } else {
            EMIT(c, mcp_w_meta(w, MCP_M_HD, req, c->key, c->nkey, &res, NULL, 0));
        }
    }
out:
    px_client_resume(c);
}

static void meta_dispatch(struct px_client *c, const struct mcp_request *r)
{
    struct px_cache *cache = c->fe->cache;
    const uint64_t seen = r->meta.seen;
    if (r->cmd == MCP_CMD_MN) {
        reply(c, MCP_R_MN);
        return;
    }
    c->req = *r;
    memcpy(c->key, r->key, r->nkey);
    c->nkey = r->nkey;
    switch (r->cmd) {
    case MCP_CMD_MG:
        c->get = (struct px_get){.key = c->key, .nkey = c->nkey, .touch = (seen & MCP_MF('T')) != 0,
                                 .exptime = r->meta.ttl, .no_value = !(seen & MCP_MF('v')),
                                 .vivify = (seen & MCP_MF('N')) != 0, .vivify_ttl = r->meta.vivify_ttl,
                                 .done = mg_done};
        c->busy = 1;
        px_cache_get(cache, &c->get);
        return;
    case MCP_CMD_MD: {
        enum px_result res = px_cache_delete_meta(cache, c->key, c->nkey, (seen & MCP_MF('C')) != 0,
                                                  r->meta.cas_in, (seen & MCP_MF('I')) != 0,
                                                  (seen & MCP_MF('T')) != 0, r->meta.ttl);
        enum mcp_meta_code code = meta_code(res);
        if (!(code == MCP_M_HD && r->noreply)) EMIT(c, mcp_w_meta(w, code, r, c->key, c->nkey, NULL, NULL, 0));
        return;
    }
    case MCP_CMD_MA:
        c->arith = (struct px_arith){.key = c->key, .nkey = c->nkey,
                                     .incr = !(r->meta.mode == 'D' || r->meta.mode == '-'),
                                     .delta = r->meta.delta, .vivify = (seen & MCP_MF('N')) != 0,
                                     .initial = r->meta.initial, .vivify_ttl = r->meta.vivify_ttl,
                                     .has_cas = (seen & MCP_MF('C')) != 0, .cas_in = r->meta.cas_in,
                                     .touch = (seen & MCP_MF('T')) != 0, .exptime = r->meta.ttl,
                                     .done = ma_done};
        c->busy = 1;
        px_cache_arith(cache, &c->arith);
        return;
    default:
        return;
    }
}

/* ---- binary protocol --------------------------------------------------- */

static void bin_reply(struct px_client *c, uint16_t status, uint64_t cas, const void *ext, uint8_t next,
                      const char *key, size_t nkey, struct px_value *v, const void *body, uint32_t nbody)
{
    const struct mcp_request *r = &c->req;
    struct mcp_bin_res b = {.opcode = r->bin.opcode, .status = status, .opaque = r->bin.opaque, .cas = cas,
                            .extras = ext, .nextras = next, .key = key, .nkey = (uint16_t)nkey};
    struct mcp_wbuf *w = px_client_room(c);
    if (w == NULL) return;
    if (v != NULL) {
        if (mcp_w_bin(w, &b, v->len ? (const void *)v->data : "", (uint32_t)v->len) == 0) px_client_hold(c, v);
    } else if (mcp_w_bin(w, &b, body, nbody) != 0) {
        px_client_close(c, "reply does not fit");
    }
}

static void bin_status(struct px_client *c, enum mcp_bin_status st)
{
    EMIT(c, mcp_w_bin_status(w, c->req.bin.opcode, c->req.bin.opaque, st));
}

static void put_be32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (24 - 8 * i));
}

static void bin_get_done(struct px_get *g, enum px_result r)
{
    struct px_client *c = cm_container_of(g, struct px_client, get);
    const struct mcp_request *req = &c->req;
    if (c->closed) goto out;
    if (r != PX_HIT) {
        if (req->noreply && req->cmd != MCP_CMD_TOUCH) goto out;
        if (req->ret_key) bin_reply(c, MCP_BS_KEY_ENOENT, 0, NULL, 0, c->key, c->nkey, NULL, NULL, 0);
        else bin_status(c, MCP_BS_KEY_ENOENT);
        goto out;
    }
    unsigned char fl[4];
    put_be32(fl, g->flags);
    if (req->cmd == MCP_CMD_TOUCH) bin_reply(c, MCP_BS_SUCCESS, g->cas, fl, 4, NULL, 0, NULL, NULL, 0);
    else bin_reply(c, MCP_BS_SUCCESS, g->cas, fl, 4, req->ret_key ? c->key : NULL, req->ret_key ? c->nkey : 0, g->value, NULL, 0);
out:
    px_value_unref(g->value);
    g->value = NULL;
    px_client_resume(c);
}

static void bin_arith_done(struct px_arith *a, enum px_result r)
{
    struct px_client *c = cm_container_of(a, struct px_client, arith);
    if (c->closed) goto out;
    if (r == PX_STORED) {
        if (c->req.noreply) goto out;
        unsigned char be[8];
        for (int i = 0; i < 8; i++) be[i] = (unsigned char)(a->value >> (56 - 8 * i));
        struct px_value *v = px_value_new(8, 1, 0);
        if (v != NULL) {
            memcpy(v->data, be, 8);
            bin_reply(c, MCP_BS_SUCCESS, a->cas, NULL, 0, NULL, 0, v, NULL, 0);
            px_value_unref(v);
        }
    } else {
        bin_status(c, r == PX_NOT_FOUND ? MCP_BS_KEY_ENOENT : r == PX_NON_NUMERIC ? MCP_BS_DELTA_BADVAL : MCP_BS_ENOMEM);
    }
out:
    px_client_resume(c);
}

static void bin_stat_line(void *ctx, const char *name, const char *value)
{
    struct px_client *c = ctx;
    size_t nk = strlen(name), nv = strlen(value);
    struct mcp_bin_res b = {.opcode = c->req.bin.opcode, .opaque = c->req.bin.opaque, .key = name, .nkey = (uint16_t)nk};
    struct px_value *v = px_value_new(nv, 1, 0); /* the writer points at the value: keep a copy */
    if (v == NULL) return;
    memcpy(v->data, value, nv);
    struct mcp_wbuf *w = px_client_room(c);
    if (w != NULL && mcp_w_bin(w, &b, v->data, (uint32_t)nv) == 0) px_client_hold(c, v);
    px_value_unref(v);
}

static void bin_dispatch(struct px_client *c, const struct mcp_request *r)
{
    struct px_cache *cache = c->fe->cache;
    c->req = *r;
    memcpy(c->key, r->key, r->nkey);
    c->nkey = r->nkey;
    switch (r->cmd) {
    case MCP_CMD_GET: case MCP_CMD_GAT: case MCP_CMD_TOUCH:
        c->get = (struct px_get){.key = c->key, .nkey = c->nkey, .touch = r->cmd != MCP_CMD_GET,
                                 .exptime = r->exptime, .no_value = r->cmd == MCP_CMD_TOUCH, .done = bin_get_done};
        c->busy = 1;
        px_cache_get(cache, &c->get);
        return;
    case MCP_CMD_DELETE: {
        enum px_result res = px_cache_delete_meta(cache, c->key, c->nkey, r->bin.cas != 0, r->bin.cas, 0, 0, 0);
        if (res == PX_DELETED) {
            if (!r->noreply) bin_reply(c, MCP_BS_SUCCESS, 0, NULL, 0, NULL, 0, NULL, NULL, 0);
        } else {
            bin_status(c, res == PX_EXISTS ? MCP_BS_KEY_EEXISTS : MCP_BS_KEY_ENOENT);
        }
        return;
    }
    case MCP_CMD_INCR: case MCP_CMD_DECR:
        c->arith = (struct px_arith){.key = c->key, .nkey = c->nkey, .incr = r->cmd == MCP_CMD_INCR,
                                     .delta = r->delta, .vivify = r->exptime != -1, .initial = r->initial,
                                     .vivify_ttl = r->exptime, .done = bin_arith_done};
        c->busy = 1;
        px_cache_arith(cache, &c->arith);
        return;
    case MCP_CMD_FLUSH_ALL:
        px_cache_flush(cache, r->has_arg ? r->exptime : 0);
        if (!r->noreply) bin_reply(c, MCP_BS_SUCCESS, 0, NULL, 0, NULL, 0, NULL, NULL, 0);
        return;
    case MCP_CMD_NOOP: case MCP_CMD_VERBOSITY:
        bin_reply(c, MCP_BS_SUCCESS, 0, NULL, 0, NULL, 0, NULL, NULL, 0);
        return;
    case MCP_CMD_VERSION:
        bin_reply(c, MCP_BS_SUCCESS, 0, NULL, 0, NULL, 0, NULL, c->fe->version, (uint32_t)strlen(c->fe->version));
        return;
    case MCP_CMD_STATS: {
        char group[32] = "";
        if (r->nkey > 0) snprintf(group, sizeof group, "%.*s", (int)r->nkey, r->key);
        stats_lines(c, group, bin_stat_line);
        bin_reply(c, MCP_BS_SUCCESS, 0, NULL, 0, NULL, 0, NULL, NULL, 0);
        return;
    }
    case MCP_CMD_QUIT:
        if (!r->noreply) bin_reply(c, MCP_BS_SUCCESS, 0, NULL, 0, NULL, 0, NULL, NULL, 0);
        c->closing = 1;
        return;
    default:
        bin_status(c, MCP_BS_UNKNOWN_COMMAND);
        return;
    }
}

/* ---- text commands ------------------------------------------------------ */

static void stat_line(void *ctx, const char *name, const char *value)
{
    struct px_client *c = ctx;
    EMIT(c, mcp_w_stat(w, name, value));
}

/* The `stats` lines of a group ("" = general, "nodes"), through `line`. */
static void stats_lines(struct px_client *c, const char *group, void (*line)(void *, const char *, const char *))
{
    struct px_frontend *fe = c->fe;
    struct px_cache *cache = fe->cache;
    char buf[64];
#define U64(name, v) (snprintf(buf, sizeof buf, "%" PRIu64, (uint64_t)(v)), line(c, name, buf))
    if (group[0] == 0) {
        time_t now = time(NULL);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        U64("pid", getpid());
        U64("uptime", (uint64_t)now - fe->started);
        U64("time", now);
        line(c, "version", fe->version);
        snprintf(buf, sizeof buf, "%ld.%06ld", (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec);
        line(c, "rusage_user", buf);
        snprintf(buf, sizeof buf, "%ld.%06ld", (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec);
        line(c, "rusage_system", buf);
        U64("max_connections", fe->max_conns);
        U64("curr_connections", fe->stats.curr_connections);
        U64("total_connections", fe->stats.total_connections);
        U64("rejected_connections", fe->stats.rejected_connections);
        U64("bytes_read", fe->stats.bytes_read);
        U64("bytes_written", fe->stats.bytes_written);
        U64("limit_maxbytes", cache->capacity);
        U64("item_size_max", cache->max_value);
        U64("curr_items", cache->index.count);
        U64("bytes", cache->index.bytes);
        U64("chunk_bytes", cache->used);
        U64("index_bytes", cache->index.meta_bytes);
        U64("index_bytes_per_item", cache->index.count ? cache->index.meta_bytes / cache->index.count : 0);
#define PX_STAT_LINE(name) U64(#name, cache->stats.name);
        PX_CACHE_STATS(PX_STAT_LINE)
#undef PX_STAT_LINE
        U64("decodes", cache->stripe->decodes);
        U64("bad_chunks", cache->stripe->bad_chunks);
    }
#undef U64
    if (fe->stats_extra != NULL) fe->stats_extra(fe, group, line, c);
}

static void do_stats(struct px_client *c, const struct mcp_request *r)
{
    char group[32] = "";
    if (r->nargs > 0) snprintf(group, sizeof group, "%.*s", (int)r->nargs, r->args);
    stats_lines(c, group, stat_line);
    reply(c, MCP_R_END);
}

void px_cmd_dispatch(struct px_client *c, const struct mcp_request *r)
{
    struct px_cache *cache = c->fe->cache;
    if (r->proto == MCP_PROTO_BINARY) {
        bin_dispatch(c, r);
        return;
    }
    if (r->cmd >= MCP_CMD_MG && r->cmd <= MCP_CMD_MA) {
        meta_dispatch(c, r);
        return;
    }
    switch (r->cmd) {
    case MCP_CMD_GET: case MCP_CMD_GETS: case MCP_CMD_GAT: case MCP_CMD_GATS:
        start_get(c, r);
        return;
    case MCP_CMD_DELETE: {
        enum px_result res = px_cache_delete(cache, r->key, r->nkey);
        if (!r->noreply) reply_result(c, res);
        return;
    }
    case MCP_CMD_TOUCH: {
        enum px_result res = px_cache_touch(cache, r->key, r->nkey, r->exptime);
        if (!r->noreply) reply_result(c, res);
        return;
    }
    case MCP_CMD_INCR: case MCP_CMD_DECR:
        c->req = *r;
        memcpy(c->key, r->key, r->nkey);
        c->arith = (struct px_arith){.key = c->key, .nkey = r->nkey, .incr = r->cmd == MCP_CMD_INCR,
                                     .delta = r->delta, .done = arith_done};
        c->busy = 1;
        px_cache_arith(cache, &c->arith);
        return;
    case MCP_CMD_FLUSH_ALL:
        px_cache_flush(cache, r->has_arg ? r->exptime : 0);
        if (!r->noreply) reply(c, MCP_R_OK);
        return;
    case MCP_CMD_VERSION:
        EMIT(c, mcp_w_version(w, c->fe->version));
        return;
    case MCP_CMD_VERBOSITY:
        c->fe->verbosity = (int)r->verbosity;
        if (!r->noreply) reply(c, MCP_R_OK);
        return;
    case MCP_CMD_STATS:
        do_stats(c, r);
        return;
    case MCP_CMD_QUIT:
        c->closing = 1;
        return;
    case MCP_CMD_MN:
        reply(c, MCP_R_MN);
        return;
    default:
        return;
    }
}

static enum px_store_mode store_mode(const struct mcp_request *r)
{
    if (r->cmd == MCP_CMD_MS) {
        switch (r->meta.mode) {
        case 'E': return PX_ADD;
        case 'A': return PX_APPEND;
        case 'P': return PX_PREPEND;
        case 'R': return PX_REPLACE;
        default: return PX_SET;
        }
    }
    switch (r->cmd) {
    case MCP_CMD_ADD: return PX_ADD;
    case MCP_CMD_REPLACE: return PX_REPLACE;
    case MCP_CMD_APPEND: return PX_APPEND;
    case MCP_CMD_PREPEND: return PX_PREPEND;
    case MCP_CMD_CAS: return PX_CAS;
    default: return PX_SET;
    }
}

void px_cmd_start_value(struct px_client *c, const struct mcp_request *r)
{
    struct px_cache *cache = c->fe->cache;
    c->req = *r;
    memcpy(c->key, r->key, r->nkey);
    c->nkey = r->nkey;
    int d = px_stripe_width(cache->stripe, r->vlen);
    c->value = px_value_new_pooled(&cache->stripe->buffers, r->vlen, d, cache->stripe->p);
    if (c->value == NULL) {
        mcp_value_discard(&c->parser); /* answered at MCP_VALUE_DONE */
        return;
    }
    mcp_value_dest(&c->parser, c->value->data);
}

static void store_done(struct px_store *s, enum px_result r);

void px_cmd_finish_value(struct px_client *c)
{
    struct mcp_request *r = &c->req;
    if (c->value == NULL) { /* no memory for it: its bytes were swallowed */
        if (r->proto == MCP_PROTO_BINARY) bin_status(c, MCP_BS_ENOMEM);
        else if (!r->noreply || r->cmd == MCP_CMD_MS) EMIT(c, mcp_w_error(w, MCP_E_NO_MEMORY));
        return;
    }
    int meta = r->cmd == MCP_CMD_MS;
    c->store = (struct px_store){.mode = store_mode(r), .key = c->key, .nkey = c->nkey,
                                 .flags = meta ? r->meta.client_flags : r->flags,
                                 .exptime = meta ? r->meta.ttl : r->exptime,
                                 .cas_in = meta ? r->meta.cas_in : r->cas, .value = c->value, .done = store_done};
    if (r->proto == MCP_PROTO_BINARY) c->store.has_cas = r->cas != 0 ? PX_CAS_ALL : PX_CAS_NONE;
    else if (meta && (r->meta.seen & MCP_MF('C'))) c->store.has_cas = PX_CAS_META;
    c->value = NULL;
    c->busy = 1;
    px_cache_store(c->fe->cache, &c->store);
}

void px_cmd_parse_error(struct px_client *c, int rc, const struct mcp_request *r)
{
    if (rc == MCP_E_BAD_CHUNK && c->value != NULL) { /* the value never completed */
        px_value_unref(c->value);
        c->value = NULL;
    }
    if (r->proto == MCP_PROTO_BINARY) {
        if (rc == MCP_E_BIN_INVALID || rc == MCP_E_BIN_UNKNOWN || rc == MCP_E_BIN_TOO_LARGE)
            EMIT(c, mcp_w_bin_status(w, r->bin.opcode, r->bin.opaque, mcp_err_bin_status(rc)));
    } else if (!mcp_err_silent(r, rc)) {
        EMIT(c, mcp_w_error(w, rc));
    }
    if (mcp_err_fatal(rc)) px_client_close(c, mcp_err_name(rc));
}
