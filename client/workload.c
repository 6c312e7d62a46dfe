/* client/workload.c — parameters of a bench run, from flags or a file. */
#include "client/workload.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cl_size_value(const char *s, uint64_t *out)
{
    char *end;
    if (!isdigit((unsigned char)*s)) return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno) return -EINVAL;
    unsigned shift = 0;
    switch (*end) {
    case 'k':
    case 'K':
        shift = 10;
        end++;
        break;
    case 'm':
    case 'M':
        shift = 20;
        end++;
        break;
    case 'g':
    case 'G':
        shift = 30;
        end++;
        break;
    }
    if (*end != 0 || v > (CL_VALUE_MAX >> shift)) return -EINVAL;
    *out = (uint64_t)v << shift;
    return 0;
}

/* "A-B" into two sizes, A <= B. */
static int parse_range(const char *s, uint64_t *a, uint64_t *b)
{
    char tmp[64];
    const char *dash = strchr(s, '-');
    if (dash == NULL || (size_t)(dash - s) >= sizeof tmp) return -EINVAL;
    memcpy(tmp, s, (size_t)(dash - s));
    tmp[dash - s] = 0;
    if (cl_size_value(tmp, a) || cl_size_value(dash + 1, b) || *a > *b) return -EINVAL;
    return 0;
}

static int parse_mix(struct cl_size_dist *d, const char *s)
{
    char buf[128];
    if (strlen(s) >= sizeof buf) return -EINVAL;
    strcpy(buf, s);
    double total = 0;
    char *save = NULL;
    d->n = 0;
    for (char *item = strtok_r(buf, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        char *at = strchr(item, '@');
        double w = 1;
        if (at != NULL) {
            *at = 0;
            char *end;
            w = strtod(at + 1, &end);
            if (*end || !(w > 0) || !isfinite(w)) return -EINVAL;
        }
        if (d->n == CL_SIZE_MIX_MAX || cl_size_value(item, &d->sizes[d->n])) return -EINVAL;
        total += w;
        d->cum[d->n++] = total;
    }
    if (d->n == 0) return -EINVAL;
    d->min = UINT64_MAX;
    d->max = 0;
    for (unsigned i = 0; i < d->n; i++) {
        d->cum[i] /= total;
        if (d->sizes[i] < d->min) d->min = d->sizes[i];
        if (d->sizes[i] > d->max) d->max = d->sizes[i];
    }
    d->cum[d->n - 1] = 1;
    return 0;
}

int cl_size_parse(struct cl_size_dist *d, const char *spec)
{
    struct cl_size_dist t = {0};
    int rc;
    if (strlen(spec) >= sizeof t.spec) return -EINVAL;
    if (strcmp(spec, "large") == 0) {
        t.kind = CL_SIZE_LOG;
        t.min = 1 << 20;
        t.max = 100 << 20;
        rc = 0;
    } else if (strncmp(spec, "log:", 4) == 0) {
        t.kind = CL_SIZE_LOG;
        rc = parse_range(spec + 4, &t.min, &t.max);
        if (rc == 0 && t.min == 0) rc = -EINVAL;
    } else if (strncmp(spec, "mix:", 4) == 0) {
        t.kind = CL_SIZE_MIX;
        rc = parse_mix(&t, spec + 4);
    } else if (strchr(spec, '-') != NULL) {
        t.kind = CL_SIZE_UNIFORM;
        rc = parse_range(spec, &t.min, &t.max);
    } else {
        t.kind = CL_SIZE_FIXED;
        rc = cl_size_value(spec, &t.min);
        t.max = t.min;
    }
    if (rc != 0) return rc;
    strcpy(t.spec, spec);
    *d = t;
    return 0;
}

uint64_t cl_size_sample(const struct cl_size_dist *d, struct cl_rng *r)
{
    switch (d->kind) {
    case CL_SIZE_FIXED: return d->min;
    case CL_SIZE_UNIFORM: return d->min + cl_rng_below(r, d->max - d->min + 1);
    case CL_SIZE_LOG: {
        double lo = log((double)d->min), hi = log((double)d->max + 1);
        uint64_t v = (uint64_t)exp(lo + cl_rng_unit(r) * (hi - lo));
        return v < d->min ? d->min : v > d->max ? d->max : v;
    }
    case CL_SIZE_MIX: {
        double u = cl_rng_unit(r);
        for (unsigned i = 0; i < d->n; i++)
            if (u < d->cum[i]) return d->sizes[i];
        return d->sizes[d->n - 1];
    }
    }
    return d->min;
}

/* ---- parameters --------------------------------------------------------- */

enum kind { SIZE, U64, F64, RATIO, BOOL, STR };

struct param {
    const char *name, *def, *help;
    enum kind kind;
    size_t offset, cap;
};

#define CL_PARAM(n, field, k, d, h)                                                                \
    {#n, d, h, k, offsetof(struct cl_workload, field), sizeof(((struct cl_workload *)0)->field)},
static const struct param params[] = {CL_WORKLOAD_PARAMS(CL_PARAM)};
#undef CL_PARAM
#define NPARAMS (sizeof params / sizeof params[0])

static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static const struct param *find(const char *name)
{
    for (size_t i = 0; i < NPARAMS; i++) {
        const char *a = params[i].name, *b = name;
        while (*a && (*a == *b || (*a == '_' && *b == '-')))
            a++, b++;
        if (*a == 0 && *b == 0) return &params[i];
    }
    return NULL;
}

int cl_workload_is_bool(const char *name)
{
    const struct param *p = find(name);
    return p != NULL && p->kind == BOOL;
}

static int set_param(struct cl_workload *w, const struct param *p, const char *v, char *err,
                     size_t n)
{
    void *at = (char *)w + p->offset;
    char *end;
    switch (p->kind) {
    case SIZE:
        if (cl_size_parse(at, v))
            return fail(err, n,
                        "bad size \"%s\" (want N, MIN-MAX, log:MIN-MAX, mix:N@W,..., large)", v);
        return 0;
    case U64:
        if (!isdigit((unsigned char)*v))
            return fail(err, n, "%s wants a whole number, not \"%s\"", p->name, v);
        errno = 0;
        *(uint64_t *)at = strtoull(v, &end, 10);
        if (errno || *end) return fail(err, n, "%s wants a whole number, not \"%s\"", p->name, v);
        return 0;
    case F64:
        errno = 0;
        *(double *)at = strtod(v, &end);
        if (errno || end == v || *end || !(*(double *)at >= 0) || !isfinite(*(double *)at))
            return fail(err, n, "%s wants a number >= 0, not \"%s\"", p->name, v);
        return 0;
    case RATIO: {
        double g, s;
        int used = 0;
        if (sscanf(v, "%lf:%lf%n", &g, &s, &used) != 2 || v[used] || !isfinite(g) || !isfinite(s) || g < 0 ||
            s < 0 || g + s <= 0)
            return fail(err, n, "ratio wants GETS:SETS such as 9:1, not \"%s\"", v);
        *(double *)at = g / (g + s);
        return 0;
    }
    case BOOL:
        if (!strcmp(v, "yes") || !strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "on"))
            *(int *)at = 1;
        else if (!strcmp(v, "no") || !strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "off"))
            *(int *)at = 0;
        else
            return fail(err, n, "%s wants yes or no, not \"%s\"", p->name, v);
        return 0;
    case STR:
        if (strlen(v) >= p->cap) return fail(err, n, "%s is too long", p->name);
        strcpy(at, v);
        return 0;
    }
    return -EINVAL;
}

void cl_workload_defaults(struct cl_workload *w)
{
    char err[64];
    *w = (struct cl_workload){0};
    for (size_t i = 0; i < NPARAMS; i++)
        set_param(w, &params[i], params[i].def, err, sizeof err);
}

int cl_workload_set(struct cl_workload *w, const char *name, const char *value, char *err,
                    size_t errlen)
{
    const struct param *p = find(name);
    if (p == NULL) {
        snprintf(err, errlen, "unknown workload parameter \"%s\"", name);
        return -ENOENT;
    }
    int rc = set_param(w, p, value, err, errlen);
    if (rc == 0 && p->offset == offsetof(struct cl_workload, duration_s)) w->duration_given = 1;
    return rc;
}

char *cl_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = 0;
    return s;
}

int cl_workload_load(struct cl_workload *w, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    char line[2048], msg[256];
    int rc = 0;
    for (unsigned no = 1; rc == 0 && fgets(line, sizeof line, f) != NULL; no++) {
        char *hash = strchr(line, '#');
        if (hash != NULL) *hash = 0;
        char *s = cl_trim(line);
        if (*s == 0) continue;
        char *eq = strchr(s, '=');
        if (eq == NULL) {
            rc = fail(err, errlen, "%s:%u: want \"name = value\"", path, no);
            break;
        }
        *eq = 0;
        if ((rc = cl_workload_set(w, cl_trim(s), cl_trim(eq + 1), msg, sizeof msg)) != 0)
            snprintf(err, errlen, "%s:%u: %s", path, no, msg);
    }
    fclose(f);
    return rc;
}

int cl_workload_check(const struct cl_workload *w, char *err, size_t errlen)
{
    if (w->keys < 1 || w->keys > ((uint64_t)1 << 28))
        return fail(err, errlen, "keys must be between 1 and %llu", 1ull << 28);
    if (w->connections < 1 || w->connections > 1024)
        return fail(err, errlen, "connections must be 1..1024");
    if (w->trace[0] == 0 && w->ops == 0 && !(w->duration_s > 0))
        return fail(err, errlen, "give a duration > 0 or a number of ops");
    if (w->duration_s > 1e6 || w->warmup_s > 1e6)
        return fail(err, errlen, "duration and warmup are at most 1000000 seconds");
    if (w->speed != 0 && w->speed < 1e-6) return fail(err, errlen, "speed is 0 (as fast as possible) or >= 0.000001");
    if (w->key_prefix[0] && !cl_key_valid(w->key_prefix, strlen(w->key_prefix))) /* on the wire in every key */
        return fail(err, errlen, "key-prefix may not hold spaces or control characters");
    /* every connection keeps a buffer for the largest value it sends and one
     * for the largest it reads: refuse what memory cannot hold, not OOM later */
    uint64_t largest = w->size.max;
    for (unsigned i = 0; i < w->size.n; i++)
        if (w->size.sizes[i] > largest) largest = w->size.sizes[i];
    double need = 2.0 * (double)largest * (double)w->connections;
    double ram = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    if (ram > 0 && need > ram / 2)
        return fail(err, errlen, "%llu connections x values up to %llu bytes would need %.1f GB, over half of memory",
                    (unsigned long long)w->connections, (unsigned long long)largest, need / 1e9);
    if (w->zipf > 0) {
        struct cl_zipf z;
        if (cl_zipf_init(&z, w->keys, w->zipf)) return fail(err, errlen, "bad zipf exponent");
    }
    return 0;
}

void cl_workload_help(FILE *out)
{
    static const char *arg[] = {[SIZE] = "SPEC", [U64] = "N",       [F64] = "X",
                                [RATIO] = "G:S", [BOOL] = "yes|no", [STR] = "TEXT"};
    for (size_t i = 0; i < NPARAMS; i++) {
        char flag[64];
        int n = snprintf(flag, sizeof flag, "    --%s=%s", params[i].name, arg[params[i].kind]);
        for (char *c = flag; *c; c++)
            if (*c == '_') *c = '-';
        fprintf(out, "%-26s%s%s", flag, n > 25 ? "\n                          " : "",
                params[i].help);
        fprintf(out, params[i].def[0] ? " (default: %s)\n" : "%s\n", params[i].def);
    }
}
