/* client/workload.h — what `fncache bench` runs: value sizes, key
 * popularity, read/write mix, concurrency, length (prefix cl_size_,
 * cl_workload_).
 *
 * One list of parameters (CL_WORKLOAD_PARAMS) feeds the flag parser, the
 * workload-file parser, `fncache bench --help` and the JSON echo of the
 * configuration: a parameter is spelled the same as a flag (--keys=1000 or
 * --keys 1000) and as a file line (keys = 1000). The struct owns no memory
 * (strings are copied into fixed arrays).
 */
#ifndef FNCACHE_CLIENT_WORKLOAD_H
#define FNCACHE_CLIENT_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client/keys.h"

#define CL_SIZE_MIX_MAX 16
#define CL_VALUE_MAX ((uint64_t)1 << 31) /* 2 GiB: beyond any server's -I */

enum cl_size_kind { CL_SIZE_FIXED, CL_SIZE_UNIFORM, CL_SIZE_LOG, CL_SIZE_MIX };

/* A value-size distribution. */
struct cl_size_dist {
    enum cl_size_kind kind;
    uint64_t min, max; /* FIXED: min = max; UNIFORM/LOG: the range */
    unsigned n;        /* MIX: n sizes with cumulative weights */
    uint64_t sizes[CL_SIZE_MIX_MAX];
    double cum[CL_SIZE_MIX_MAX]; /* cum[n-1] = 1 */
    char spec[128];              /* as given, for reports */
};

/* Sizes take k/m/g suffixes (powers of 1024). Specs:
 *   N               fixed
 *   MIN-MAX         uniform over [MIN, MAX]
 *   log:MIN-MAX     log-uniform (as many values per factor of 2)
 *   mix:N@W,N@W...  N with relative weight W
 *   large           log:1m-100m, the large-object mix
 * Returns 0 or -EINVAL. */
int cl_size_parse(struct cl_size_dist *d, const char *spec);
uint64_t cl_size_sample(const struct cl_size_dist *d, struct cl_rng *r);
/* "100" or "1k" style; returns out. */
int cl_size_value(const char *s, uint64_t *out);

/*      name         field          kind     default   help */
#define CL_WORKLOAD_PARAMS(X)                                                                      \
    X(size, size, SIZE, "100",                                                                     \
      "value size: N, MIN-MAX, log:MIN-MAX, mix:N@W,..., large (=log:1m-100m)")                    \
    X(keys, keys, U64, "1000", "number of distinct keys")                                          \
    X(zipf, zipf, F64, "0", "key popularity: 0 = uniform, S > 0 = Zipf with exponent S")           \
    X(ratio, get_share, RATIO, "9:1", "GETs to SETs, G:S (1:0 = reads only, 0:1 = writes only)")   \
    X(connections, connections, U64, "4",                                                          \
      "connections, one thread and one request in flight each")                                    \
    X(duration, duration_s, F64, "10", "seconds to measure (after warm-up)")                       \
    X(ops, ops, U64, "0", "operations to measure instead of a duration (0 = use duration)")        \
    X(warmup, warmup_s, F64, "0", "seconds of the same workload run first, not measured")          \
    X(prefill, prefill, BOOL, "yes", "SET every key once before warming up")                       \
    X(verify, verify, BOOL, "yes", "check every byte of every value a GET returns")                \
    X(key_prefix, key_prefix, STR, "fncb:", "keys are <prefix><index>")                            \
    X(expire, expire, U64, "0", "expiry of SETs, seconds (0 = none)")                              \
    X(trace, trace, STR, "", "replay a CSV of timestamp,op,key,size instead (see below)")          \
    X(speed, speed, F64, "1", "trace replay speed factor (0 = as fast as possible)")               \
    X(seed, seed, U64, "1", "random seed (the same seed replays the same keys and sizes)")

struct cl_workload {
    struct cl_size_dist size;
    uint64_t keys;
    double zipf;
    double get_share; /* fraction of operations that are GETs */
    uint64_t connections;
    double duration_s;
    uint64_t ops;
    double warmup_s;
    int prefill, verify;
    char key_prefix[128];
    uint64_t expire;
    char trace[1024];
    double speed;
    uint64_t seed;
    int duration_given; /* a trace runs to its end unless a duration is given */
};

void cl_workload_defaults(struct cl_workload *w);
/* Set one parameter by name ('-' and '_' alike). Returns 0, or -EINVAL with
 * a message in err; -ENOENT when there is no such parameter. */
int cl_workload_set(struct cl_workload *w, const char *name, const char *value, char *err,
                    size_t errlen);
/* Is `name` a yes/no parameter (so --name and --no-name are flags)? */
int cl_workload_is_bool(const char *name);
/* A workload file: "name = value" lines, '#' comments, blank lines.
 * Returns 0, or -errno / -EINVAL with "path:line: ..." in err. */
int cl_workload_load(struct cl_workload *w, const char *path, char *err, size_t errlen);
/* After all parameters are set: check the combination. */
int cl_workload_check(const struct cl_workload *w, char *err, size_t errlen);
/* Blanks cut from both ends of s, in place; returns the first non-blank. */
char *cl_trim(char *s);
/* One "  --name=ARG  help (default: D)" line per parameter. */
void cl_workload_help(FILE *out);

#endif
