/* deploy/local/faas_conf.c — the pure parts of fncache-faas: function config,
 * durations, billing arithmetic, seeded reclamation schedule, base64. */
#include "deploy/local/faas.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *faas_strerror(int err)
{
    switch (err) {
#define FAAS_CASE(name, val, text)                                                                 \
    case val: return text;
        FAAS_ERRORS(FAAS_CASE)
#undef FAAS_CASE
    }
    return "unknown error";
}

static int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < lo || v > hi || s[0] == '-') return FAAS_EINVAL;
    *out = (unsigned)v;
    return 0;
}

int faas_parse_duration_ms(const char *s, uint64_t default_unit_ms, uint64_t *out)
{
    char *end;
    if (s == NULL || !isdigit((unsigned char)s[0])) return FAAS_EINVAL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0) return FAAS_EINVAL;
    double unit;
    if (*end == '\0')
        unit = (double)default_unit_ms;
    else if (strcmp(end, "ms") == 0)
        unit = 1;
    else if (strcmp(end, "s") == 0)
        unit = 1000;
    else if (strcmp(end, "m") == 0)
        unit = 60000;
    else if (strcmp(end, "h") == 0)
        unit = 3600000;
    else
        return FAAS_EINVAL;
    double ms = v * unit;
    if (ms > 1e15) return FAAS_EINVAL;
    *out = (uint64_t)llround(ms);
    return 0;
}

void faas_fn_conf_free(struct faas_fn_conf *list)
{
    while (list != NULL) {
        struct faas_fn_conf *next = list->next;
        free(list->name);
        free(list->path);
        free(list->handler);
        for (size_t i = 0; i < list->nenv; i++)
            free(list->env[i]);
        free(list->env);
        free(list);
        list = next;
    }
}

int faas_fn_conf_parse(const char *spec, struct faas_fn_conf **out, char *err, size_t errlen)
{
    char *copy = strdup(spec);
    struct faas_fn_conf *c = calloc(1, sizeof *c);
    int rc = FAAS_EINVAL;
    if (copy == NULL || c == NULL) {
        rc = FAAS_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    c->memory_mb = 128;
    c->timeout_s = 3;
    int field = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t\r\n", &save); tok != NULL;
         tok = strtok_r(NULL, " \t\r\n", &save), field++) {
        if (field == 0) {
            size_t n = strlen(tok);
            if (tok[n - 1] == '*') {
                c->prefix = 1;
                tok[n - 1] = '\0';
            }
            if (tok[0] == '\0' && !c->prefix) {
                snprintf(err, errlen, "empty function name");
                goto out;
            }
            for (const char *p = tok; *p; p++) {
                if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
                    snprintf(err, errlen, "bad character '%c' in function name '%s'", *p, tok);
                    goto out;
                }
            }
            c->name = strdup(tok);
        } else if (field == 1) {
            c->path = strdup(tok);
        } else if (strncmp(tok, "memory=", 7) == 0) {
            if (parse_uint(tok + 7, 1, 10240, &c->memory_mb)) {
                snprintf(err, errlen, "memory must be 1..10240 MB: '%s'", tok);
                goto out;
            }
        } else if (strncmp(tok, "timeout=", 8) == 0) {
            if (parse_uint(tok + 8, 1, 900, &c->timeout_s)) {
                snprintf(err, errlen, "timeout must be 1..900 s: '%s'", tok);
                goto out;
            }
        } else if (strncmp(tok, "concurrency=", 12) == 0) {
            if (parse_uint(tok + 12, 0, 100000, &c->concurrency)) {
                snprintf(err, errlen, "bad concurrency: '%s'", tok);
                goto out;
            }
        } else if (strncmp(tok, "handler=", 8) == 0) {
            free(c->handler);
            c->handler = strdup(tok + 8);
        } else if (strncmp(tok, "env:", 4) == 0) {
            const char *kv = tok + 4;
            const char *eq = strchr(kv, '=');
            if (eq == NULL || eq == kv) {
                snprintf(err, errlen, "env needs env:KEY=VALUE: '%s'", tok);
                goto out;
            }
            char **env = realloc(c->env, (c->nenv + 1) * sizeof *env);
            if (env == NULL) goto out;
            c->env = env;
            c->env[c->nenv++] = strdup(kv);
        } else {
            snprintf(err, errlen, "unknown function option '%s'", tok);
            goto out;
        }
    }
    if (field < 2) {
        snprintf(err, errlen, "need 'NAME PATH [options]', got '%s'", spec);
        goto out;
    }
    if (c->handler == NULL) c->handler = strdup("handler");
    *out = c;
    c = NULL;
    rc = 0;
out:
    faas_fn_conf_free(c);
    free(copy);
    return rc;
}

void faas_fn_conf_append(struct faas_fn_conf **list, struct faas_fn_conf *c)
{
    while (*list != NULL)
        list = &(*list)->next;
    *list = c;
}

int faas_fn_conf_load(const char *file, struct faas_fn_conf **list, char *err, size_t errlen)
{
    FILE *f = fopen(file, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return FAAS_EIO;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '#' || *p == '\0') continue;
        struct faas_fn_conf *c;
        char msg[256];
        rc = faas_fn_conf_parse(p, &c, msg, sizeof msg);
        if (rc) {
            snprintf(err, errlen, "%s:%d: %s", file, lineno, msg);
            break;
        }
        faas_fn_conf_append(list, c);
    }
    fclose(f);
    return rc;
}

const struct faas_fn_conf *faas_fn_conf_match(const struct faas_fn_conf *list, const char *name)
{
    const struct faas_fn_conf *best = NULL;
    size_t best_len = 0;
    for (const struct faas_fn_conf *c = list; c != NULL; c = c->next) {
        if (!c->prefix) {
            if (strcmp(c->name, name) == 0) return c;
            continue;
        }
        size_t n = strlen(c->name);
        if (strncmp(c->name, name, n) == 0 && name[n] != '\0' && (best == NULL || n > best_len)) {
            best = c;
            best_len = n;
        }
    }
    return best;
}

/* ---- billing ---- */

uint64_t faas_billed_ms(uint64_t duration_ns, unsigned granularity_ms)
{
    if (granularity_ms == 0) granularity_ms = 1;
    uint64_t g_ns = (uint64_t)granularity_ms * 1000000u;
    uint64_t granules = (duration_ns + g_ns - 1) / g_ns;
    if (granules == 0) granules = 1;
    return granules * granularity_ms;
}

void faas_bill_add(struct faas_bill_totals *t, uint64_t billed_ms, unsigned memory_mb, int cold,
                   int error)
{
    t->invocations++;
    t->cold_starts += cold ? 1 : 0;
    t->errors += error ? 1 : 0;
    t->billed_ms += billed_ms;
    t->mb_ms += billed_ms * memory_mb;
}

double faas_gb_seconds(uint64_t mb_ms)
{
    return (double)mb_ms / 1024000.0;
}

double faas_request_cost(const struct faas_prices *p, uint64_t invocations)
{
    return (double)invocations * p->per_request;
}

double faas_compute_cost(const struct faas_prices *p, uint64_t mb_ms)
{
    return faas_gb_seconds(mb_ms) * p->per_gb_second;
}

/* ---- reclamation schedule ---- */

int faas_reclaim_mode_parse(const char *s, enum faas_reclaim_mode *out)
{
    if (strcmp(s, "kill") == 0)
        *out = FAAS_RECLAIM_KILL;
    else if (strcmp(s, "vanish") == 0)
        *out = FAAS_RECLAIM_VANISH;
    else
        return FAAS_EINVAL;
    return 0;
}

const char *faas_reclaim_mode_name(enum faas_reclaim_mode m)
{
    return m == FAAS_RECLAIM_VANISH ? "vanish" : "kill";
}

void faas_rng_seed(struct faas_rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t faas_rng_next(struct faas_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

double faas_rng_unit(struct faas_rng *r)
{
    return (double)(faas_rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t faas_lifetime_ms(struct faas_rng *r, uint64_t max_ms, double jitter)
{
    if (max_ms == 0) return 0;
    if (jitter < 0) jitter = 0;
    if (jitter > 1) jitter = 1;
    double life = (double)max_ms * (1.0 - jitter * faas_rng_unit(r));
    uint64_t ms = (uint64_t)llround(life);
    return ms == 0 ? 1 : ms;
}

uint64_t faas_random_gap_ms(struct faas_rng *r, double rate_per_hour)
{
    if (!(rate_per_hour > 0)) return UINT64_MAX;
    double u = faas_rng_unit(r);
    double gap = -log(1.0 - u) * 3600000.0 / rate_per_hour;
    if (gap < 1) gap = 1;
    if (gap > 1e15) return UINT64_MAX;
    return (uint64_t)gap;
}

/* ---- helpers ---- */

size_t faas_base64(const void *in, size_t n, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = in;
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = tbl[(v >> 6) & 63];
        out[o++] = tbl[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
        out[o++] = tbl[v >> 18];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

long faas_base64_decode(const char *in, size_t n, unsigned char *out)
{
    while (n > 0 && in[n - 1] == '=')
        n--;
    if (n % 4 == 1) return FAAS_EINVAL;
    uint32_t acc = 0;
    int bits = 0;
    long o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        int v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else
            return FAAS_EINVAL;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    return o;
}

int faas_function_name(const char *segment, char *out, size_t outlen)
{
    const char *name = segment;
    const char *f = strstr(segment, "function:");
    if (f != NULL) name = f + strlen("function:");
    size_t n = strcspn(name, ":");
    if (n == 0 || n >= outlen || n > 140) return FAAS_EINVAL;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (!isalnum(ch) && ch != '-' && ch != '_') return FAAS_EINVAL;
    }
    memcpy(out, name, n);
    out[n] = '\0';
    return 0;
}
