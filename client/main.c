/* client/main.c — fncache: the command line (put, get, rm, stats, bench),
 * flags and help. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/bench.h"
#include "client/conn.h"
#include "client/stats.h"
#include "client/transfer.h"
#include "client/workload.h"
#include "common/clock.h"

#define EXIT_USAGE 2
#define MAX_POSITIONAL 4

enum command { C_NONE, C_PUT, C_GET, C_RM, C_STATS, C_BENCH, C_HELP };

static const struct {
    const char *name;
    enum command cmd;
    int min_args, max_args;
} commands[] = {{"put", C_PUT, 2, 2},     {"get", C_GET, 1, 2},     {"rm", C_RM, 1, 1},
                {"stats", C_STATS, 0, 0}, {"bench", C_BENCH, 0, 0}, {"help", C_HELP, 0, 1}};

struct cli {
    enum command cmd;
    const char *pos[MAX_POSITIONAL];
    int npos, help, quiet, json, csv, all;
    double watch;   /* stats: seconds between refreshes, 0 = once */
    uint64_t count; /* stats --watch: refreshes, 0 = until Ctrl-C */
    struct cl_xfer_opts xfer;
    struct cl_bench_opts bench; /* its conn is the one every command uses */
    const char *workload;
};

/* ---- help ------------------------------------------------------------- */

static const char common_flags[] =
    "-s, --server=<host:port>  a server; repeat the flag or separate with commas for\n"
    "                          several, which form one consistent-hash ring (ketama,\n"
    "                          as libmemcached does it) (default: $FNCACHE_SERVERS,\n"
    "                          else 127.0.0.1:11211)\n"
    "-b, --binary              speak memcached's binary protocol (default: text)\n"
    "-t, --timeout=<s>         give up one network wait after this long (default: 60)\n"
    "-q, --quiet               no progress bar or live progress line\n"
    "-h, --help                print this help and exit\n";

static const char exit_codes[] =
    "Exit status: 0 done, 1 key not found, 2 bad usage, 3 server or network error\n"
    "(or, for bench, failed operations), 4 local file error, 5 bench found a\n"
    "corrupt value.\n";

static void usage_main(FILE *out)
{
    fprintf(out,
            "fncache: put and get files, look at the fleet, and measure the cache.\n"
            "Speaks memcached through libmemcached, so it works against fncache-proxy and\n"
            "against any memcached server alike.\n"
            "\n"
            "usage: fncache [flags] <command> [arguments]\n"
            "\n"
            "  put KEY FILE|-        store FILE (- = standard input) as KEY's value\n"
            "  get KEY [FILE|-]      write KEY's value to FILE (default: standard output)\n"
            "  rm KEY                delete KEY\n"
            "  stats                 the servers' statistics and, from fncache-proxy, its fleet\n"
            "  bench                 a load generator with latency histograms\n"
            "  help [COMMAND]        this help, or a command's (also: fncache COMMAND --help)\n"
            "\n%s\n%s",
            common_flags, exit_codes);
}

static void usage_cmd(FILE *out, enum command c)
{
    switch (c) {
    case C_PUT:
        fprintf(out,
                "usage: fncache put KEY FILE|- [flags]\n"
                "Store the whole of FILE (- = standard input) as the value of KEY, one SET.\n"
                "A progress bar shows on a terminal while a large value goes out.\n\n"
                "-e, --expire=<s>          expiry in seconds (default: 0 = never)\n"
                "-f, --flags=<n>           memcached flags stored with the value (default: 0)\n");
        break;
    case C_GET:
        fprintf(out, "usage: fncache get KEY [FILE|-] [flags]\n"
                     "Write the value of KEY to FILE, created or truncated only once the value\n"
                     "has arrived (default and -: standard output). A missing key exits 1.\n\n");
        break;
    case C_RM:
        fprintf(out, "usage: fncache rm KEY [flags]\nDelete KEY. A missing key exits 1.\n\n");
        break;
    case C_STATS:
        fprintf(out,
                "usage: fncache stats [flags]\n"
                "Each server's `stats` as a table grouped into fleet, health, cost, memory and\n"
                "traffic, then its `stats nodes` (one row per cache node: state, instance,\n"
                "bytes placed, invocations, ...). Fields this tool does not know are shown as\n"
                "they come; a plain memcached has no nodes.\n\n"
                "-j, --json                one JSON document per refresh instead\n"
                "-w, --watch[=<s>]         refresh every s seconds (default: 2) until Ctrl-C,\n"
                "                          with per-second rates of the counters\n"
                "-n, --count=<n>           with --watch: stop after n refreshes\n"
                "-a, --all                 also memcached's internal fields (slabs, LRU, ...)\n");
        break;
    case C_BENCH:
        fprintf(out,
                "usage: fncache bench [flags] [workload parameters]\n"
                "A closed-loop load generator. Each connection is one thread with one request\n"
                "in flight (libmemcached calls block), so requests in flight = --connections.\n"
                "Keys are <key-prefix><0..keys-1>; each operation is a GET or a SET by --ratio.\n"
                "A SET writes a value derived from its key and a per-key version; a GET checks\n"
                "every byte it receives against that derivation, so corruption is counted (and\n"
                "makes the exit status 5). Latency percentiles come from a log-linear\n"
                "histogram (HdrHistogram-style, under 1%% error, bounded memory).\n"
                "MB = 2^20 bytes; sizes take k/m/g suffixes (powers of 1024).\n\n"
                "Workload parameters, as flags or as `name = value` lines of a --workload file\n"
                "(flags win):\n");
        cl_workload_help(out);
        fprintf(out,
                "    --no-prefill, --no-verify  the same as =no\n\n"
                "--workload=<file>         read workload parameters from file first\n"
                "-j, --json                the result as JSON on standard output\n"
                "    --csv                 the result as CSV: one row per operation and a total\n\n"
                "A trace (--trace) is a CSV of timestamp,op,key,size: seconds from any origin,\n"
                "get|set|delete, the key, a SET's size. It is replayed at its own pace (scaled by\n"
                "--speed; 0 = as fast as possible), every op of a key on the same connection, in\n"
                "order; there is no prefill or warm-up, and it runs to its end unless a\n"
                "--duration or --ops is given.\n");
        break;
    default: usage_main(out); return;
    }
    fprintf(out, "\n%s\n%s", common_flags, exit_codes);
}

/* ---- flags -------------------------------------------------------------- */

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fncache: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see fncache --help)\n");
    va_end(ap);
    return EXIT_USAGE;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return errno || *end ? -1 : 0;
}

static int parse_secs(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return errno || end == s || *end || !(*out > 0) || *out > 1e6 ? -1 : 0;
}

enum flag_id {
    F_SERVER,
    F_BINARY,
    F_TIMEOUT,
    F_QUIET,
    F_HELP,
    F_EXPIRE,
    F_FLAGS,
    F_JSON,
    F_WATCH,
    F_COUNT,
    F_ALL,
    F_CSV,
    F_WORKLOAD
};

/* The flags of every command (bench's workload parameters come from
 * client/workload.h). */
static const struct flag {
    const char *name;
    char short_name;
    int takes_value; /* 0 no, 1 required, 2 optional (a number) */
    enum flag_id id;
} flags[] = {
    {"server", 's', 1, F_SERVER},  {"binary", 'b', 0, F_BINARY}, {"timeout", 't', 1, F_TIMEOUT},
    {"quiet", 'q', 0, F_QUIET},    {"help", 'h', 0, F_HELP},     {"expire", 'e', 1, F_EXPIRE},
    {"flags", 'f', 1, F_FLAGS},    {"json", 'j', 0, F_JSON},     {"watch", 'w', 2, F_WATCH},
    {"count", 'n', 1, F_COUNT},    {"all", 'a', 0, F_ALL},       {"csv", 0, 0, F_CSV},
    {"workload", 0, 1, F_WORKLOAD}};

static const struct flag *find_flag(const char *name, char short_name)
{
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (name ? strcmp(flags[i].name, name) == 0 : flags[i].short_name == short_name)
            return &flags[i];
    return NULL;
}

/* "--name[=value]": the name into buf, *v the value or NULL. -1 when the
 * name does not fit. */
static int long_flag(const char *a, char *name, size_t cap, const char **v)
{
    const char *eq = strchr(a, '=');
    size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    *v = eq ? eq + 1 : NULL;
    if (n >= cap) return -1;
    memcpy(name, a + 2, n);
    name[n] = 0;
    return 0;
}

/* Is --name a yes/no workload parameter, or --no-name its negation? */
static int workload_switch(const char *name)
{
    return cl_workload_is_bool(name) ||
           (strncmp(name, "no-", 3) == 0 && cl_workload_is_bool(name + 3));
}

static int apply_flag(struct cli *c, const struct flag *f, const char *v)
{
    char err[256];
    uint64_t u;
    double d;
    switch (f->id) {
    case F_SERVER:
        if (cl_servers_add(&c->bench.conn, v, err, sizeof err)) return bad_usage("%s", err);
        return 0;
    case F_BINARY: c->bench.conn.binary = 1; return 0;
    case F_TIMEOUT:
        if (parse_secs(v, &d) || d < 0.001) return bad_usage("bad --timeout \"%s\" (at least 1 ms)", v);
        c->bench.conn.timeout_ms = (unsigned)(d * 1000);
        return 0;
    case F_QUIET: c->quiet = 1; return 0;
    case F_HELP: c->help = 1; return 0;
    case F_EXPIRE:
        if (parse_u64(v, &u) || u > INT32_MAX) return bad_usage("bad --expire \"%s\"", v);
        c->xfer.expire = (time_t)u;
        return 0;
    case F_FLAGS:
        if (parse_u64(v, &u) || u > UINT32_MAX) return bad_usage("bad --flags \"%s\"", v);
        c->xfer.flags = (uint32_t)u;
        return 0;
    case F_JSON: c->json = 1; return 0;
    case F_WATCH:
        c->watch = 2;
        if (v != NULL && parse_secs(v, &c->watch)) return bad_usage("bad --watch \"%s\"", v);
        return 0;
    case F_COUNT:
        if (parse_u64(v, &c->count) || c->count == 0) return bad_usage("bad --count \"%s\"", v);
        return 0;
    case F_ALL: c->all = 1; return 0;
    case F_CSV: c->csv = 1; return 0;
    case F_WORKLOAD: c->workload = v; return 0;
    }
    return EXIT_USAGE;
}

static int positional(struct cli *c, const char *a)
{
    if (c->cmd == C_NONE) {
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            if (strcmp(commands[i].name, a) == 0) {
                c->cmd = commands[i].cmd;
                return 0;
            }
        return bad_usage("unknown command \"%s\"", a);
    }
    if (c->npos == MAX_POSITIONAL) return bad_usage("unexpected argument \"%s\"", a);
    c->pos[c->npos++] = a;
    return 0;
}

/* Workload parameters of bench, after the file: --name=value, --name value,
 * --name / --no-name for yes/no ones. */
static int workload_flags(struct cli *c, int argc, char **argv)
{
    char err[256];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) break;
        if (strncmp(a, "--", 2) != 0 || !argv[i][2]) continue;
        char name[64];
        const char *v;
        if (long_flag(a, name, sizeof name, &v) != 0) return bad_usage("unknown flag \"%s\"", a);
        const struct flag *f = find_flag(name, 0);
        if (f != NULL) {
            i += f->takes_value == 1 && v == NULL; /* its value is not a parameter */
            continue;
        }
        if (v == NULL && workload_switch(name)) {
            int negated = !cl_workload_is_bool(name);
            if (negated) memmove(name, name + 3, strlen(name + 3) + 1);
            v = negated ? "no" : "yes";
        } else if (v == NULL) {
            if (i + 1 >= argc) return bad_usage("%s wants a value", a);
            v = argv[++i];
        }
        if (cl_workload_set(&c->bench.w, name, v, err, sizeof err) != 0)
            return bad_usage("%s", err);
    }
    return 0;
}

/* A flag's optional value may be the next argument when that is a number
 * (--watch 0.5), never a command or a file name. */
static int optional_value(int argc, char **argv, int i)
{
    double d;
    return i + 1 < argc && parse_secs(argv[i + 1], &d) == 0;
}

static int parse(struct cli *c, int argc, char **argv)
{
    int rc, only_positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_positional || a[0] != '-' || a[1] == 0) { /* "-" is a file name */
            if ((rc = positional(c, a)) != 0) return rc;
        } else if (strcmp(a, "--") == 0) {
            only_positional = 1;
        } else if (a[1] == '-') {
            char name[64];
            const char *v;
            if (long_flag(a, name, sizeof name, &v) != 0)
                return bad_usage("unknown flag \"%s\"", a);
            const struct flag *f = find_flag(name, 0);
            if (f == NULL) {
                if (c->cmd == C_BENCH) { /* a workload parameter: read by workload_flags */
                    i += v == NULL && !workload_switch(name);
                    continue;
                }
                return bad_usage("unknown flag \"%s\"", a);
            }
            if (f->takes_value == 0 && v != NULL) return bad_usage("%s takes no value", a);
            if (f->takes_value == 1 && v == NULL) {
                if (i + 1 >= argc) return bad_usage("%s wants a value", a);
                v = argv[++i];
            }
            if (f->takes_value == 2 && v == NULL && optional_value(argc, argv, i)) v = argv[++i];
            if ((rc = apply_flag(c, f, v)) != 0) return rc;
        } else {
            for (const char *p = a + 1; *p; p++) { /* -qb, -s host:port, -shost:port */
                const struct flag *f = find_flag(NULL, *p);
                char one[3] = {'-', *p, 0};
                if (f == NULL) return bad_usage("unknown flag \"%s\"", one);
                const char *v = NULL;
                if (f->takes_value == 1) {
                    if (p[1])
                        v = p + 1;
                    else if (i + 1 < argc)
                        v = argv[++i];
                    else
                        return bad_usage("%s wants a value", one);
                } else if (f->takes_value == 2) {
                    if (p[1])
                        v = p + 1;
                    else if (optional_value(argc, argv, i))
                        v = argv[++i];
                }
                if ((rc = apply_flag(c, f, v)) != 0) return rc;
                if (v != NULL) break;
            }
        }
    }
    return 0;
}

static int valid_key(const char *k) { return cl_key_valid(k, strlen(k)); }

/* ---- stats -------------------------------------------------------------- */

static memcached_return_t on_stat(const memcached_instance_st *in, const char *k, size_t kl,
                                  const char *v, size_t vl, void *ctx)
{
    (void)in;
    return cl_stats_add(ctx, k, kl, v, vl) == 0 ? MEMCACHED_SUCCESS
                                                : MEMCACHED_MEMORY_ALLOCATION_FAILURE;
}

static int on_node(void *ctx, const char *k, size_t kl, const char *v, size_t vl)
{
    return cl_stats_add_node(ctx, k, kl, v, vl);
}

/* `stats` through libmemcached, then `stats nodes` (see
 * cl_conn_stats_group); a server that does not know it has no nodes. */
static void take_stats(const struct cl_conn_opts *conn, unsigned i, struct cl_stats *s)
{
    memset(s, 0, sizeof *s);
    cl_server_name(&conn->servers[i], s->server, sizeof s->server);
    s->taken_ms = cm_now_ms();
    memcached_st *m = cl_conn_open(conn, (int)i);
    memcached_return_t rc =
        m ? memcached_stat_execute(m, NULL, on_stat, s) : MEMCACHED_MEMORY_ALLOCATION_FAILURE;
    if (rc != MEMCACHED_SUCCESS) {
        char msg[400];
        snprintf(s->error, sizeof s->error, "%s",
                 m ? cl_conn_error(m, "", rc, msg, sizeof msg) : "out of memory");
    }
    if (m) memcached_free(m);
    if (rc != MEMCACHED_SUCCESS) return;
    struct cl_stats nodes = {0};
    if (cl_conn_stats_group(&conn->servers[i], "nodes", conn->timeout_ms, on_node, &nodes, s->error,
                            sizeof s->error) == 0) {
        s->nodes = nodes.nodes;
        s->nnodes = nodes.nnodes;
        s->nodes_cap = nodes.nodes_cap;
        s->has_nodes = 1;
    } else {
        cl_stats_free(&nodes);
    }
}

static int cmd_stats(struct cli *c)
{
    const struct cl_conn_opts *conn = &c->bench.conn;
    struct cl_stats *now = calloc(conn->nservers, sizeof *now),
                    *prev = calloc(conn->nservers, sizeof *prev);
    if (now == NULL || prev == NULL) {
        fprintf(stderr, "fncache: out of memory\n");
        return 3;
    }
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int tty = isatty(STDOUT_FILENO), failed = 0;
    for (uint64_t round = 1;; round++) {
        failed = 0;
        for (unsigned i = 0; i < conn->nservers; i++) {
            take_stats(conn, i, &now[i]);
            failed |= now[i].error[0] != 0;
            if (now[i].error[0] && round == 1)
                fprintf(stderr, "fncache: stats: %s\n", now[i].error);
        }
        if (c->json) {
            struct cl_json j;
            cl_json_init(&j, stdout);
            cl_json_object(&j, NULL);
            cl_json_array(&j, "servers");
            for (unsigned i = 0; i < conn->nservers; i++)
                cl_stats_json(&j, &now[i]);
            cl_json_end(&j);
            cl_json_end(&j);
        } else {
            if (c->watch > 0 && tty)
                printf("\033[H\033[J");
            else if (round > 1)
                printf("\n");
            for (unsigned i = 0; i < conn->nservers; i++)
                cl_stats_print(stdout, &now[i], round > 1 ? &prev[i] : NULL, c->all);
        }
        fflush(stdout);
        for (unsigned i = 0; i < conn->nservers; i++) {
            cl_stats_free(&prev[i]);
            prev[i] = now[i];
        }
        if (c->watch <= 0 || (c->count && round >= c->count)) break;
        struct timespec ts = {(time_t)c->watch,
                              (long)((c->watch - (double)(time_t)c->watch) * 1e9)};
        /* blocked only while waiting: a signal during a slow server still stops us at once */
        pthread_sigmask(SIG_BLOCK, &set, &old);
        int sig = sigtimedwait(&set, NULL, &ts);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (sig > 0) break;
    }
    for (unsigned i = 0; i < conn->nservers; i++)
        cl_stats_free(&prev[i]);
    free(now);
    free(prev);
    return failed ? 3 : 0;
}

/* ---- bench -------------------------------------------------------------- */

static int cmd_bench(struct cli *c, int argc, char **argv)
{
    char err[512];
    struct cl_bench_opts *o = &c->bench;
    if (c->workload != NULL && cl_workload_load(&o->w, c->workload, err, sizeof err) != 0)
        return bad_usage("%s", err);
    int rc = workload_flags(c, argc, argv);
    if (rc != 0) return rc;
    if (cl_workload_check(&o->w, err, sizeof err) != 0) return bad_usage("%s", err);
    if (c->json && c->csv) return bad_usage("%s", "--json and --csv: choose one");
    o->progress = !c->quiet && isatty(STDERR_FILENO);
    struct cl_bench_result *r = malloc(sizeof *r);
    if (r == NULL) {
        fprintf(stderr, "fncache: out of memory\n");
        return 3;
    }
    if ((rc = cl_bench_run(o, r, err, sizeof err)) != 0) {
        fprintf(stderr, "fncache: bench: %s\n", err);
        free(r);
        return rc == -ENOMEM || rc == -EAGAIN ? 3 : 4;
    }
    if (c->json)
        cl_bench_json(stdout, o, r);
    else if (c->csv)
        cl_bench_csv(stdout, r);
    else
        cl_bench_print(stdout, o, r);
    fflush(stdout);
    if (r->first_error[0] && (c->json || c->csv))
        fprintf(stderr, "fncache: bench: first error: %s\n", r->first_error);
    rc = cl_bench_exit_code(r);
    free(r);
    return rc;
}

/* ---- main --------------------------------------------------------------- */

int main(int argc, char **argv)
{
    struct cli c = {0};
    char err[256];
    c.bench.conn.timeout_ms = 60000;
    cl_workload_defaults(&c.bench.w);
    signal(SIGPIPE, SIG_IGN);
    int rc = parse(&c, argc, argv);
    if (rc != 0) return rc;
    if (c.cmd == C_HELP || (c.cmd == C_NONE && c.help)) {
        enum command which = C_NONE;
        for (size_t i = 0; c.npos == 1 && i < sizeof commands / sizeof commands[0]; i++)
            if (strcmp(commands[i].name, c.pos[0]) == 0) which = commands[i].cmd;
        if (c.npos == 1 && which == C_NONE) return bad_usage("no command \"%s\"", c.pos[0]);
        usage_cmd(stdout, which);
        return 0;
    }
    if (c.cmd == C_NONE) {
        usage_main(stderr);
        return EXIT_USAGE;
    }
    if (c.help) {
        usage_cmd(stdout, c.cmd);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (commands[i].cmd == c.cmd &&
            (c.npos < commands[i].min_args || c.npos > commands[i].max_args))
            return bad_usage("wrong number of arguments to %s", commands[i].name);
    if ((c.cmd == C_PUT || c.cmd == C_GET || c.cmd == C_RM) && !valid_key(c.pos[0]))
        return bad_usage("bad key \"%s\" (1..250 bytes, no spaces or control characters)",
                         c.pos[0]);
    if (c.bench.conn.nservers == 0) {
        const char *env = getenv("FNCACHE_SERVERS");
        if (cl_servers_add(&c.bench.conn, env && *env ? env : "127.0.0.1:11211", err, sizeof err) !=
            0)
            return bad_usage("FNCACHE_SERVERS: %s", err);
    }
    if (c.cmd == C_STATS) return cmd_stats(&c);
    if (c.cmd == C_BENCH) return cmd_bench(&c, argc, argv);

    memcached_st *m = cl_conn_open(&c.bench.conn, -1);
    if (m == NULL) {
        fprintf(stderr, "fncache: out of memory\n");
        return 3;
    }
    c.xfer.progress = !c.quiet && isatty(STDERR_FILENO);
    if (c.cmd == C_PUT)
        rc = cl_xfer_put(m, c.pos[0], c.pos[1], &c.xfer);
    else if (c.cmd == C_GET)
        rc = cl_xfer_get(m, c.pos[0], c.npos > 1 ? c.pos[1] : "-", &c.xfer);
    else
        rc = cl_xfer_rm(m, c.pos[0]);
    memcached_free(m);
    return rc;
}
