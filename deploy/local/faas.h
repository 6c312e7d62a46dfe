/* deploy/local/faas.h — fncache-faas, a local function platform speaking the
 * AWS Lambda Invoke API (to callers) and Runtime API (to instances).
 *
 * Two layers:
 *  - pure pieces (faas_conf.c): function config parsing, durations, billing
 *    arithmetic, the seeded reclamation schedule, base64. No I/O, no globals;
 *    unit-tested in tests/unit/test_faas.c.
 *  - the platform (faas_platform.c over faas_httpd.c): one libuv loop that
 *    also drives every libmicrohttpd daemon (see docs/faas.md).
 *
 * Ownership: every struct handed out by a _parse or _load function belongs to
 * the caller and is released with the matching *_free. Strings inside a
 * struct faas_fn_conf are owned by it. faas_fn_conf_match returns a borrowed
 * pointer into the list. faas_base64 writes into the caller's buffer.
 */
#ifndef FNCACHE_DEPLOY_LOCAL_FAAS_H
#define FNCACHE_DEPLOY_LOCAL_FAAS_H

#include <stddef.h>
#include <stdint.h>

/* Error codes (negative return values) with a name table. */
#define FAAS_ERRORS(X)                                                                             \
    X(FAAS_OK, 0, "ok")                                                                            \
    X(FAAS_EINVAL, -1, "invalid argument")                                                         \
    X(FAAS_ENOMEM, -2, "out of memory")                                                            \
    X(FAAS_EIO, -3, "i/o error")                                                                   \
    X(FAAS_ENOENT, -4, "not found")                                                                \
    X(FAAS_EHTTP, -5, "http server error")                                                         \
    X(FAAS_ESPAWN, -6, "cannot start the instance")

enum faas_err {
#define FAAS_ENUM(name, val, text) name = val,
    FAAS_ERRORS(FAAS_ENUM)
#undef FAAS_ENUM
};
const char *faas_strerror(int err);

/* ---- function configuration ------------------------------------------ */

/* One function (or a family of functions sharing a name prefix):
 *   NAME[*] PATH [memory=MB] [timeout=S] [concurrency=N] [handler=H] [env:K=V]...
 * A trailing '*' on NAME makes it a prefix: "node-*" serves node-0, node-1 ...
 * each as its own function with its own instances. */
struct faas_fn_conf {
    char *name;           /* without the trailing '*' */
    int prefix;           /* 1: name is a prefix */
    char *path;           /* the executable (custom runtime "bootstrap") */
    unsigned memory_mb;   /* 128 .. 10240, default 128 */
    unsigned timeout_s;   /* 1 .. 900, default 3 (as Lambda) */
    unsigned concurrency; /* per-function cap on live instances; 0 = none */
    char *handler;        /* _HANDLER, default "handler" */
    char **env;           /* "K=V" strings, nenv of them */
    size_t nenv;
    struct faas_fn_conf *next; /* list order = match order */
};

/* Parses one spec line (flag value or config file line) into a new conf.
 * On error returns FAAS_EINVAL and writes a message to err. */
int faas_fn_conf_parse(const char *spec, struct faas_fn_conf **out, char *err, size_t errlen);
/* Reads a config file: one spec per line, '#' comments and blank lines
 * skipped. Appends to *list. */
int faas_fn_conf_load(const char *file, struct faas_fn_conf **list, char *err, size_t errlen);
void faas_fn_conf_append(struct faas_fn_conf **list, struct faas_fn_conf *c);
/* Exact names win over prefixes; among prefixes the longest wins. */
const struct faas_fn_conf *faas_fn_conf_match(const struct faas_fn_conf *list, const char *name);
void faas_fn_conf_free(struct faas_fn_conf *list); /* frees the whole list */

/* "250ms", "3s", "10m", "1h", bare number = default_unit_ms multiples. */
int faas_parse_duration_ms(const char *s, uint64_t default_unit_ms, uint64_t *out);

/* ---- billing ------------------------------------------------------------ */

struct faas_prices {
    double per_request;      /* USD per request, default 0.20 / 1e6 */
    double per_gb_second;    /* USD per GB-second, default 0.0000166667 */
    unsigned granularity_ms; /* billed duration rounded up to this, default 1 */
};

/* Billed milliseconds: duration rounded up to the granularity, at least one
 * granule (AWS bills a minimum of 1 ms). */
uint64_t faas_billed_ms(uint64_t duration_ns, unsigned granularity_ms);
/* Sums kept in integers so totals are exact; MB-ms = billed_ms * memory_mb. */
struct faas_bill_totals {
    uint64_t invocations;
    uint64_t cold_starts;
    uint64_t errors;
    uint64_t throttles;
    uint64_t billed_ms;
    uint64_t mb_ms;
};
void faas_bill_add(struct faas_bill_totals *t, uint64_t billed_ms, unsigned memory_mb, int cold,
                   int error);
double faas_gb_seconds(uint64_t mb_ms); /* mb_ms / 1024 / 1000 */
double faas_request_cost(const struct faas_prices *p, uint64_t invocations);
double faas_compute_cost(const struct faas_prices *p, uint64_t mb_ms);

/* ---- reclamation schedule (seeded) ------------------------------------ */

enum faas_reclaim_mode { FAAS_RECLAIM_KILL = 0, FAAS_RECLAIM_VANISH = 1 };
int faas_reclaim_mode_parse(const char *s, enum faas_reclaim_mode *out);
const char *faas_reclaim_mode_name(enum faas_reclaim_mode m);

struct faas_rng {
    uint64_t s;
};
void faas_rng_seed(struct faas_rng *r, uint64_t seed);
uint64_t faas_rng_next(struct faas_rng *r); /* splitmix64 */
double faas_rng_unit(struct faas_rng *r);   /* uniform in [0, 1) */
/* Lifetime of a new instance: max_ms shortened by up to jitter (0..1) of it,
 * uniformly: max_ms * (1 - jitter * u). 0 = unlimited (returns 0). */
uint64_t faas_lifetime_ms(struct faas_rng *r, uint64_t max_ms, double jitter);
/* Gap to the next random reclamation of a Poisson process at rate_per_hour;
 * UINT64_MAX when the rate is 0. At least 1 ms. */
uint64_t faas_random_gap_ms(struct faas_rng *r, double rate_per_hour);

/* ---- small helpers ------------------------------------------------------ */

/* Standard base64 with padding; out must hold 4*((n+2)/3)+1 bytes. Returns
 * the length written (without the NUL). */
size_t faas_base64(const void *in, size_t n, char *out);
/* Decodes standard base64 (padding optional, no whitespace) into out, which
 * must hold 3*(n/4)+3 bytes. Returns the length or FAAS_EINVAL. */
long faas_base64_decode(const char *in, size_t n, unsigned char *out);
/* The function name inside an Invoke path segment: accepts NAME,
 * NAME:QUALIFIER, ACCOUNT:function:NAME[:Q] and full ARNs. Writes at most
 * outlen-1 bytes; returns 0 or FAAS_EINVAL for an empty or invalid name. */
int faas_function_name(const char *segment, char *out, size_t outlen);

#endif
