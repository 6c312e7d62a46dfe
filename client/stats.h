/* client/stats.h — a server's `stats` and `stats nodes` answers, kept as
 * text and shown as a table or JSON (prefix cl_stats_).
 *
 * Nothing here talks to a server: the caller feeds lines in (from
 * libmemcached's memcached_stat_execute) and asks for output. Fields are
 * shown by rules, not by a fixed list: known names get a label, a group and
 * a unit; unknown names are grouped and formatted by their spelling
 * (`*_bytes` as bytes, `*_ms` as a duration, names with `billed`/`gb_s` as
 * cost, `fleet_*` with the fleet, `*repair*`/`missing*` with health) and
 * shown, so fields a newer proxy adds appear without a change here.
 * Memcached's internals (slabs, LRU crawler, ...) show with `all` only.
 *
 * cl_stats owns copies of every name and value it is given (freed by
 * cl_stats_free).
 */
#ifndef FNCACHE_CLIENT_STATS_H
#define FNCACHE_CLIENT_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client/out.h"

struct cl_stat {
    char *name, *value;
};

struct cl_stat_list {
    struct cl_stat *v;
    size_t n, cap;
};

/* One `STAT node:<id> <function> k=v k=v ...` line. */
struct cl_stats_node {
    char *id, *function;
    struct cl_stat_list fields;
};

struct cl_stats {
    char server[300];  /* host:port */
    char error[256];   /* set when `stats` or `stats nodes` failed */
    uint64_t taken_ms; /* when it was taken (monotonic), for rates */
    struct cl_stat_list general;
    int has_nodes; /* the server answered `stats nodes` */
    struct cl_stats_node *nodes;
    size_t nnodes, nodes_cap;
};

/* Record one line of `stats` (general) or of `stats nodes`. Returns 0 or
 * -ENOMEM; a node line that does not parse is kept under its raw name. */
int cl_stats_add(struct cl_stats *s, const char *name, size_t nlen, const char *value, size_t vlen);
int cl_stats_add_node(struct cl_stats *s, const char *name, size_t nlen, const char *value,
                      size_t vlen);
/* A general field's value, or NULL. */
const char *cl_stats_get(const struct cl_stats *s, const char *name);
void cl_stats_free(struct cl_stats *s);

/* The table: a header line, the general fields by group (with per-second
 * rates of counters when `prev` is an earlier snapshot of the same server),
 * then one row per node. `all` also shows memcached's internal fields. */
void cl_stats_print(FILE *f, const struct cl_stats *s, const struct cl_stats *prev, int all);
/* {"server":..., "error":... (when failed), "stats":{...}, "nodes":[...]
 * (only when answered)}:
 * values that are numbers are written as numbers. */
void cl_stats_json(struct cl_json *j, const struct cl_stats *s);

#endif
