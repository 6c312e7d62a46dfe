/* client/stats.c — `stats` and `stats nodes` as a table or JSON. */
#include "client/stats.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum group {
    G_HEADER,
    G_FLEET,
    G_HEALTH,
    G_COST,
    G_MEMORY,
    G_TRAFFIC,
    G_OTHER,
    G_INTERNAL,
    G_COUNT
};
static const char *const group_name[G_COUNT] = {"",       "fleet",   "health", "cost",
                                                "memory", "traffic", "other",  "internal"};

enum kind { K_AUTO, K_COUNT, K_TEXT, K_BYTES, K_MS, K_US, K_SECS, K_GBS };
enum how { EXACT, PREFIX, SUBSTR };

/* First match wins: the known names, then spellings. A rule with a label
 * names the field in the table; without one the field's own name shows. */
static const struct rule {
    const char *pat;
    enum how how;
    enum group group;
    enum kind kind;
    const char *label;
    int rate; /* a counter: show its rate when refreshing */
} rules[] = {
    {"version", EXACT, G_HEADER, K_TEXT, NULL, 0},
    {"uptime", EXACT, G_HEADER, K_SECS, NULL, 0},
    {"pid", EXACT, G_HEADER, K_TEXT, NULL, 0},
    {"ec", EXACT, G_FLEET, K_TEXT, "code", 0},
    {"fleet_nodes", EXACT, G_FLEET, K_COUNT, "nodes", 0},
    {"fleet_connected", EXACT, G_FLEET, K_COUNT, "connected", 0},
    {"fleet_invocations", EXACT, G_FLEET, K_COUNT, "invocations", 1},
    {"fleet_warmups", EXACT, G_FLEET, K_COUNT, "warm-ups", 1},
    {"fleet_instances_lost", EXACT, G_FLEET, K_COUNT, "instances lost", 0},
    {"fleet_max_nodes", EXACT, G_FLEET, K_COUNT, "max nodes", 0},
    {"fleet_grown", EXACT, G_FLEET, K_COUNT, "times grown", 0},
    {"fleet_shrunk", EXACT, G_FLEET, K_COUNT, "times shrunk", 0},
    {"fleet_draining", EXACT, G_FLEET, K_TEXT, "draining node", 0},
    {"fleet_throttles", EXACT, G_FLEET, K_COUNT, "throttled", 1},
    {"fleet_dead", EXACT, G_FLEET, K_COUNT, "dead nodes", 0},
    {"fleet_billed_gb_seconds", EXACT, G_COST, K_GBS, "billed", 1},
    {"missing_chunks", EXACT, G_HEALTH, K_COUNT, "missing chunks", 0},
    {"repair_queue", EXACT, G_HEALTH, K_COUNT, "repair queue", 0},
    {"repairs_background", EXACT, G_HEALTH, K_COUNT, "background repairs", 1},
    {"repair_bytes", EXACT, G_HEALTH, K_BYTES, "repair traffic", 1},
    {"chunks_relocated", EXACT, G_HEALTH, K_COUNT, "chunks moved", 1},
    {"stores_degraded", EXACT, G_HEALTH, K_COUNT, "degraded stores", 0},
    {"get_unavailable", EXACT, G_HEALTH, K_COUNT, "unavailable reads", 0},
    {"rebuild", PREFIX, G_OTHER, K_AUTO, NULL, 0},
    {"objects_adopted", EXACT, G_OTHER, K_COUNT, "rebuilt objects", 0},
    {"chunks_repaired", EXACT, G_HEALTH, K_COUNT, "chunks repaired", 1},
    {"repair_failures", EXACT, G_HEALTH, K_COUNT, "repair failures", 0},
    {"decodes", EXACT, G_HEALTH, K_COUNT, "decodes", 1},
    {"bad_chunks", EXACT, G_HEALTH, K_COUNT, "bad chunks", 0},
    {"objects_lost", EXACT, G_HEALTH, K_COUNT, "objects lost", 0},
    {"store_failures", EXACT, G_HEALTH, K_COUNT, "store failures", 0},
    {"lost_races", EXACT, G_HEALTH, K_COUNT, "lost races", 0},
    {"curr_items", EXACT, G_MEMORY, K_COUNT, "items", 0},
    {"bytes", EXACT, G_MEMORY, K_BYTES, "value bytes", 0},
    {"chunk_bytes", EXACT, G_MEMORY, K_BYTES, "chunk bytes", 0},
    {"limit_maxbytes", EXACT, G_MEMORY, K_BYTES, "limit", 0},
    {"item_size_max", EXACT, G_MEMORY, K_BYTES, "largest value", 0},
    {"index_bytes", EXACT, G_MEMORY, K_BYTES, "index", 0},
    {"index_bytes_per_item", EXACT, G_MEMORY, K_BYTES, "index per item", 0},
    {"evictions", EXACT, G_MEMORY, K_COUNT, "evictions", 1},
    {"total_items", EXACT, G_MEMORY, K_COUNT, "items stored", 1},
    {"cmd_get", EXACT, G_TRAFFIC, K_COUNT, "gets", 1},
    {"get_hits", EXACT, G_TRAFFIC, K_COUNT, "hits", 1},
    {"get_misses", EXACT, G_TRAFFIC, K_COUNT, "misses", 1},
    {"cmd_set", EXACT, G_TRAFFIC, K_COUNT, "sets", 1},
    {"delete_hits", EXACT, G_TRAFFIC, K_COUNT, "deletes", 1},
    {"delete_misses", EXACT, G_TRAFFIC, K_COUNT, "delete misses", 1},
    {"bytes_read", EXACT, G_TRAFFIC, K_BYTES, "bytes in", 1},
    {"bytes_written", EXACT, G_TRAFFIC, K_BYTES, "bytes out", 1},
    {"curr_connections", EXACT, G_TRAFFIC, K_COUNT, "connections", 0},
    {"total_connections", EXACT, G_TRAFFIC, K_COUNT, "conns accepted", 1},
    {"rejected_connections", EXACT, G_TRAFFIC, K_COUNT, "conns rejected", 0},
    /* names not known here, by their spelling */
    {"billed", SUBSTR, G_COST, K_AUTO, NULL, 0},
    {"gb_s", SUBSTR, G_COST, K_AUTO, NULL, 0},
    {"cost", SUBSTR, G_COST, K_AUTO, NULL, 0},
    {"repair", SUBSTR, G_HEALTH, K_AUTO, NULL, 0},
    {"missing", SUBSTR, G_HEALTH, K_AUTO, NULL, 0},
    {"fleet_", PREFIX, G_FLEET, K_AUTO, NULL, 0},
    {"node", PREFIX, G_FLEET, K_AUTO, NULL, 0},
    /* memcached's internals */
    {"slab", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"lru", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"log_", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"read_buf", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"response_obj", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"hash_", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"crawler", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"moves_", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"auth_", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"incr_", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"decr_", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"cas_", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"touch_", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"rusage_", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"cmd_", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"get_", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"store_", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"listen_", PREFIX, G_INTERNAL, K_AUTO, NULL, 0},
    {"_unfetched", SUBSTR, G_INTERNAL, K_AUTO, NULL, 0},
    {"time", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"libevent", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"pointer_size", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"max_connections", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"connection_structures", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"reserved_fds", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"accepting_conns", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"time_in_listen_disabled_us", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"threads", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"conn_yields", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"malloc_fails", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"unexpected_napi_ids", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"round_robin_fallback", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"evicted_active", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"reclaimed", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
    {"direct_reclaims", EXACT, G_INTERNAL, K_AUTO, NULL, 0},
};

static const struct rule other_rule = {"", EXACT, G_OTHER, K_AUTO, NULL, 0};

static int ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

static const struct rule *rule_of(const char *name)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const struct rule *r = &rules[i];
        if ((r->how == EXACT && strcmp(name, r->pat) == 0) ||
            (r->how == PREFIX && strncmp(name, r->pat, strlen(r->pat)) == 0) ||
            (r->how == SUBSTR && strstr(name, r->pat) != NULL))
            return r;
    }
    return &other_rule;
}

static enum kind kind_of(const struct rule *r, const char *name)
{
    if (r->kind != K_AUTO) return r->kind;
    if (strstr(name, "gb_s") != NULL) return K_GBS;
    if (ends_with(name, "bytes")) return K_BYTES;
    if (ends_with(name, "_ms")) return K_MS;
    if (ends_with(name, "_us")) return K_US;
    return K_TEXT;
}

/* A value for the table: numbers in their unit, anything else as given. */
static const char *show(char *buf, size_t cap, enum kind k, const char *v)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end != 0 || k == K_TEXT || k == K_COUNT) return v;
    switch (k) {
    case K_BYTES: return cl_fmt_bytes(buf, cap, d);
    case K_MS: return cl_fmt_ns(buf, cap, d * 1e6);
    case K_US: return cl_fmt_ns(buf, cap, d * 1e3);
    case K_SECS: return cl_fmt_secs(buf, cap, (uint64_t)d);
    case K_GBS: snprintf(buf, cap, "%.3f GB-s", d); return buf;
    default: return v;
    }
}

/* ---- collecting --------------------------------------------------------- */

static int list_add(struct cl_stat_list *l, const char *name, size_t nlen, const char *value,
                    size_t vlen)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct cl_stat *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL) return -ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    char *n = strndup(name, nlen), *val = strndup(value, vlen);
    if (n == NULL || val == NULL) {
        free(n);
        free(val);
        return -ENOMEM;
    }
    l->v[l->n++] = (struct cl_stat){n, val};
    return 0;
}

static const char *list_get(const struct cl_stat_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].name, name) == 0) return l->v[i].value;
    return NULL;
}

static void list_free(struct cl_stat_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].value);
    }
    free(l->v);
    *l = (struct cl_stat_list){0};
}

int cl_stats_add(struct cl_stats *s, const char *name, size_t nlen, const char *value, size_t vlen)
{
    return list_add(&s->general, name, nlen, value, vlen);
}

int cl_stats_add_node(struct cl_stats *s, const char *name, size_t nlen, const char *value,
                      size_t vlen)
{
    s->has_nodes = 1;
    if (s->nnodes == s->nodes_cap) {
        size_t cap = s->nodes_cap ? 2 * s->nodes_cap : 16;
        struct cl_stats_node *v = realloc(s->nodes, cap * sizeof *v);
        if (v == NULL) return -ENOMEM;
        s->nodes = v;
        s->nodes_cap = cap;
    }
    struct cl_stats_node *n = &s->nodes[s->nnodes];
    *n = (struct cl_stats_node){0};
    const char *colon = memchr(name, ':', nlen);
    n->id = colon ? strndup(colon + 1, nlen - (size_t)(colon + 1 - name)) : strndup(name, nlen);
    int rc = n->id ? 0 : -ENOMEM;
    /* "<function> k=v k=v ...": a bare word is the function (the first) or
     * a field of its own name */
    for (size_t at = 0; rc == 0 && at < vlen;) {
        while (at < vlen && value[at] == ' ')
            at++;
        size_t end = at;
        while (end < vlen && value[end] != ' ')
            end++;
        if (end == at) break;
        const char *eq = memchr(value + at, '=', end - at);
        if (eq != NULL)
            rc = list_add(&n->fields, value + at, (size_t)(eq - value - at), eq + 1,
                          (size_t)(value + end - eq - 1));
        else if (n->function == NULL)
            rc = (n->function = strndup(value + at, end - at)) ? 0 : -ENOMEM;
        else
            rc = list_add(&n->fields, value + at, end - at, "yes", 3);
        at = end;
    }
    if (n->function == NULL && rc == 0) rc = (n->function = strdup("")) ? 0 : -ENOMEM;
    s->nnodes++; /* kept even when incomplete, so cl_stats_free frees it */
    return rc;
}

const char *cl_stats_get(const struct cl_stats *s, const char *name)
{
    return list_get(&s->general, name);
}

void cl_stats_free(struct cl_stats *s)
{
    list_free(&s->general);
    for (size_t i = 0; i < s->nnodes; i++) {
        free(s->nodes[i].id);
        free(s->nodes[i].function);
        list_free(&s->nodes[i].fields);
    }
    free(s->nodes);
    s->nodes = NULL;
    s->nnodes = s->nodes_cap = 0;
    s->has_nodes = 0;
}

/* ---- the table ---------------------------------------------------------- */

#define PAIRS_PER_LINE 3

struct cell_writer {
    FILE *f;
    int in_line, label_width;
};

static void cell(struct cell_writer *w, const char *group, const char *label, const char *value)
{
    if (w->in_line == PAIRS_PER_LINE) {
        fputc('\n', w->f);
        w->in_line = 0;
    }
    if (w->in_line == 0) fprintf(w->f, "%-9s", group);
    fprintf(w->f, "  %-*s %-16s", w->label_width, label, value);
    w->in_line++;
}

static double num(const char *v)
{
    return v ? strtod(v, NULL) : 0;
}

static void print_header(FILE *f, const struct cl_stats *s)
{
    char buf[64];
    const char *version = cl_stats_get(s, "version"), *uptime = cl_stats_get(s, "uptime");
    const char *pid = cl_stats_get(s, "pid");
    fprintf(f, "== %s", s->server);
    if (version) fprintf(f, "  version %s", version);
    if (uptime) fprintf(f, "  up %s", show(buf, sizeof buf, K_SECS, uptime));
    if (pid) fprintf(f, "  pid %s", pid);
    fputc('\n', f);
}

static void print_general(FILE *f, const struct cl_stats *s, const struct cl_stats *prev, int all)
{
    double dt = prev ? (double)(s->taken_ms - prev->taken_ms) / 1000.0 : 0;
    int label_width = 16; /* the longest label shown, within reason */
    for (size_t i = 0; i < s->general.n; i++) {
        const struct rule *r = rule_of(s->general.v[i].name);
        int len = (int)strlen(r->label ? r->label : s->general.v[i].name);
        if ((r->group != G_INTERNAL || all) && len > label_width) label_width = len < 28 ? len : 28;
    }
    for (int g = G_FLEET; g < G_COUNT; g++) {
        if (g == G_INTERNAL && !all) continue;
        struct cell_writer w = {f, 0, label_width};
        for (size_t i = 0; i < s->general.n; i++) {
            const struct cl_stat *st = &s->general.v[i];
            const struct rule *r = rule_of(st->name);
            if ((int)r->group != g) continue;
            char buf[64], shown[96];
            const char *v = show(buf, sizeof buf, kind_of(r, st->name), st->value);
            const char *before = prev ? list_get(&prev->general, st->name) : NULL;
            if (r->rate && before && dt > 0 && num(st->value) > num(before)) {
                double rate = (num(st->value) - num(before)) / dt;
                char rb[32];
                if (kind_of(r, st->name) == K_BYTES)
                    snprintf(shown, sizeof shown, "%s +%s/s", v, cl_fmt_bytes(rb, sizeof rb, rate));
                else
                    snprintf(shown, sizeof shown, "%s +%.0f/s", v, rate);
                v = shown;
            }
            cell(&w, w.in_line == 0 ? group_name[g] : "", r->label ? r->label : st->name, v);
            if (strcmp(st->name, "get_misses") == 0) {
                double hits = num(cl_stats_get(s, "get_hits")), misses = num(st->value);
                snprintf(buf, sizeof buf, hits + misses > 0 ? "%.1f%%" : "-",
                         100 * hits / (hits + misses));
                cell(&w, "", "hit ratio", buf);
            }
        }
        if (w.in_line) fputc('\n', f);
    }
}

/* Columns of the node table: every field name, in order of first sight. */
struct columns {
    const char *name[64];
    int width[64];
    int n;
};

static const char *node_cell(char *buf, size_t cap, const char *name, const char *v)
{
    if (strcmp(name, "instance") == 0 && strlen(v) > 8) {
        snprintf(buf, cap, "%.8s", v);
        return buf;
    }
    return show(buf, cap, kind_of(&other_rule, name), v);
}

static const char *column_label(const char *name)
{
    static const char *const labels[][2] = {{"placed_bytes", "placed"},
                                            {"hello_chunks", "chunks@hello"},
                                            {"hello_bytes", "bytes@hello"},
                                            {"last_seen_ms", "last seen"}};
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (strcmp(name, labels[i][0]) == 0) return labels[i][1];
    return name;
}

static void print_nodes(FILE *f, const struct cl_stats *s)
{
    if (!s->has_nodes) {
        fprintf(f, "nodes     (none: `stats nodes` is not answered; not an fncache proxy)\n");
        return;
    }
    /* a summary of states */
    const char *state[16];
    unsigned count[16], nstates = 0;
    for (size_t i = 0; i < s->nnodes; i++) {
        const char *st = list_get(&s->nodes[i].fields, "state");
        if (st == NULL) st = "?";
        unsigned k = 0;
        while (k < nstates && strcmp(state[k], st) != 0)
            k++;
        if (k == nstates) {
            if (nstates == 16) continue;
            state[nstates] = st;
            count[nstates++] = 0;
        }
        count[k]++;
    }
    fprintf(f, "nodes     %zu", s->nnodes);
    for (unsigned k = 0; k < nstates; k++)
        fprintf(f, "%s%u %s", k ? ", " : ": ", count[k], state[k]);
    fputc('\n', f);
    if (s->nnodes == 0) return;

    struct columns c = {.n = 0};
    int idw = 4, fnw = 8;
    for (size_t i = 0; i < s->nnodes; i++) {
        const struct cl_stats_node *n = &s->nodes[i];
        if ((int)strlen(n->id) > idw) idw = (int)strlen(n->id);
        if ((int)strlen(n->function) > fnw) fnw = (int)strlen(n->function);
        for (size_t k = 0; k < n->fields.n; k++) {
            const char *name = n->fields.v[k].name;
            int j = 0;
            while (j < c.n && strcmp(c.name[j], name) != 0)
                j++;
            if (j == c.n) {
                if (c.n == 64) continue;
                c.name[c.n] = name;
                c.width[c.n++] = (int)strlen(column_label(name));
            }
            char buf[64];
            int w = (int)strlen(node_cell(buf, sizeof buf, name, n->fields.v[k].value));
            if (w > c.width[j]) c.width[j] = w;
        }
    }
    fprintf(f, "  %-*s  %-*s", idw, "node", fnw, "function");
    for (int j = 0; j < c.n; j++)
        fprintf(f, "  %-*s", c.width[j], column_label(c.name[j]));
    fputc('\n', f);
    for (size_t i = 0; i < s->nnodes; i++) {
        const struct cl_stats_node *n = &s->nodes[i];
        fprintf(f, "  %-*s  %-*s", idw, n->id, fnw, n->function);
        for (int j = 0; j < c.n; j++) {
            const char *v = list_get(&n->fields, c.name[j]);
            char buf[64];
            fprintf(f, "  %-*s", c.width[j], v ? node_cell(buf, sizeof buf, c.name[j], v) : "-");
        }
        fputc('\n', f);
    }
}

void cl_stats_print(FILE *f, const struct cl_stats *s, const struct cl_stats *prev, int all)
{
    print_header(f, s);
    if (s->error[0]) fprintf(f, "error     %s\n", s->error);
    if (s->general.n == 0) return;
    print_general(f, s, prev, all);
    print_nodes(f, s);
}

void cl_stats_json(struct cl_json *j, const struct cl_stats *s)
{
    cl_json_object(j, NULL);
    cl_json_str(j, "server", s->server);
    if (s->error[0]) cl_json_str(j, "error", s->error);
    cl_json_object(j, "stats");
    for (size_t i = 0; i < s->general.n; i++)
        cl_json_auto(j, s->general.v[i].name, s->general.v[i].value);
    cl_json_end(j);
    if (s->has_nodes) {
        cl_json_array(j, "nodes");
        for (size_t i = 0; i < s->nnodes; i++) {
            const struct cl_stats_node *n = &s->nodes[i];
            cl_json_object(j, NULL);
            cl_json_auto(j, "id", n->id);
            cl_json_str(j, "function", n->function);
            for (size_t k = 0; k < n->fields.n; k++)
                cl_json_auto(j, n->fields.v[k].name, n->fields.v[k].value);
            cl_json_end(j);
        }
        cl_json_end(j);
    }
    cl_json_end(j);
}
