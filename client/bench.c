/* client/bench.c — the load generator's threads, phases and reports. */
#include "client/bench.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/out.h"
#include "client/value.h"
#include "common/clock.h"
#include "common/hash.h"

#define TRACE_VERSION_SLOTS (1u << 20) /* trace keys share version counters by hash */
#define REPORTED_CORRUPT_MAX 10        /* corrupt values described on stderr */
static const char *const op_name[CL_OPS] = {"get", "set", "delete"};

struct bench;

/* One connection. Counters are the thread's own; the live_* ones are read
 * by the main thread for the progress line. */
struct worker {
    struct bench *b;
    unsigned id;
    pthread_t th;
    memcached_st *m;
    memcached_result_st result, drain;
    struct cl_rng rng;
    char *buf;
    size_t buf_cap;
    struct cl_bench_op op[CL_OPS];
    uint64_t verified, verified_bytes, corrupt, prefilled, prefill_errors;
    uint64_t first_start, last_end; /* of measured operations, ns */
    _Atomic uint64_t live_ops, live_bytes, live_errors;
    char key[300];
};

struct bench {
    const struct cl_bench_opts *o;
    struct cl_keys keys;
    struct cl_trace trace;
    size_t *mine;    /* trace op numbers grouped by worker (a key's ops stay on one, in order) ... */
    size_t *first;   /* ... worker i's are mine[first[i] .. first[i+1]) */
    _Atomic uint32_t *versions;
    size_t nversions;
    uint64_t run_base; /* high half of versions: each run writes new bytes */
    struct worker *w;
    unsigned n;
    uint64_t start_ns, measure_ns, end_ns; /* set before `go` */
    _Atomic uint64_t prefill_next, claimed;
    _Atomic unsigned ready, finished; /* threads past prefill, threads done */
    _Atomic int stop;
    int go; /* under mu: the workload may start */
    pthread_cond_t go_cv;
    pthread_mutex_t mu; /* guards go and the messages below */
    char first_error[512], first_corrupt[512];
    unsigned corrupt_reported;
};

static void note(struct bench *b, char *slot, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void note(struct bench *b, char *slot, size_t cap, const char *fmt, ...)
{
    pthread_mutex_lock(&b->mu);
    if (slot[0] == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(slot, cap, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&b->mu);
}

static _Atomic uint32_t *version_slot(struct bench *b, uint64_t index, uint64_t key_hash)
{
    return &b->versions[b->trace.n ? key_hash & (b->nversions - 1) : index];
}

/* ---- one operation ------------------------------------------------------ */

static void record(struct worker *w, enum cl_op op, int measured, uint64_t t0, uint64_t t1, int ok,
                   uint64_t bytes)
{
    atomic_fetch_add_explicit(&w->live_ops, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->live_bytes, bytes, memory_order_relaxed);
    if (!ok) atomic_fetch_add_explicit(&w->live_errors, 1, memory_order_relaxed);
    if (!measured) return;
    struct cl_bench_op *s = &w->op[op];
    s->count++;
    if (!ok) {
        s->errors++;
    } else {
        cl_hist_record(&s->lat, t1 - t0);
        s->bytes += bytes;
    }
    if (w->first_start == 0 || t0 < w->first_start) w->first_start = t0;
    if (t1 > w->last_end) w->last_end = t1;
}

static void failed(struct worker *w, const char *what, size_t size, memcached_return_t rc)
{
    char msg[400];
    note(w->b, w->b->first_error, sizeof w->b->first_error, "%s %s (%zu bytes): %s", what, w->key,
         size, cl_conn_error(w->m, w->key, rc, msg, sizeof msg));
}

static int do_set(struct worker *w, uint64_t index, size_t klen, uint64_t size, int measured)
{
    if (size > w->buf_cap) {
        char *nb = realloc(w->buf, size);
        if (nb == NULL) {
            note(w->b, w->b->first_error, sizeof w->b->first_error,
                 "out of memory for a %" PRIu64 " byte value", size);
            return -1;
        }
        w->buf = nb;
        w->buf_cap = size;
    }
    uint64_t kh = cl_value_key_hash(w->key, klen);
    uint64_t version = w->b->run_base | (atomic_fetch_add(version_slot(w->b, index, kh), 1) + 1u);
    cl_value_fill(w->buf, size, kh, version);
    uint64_t t0 = cm_now_ns();
    memcached_return_t rc =
        memcached_set(w->m, w->key, klen, size ? w->buf : "", size, (time_t)w->b->o->w.expire, 0);
    uint64_t t1 = cm_now_ns();
    record(w, CL_OP_SET, measured, t0, t1, rc == MEMCACHED_SUCCESS, size);
    if (rc != MEMCACHED_SUCCESS) failed(w, "set", size, rc);
    return rc == MEMCACHED_SUCCESS ? 0 : -1;
}

static void check_value(struct worker *w, size_t klen, const char *v, size_t len)
{
    uint64_t version;
    size_t bad = 0;
    enum cl_value_verdict verdict =
        cl_value_verify(v, len, cl_value_key_hash(w->key, klen), &version, &bad);
    if (verdict == CL_VALUE_OK) {
        w->verified++;
        w->verified_bytes += len;
        return;
    }
    w->corrupt++;
    struct bench *b = w->b;
    char msg[512];
    snprintf(msg, sizeof msg, "key %s: %zu byte value: %s (first bad byte at offset %zu)", w->key,
             len, cl_value_verdict_name(verdict), bad);
    note(b, b->first_corrupt, sizeof b->first_corrupt, "%s", msg);
    pthread_mutex_lock(&b->mu);
    if (b->corrupt_reported++ < REPORTED_CORRUPT_MAX)
        fprintf(stderr, "%sfncache bench: CORRUPT %s\n", b->o->progress ? "\r\033[K" : "", msg);
    pthread_mutex_unlock(&b->mu);
}

static void do_get(struct worker *w, size_t klen, int measured)
{
    const char *keys[1] = {w->key};
    size_t lens[1] = {klen};
    uint64_t t0 = cm_now_ns();
    memcached_return_t rc = memcached_mget(w->m, keys, lens, 1), rc2;
    memcached_result_st *res = NULL;
    if (rc == MEMCACHED_SUCCESS) {
        res = memcached_fetch_result(w->m, &w->result, &rc);
        if (res != NULL) /* the END after the value */
            while (memcached_fetch_result(w->m, &w->drain, &rc2) != NULL) {
            }
    }
    uint64_t t1 = cm_now_ns();
    int ok = res != NULL || rc == MEMCACHED_END || rc == MEMCACHED_NOTFOUND;
    size_t len = res ? memcached_result_length(res) : 0;
    record(w, CL_OP_GET, measured, t0, t1, ok, len);
    if (!ok) {
        failed(w, "get", 0, rc);
        return;
    }
    if (measured) {
        if (res)
            w->op[CL_OP_GET].hits++;
        else
            w->op[CL_OP_GET].misses++;
    }
    if (res && w->b->o->w.verify) check_value(w, klen, memcached_result_value(res), len);
}

static void do_delete(struct worker *w, size_t klen, int measured)
{
    uint64_t t0 = cm_now_ns();
    memcached_return_t rc = memcached_delete(w->m, w->key, klen, 0);
    uint64_t t1 = cm_now_ns();
    int ok = rc == MEMCACHED_SUCCESS || rc == MEMCACHED_NOTFOUND;
    record(w, CL_OP_DELETE, measured, t0, t1, ok, 0);
    if (!ok)
        failed(w, "delete", 0, rc);
    else if (measured && rc == MEMCACHED_SUCCESS)
        w->op[CL_OP_DELETE].hits++;
    else if (measured)
        w->op[CL_OP_DELETE].misses++;
}

/* ---- phases ------------------------------------------------------------- */

static size_t key_of(struct worker *w, uint64_t index)
{
    return (size_t)cl_key_name(w->key, sizeof w->key, w->b->o->w.key_prefix, index);
}

static void prefill(struct worker *w)
{
    const struct cl_workload *wl = &w->b->o->w;
    for (;;) {
        uint64_t i = atomic_fetch_add(&w->b->prefill_next, 1);
        if (i >= wl->keys || atomic_load(&w->b->stop)) return;
        if (do_set(w, i, key_of(w, i), cl_size_sample(&wl->size, &w->rng), 0) == 0)
            w->prefilled++;
        else
            w->prefill_errors++;
    }
}

/* May this thread start another operation, and is it measured? */
static int next_op(struct worker *w, int *measured)
{
    struct bench *b = w->b;
    if (atomic_load_explicit(&b->stop, memory_order_relaxed)) return 0;
    uint64_t now = cm_now_ns();
    *measured = now >= b->measure_ns;
    if (b->o->w.ops > 0) {
        if (!*measured) return 1;
        return atomic_fetch_add_explicit(&b->claimed, 1, memory_order_relaxed) < b->o->w.ops;
    }
    return now < b->end_ns;
}

static void synthetic(struct worker *w)
{
    const struct cl_workload *wl = &w->b->o->w;
    int measured;
    while (next_op(w, &measured)) {
        uint64_t index = cl_keys_pick(&w->b->keys, &w->rng);
        size_t klen = key_of(w, index);
        if (cl_rng_unit(&w->rng) < wl->get_share)
            do_get(w, klen, measured);
        else
            do_set(w, index, klen, cl_size_sample(&wl->size, &w->rng), measured);
    }
}

static void sleep_until(struct bench *b, uint64_t at_ns)
{
    for (uint64_t now; (now = cm_now_ns()) < at_ns && !atomic_load(&b->stop);) {
        uint64_t d = at_ns - now;
        if (d > 100000000) d = 100000000;
        struct timespec ts = {0, (long)d};
        nanosleep(&ts, NULL);
    }
}

static void replay(struct worker *w)
{
    struct bench *b = w->b;
    double speed = b->o->w.speed;
    int measured;
    for (size_t k = b->first[w->id]; k < b->first[w->id + 1]; k++) {
        const struct cl_trace_op *op = &b->trace.ops[b->mine[k]];
        if (speed > 0) sleep_until(b, b->start_ns + (uint64_t)(op->t / speed * 1e9));
        if (!next_op(w, &measured)) break;
        memcpy(w->key, cl_trace_key(&b->trace, op), op->key_len + 1u);
        if (op->op == CL_OP_GET)
            do_get(w, op->key_len, measured);
        else if (op->op == CL_OP_SET)
            do_set(w, 0, op->key_len, op->size, measured);
        else
            do_delete(w, op->key_len, measured);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct bench *b = w->b;
    if (b->o->w.prefill && b->trace.n == 0) prefill(w);
    pthread_mutex_lock(&b->mu);
    atomic_fetch_add(&b->ready, 1);
    while (!b->go)
        pthread_cond_wait(&b->go_cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
    if (!atomic_load(&b->stop)) {
        if (b->trace.n)
            replay(w);
        else
            synthetic(w);
    }
    atomic_fetch_add(&b->finished, 1);
    return NULL;
}

/* ---- the main thread ---------------------------------------------------- */

struct live {
    uint64_t at_ns, ops, bytes;
};

static void progress(struct bench *b, struct live *last)
{
    uint64_t ops = 0, bytes = 0, errors = 0, now = cm_now_ns();
    for (unsigned i = 0; i < b->n; i++) {
        ops += atomic_load_explicit(&b->w[i].live_ops, memory_order_relaxed);
        bytes += atomic_load_explicit(&b->w[i].live_bytes, memory_order_relaxed);
        errors += atomic_load_explicit(&b->w[i].live_errors, memory_order_relaxed);
    }
    double dt = (double)(now - last->at_ns) / 1e9;
    char rate[32], phase[64];
    const struct cl_workload *wl = &b->o->w;
    if (now < b->measure_ns)
        snprintf(phase, sizeof phase, "warm-up %.0f/%.0fs", (double)(now - b->start_ns) / 1e9,
                 wl->warmup_s);
    else if (wl->ops > 0)
        snprintf(phase, sizeof phase, "run %" PRIu64 "/%" PRIu64 " ops",
                 atomic_load(&b->claimed) < wl->ops ? atomic_load(&b->claimed) : wl->ops, wl->ops);
    else if (b->trace.n && !wl->duration_given)
        snprintf(phase, sizeof phase, "replay %.0fs", (double)(now - b->start_ns) / 1e9);
    else
        snprintf(phase, sizeof phase, "run %.0f/%.0fs", (double)(now - b->measure_ns) / 1e9,
                 wl->duration_s);
    fprintf(stderr, "\r[%s]  %" PRIu64 " ops  %.0f ops/s  %s/s  errors %" PRIu64 "\033[K", phase,
            ops, dt > 0 ? (double)(ops - last->ops) / dt : 0,
            cl_fmt_bytes(rate, sizeof rate, dt > 0 ? (double)(bytes - last->bytes) / dt : 0),
            errors);
    *last = (struct live){now, ops, bytes};
}

/* Wait up to ms for SIGINT/SIGTERM (blocked in every thread); 1 if one came. */
static int interrupted(unsigned ms)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    return sigtimedwait(&set, NULL, &ts) > 0;
}

static int setup(struct bench *b, const struct cl_bench_opts *o, char *err, size_t errlen)
{
    const struct cl_workload *wl = &o->w;
    b->o = o;
    b->n = (unsigned)wl->connections;
    pthread_mutex_init(&b->mu, NULL); /* first: teardown destroys them whatever failed */
    pthread_cond_init(&b->go_cv, NULL);
    if (wl->trace[0]) {
        int rc = cl_trace_load(&b->trace, wl->trace, err, errlen);
        if (rc != 0) return rc;
        b->nversions = TRACE_VERSION_SLOTS;
        uint16_t *owner = malloc(b->trace.n * sizeof *owner);
        b->mine = malloc(b->trace.n * sizeof *b->mine);
        b->first = calloc(b->n + 1, sizeof *b->first);
        if (owner == NULL || b->mine == NULL || b->first == NULL) {
            free(owner);
            goto oom;
        }
        for (size_t i = 0; i < b->trace.n; i++) { /* a counting sort by worker, keeping trace order */
            const struct cl_trace_op *op = &b->trace.ops[i];
            owner[i] = (uint16_t)(cm_hash64(cl_trace_key(&b->trace, op), op->key_len) % b->n);
            b->first[owner[i] + 1]++;
        }
        for (unsigned k = 0; k < b->n; k++) b->first[k + 1] += b->first[k];
        size_t *at = calloc(b->n, sizeof *at);
        if (at == NULL) {
            free(owner);
            goto oom;
        }
        for (size_t i = 0; i < b->trace.n; i++) b->mine[b->first[owner[i]] + at[owner[i]]++] = i;
        free(at);
        free(owner);
    } else {
        if (cl_keys_init(&b->keys, wl->keys, wl->zipf) != 0) {
            snprintf(err, errlen, "bad key popularity");
            return -EINVAL;
        }
        b->nversions = wl->keys;
    }
    b->versions = calloc(b->nversions, sizeof *b->versions);
    b->w = calloc(b->n, sizeof *b->w);
    if (b->versions == NULL || b->w == NULL) goto oom;
    b->run_base = (cm_mix64(cm_wall_ms() ^ ((uint64_t)getpid() << 32)) & 0xffffffff00000000ull);
    for (unsigned i = 0; i < b->n; i++) {
        struct worker *w = &b->w[i];
        w->b = b;
        w->id = i;
        w->rng.s = cm_mix64(wl->seed * 0x9e3779b97f4a7c15ull + i);
        for (int k = 0; k < CL_OPS; k++)
            cl_hist_reset(&w->op[k].lat);
        if ((w->m = cl_conn_open(&o->conn, -1)) == NULL ||
            memcached_result_create(w->m, &w->result) == NULL ||
            memcached_result_create(w->m, &w->drain) == NULL)
            goto oom;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
}

static void teardown(struct bench *b)
{
    for (unsigned i = 0; b->w && i < b->n; i++) {
        struct worker *w = &b->w[i];
        if (w->m) {
            memcached_result_free(&w->result);
            memcached_result_free(&w->drain);
            memcached_free(w->m);
        }
        free(w->buf);
    }
    free(b->w);
    free(b->versions);
    free(b->mine);
    free(b->first);
    cl_trace_free(&b->trace);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->go_cv);
}

static void collect(struct bench *b, struct cl_bench_result *r)
{
    uint64_t first = UINT64_MAX, last = 0;
    for (int k = 0; k < CL_OPS; k++)
        cl_hist_reset(&r->op[k].lat);
    cl_hist_reset(&r->total.lat);
    for (unsigned i = 0; i < b->n; i++) {
        struct worker *w = &b->w[i];
        for (int k = 0; k < CL_OPS; k++) {
            struct cl_bench_op *d = &r->op[k], *s = &w->op[k];
            cl_hist_merge(&d->lat, &s->lat);
            d->count += s->count, d->errors += s->errors, d->hits += s->hits,
                d->misses += s->misses;
            d->bytes += s->bytes;
        }
        r->verified += w->verified, r->verified_bytes += w->verified_bytes,
            r->corrupt += w->corrupt;
        r->prefilled += w->prefilled, r->prefill_errors += w->prefill_errors;
        if (w->first_start && w->first_start < first) first = w->first_start;
        if (w->last_end > last) last = w->last_end;
    }
    for (int k = 0; k < CL_OPS; k++) {
        struct cl_bench_op *t = &r->total, *s = &r->op[k];
        cl_hist_merge(&t->lat, &s->lat);
        t->count += s->count, t->errors += s->errors, t->bytes += s->bytes;
    }
    r->total.hits = r->op[CL_OP_GET].hits; /* the hit ratio is the GETs' */
    r->total.misses = r->op[CL_OP_GET].misses;
    r->seconds = last > first ? (double)(last - first) / 1e9 : 0;
    memcpy(r->first_error, b->first_error, sizeof r->first_error);
    memcpy(r->first_corrupt, b->first_corrupt, sizeof r->first_corrupt);
}

/* Let the workers start the workload (or, after b->stop, leave). */
static void release(struct bench *b, const struct cl_workload *wl)
{
    pthread_mutex_lock(&b->mu);
    b->start_ns = cm_now_ns();
    b->measure_ns = b->trace.n ? b->start_ns : b->start_ns + (uint64_t)(wl->warmup_s * 1e9);
    b->end_ns = b->trace.n && !wl->duration_given
                    ? UINT64_MAX
                    : b->measure_ns + (uint64_t)(wl->duration_s * 1e9);
    b->go = 1;
    pthread_cond_broadcast(&b->go_cv);
    pthread_mutex_unlock(&b->mu);
}

int cl_bench_run(const struct cl_bench_opts *o, struct cl_bench_result *r, char *err, size_t errlen)
{
    struct bench b = {0};
    memset(r, 0, sizeof *r);
    int rc = setup(&b, o, err, errlen);
    if (rc != 0) {
        teardown(&b);
        return rc;
    }
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    unsigned started = 0;
    while (started < b.n && pthread_create(&b.w[started].th, NULL, worker_main, &b.w[started]) == 0)
        started++;
    if (started < b.n) {
        snprintf(err, errlen, "cannot start %u threads", b.n);
        atomic_store(&b.stop, 1);
    }
    /* prefill, then the workload; a signal stops both */
    uint64_t drawn = cm_now_ns();
    while (!atomic_load(&b.stop) && atomic_load(&b.ready) < started) {
        if (interrupted(100)) atomic_store(&b.stop, 1), r->interrupted = 1;
        if (o->progress && cm_now_ns() - drawn >= 500000000) {
            uint64_t done = atomic_load(&b.prefill_next);
            fprintf(stderr, "\r[prefill]  %" PRIu64 "/%" PRIu64 " keys\033[K",
                    done < o->w.keys ? done : o->w.keys, o->w.keys);
            drawn = cm_now_ns();
        }
    }
    uint64_t prefilled = 0, prefill_failed = 0;
    if (atomic_load(&b.ready) == started) /* every worker is done writing its counts */
        for (unsigned i = 0; i < started; i++) prefilled += b.w[i].prefilled, prefill_failed += b.w[i].prefill_errors;
    if (prefilled == 0 && prefill_failed > 0) atomic_store(&b.stop, 1); /* nothing works: say so */
    release(&b, &o->w);
    struct live live = {b.start_ns, 0, 0};
    while (atomic_load(&b.finished) < started) {
        if (interrupted(100)) atomic_store(&b.stop, 1), r->interrupted = 1;
        if (o->progress && cm_now_ns() - drawn >= 500000000) {
            progress(&b, &live);
            drawn = cm_now_ns();
        }
    }
    if (o->progress) fprintf(stderr, "\r\033[K");
    for (unsigned i = 0; i < started; i++)
        pthread_join(b.w[i].th, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    int ok = started == b.n;
    if (ok) collect(&b, r);
    teardown(&b);
    return ok ? 0 : -EAGAIN;
}

/* ---- reports ------------------------------------------------------------ */

int cl_bench_exit_code(const struct cl_bench_result *r)
{
    if (r->corrupt > 0) return 5;
    if (r->total.errors > 0 || r->prefill_errors > 0) return 3;
    return 0;
}

static double per_s(const struct cl_bench_result *r, double x)
{
    return r->seconds > 0 ? x / r->seconds : 0;
}

static const double pcts[] = {50, 90, 99, 99.9};
static const char *const pct_name[] = {"p50", "p90", "p99", "p99.9"};
#define NPCTS (sizeof pcts / sizeof pcts[0])

static void describe(FILE *f, const struct cl_bench_opts *o)
{
    const struct cl_workload *w = &o->w;
    char name[300];
    fprintf(f, "fncache bench  ");
    for (unsigned i = 0; i < o->conn.nservers; i++)
        fprintf(f, "%s%s", i ? "," : "", cl_server_name(&o->conn.servers[i], name, sizeof name));
    fprintf(f, "  %" PRIu64 " connection%s, one request in flight each%s\n", w->connections,
            w->connections == 1 ? "" : "s", o->conn.binary ? ", binary protocol" : "");
    if (w->trace[0]) {
        fprintf(f, "  trace %s at %gx speed\n", w->trace, w->speed);
        return;
    }
    char size[32];
    fprintf(f, "  values %s  keys %" PRIu64 " %s",
            w->size.kind == CL_SIZE_FIXED ? cl_fmt_bytes(size, sizeof size, (double)w->size.min)
                                          : w->size.spec,
            w->keys, w->zipf > 0 ? "zipf" : "uniform");
    if (w->zipf > 0) fprintf(f, "(%g)", w->zipf);
    fprintf(f, "  gets %.0f%%  ", 100 * w->get_share);
    if (w->ops)
        fprintf(f, "%" PRIu64 " ops", w->ops);
    else
        fprintf(f, "%gs", w->duration_s);
    fprintf(f, " after %gs warm-up%s\n", w->warmup_s, w->prefill ? ", keys prefilled" : "");
}

void cl_bench_print(FILE *f, const struct cl_bench_opts *o, const struct cl_bench_result *r)
{
    describe(f, o);
    fprintf(f, "%-7s %10s %10s %9s %6s %7s", "op", "ops", "ops/s", "MB/s", "hit%", "errors");
    for (size_t i = 0; i < NPCTS; i++)
        fprintf(f, " %8s", pct_name[i]);
    fprintf(f, " %8s\n", "max");
    for (int k = 0; k <= CL_OPS; k++) {
        const struct cl_bench_op *s = k < CL_OPS ? &r->op[k] : &r->total;
        if (k < CL_OPS && s->count == 0) continue;
        char hit[16] = "-", buf[32];
        if (s->hits + s->misses > 0)
            snprintf(hit, sizeof hit, "%.1f",
                     100.0 * (double)s->hits / (double)(s->hits + s->misses));
        fprintf(f, "%-7s %10" PRIu64 " %10.1f %9.2f %6s %7" PRIu64,
                k < CL_OPS ? op_name[k] : "total", s->count, per_s(r, (double)(s->count - s->errors)),
                per_s(r, (double)s->bytes) / (1 << 20), hit, s->errors);
        for (size_t i = 0; i < NPCTS; i++)
            fprintf(f, " %8s",
                    s->lat.count
                        ? cl_fmt_ns(buf, sizeof buf, (double)cl_hist_percentile(&s->lat, pcts[i]))
                        : "-");
        fprintf(f, " %8s\n", s->lat.count ? cl_fmt_ns(buf, sizeof buf, (double)s->lat.max) : "-");
    }
    char vb[32];
    fprintf(f, "measured %.2fs%s", r->seconds, r->interrupted ? " (interrupted)" : "");
    if (o->w.prefill && !o->w.trace[0]) fprintf(f, ", prefilled %" PRIu64 " keys", r->prefilled);
    if (o->w.verify)
        fprintf(f, ", verified %" PRIu64 " values (%s): %s", r->verified,
                cl_fmt_bytes(vb, sizeof vb, (double)r->verified_bytes),
                r->corrupt ? "CORRUPT" : "all intact");
    fputc('\n', f);
    if (r->corrupt)
        fprintf(f, "corrupt values: %" PRIu64 "; first: %s\n", r->corrupt, r->first_corrupt);
    if (r->first_error[0])
        fprintf(f, "errors: %" PRIu64 " (+%" PRIu64 " in prefill); first: %s\n", r->total.errors,
                r->prefill_errors, r->first_error);
}

static void json_op(struct cl_json *j, const char *name, const struct cl_bench_result *r,
                    const struct cl_bench_op *s)
{
    cl_json_object(j, name);
    cl_json_u64(j, "count", s->count);
    cl_json_num(j, "ops_per_s", per_s(r, (double)(s->count - s->errors))); /* done, not attempted */
    cl_json_num(j, "mb_per_s", per_s(r, (double)s->bytes) / (1 << 20));
    cl_json_u64(j, "bytes", s->bytes);
    cl_json_u64(j, "hits", s->hits);
    cl_json_u64(j, "misses", s->misses);
    if (s->hits + s->misses)
        cl_json_num(j, "hit_ratio", (double)s->hits / (double)(s->hits + s->misses));
    cl_json_u64(j, "errors", s->errors);
    cl_json_object(j, "latency_us");
    for (size_t i = 0; i < NPCTS; i++)
        cl_json_num(j, pct_name[i], (double)cl_hist_percentile(&s->lat, pcts[i]) / 1e3);
    cl_json_num(j, "max", (double)s->lat.max / 1e3);
    cl_json_num(j, "mean", cl_hist_mean(&s->lat) / 1e3);
    cl_json_end(j);
    cl_json_end(j);
}

void cl_bench_json(FILE *f, const struct cl_bench_opts *o, const struct cl_bench_result *r)
{
    const struct cl_workload *w = &o->w;
    struct cl_json j;
    char name[300];
    cl_json_init(&j, f);
    cl_json_object(&j, NULL);
    cl_json_array(&j, "servers");
    for (unsigned i = 0; i < o->conn.nservers; i++)
        cl_json_str(&j, NULL, cl_server_name(&o->conn.servers[i], name, sizeof name));
    cl_json_end(&j);
    cl_json_object(&j, "workload");
    if (w->trace[0]) {
        cl_json_str(&j, "trace", w->trace);
        cl_json_num(&j, "speed", w->speed);
    } else {
        cl_json_str(&j, "size", w->size.spec);
        cl_json_u64(&j, "keys", w->keys);
        cl_json_num(&j, "zipf", w->zipf);
        cl_json_num(&j, "get_share", w->get_share);
        cl_json_num(&j, "duration", w->duration_s);
        cl_json_u64(&j, "ops", w->ops);
        cl_json_num(&j, "warmup", w->warmup_s);
        cl_json_bool(&j, "prefill", w->prefill);
    }
    cl_json_u64(&j, "connections", w->connections);
    cl_json_bool(&j, "verify", w->verify);
    cl_json_end(&j);
    cl_json_num(&j, "seconds", r->seconds);
    cl_json_bool(&j, "interrupted", r->interrupted);
    cl_json_object(&j, "ops");
    for (int k = 0; k < CL_OPS; k++)
        if (r->op[k].count) json_op(&j, op_name[k], r, &r->op[k]);
    cl_json_end(&j);
    json_op(&j, "total", r, &r->total);
    cl_json_u64(&j, "prefilled", r->prefilled);
    cl_json_u64(&j, "prefill_errors", r->prefill_errors);
    cl_json_u64(&j, "verified", r->verified);
    cl_json_u64(&j, "verified_bytes", r->verified_bytes);
    cl_json_u64(&j, "corrupt", r->corrupt);
    if (r->first_corrupt[0]) cl_json_str(&j, "first_corrupt", r->first_corrupt);
    if (r->first_error[0]) cl_json_str(&j, "first_error", r->first_error);
    cl_json_end(&j);
}

void cl_bench_csv(FILE *f, const struct cl_bench_result *r)
{
    fprintf(f, "op,count,seconds,ops_per_s,mb_per_s,hits,misses,errors,p50_us,p90_us,p99_us,p99.9_"
               "us,max_us,mean_us,"
               "verified,corrupt\n");
    for (int k = 0; k <= CL_OPS; k++) {
        const struct cl_bench_op *s = k < CL_OPS ? &r->op[k] : &r->total;
        if (k < CL_OPS && s->count == 0) continue;
        fprintf(f, "%s,%" PRIu64 ",%.3f,%.1f,%.3f,%" PRIu64 ",%" PRIu64 ",%" PRIu64,
                k < CL_OPS ? op_name[k] : "total", s->count, r->seconds, per_s(r, (double)(s->count - s->errors)),
                per_s(r, (double)s->bytes) / (1 << 20), s->hits, s->misses, s->errors);
        for (size_t i = 0; i < NPCTS; i++)
            fprintf(f, ",%.1f", (double)cl_hist_percentile(&s->lat, pcts[i]) / 1e3);
        fprintf(f, ",%.1f,%.1f", (double)s->lat.max / 1e3, cl_hist_mean(&s->lat) / 1e3);
        int with_values = k == CL_OP_GET || k == CL_OPS;
        fprintf(f, ",%" PRIu64 ",%" PRIu64 "\n", with_values ? r->verified : 0,
                with_values ? r->corrupt : 0);
    }
}
