/* deploy/local/faas_platform.c — instances, Invoke API, Runtime API,
 * lifecycle, reclamation and billing, all on one libuv loop.
 *
 *   caller ──POST /2015-03-31/functions/F/invocations──▶ invoke daemon
 *                                                        │ fn_submit()
 *        ┌──────── idle instance? SIGCONT, resume its parked /next ◀┘
 *        │         none, but one just answered? queue, it asks /next soon
 *        │         room under the caps? spawn (cold), bound to this call
 *        ▼         else 429 (Event: queued)
 *   instance ──GET /next──▶ its own runtime daemon (127.0.0.1:port)
 *            ◀─ event ────  (parked = suspended connection, process SIGSTOPped)
 *            ──POST /response──▶ inv_complete() resumes the caller's
 *                                suspended connection with the body
 *
 * Every MHD connection carries a struct req. A reply is prepared as an
 * MHD_Response (possibly from another daemon's callback or a timer), stored
 * in the req and the connection resumed; the handler queues it on its next
 * call. Nothing blocks and nothing polls on the request path.
 */
#include "deploy/local/faas_platform.h"

#include "common/clock.h"
#include "common/log.h"
#include "deploy/local/faas_httpd.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <uv.h>

#define SYNC_LIMIT (6u * 1024 * 1024)  /* RequestResponse payload and response */
#define EVENT_LIMIT (1u * 1024 * 1024) /* Event payload */
#define LOG_RING 4096                  /* per-instance log kept for Tail */
#define EVENT_QUEUE_MAX 100000

/* Instance states; one list feeds the enum and the names in /_faas. */
#define INST_STATES(X)                                                                             \
    X(INST_INIT, "init")         /* spawned, has not asked /next yet */                            \
    X(INST_BUSY, "busy")         /* running an invocation */                                       \
    X(INST_ANSWERED, "answered") /* answered, /next not asked yet */                               \
    X(INST_IDLE, "idle")         /* parked on /next, frozen */                                     \
    X(INST_VANISHED, "vanished") /* reclaimed silently, frozen */                                  \
    X(INST_DEAD, "dead")         /* killed or exited, being torn down */

enum inst_state {
#define ST_ENUM(e, n) e,
    INST_STATES(ST_ENUM)
#undef ST_ENUM
};
static const char *const inst_state_names[] = {
#define ST_NAME(e, n) n,
    INST_STATES(ST_NAME)
#undef ST_NAME
};

enum inv_type { INV_SYNC, INV_EVENT };
enum req_kind {
    REQ_INVOKE,
    REQ_CONTROL,
    REQ_NEXT,
    REQ_RESPONSE,
    REQ_ERROR,
    REQ_INIT_ERROR,
    REQ_OTHER
};

struct faas_platform;
struct faas_fn;
struct faas_inst;
struct faas_inv;

/* Per-connection request state (MHD's con_cls). Owned by MHD's connection:
 * freed in on_completed. */
struct req {
    enum req_kind kind;
    struct MHD_Connection *conn;
    struct faas_httpd *httpd; /* the daemon of conn */
    struct faas_platform *pf;
    struct faas_inst *inst; /* runtime requests: the instance of the daemon */
    char *body;             /* request body, malloc'd, NUL-terminated */
    size_t len, cap, limit;
    int too_large;
    unsigned long long declared; /* Content-Length, if given */
    int started;                 /* handler saw the end of the body once */
    int suspended;               /* MHD_suspend_connection in effect */
    struct req *sprev, *snext;   /* in pf->parked while suspended */
    struct MHD_Response *reply;  /* prepared reply, queued on the next call */
    unsigned status;
    struct faas_inv *inv; /* invoke: the invocation this caller waits for */
    char path_id[64];     /* runtime posts: the request id in the path */
};

/* One invocation. Owned by the platform from fn_submit to inv_complete. */
struct faas_inv {
    char id[40];
    enum inv_type type;
    int tail;
    struct faas_fn *fn;
    struct faas_inst *inst;
    struct req *caller;   /* NULL for Event, or once the caller is gone */
    char *payload;        /* owned until handed to the /next reply */
    char *client_context; /* decoded X-Amz-Client-Context, or NULL */
    size_t len;
    uint64_t enq_ns, start_ns;
    uint64_t log_mark;     /* instance log offset at dispatch */
    struct faas_inv *next; /* queue link */
};

struct faas_inst {
    struct faas_platform *pf;
    struct faas_fn *fn;
    char id[32];
    enum inst_state state;
    int frozen;
    pid_t pid;
    uv_process_t proc;
    uv_pipe_t out, err;
    uv_timer_t timer; /* init deadline, then invocation deadline */
    struct faas_httpd rt;
    int open; /* open handles + the runtime daemon; freed at 0 */
    int exited;
    int64_t exit_status;
    int term_signal;
    const char *kill_reason; /* why we killed it (NULL if it died by itself) */
    int oom;
    char *init_error; /* body posted to /init/error */
    uint64_t spawn_ns, ready_ns, last_used_ns, idle_since_ns;
    uint64_t life_end_ns; /* 0 = unlimited */
    uint64_t vanish_kill_ns;
    uint64_t invocations;
    uint64_t rss_kb, max_rss_kb;
    struct faas_inv *inv; /* current invocation (also the one a cold start serves) */
    struct req *next_req; /* the parked GET /next, or NULL */
    char log[LOG_RING];   /* ring of the last LOG_RING bytes of output */
    uint64_t log_total;   /* bytes ever written to the ring */
    struct faas_inst *next;
};

/* One concrete function name (a prefix config yields many of these). */
struct faas_fn {
    struct faas_platform *pf;
    char *name;
    char *arn;
    const struct faas_fn_conf *conf;
    struct faas_inst *insts;
    unsigned live; /* INIT, BUSY, ANSWERED, IDLE */
    unsigned answered;
    struct faas_inv *qhead, *qtail;
    unsigned qlen;
    struct faas_bill_totals bill;
    struct faas_fn *next;
};

struct faas_platform {
    const struct faas_options *o;
    uv_loop_t *loop;
    struct faas_httpd api;
    uv_timer_t tick;
    uv_timer_t stop_timer;
    uv_signal_t sigterm, sigint;
    struct faas_fn *fns;
    unsigned live;
    uint64_t inst_seq;
    struct faas_rng rng;   /* seeded: lifetimes and random reclamation */
    struct faas_rng idrng; /* request ids */
    uint64_t next_random_ns;
    struct req *parked; /* every suspended connection, of every daemon */
    struct faas_bill_totals bill;
    FILE *billing;
    int stopping;
    int exit_code;
    long page_kb;
};

static void inst_kill(struct faas_inst *in, const char *reason);
static void fn_pump(struct faas_fn *fn);
static void inv_fail(struct faas_inv *inv, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void maybe_finish(struct faas_platform *pf);

/* ---- small helpers ----------------------------------------------------- */

static void make_uuid(struct faas_rng *r, char *out)
{
    uint64_t a = faas_rng_next(r), b = faas_rng_next(r);
    a = (a & ~0xf000ull) | 0x4000ull;
    b = (b & 0x3fffffffffffffffull) | 0x8000000000000000ull;
    snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%04" PRIx64 "-%012" PRIx64,
             a >> 32, (a >> 16) & 0xffff, a & 0xffff, b >> 48, b & (uint64_t)0xffffffffffffull);
}

static struct MHD_Response *resp_buf(char *buf, size_t len)
{
    /* Takes buf (malloc'd) or copies nothing when len is 0. */
    struct MHD_Response *r;
    if (buf == NULL)
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    else
        r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
    return r;
}

static struct MHD_Response *resp_json(cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    struct MHD_Response *r = resp_buf(s, s ? strlen(s) : 0);
    MHD_add_response_header(r, "Content-Type", "application/json");
    return r;
}

/* A service error as AWS sends it: x-amzn-ErrorType and {"Type","message"}. */
static struct MHD_Response *service_error(const char *etype, const char *reason, const char *fmt,
                                          ...) __attribute__((format(printf, 3, 4)));
static struct MHD_Response *service_error(const char *etype, const char *reason, const char *fmt,
                                          ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *j = cJSON_CreateObject();
    if (reason != NULL) cJSON_AddStringToObject(j, "Reason", reason);
    cJSON_AddStringToObject(j, "Type", strcmp(etype, "ServiceException") == 0 ? "Service" : "User");
    cJSON_AddStringToObject(j, "message", msg);
    struct MHD_Response *r = resp_json(j);
    MHD_add_response_header(r, "x-amzn-ErrorType", etype);
    return r;
}

/* A Runtime API error body: {"errorMessage","errorType"}. */
static struct MHD_Response *runtime_error(const char *type, const char *msg)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "errorMessage", msg);
    cJSON_AddStringToObject(j, "errorType", type);
    return resp_json(j);
}

/* Stores a reply for r and wakes its connection if it was parked. */
static void req_reply(struct req *r, unsigned status, struct MHD_Response *resp)
{
    if (r->reply != NULL) MHD_destroy_response(r->reply);
    r->reply = resp;
    r->status = status;
    if (r->suspended) {
        r->suspended = 0;
        if (r->sprev != NULL)
            r->sprev->snext = r->snext;
        else
            r->pf->parked = r->snext;
        if (r->snext != NULL) r->snext->sprev = r->sprev;
        r->sprev = r->snext = NULL;
        MHD_resume_connection(r->conn);
        faas_httpd_kick(r->httpd);
    }
}

/* Answers every connection still parked on daemon h, so that h can be
 * stopped (MHD refuses to stop a daemon with suspended connections). */
static void resume_all(struct faas_platform *pf, struct faas_httpd *h)
{
    for (struct req *r = pf->parked, *next; r != NULL; r = next) {
        next = r->snext;
        if (r->httpd != h) continue;
        if (r->inv != NULL) r->inv->caller = NULL;
        if (r->inst != NULL && r->inst->next_req == r) r->inst->next_req = NULL;
        r->inv = NULL;
        req_reply(r, 500, runtime_error("ServiceException", "shutting down"));
    }
}

static const char *hdr(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static void sig_group(struct faas_inst *in, int sig)
{
    if (in->pid > 0 && !in->exited) kill(-in->pid, sig);
}

/* ---- logs -------------------------------------------------------------- */

static void log_append(struct faas_inst *in, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        in->log[(in->log_total + i) % LOG_RING] = p[i];
    in->log_total += n;
}

static void drain_fd(struct faas_inst *in, uv_pipe_t *p)
{
    uv_os_fd_t fd;
    if (uv_is_closing((uv_handle_t *)p) || uv_fileno((uv_handle_t *)p, &fd) != 0) return;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        log_append(in, buf, (size_t)n);
    }
}

static void on_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
    (void)h;
    (void)sz;
    static char buf[8192]; /* single-threaded loop, consumed before the next read */
    b->base = buf;
    b->len = sizeof buf;
}

static void on_output(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct faas_inst *in = s->data;
    if (n > 0) {
        log_append(in, b->base, (size_t)n);
        cm_debug("[%s %s] %.*s", in->fn->name, in->id,
                 (int)(n > 0 && b->base[n - 1] == '\n' ? n - 1 : n), b->base);
    } else if (n < 0) {
        uv_read_stop(s);
    }
}

/* The log of this invocation for X-Amz-Log-Result: the output since dispatch
 * framed by Lambda's START/END/REPORT lines, last 4 KB, base64. */
static char *tail_b64(struct faas_inv *inv, double dur_ms, uint64_t billed, const char *status)
{
    struct faas_inst *in = inv->inst;
    char *text = malloc(LOG_RING * 2 + 1024);
    size_t n = 0;
    if (text == NULL) return NULL;
    n += (size_t)sprintf(text + n, "START RequestId: %s Version: $LATEST\n", inv->id);
    if (in != NULL) {
        drain_fd(in, &in->out);
        drain_fd(in, &in->err);
        uint64_t from = inv->log_mark;
        if (in->log_total - from > LOG_RING) from = in->log_total - LOG_RING;
        for (uint64_t i = from; i < in->log_total; i++)
            text[n++] = in->log[i % LOG_RING];
    }
    n += (size_t)sprintf(text + n, "END RequestId: %s\n", inv->id);
    n += (size_t)sprintf(text + n,
                         "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %" PRIu64
                         " ms\tMemory Size: %u MB\tMax Memory Used: %" PRIu64 " MB\t%s\n",
                         inv->id, dur_ms, billed, inv->fn->conf->memory_mb,
                         in ? (in->max_rss_kb + 1023) / 1024 : 0, status);
    const char *start = text;
    if (n > 4096) {
        start = text + (n - 4096);
        n = 4096;
    }
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out != NULL) faas_base64(start, n, out);
    free(text);
    return out;
}

static uint64_t read_rss_kb(struct faas_platform *pf, pid_t pid)
{
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    unsigned long long size = 0, res = 0;
    if (sscanf(buf, "%llu %llu", &size, &res) != 2) return 0;
    return res * (uint64_t)pf->page_kb;
}

/* ---- billing and completion -------------------------------------------- */

static int is_live(enum inst_state s)
{
    return s <= INST_IDLE;
}

/* The only place an instance changes state: keeps the counters in step. */
static void inst_set_state(struct faas_inst *in, enum inst_state s)
{
    struct faas_fn *fn = in->fn;
    if (is_live(in->state) && !is_live(s)) {
        fn->live--;
        fn->pf->live--;
    }
    if (in->state == INST_ANSWERED) fn->answered--;
    if (s == INST_ANSWERED) fn->answered++;
    in->state = s;
}

static unsigned fn_cap(const struct faas_fn *fn)
{
    return fn->conf->concurrency ? fn->conf->concurrency : fn->pf->o->fn_concurrency;
}

/* NULL when under the caps, else the throttle reason AWS would give. */
static const char *caps_reason(const struct faas_fn *fn)
{
    unsigned cap = fn_cap(fn);
    if (cap && fn->live >= cap) return "ReservedFunctionConcurrentInvocationLimitExceeded";
    if (fn->pf->live >= fn->pf->o->concurrency) return "ConcurrentInvocationLimitExceeded";
    return NULL;
}

/* Ends an invocation: bills it, answers its caller, frees it. Takes body
 * (malloc'd, may be NULL). func_error is NULL or "Unhandled"; status names
 * the outcome in the billing record. */
static void inv_complete(struct faas_inv *inv, char *body, size_t len, const char *func_error,
                         const char *status)
{
    struct faas_fn *fn = inv->fn;
    struct faas_platform *pf = fn->pf;
    const struct faas_options *o = pf->o;
    struct faas_inst *in = inv->inst;
    uint64_t now = cm_now_ns();
    if (in != NULL && !in->exited && (pf->billing != NULL || inv->tail)) {
        in->rss_kb = read_rss_kb(pf, in->pid);
        if (in->rss_kb > in->max_rss_kb) in->max_rss_kb = in->rss_kb;
    }
    int cold = in == NULL || in->invocations <= 1;
    uint64_t init_ns = 0;
    if (in != NULL && cold) init_ns = (in->ready_ns ? in->ready_ns : now) - in->spawn_ns;
    uint64_t dur_ns = inv->start_ns ? now - inv->start_ns : 0;
    uint64_t billed =
        faas_billed_ms(dur_ns + (o->bill_init ? init_ns : 0), o->prices.granularity_ms);
    unsigned mb = fn->conf->memory_mb;
    faas_bill_add(&fn->bill, billed, mb, cold, func_error != NULL);
    faas_bill_add(&pf->bill, billed, mb, cold, func_error != NULL);
    double dur_ms = (double)dur_ns / 1e6;

    if (pf->billing != NULL) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "time_ms", (double)cm_wall_ms());
        cJSON_AddStringToObject(j, "request_id", inv->id);
        cJSON_AddStringToObject(j, "function", fn->name);
        cJSON_AddStringToObject(j, "instance", in ? in->id : "");
        cJSON_AddStringToObject(j, "type", inv->type == INV_EVENT ? "Event" : "RequestResponse");
        cJSON_AddBoolToObject(j, "cold", cold);
        cJSON_AddNumberToObject(j, "init_ms", (double)init_ns / 1e6);
        cJSON_AddNumberToObject(j, "duration_ms", dur_ms);
        cJSON_AddNumberToObject(j, "billed_ms", (double)billed);
        cJSON_AddNumberToObject(j, "memory_mb", mb);
        cJSON_AddNumberToObject(j, "max_memory_mb",
                                in ? (double)((in->max_rss_kb + 1023) / 1024) : 0);
        cJSON_AddNumberToObject(j, "gb_seconds", faas_gb_seconds(billed * mb));
        cJSON_AddNumberToObject(j, "cost_usd",
                                faas_request_cost(&o->prices, 1) +
                                    faas_compute_cost(&o->prices, billed * mb));
        cJSON_AddStringToObject(j, "status", status);
        char *line = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (line != NULL) {
            fputs(line, pf->billing);
            fputc('\n', pf->billing);
            fflush(pf->billing);
            free(line);
        }
    }
    cm_debug("%s %s %s on %s: %s, %.3f ms, billed %" PRIu64 " ms", fn->name, inv->id,
             cold ? "cold" : "warm", in ? in->id : "-", status, dur_ms, billed);

    if (inv->caller != NULL) {
        struct req *r = inv->caller;
        char *tail = inv->tail ? tail_b64(inv, dur_ms, billed, status) : NULL;
        struct MHD_Response *resp = resp_buf(body, len);
        MHD_add_response_header(resp, "Content-Type", "application/json");
        MHD_add_response_header(resp, "x-amzn-RequestId", inv->id);
        MHD_add_response_header(resp, "X-Amz-Executed-Version", "$LATEST");
        if (func_error != NULL) MHD_add_response_header(resp, "X-Amz-Function-Error", func_error);
        if (tail != NULL) MHD_add_response_header(resp, "X-Amz-Log-Result", tail);
        free(tail);
        r->inv = NULL;
        req_reply(r, 200, resp);
    } else {
        free(body);
    }
    if (in != NULL && in->inv == inv) {
        in->inv = NULL;
        uv_timer_stop(&in->timer);
    }
    free(inv->payload);
    free(inv->client_context);
    free(inv);
}

static void inv_fail(struct faas_inv *inv, const char *type, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "errorType", type);
    cJSON_AddStringToObject(j, "errorMessage", msg);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    inv_complete(inv, s, s ? strlen(s) : 0, "Unhandled", type);
}

/* Drops an invocation that never ran (shutdown): the caller gets a 500. */
static void inv_abort(struct faas_inv *inv)
{
    if (inv->caller != NULL) {
        struct MHD_Response *resp =
            service_error("ServiceException", NULL, "fncache-faas is shutting down");
        MHD_add_response_header(resp, "x-amzn-RequestId", inv->id);
        inv->caller->inv = NULL;
        req_reply(inv->caller, 500, resp);
    }
    free(inv->payload);
    free(inv->client_context);
    free(inv);
}

/* ---- instances --------------------------------------------------------- */

static void on_deadline(uv_timer_t *t);

/* Hands inv to an instance that is parked on /next (or asking it now). */
static void inst_dispatch(struct faas_inst *in, struct faas_inv *inv)
{
    struct faas_fn *fn = in->fn;
    const struct faas_options *o = fn->pf->o;
    uint64_t now = cm_now_ns();
    in->inv = inv;
    inv->inst = in;
    inv->start_ns = now;
    inv->log_mark = in->log_total;
    in->invocations++;
    inst_set_state(in, INST_BUSY);
    if (in->frozen) {
        sig_group(in, SIGCONT);
        in->frozen = 0;
    }
    uv_timer_start(&in->timer, on_deadline, (uint64_t)fn->conf->timeout_s * 1000, 0);

    char deadline[32], trace[128];
    snprintf(deadline, sizeof deadline, "%" PRIu64,
             cm_wall_ms() + (uint64_t)fn->conf->timeout_s * 1000);
    uint64_t a = faas_rng_next(&fn->pf->idrng), b = faas_rng_next(&fn->pf->idrng);
    snprintf(trace, sizeof trace,
             "Root=1-%08" PRIx64 "-%016" PRIx64 "%08" PRIx64 ";Parent=%016" PRIx64 ";Sampled=0",
             (uint64_t)(cm_wall_ms() / 1000), a, b >> 32, b);
    (void)o;
    struct MHD_Response *resp = resp_buf(inv->payload, inv->len);
    inv->payload = NULL;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Lambda-Runtime-Aws-Request-Id", inv->id);
    MHD_add_response_header(resp, "Lambda-Runtime-Deadline-Ms", deadline);
    MHD_add_response_header(resp, "Lambda-Runtime-Invoked-Function-Arn", fn->arn);
    MHD_add_response_header(resp, "Lambda-Runtime-Trace-Id", trace);
    if (inv->client_context != NULL)
        MHD_add_response_header(resp, "Lambda-Runtime-Client-Context", inv->client_context);
    struct req *r = in->next_req;
    in->next_req = NULL;
    req_reply(r, 200, resp);
}

static void inst_kill(struct faas_inst *in, const char *reason)
{
    if (in->state == INST_DEAD) return;
    cm_info("%s %s (pid %d): killed: %s", in->fn->name, in->id, (int)in->pid, reason);
    in->kill_reason = reason;
    inst_set_state(in, INST_DEAD);
    sig_group(in, SIGKILL);
    uv_timer_stop(&in->timer);
    fn_pump(in->fn);
}

/* Reclaims an instance as the platform would: kill it, or let it vanish
 * (frozen with its sockets open until the linger time, then killed). */
static void inst_reclaim(struct faas_inst *in, enum faas_reclaim_mode mode, const char *why)
{
    struct faas_platform *pf = in->fn->pf;
    if (in->state == INST_DEAD || in->state == INST_VANISHED) return;
    cm_info("%s %s (pid %d): reclaimed (%s, %s)", in->fn->name, in->id, (int)in->pid, why,
            faas_reclaim_mode_name(mode));
    if (mode == FAAS_RECLAIM_KILL) {
        inst_kill(in, why);
        return;
    }
    if (in->inv != NULL)
        inv_fail(in->inv, "Runtime.ExitError",
                 "RequestId: %s Error: Runtime exited with error: signal: killed", in->inv->id);
    inst_set_state(in, INST_VANISHED);
    if (!in->frozen) {
        sig_group(in, SIGSTOP);
        in->frozen = 1;
    }
    uv_timer_stop(&in->timer);
    in->vanish_kill_ns = cm_now_ns() + pf->o->linger_ms * 1000000u;
    fn_pump(in->fn);
}

static void inst_free(struct faas_inst *in)
{
    struct faas_fn *fn = in->fn;
    struct faas_platform *pf = fn->pf;
    for (struct faas_inst **p = &fn->insts; *p != NULL; p = &(*p)->next) {
        if (*p == in) {
            *p = in->next;
            break;
        }
    }
    free(in->init_error);
    free(in);
    maybe_finish(pf);
}

static void on_inst_handle_closed(uv_handle_t *h)
{
    struct faas_inst *in = h->data;
    if (--in->open == 0) inst_free(in);
}

static void on_rt_closed(struct faas_httpd *h)
{
    struct faas_inst *in = h->data;
    if (--in->open == 0) inst_free(in);
}

/* Closes everything of an instance whose process is gone. Not called from
 * inside the instance's own daemon (only from loop callbacks). */
static void inst_teardown(struct faas_inst *in)
{
    if (in->next_req != NULL) {
        struct req *r = in->next_req;
        in->next_req = NULL;
        req_reply(r, 500, runtime_error("Runtime.Exited", "the instance is gone"));
    }
    resume_all(in->fn->pf, &in->rt);
    in->open = 5;
    uv_close((uv_handle_t *)&in->proc, on_inst_handle_closed);
    uv_close((uv_handle_t *)&in->out, on_inst_handle_closed);
    uv_close((uv_handle_t *)&in->err, on_inst_handle_closed);
    uv_close((uv_handle_t *)&in->timer, on_inst_handle_closed);
    faas_httpd_stop(&in->rt, on_rt_closed);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
    struct faas_inst *in = p->data;
    struct faas_fn *fn = in->fn;
    in->exited = 1;
    in->exit_status = status;
    in->term_signal = sig;
    if (in->kill_reason == NULL)
        cm_info("%s %s (pid %d): exited (status %d, signal %d)", fn->name, in->id, (int)in->pid,
                (int)status, sig);
    if (in->state != INST_DEAD) inst_set_state(in, INST_DEAD);
    if (in->inv != NULL) {
        struct faas_inv *inv = in->inv;
        if (in->oom) {
            inv_fail(inv, "Runtime.OutOfMemory",
                     "RequestId: %s Error: Runtime exited with error: signal: killed", inv->id);
        } else if (in->init_error != NULL) {
            char *b = in->init_error;
            in->init_error = NULL;
            inv_complete(inv, b, strlen(b), "Unhandled", "Runtime.InitError");
        } else if (sig != 0) {
            inv_fail(inv, "Runtime.ExitError",
                     "RequestId: %s Error: Runtime exited with error: signal: %s", inv->id,
                     sig == SIGKILL ? "killed" : strsignal(sig));
        } else {
            inv_fail(inv, "Runtime.ExitError",
                     "RequestId: %s Error: Runtime exited with error: exit status %d", inv->id,
                     (int)status);
        }
    }
    inst_teardown(in);
    fn_pump(fn);
}

static void on_deadline(uv_timer_t *t)
{
    struct faas_inst *in = t->data;
    struct faas_inv *inv = in->inv;
    if (in->state == INST_INIT) {
        cm_warn("%s %s: init did not finish within %" PRIu64 " ms", in->fn->name, in->id,
                in->fn->pf->o->init_timeout_ms);
        if (inv != NULL)
            inv_fail(inv, "Sandbox.Timedout",
                     "RequestId: %s Error: Init timed out after %.2f seconds", inv->id,
                     (double)in->fn->pf->o->init_timeout_ms / 1000.0);
        inst_kill(in, "init timeout");
    } else if (in->state == INST_BUSY && inv != NULL) {
        inv_fail(inv, "Sandbox.Timedout", "RequestId: %s Error: Task timed out after %u.00 seconds",
                 inv->id, in->fn->conf->timeout_s);
        inst_kill(in, "timeout");
    }
}

static int rt_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                      const char *version, const char *data, size_t *size, void **con_cls);
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe);

static char *task_root(const char *path)
{
    char *d = strdup(path);
    if (d == NULL) return NULL;
    char *slash = strrchr(d, '/');
    if (slash == NULL)
        strcpy(d, ".");
    else if (slash == d)
        d[1] = '\0';
    else
        *slash = '\0';
    return d;
}

/* Starts a cold instance of fn that will serve inv (may be NULL). */
static int inst_spawn(struct faas_fn *fn, struct faas_inv *inv)
{
    struct faas_platform *pf = fn->pf;
    const struct faas_options *o = pf->o;
    const struct faas_fn_conf *conf = fn->conf;
    struct faas_inst *in = calloc(1, sizeof *in);
    if (in == NULL) {
        if (inv) inv_fail(inv, "Runtime.Unknown", "out of memory");
        return FAAS_ENOMEM;
    }
    in->pf = pf;
    in->fn = fn;
    snprintf(in->id, sizeof in->id, "i-%06" PRIu64, ++pf->inst_seq);
    if (faas_httpd_start(&in->rt, pf->loop, o->runtime_listen, 0,
                         (MHD_AccessHandlerCallback)rt_handler, in, on_completed, pf) != 0) {
        free(in);
        if (inv) inv_fail(inv, "Runtime.Unknown", "cannot start the Runtime API endpoint");
        return FAAS_EHTTP;
    }
    in->rt.data = in;
    in->state = INST_INIT;
    fn->live++;
    pf->live++;
    in->next = fn->insts;
    fn->insts = in;

    char *root = task_root(conf->path);
    char ev[16][512];
    char *env[16 + 64 + 1];
    size_t ne = 0;
    time_t now_s = time(NULL);
    struct tm tm;
    gmtime_r(&now_s, &tm);
    snprintf(ev[ne++], 512, "AWS_LAMBDA_RUNTIME_API=%s:%u", o->runtime_listen, in->rt.port);
    snprintf(ev[ne++], 512, "AWS_LAMBDA_FUNCTION_NAME=%s", fn->name);
    snprintf(ev[ne++], 512, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%u", conf->memory_mb);
    snprintf(ev[ne++], 512, "AWS_LAMBDA_FUNCTION_VERSION=$LATEST");
    snprintf(ev[ne++], 512, "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/%s", fn->name);
    snprintf(ev[ne++], 512, "AWS_LAMBDA_LOG_STREAM_NAME=%04d/%02d/%02d/[$LATEST]%016" PRIx64,
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, faas_rng_next(&pf->idrng));
    snprintf(ev[ne++], 512, "AWS_LAMBDA_INITIALIZATION_TYPE=on-demand");
    snprintf(ev[ne++], 512, "AWS_REGION=%s", o->region);
    snprintf(ev[ne++], 512, "AWS_DEFAULT_REGION=%s", o->region);
    snprintf(ev[ne++], 512, "_HANDLER=%s", conf->handler);
    snprintf(ev[ne++], 512, "LAMBDA_TASK_ROOT=%s", root ? root : ".");
    snprintf(ev[ne++], 512, "LAMBDA_RUNTIME_DIR=%s", root ? root : ".");
    snprintf(ev[ne++], 512, "TZ=:UTC");
    snprintf(ev[ne++], 512, "LANG=en_US.UTF-8");
    snprintf(ev[ne++], 512, "PATH=/usr/local/bin:/usr/bin:/bin:/opt/bin");
    snprintf(ev[ne++], 512, "FNCACHE_FAAS_INSTANCE_ID=%s", in->id);
    size_t k = 0;
    for (; k < ne; k++)
        env[k] = ev[k];
    for (size_t i = 0; i < conf->nenv && i < 64; i++)
        env[k++] = conf->env[i];
    env[k] = NULL;

    char ppid[24];
    snprintf(ppid, sizeof ppid, "%d", (int)getpid());
    char *args[] = {(char *)o->self_exe, (char *)"--exec-instance", ppid, conf->path, NULL};
    uv_pipe_init(pf->loop, &in->out, 0);
    uv_pipe_init(pf->loop, &in->err, 0);
    uv_timer_init(pf->loop, &in->timer);
    in->out.data = in->err.data = in->timer.data = in->proc.data = in;
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = (uv_stream_t *)&in->out;
    stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[2].data.stream = (uv_stream_t *)&in->err;
    uv_process_options_t po;
    memset(&po, 0, sizeof po);
    po.exit_cb = on_exit_cb;
    po.file = o->self_exe;
    po.args = args;
    po.env = env;
    po.cwd = root;
    po.flags = UV_PROCESS_DETACHED; /* setsid(): own session and process group */
    po.stdio_count = 3;
    po.stdio = stdio;
    in->spawn_ns = cm_now_ns();
    int rc = uv_spawn(pf->loop, &in->proc, &po);
    free(root);
    if (rc != 0) {
        cm_error("%s: cannot start %s: %s", fn->name, conf->path, uv_strerror(rc));
        in->exited = 1;
        inst_set_state(in, INST_DEAD);
        if (inv)
            inv_fail(inv, "Runtime.InvalidEntrypoint", "cannot start %s: %s", conf->path,
                     uv_strerror(rc));
        inst_teardown(in);
        return FAAS_ESPAWN;
    }
    in->pid = in->proc.pid;
    uv_read_start((uv_stream_t *)&in->out, on_alloc, on_output);
    uv_read_start((uv_stream_t *)&in->err, on_alloc, on_output);
    uv_timer_start(&in->timer, on_deadline, o->init_timeout_ms, 0);
    uint64_t life = faas_lifetime_ms(&pf->rng, o->lifetime_ms, o->lifetime_jitter);
    in->life_end_ns = life ? in->spawn_ns + life * 1000000u : 0;
    in->inv = inv;
    if (inv != NULL) inv->inst = in;
    cm_info("%s %s: cold start, pid %d, runtime API %s:%u", fn->name, in->id, (int)in->pid,
            o->runtime_listen, in->rt.port);
    return 0;
}

/* ---- functions and scheduling ------------------------------------------ */

static struct faas_fn *fn_get(struct faas_platform *pf, const char *name)
{
    for (struct faas_fn *fn = pf->fns; fn != NULL; fn = fn->next)
        if (strcmp(fn->name, name) == 0) return fn;
    const struct faas_fn_conf *conf = faas_fn_conf_match(pf->o->functions, name);
    if (conf == NULL) return NULL;
    struct faas_fn *fn = calloc(1, sizeof *fn);
    if (fn == NULL) return NULL;
    fn->pf = pf;
    fn->conf = conf;
    fn->name = strdup(name);
    size_t n = strlen(name) + strlen(pf->o->region) + strlen(pf->o->account) + 40;
    fn->arn = malloc(n);
    if (fn->name == NULL || fn->arn == NULL) {
        free(fn->name);
        free(fn->arn);
        free(fn);
        return NULL;
    }
    snprintf(fn->arn, n, "arn:aws:lambda:%s:%s:function:%s", pf->o->region, pf->o->account, name);
    fn->next = pf->fns;
    pf->fns = fn;
    return fn;
}

static void fn_enqueue(struct faas_fn *fn, struct faas_inv *inv)
{
    inv->next = NULL;
    if (fn->qtail)
        fn->qtail->next = inv;
    else
        fn->qhead = inv;
    fn->qtail = inv;
    fn->qlen++;
}

static struct faas_inv *fn_dequeue(struct faas_fn *fn)
{
    struct faas_inv *inv = fn->qhead;
    if (inv == NULL) return NULL;
    fn->qhead = inv->next;
    if (fn->qhead == NULL) fn->qtail = NULL;
    fn->qlen--;
    inv->next = NULL;
    return inv;
}

/* Starts instances for queued invocations that no answering instance will
 * pick up, while the caps allow. */
static void fn_pump(struct faas_fn *fn)
{
    if (fn->pf->stopping) return;
    while (fn->qlen > fn->answered && caps_reason(fn) == NULL)
        inst_spawn(fn, fn_dequeue(fn));
}

/* Routes a new invocation. Returns NULL, or the throttle reason (the
 * invocation is then still the caller's). */
static const char *fn_submit(struct faas_fn *fn, struct faas_inv *inv)
{
    struct faas_inst *best = NULL;
    for (struct faas_inst *in = fn->insts; in != NULL; in = in->next)
        if (in->state == INST_IDLE && in->next_req != NULL &&
            (best == NULL || in->last_used_ns > best->last_used_ns))
            best = in;
    if (best != NULL) {
        inst_dispatch(best, inv);
        return NULL;
    }
    if (fn->qlen < fn->answered) { /* an instance just answered: it asks /next next */
        fn_enqueue(fn, inv);
        return NULL;
    }
    const char *why = caps_reason(fn);
    if (why == NULL) {
        inst_spawn(fn, inv);
        return NULL;
    }
    if (inv->type == INV_EVENT && fn->qlen < EVENT_QUEUE_MAX) {
        fn_enqueue(fn, inv);
        return NULL;
    }
    fn->bill.throttles++;
    fn->pf->bill.throttles++;
    return why;
}

/* ---- Runtime API (one daemon per instance) ------------------------------ */

static void rt_next(struct faas_inst *in, struct req *r)
{
    struct faas_fn *fn = in->fn;
    const struct faas_options *o = fn->pf->o;
    if (in->state == INST_VANISHED) { /* park until killed: it is frozen */
        if (in->next_req == NULL) in->next_req = r;
        return;
    }
    if (in->state == INST_DEAD) {
        req_reply(r, 500, runtime_error("Runtime.Exited", "the instance is being shut down"));
        return;
    }
    if (in->state == INST_BUSY || in->next_req != NULL) {
        req_reply(r, 403,
                  runtime_error("InvalidStateTransition",
                                "next invocation requested before the current one was answered"));
        return;
    }
    uint64_t now = cm_now_ns();
    in->next_req = r;
    struct faas_inv *inv = NULL;
    if (in->state == INST_INIT) {
        in->ready_ns = now;
        uv_timer_stop(&in->timer);
        inv = in->inv;
        in->inv = NULL;
        cm_debug("%s %s: ready after %.3f ms", fn->name, in->id,
                 (double)(now - in->spawn_ns) / 1e6);
    }
    if (inv == NULL) inv = fn_dequeue(fn);
    if (inv != NULL) {
        inst_dispatch(in, inv);
        return;
    }
    inst_set_state(in, INST_IDLE);
    in->idle_since_ns = now;
    in->last_used_ns = now; /* "most recently used" = most recently idle */
    sig_group(in, SIGSTOP);
    in->frozen = 1;
    if (in->life_end_ns && now >= in->life_end_ns) inst_reclaim(in, o->mode, "lifetime");
}

static int valid_id(struct faas_inst *in, struct req *r)
{
    return in->inv != NULL && in->state == INST_BUSY && strcmp(in->inv->id, r->path_id) == 0;
}

static void rt_post(struct faas_inst *in, struct req *r)
{
    if (in->state == INST_DEAD || in->state == INST_VANISHED) {
        req_reply(r, 500, runtime_error("Runtime.Exited", "the instance is being shut down"));
        return;
    }
    if (r->kind == REQ_INIT_ERROR) {
        if (in->state != INST_INIT) {
            req_reply(r, 403, runtime_error("InvalidStateTransition", "init error after init"));
            return;
        }
        in->init_error = r->body ? r->body : strdup("{}");
        r->body = NULL;
        req_reply(r, 202, runtime_error("", "OK"));
        inst_kill(in, "init error");
        return;
    }
    if (!valid_id(in, r)) {
        req_reply(r, 400, runtime_error("InvalidRequestID", "Invalid request ID"));
        return;
    }
    struct faas_inv *inv = in->inv;
    inst_set_state(in, INST_ANSWERED);
    if (r->too_large) {
        req_reply(r, 413,
                  runtime_error("RequestEntityTooLarge",
                                "Exceeded maximum allowed payload size (6291456 bytes)."));
        inv_fail(inv, "Function.ResponseSizeTooLarge",
                 "Response payload size exceeded maximum allowed payload size (6291456 bytes).");
        return;
    }
    char *body = r->body;
    size_t len = r->len;
    r->body = NULL;
    if (r->kind == REQ_RESPONSE) {
        inv_complete(inv, body, len, NULL, "ok");
    } else {
        cJSON *j = body ? cJSON_ParseWithLength(body, len) : NULL;
        if (j == NULL) { /* wrap whatever it sent */
            const char *t = hdr(r->conn, "Lambda-Runtime-Function-Error-Type");
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "errorMessage", body ? body : "");
            cJSON_AddStringToObject(e, "errorType", t ? t : "Unhandled");
            free(body);
            body = cJSON_PrintUnformatted(e);
            cJSON_Delete(e);
            len = body ? strlen(body) : 0;
        }
        cJSON_Delete(j);
        inv_complete(inv, body, len, "Unhandled", "error");
    }
    cJSON *ok = cJSON_CreateObject();
    cJSON_AddStringToObject(ok, "status", "OK");
    req_reply(r, 202, resp_json(ok));
}

#define RT_PREFIX "/2018-06-01/runtime/"

static enum req_kind rt_route(const char *url, const char *method, char *id, size_t idlen)
{
    if (strncmp(url, RT_PREFIX, strlen(RT_PREFIX)) != 0) return REQ_OTHER;
    const char *p = url + strlen(RT_PREFIX);
    if (strcmp(p, "invocation/next") == 0 && strcmp(method, "GET") == 0) return REQ_NEXT;
    if (strcmp(p, "init/error") == 0 && strcmp(method, "POST") == 0) return REQ_INIT_ERROR;
    if (strncmp(p, "invocation/", 11) == 0 && strcmp(method, "POST") == 0) {
        p += 11;
        const char *slash = strchr(p, '/');
        if (slash == NULL || (size_t)(slash - p) >= idlen) return REQ_OTHER;
        memcpy(id, p, (size_t)(slash - p));
        id[slash - p] = '\0';
        if (strcmp(slash, "/response") == 0) return REQ_RESPONSE;
        if (strcmp(slash, "/error") == 0) return REQ_ERROR;
    }
    return REQ_OTHER;
}

static struct req *req_new(struct faas_platform *pf, struct faas_httpd *h, struct MHD_Connection *c,
                           size_t limit)
{
    struct req *r = calloc(1, sizeof *r);
    if (r == NULL) return NULL;
    r->pf = pf;
    r->conn = c;
    r->httpd = h;
    r->limit = limit;
    return r;
}

/* Appends upload data; a body over the limit is read and dropped. */
static void req_absorb(struct req *r, const char *data, size_t *size)
{
    size_t n = *size;
    *size = 0;
    if (r->too_large || r->len + n > r->limit) {
        r->too_large = 1;
        free(r->body);
        r->body = NULL;
        r->len = 0;
        return;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *b = realloc(r->body, cap);
        if (b == NULL) {
            r->too_large = 1;
            return;
        }
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
}

/* The end of every handler call: queue a prepared reply, or park. */
static int req_finish(struct req *r)
{
    if (r->reply != NULL) {
        struct MHD_Response *resp = r->reply;
        r->reply = NULL;
        enum MHD_Result ok = MHD_queue_response(r->conn, r->status, resp);
        MHD_destroy_response(resp);
        return ok;
    }
    if (!r->suspended) {
        r->suspended = 1;
        r->sprev = NULL;
        r->snext = r->pf->parked;
        if (r->snext != NULL) r->snext->sprev = r;
        r->pf->parked = r;
        MHD_suspend_connection(r->conn);
    }
    return MHD_YES;
}

static int rt_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                      const char *version, const char *data, size_t *size, void **con_cls)
{
    (void)version;
    struct faas_inst *in = cls;
    struct req *r = *con_cls;
    if (r == NULL) {
        r = req_new(in->fn->pf, &in->rt, c, SYNC_LIMIT);
        if (r == NULL) return MHD_NO;
        r->inst = in;
        r->kind = rt_route(url, method, r->path_id, sizeof r->path_id);
        *con_cls = r;
        return MHD_YES;
    }
    if (*size > 0) {
        req_absorb(r, data, size);
        return MHD_YES;
    }
    if (!r->started) {
        r->started = 1;
        switch (r->kind) {
        case REQ_NEXT: rt_next(in, r); break;
        case REQ_RESPONSE:
        case REQ_ERROR:
        case REQ_INIT_ERROR: rt_post(in, r); break;
        default: req_reply(r, 404, runtime_error("NotFound", "unknown Runtime API path")); break;
        }
    }
    return req_finish(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct req *r = *con_cls;
    if (r == NULL) return;
    if (r->suspended) { /* not expected: MHD completes resumed connections only */
        if (r->sprev != NULL)
            r->sprev->snext = r->snext;
        else
            r->pf->parked = r->snext;
        if (r->snext != NULL) r->snext->sprev = r->sprev;
    }
    if (r->inv != NULL) r->inv->caller = NULL;
    if (r->inst != NULL && r->inst->next_req == r) r->inst->next_req = NULL;
    if (r->reply != NULL) MHD_destroy_response(r->reply);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

/* ---- control endpoint (/_faas/...) -------------------------------------- */

static struct faas_inst *find_inst(struct faas_platform *pf, const char *id)
{
    for (struct faas_fn *fn = pf->fns; fn != NULL; fn = fn->next)
        for (struct faas_inst *in = fn->insts; in != NULL; in = in->next)
            if (strcmp(in->id, id) == 0) return in;
    return NULL;
}

static cJSON *totals_json(const struct faas_prices *p, const struct faas_bill_totals *t)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "invocations", (double)t->invocations);
    cJSON_AddNumberToObject(j, "cold_starts", (double)t->cold_starts);
    cJSON_AddNumberToObject(j, "errors", (double)t->errors);
    cJSON_AddNumberToObject(j, "throttles", (double)t->throttles);
    cJSON_AddNumberToObject(j, "billed_ms", (double)t->billed_ms);
    cJSON_AddNumberToObject(j, "mb_ms", (double)t->mb_ms);
    cJSON_AddNumberToObject(j, "gb_seconds", faas_gb_seconds(t->mb_ms));
    double rc = faas_request_cost(p, t->invocations), cc = faas_compute_cost(p, t->mb_ms);
    cJSON_AddNumberToObject(j, "request_cost_usd", rc);
    cJSON_AddNumberToObject(j, "compute_cost_usd", cc);
    cJSON_AddNumberToObject(j, "cost_usd", rc + cc);
    return j;
}

static void control(struct faas_platform *pf, struct req *r, const char *url)
{
    const char *what = url + strlen("/_faas/");
    const char *fname = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "function");
    const char *iid = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "instance");
    const char *mname = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "mode");
    uint64_t now = cm_now_ns();
    cJSON *j = cJSON_CreateObject();
    unsigned status = 200;
    if (strcmp(what, "instances") == 0) {
        cJSON *arr = cJSON_AddArrayToObject(j, "instances");
        for (struct faas_fn *fn = pf->fns; fn != NULL; fn = fn->next) {
            if (fname != NULL && strcmp(fname, fn->name) != 0) continue;
            for (struct faas_inst *in = fn->insts; in != NULL; in = in->next) {
                cJSON *e = cJSON_CreateObject();
                char api[64];
                snprintf(api, sizeof api, "%s:%u", pf->o->runtime_listen, in->rt.port);
                cJSON_AddStringToObject(e, "function", fn->name);
                cJSON_AddStringToObject(e, "id", in->id);
                cJSON_AddNumberToObject(e, "pid", in->pid);
                cJSON_AddStringToObject(e, "state", inst_state_names[in->state]);
                cJSON_AddBoolToObject(e, "frozen", in->frozen);
                cJSON_AddNumberToObject(e, "rss_kb", (double)in->rss_kb);
                cJSON_AddNumberToObject(e, "max_rss_kb", (double)in->max_rss_kb);
                cJSON_AddNumberToObject(e, "memory_mb", fn->conf->memory_mb);
                cJSON_AddNumberToObject(e, "age_ms", (double)(now - in->spawn_ns) / 1e6);
                cJSON_AddNumberToObject(
                    e, "idle_ms",
                    in->state == INST_IDLE ? (double)(now - in->idle_since_ns) / 1e6 : 0);
                cJSON_AddNumberToObject(e, "invocations", (double)in->invocations);
                cJSON_AddStringToObject(e, "runtime_api", api);
                cJSON_AddItemToArray(arr, e);
            }
        }
    } else if (strcmp(what, "billing") == 0) {
        cJSON_Delete(j);
        j = totals_json(&pf->o->prices, &pf->bill);
        cJSON *fns = cJSON_AddObjectToObject(j, "functions");
        for (struct faas_fn *fn = pf->fns; fn != NULL; fn = fn->next)
            cJSON_AddItemToObject(fns, fn->name, totals_json(&pf->o->prices, &fn->bill));
        cJSON *pr = cJSON_AddObjectToObject(j, "prices");
        cJSON_AddNumberToObject(pr, "per_request", pf->o->prices.per_request);
        cJSON_AddNumberToObject(pr, "per_gb_second", pf->o->prices.per_gb_second);
        cJSON_AddNumberToObject(pr, "granularity_ms", pf->o->prices.granularity_ms);
    } else if (strcmp(what, "reclaim") == 0) {
        enum faas_reclaim_mode mode = pf->o->mode;
        if (mname != NULL && faas_reclaim_mode_parse(mname, &mode) != 0) {
            status = 400;
            cJSON_AddStringToObject(j, "error", "mode is kill or vanish");
        } else if (fname == NULL && iid == NULL) {
            status = 400;
            cJSON_AddStringToObject(j, "error", "need function= or instance=");
        } else {
            int n = 0;
            for (struct faas_fn *fn = pf->fns; fn != NULL; fn = fn->next) {
                if (fname != NULL && strcmp(fname, fn->name) != 0) continue;
                for (struct faas_inst *in = fn->insts; in != NULL; in = in->next) {
                    if (iid != NULL && strcmp(iid, in->id) != 0) continue;
                    if (in->state == INST_DEAD || in->state == INST_VANISHED) continue;
                    inst_reclaim(in, mode, "control");
                    n++;
                }
            }
            cJSON_AddNumberToObject(j, "reclaimed", n);
        }
    } else if (strcmp(what, "freeze") == 0 || strcmp(what, "thaw") == 0) {
        struct faas_inst *in = iid ? find_inst(pf, iid) : NULL;
        if (in == NULL || in->exited) {
            status = 404;
            cJSON_AddStringToObject(j, "error", "no such instance");
        } else {
            int freeze = what[0] == 'f';
            sig_group(in, freeze ? SIGSTOP : SIGCONT);
            in->frozen = freeze;
            cJSON_AddBoolToObject(j, "frozen", freeze);
        }
    } else {
        status = 404;
        cJSON_AddStringToObject(j, "error",
                                "unknown control path (instances, billing, reclaim, freeze, thaw)");
    }
    req_reply(r, status, resp_json(j));
}

/* ---- Invoke API ------------------------------------------------------------ */

#define INVOKE_PREFIX "/2015-03-31/functions/"

static void add_rid(struct MHD_Response *resp, struct faas_platform *pf)
{
    char id[40];
    make_uuid(&pf->idrng, id);
    MHD_add_response_header(resp, "x-amzn-RequestId", id);
}

static void reply_service(struct req *r, unsigned status, struct MHD_Response *resp)
{
    add_rid(resp, r->pf);
    req_reply(r, status, resp);
}

/* The function name of an Invoke URL into name; 0 or -1 if not an Invoke URL. */
static int invoke_route(const char *url, char *name, size_t len)
{
    if (strncmp(url, INVOKE_PREFIX, strlen(INVOKE_PREFIX)) != 0) return -1;
    const char *seg = url + strlen(INVOKE_PREFIX);
    const char *slash = strchr(seg, '/');
    if (slash == NULL || strcmp(slash, "/invocations") != 0) return -1;
    char tmp[512];
    size_t n = (size_t)(slash - seg);
    if (n >= sizeof tmp) return -2;
    memcpy(tmp, seg, n);
    tmp[n] = '\0';
    return faas_function_name(tmp, name, len) == 0 ? 0 : -2;
}

static int type_of(const char *t, enum inv_type *out, int *dry)
{
    *dry = 0;
    if (t == NULL || strcmp(t, "RequestResponse") == 0)
        *out = INV_SYNC;
    else if (strcmp(t, "Event") == 0)
        *out = INV_EVENT;
    else if (strcmp(t, "DryRun") == 0) {
        *out = INV_SYNC;
        *dry = 1;
    } else
        return -1;
    return 0;
}

/* First call of an Invoke request: everything decidable from the headers,
 * answered before the body is read (so Expect: 100-continue is honoured). */
static void invoke_begin(struct faas_platform *pf, struct req *r, const char *url)
{
    char name[160];
    enum inv_type type;
    int dry;
    int rc = invoke_route(url, name, sizeof name);
    if (rc == -2) {
        reply_service(
            r, 400, service_error("ValidationException", NULL, "invalid function name in %s", url));
        return;
    }
    if (type_of(hdr(r->conn, "X-Amz-Invocation-Type"), &type, &dry) != 0) {
        reply_service(
            r, 400,
            service_error("InvalidParameterValueException", NULL,
                          "X-Amz-Invocation-Type must be RequestResponse, Event or DryRun"));
        return;
    }
    r->limit = type == INV_EVENT ? EVENT_LIMIT : SYNC_LIMIT;
    struct faas_fn *fn = fn_get(pf, name);
    if (fn == NULL) {
        reply_service(r, 404,
                      service_error("ResourceNotFoundException", NULL,
                                    "Function not found: arn:aws:lambda:%s:%s:function:%s",
                                    pf->o->region, pf->o->account, name));
        return;
    }
    const char *cl = hdr(r->conn, "Content-Length");
    if (cl != NULL) {
        unsigned long long n = strtoull(cl, NULL, 10);
        r->declared = n;
        if (n > r->limit && hdr(r->conn, "Expect") == NULL) {
            r->too_large = 1; /* read and drop the body, answer 413 at its end */
            return;
        }
        if (n > r->limit) { /* Expect: 100-continue: answer now, never read it */
            reply_service(
                r, 413,
                service_error(
                    "RequestTooLargeException", NULL,
                    "%llu byte payload is too large for the %s invocation type (limit %zu bytes)",
                    n, type == INV_EVENT ? "Event" : "RequestResponse", r->limit));
            return;
        }
        if (n > 0) {
            r->body = malloc((size_t)n + 1);
            r->cap = r->body ? (size_t)n + 1 : 0;
        }
    }
}

static void invoke_end(struct faas_platform *pf, struct req *r, const char *url)
{
    char name[160];
    enum inv_type type;
    int dry;
    invoke_route(url, name, sizeof name);
    type_of(hdr(r->conn, "X-Amz-Invocation-Type"), &type, &dry);
    struct faas_fn *fn = fn_get(pf, name);
    if (r->too_large || fn == NULL) {
        reply_service(
            r, 413,
            service_error(
                "RequestTooLargeException", NULL,
                "%llu byte payload is too large for the %s invocation type (limit %zu bytes)",
                r->declared, type == INV_EVENT ? "Event" : "RequestResponse", r->limit));
        return;
    }
    if (r->len > 0) {
        cJSON *j = cJSON_ParseWithLength(r->body, r->len);
        if (j == NULL) {
            reply_service(
                r, 400,
                service_error(
                    "InvalidRequestContentException", NULL,
                    "Could not parse request body into json: Unexpected character at offset %zu",
                    (size_t)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - r->body : 0)));
            return;
        }
        cJSON_Delete(j);
    }
    if (dry) {
        struct MHD_Response *resp = resp_buf(NULL, 0);
        reply_service(r, 204, resp);
        return;
    }
    if (pf->stopping) {
        reply_service(r, 500,
                      service_error("ServiceException", NULL, "fncache-faas is shutting down"));
        return;
    }
    const char *cc = hdr(r->conn, "X-Amz-Client-Context");
    char *ctx = NULL;
    if (cc != NULL) {
        size_t n = strlen(cc);
        ctx = malloc(3 * (n / 4) + 4);
        long dl = ctx != NULL && n <= 3583 ? faas_base64_decode(cc, n, (unsigned char *)ctx) : -1;
        cJSON *j = dl >= 0 ? cJSON_ParseWithLength(ctx, (size_t)dl) : NULL;
        if (j == NULL || !cJSON_IsObject(j) || memchr(ctx, '\n', (size_t)dl) != NULL) {
            cJSON_Delete(j);
            free(ctx);
            reply_service(
                r, 400,
                service_error("InvalidRequestContentException", NULL,
                              "Client context must be a valid Base64-encoded JSON object."));
            return;
        }
        cJSON_Delete(j);
        ctx[dl] = '\0';
    }
    struct faas_inv *inv = calloc(1, sizeof *inv);
    if (inv == NULL) {
        free(ctx);
        reply_service(r, 500, service_error("ServiceException", NULL, "out of memory"));
        return;
    }
    make_uuid(&pf->idrng, inv->id);
    inv->type = type;
    inv->fn = fn;
    inv->enq_ns = cm_now_ns();
    inv->payload = r->body;
    inv->len = r->len;
    inv->client_context = ctx;
    r->body = NULL;
    const char *lt = hdr(r->conn, "X-Amz-Log-Type");
    inv->tail = type == INV_SYNC && lt != NULL && strcmp(lt, "Tail") == 0;
    if (type == INV_SYNC) {
        inv->caller = r;
        r->inv = inv;
    }
    char id[40];
    memcpy(id, inv->id, sizeof id);
    const char *why = fn_submit(fn, inv);
    if (why != NULL) {
        r->inv = NULL;
        free(inv->payload);
        free(inv->client_context);
        free(inv);
        struct MHD_Response *resp =
            service_error("TooManyRequestsException", why, "Rate Exceeded.");
        MHD_add_response_header(resp, "x-amzn-RequestId", id);
        req_reply(r, 429, resp);
        return;
    }
    if (type == INV_EVENT) {
        struct MHD_Response *resp = resp_buf(NULL, 0);
        MHD_add_response_header(resp, "x-amzn-RequestId", id);
        req_reply(r, 202, resp);
    }
}

static int api_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                       const char *version, const char *data, size_t *size, void **con_cls)
{
    (void)version;
    struct faas_platform *pf = cls;
    struct req *r = *con_cls;
    cm_trace("api %s %s: req %p, %zu bytes, reply %p", method, url, (void *)r, *size,
             r ? (void *)r->reply : NULL);
    if (r == NULL) {
        r = req_new(pf, &pf->api, c, SYNC_LIMIT);
        if (r == NULL) return MHD_NO;
        *con_cls = r;
        if (strncmp(url, "/_faas/", 7) == 0) {
            r->kind = REQ_CONTROL;
        } else if (strcmp(method, "POST") == 0 && invoke_route(url, (char[160]){0}, 160) != -1) {
            r->kind = REQ_INVOKE;
            invoke_begin(pf, r, url);
        } else {
            r->kind = REQ_OTHER;
            reply_service(r, 404,
                          service_error("UnknownOperationException", NULL,
                                        "Unknown operation %s %s", method, url));
        }
        if (r->reply != NULL) return req_finish(r);
        return MHD_YES;
    }
    if (*size > 0) {
        req_absorb(r, data, size);
        return MHD_YES;
    }
    if (!r->started && r->reply == NULL) {
        r->started = 1;
        if (r->kind == REQ_CONTROL)
            control(pf, r, url);
        else
            invoke_end(pf, r, url);
    }
    return req_finish(r);
}

/* ---- housekeeping: memory, reclamation ------------------------------------ */

static void on_tick(uv_timer_t *t)
{
    struct faas_platform *pf = t->data;
    const struct faas_options *o = pf->o;
    uint64_t now = cm_now_ns();
    unsigned idle = 0;
    for (struct faas_fn *fn = pf->fns; fn != NULL; fn = fn->next) {
        for (struct faas_inst *in = fn->insts, *next; in != NULL; in = next) {
            next = in->next;
            if (in->state == INST_DEAD || in->exited) continue;
            if (in->state == INST_VANISHED) {
                if (now >= in->vanish_kill_ns) inst_kill(in, "vanished, linger over");
                continue;
            }
            in->rss_kb = read_rss_kb(pf, in->pid);
            if (in->rss_kb > in->max_rss_kb) in->max_rss_kb = in->rss_kb;
            if (in->rss_kb > (uint64_t)fn->conf->memory_mb * 1024) {
                cm_warn("%s %s: RSS %" PRIu64 " kB over the memory size %u MB", fn->name, in->id,
                        in->rss_kb, fn->conf->memory_mb);
                in->oom = 1;
                inst_kill(in, "out of memory");
                continue;
            }
            if (in->state != INST_IDLE) continue;
            if (o->idle_ms && now - in->idle_since_ns >= o->idle_ms * 1000000u)
                inst_reclaim(in, o->mode, "idle");
            else if (in->life_end_ns && now >= in->life_end_ns)
                inst_reclaim(in, o->mode, "lifetime");
            else
                idle++;
        }
    }
    /* Random reclamation: a seeded Poisson process; each event takes one
     * idle instance chosen uniformly (none idle: the event passes). */
    while (o->random_per_hour > 0 && now >= pf->next_random_ns) {
        uint64_t gap = faas_random_gap_ms(&pf->rng, o->random_per_hour);
        pf->next_random_ns = gap == UINT64_MAX ? UINT64_MAX : pf->next_random_ns + gap * 1000000u;
        if (idle == 0) continue;
        uint64_t pick = faas_rng_next(&pf->rng) % idle;
        struct faas_inst *victim = NULL;
        for (struct faas_fn *fn = pf->fns; fn != NULL && victim == NULL; fn = fn->next)
            for (struct faas_inst *in = fn->insts; in != NULL && victim == NULL; in = in->next)
                if (in->state == INST_IDLE && pick-- == 0) victim = in;
        if (victim != NULL) {
            inst_reclaim(victim, o->mode, "random");
            idle--;
        }
        if (pf->next_random_ns < now) pf->next_random_ns = now; /* do not burst after a stall */
    }
}

/* ---- start and stop -------------------------------------------------------- */

static void on_closed_nop(uv_handle_t *h)
{
    (void)h;
}

static void on_stop_timer(uv_timer_t *t)
{
    struct faas_platform *pf = t->data;
    resume_all(pf, &pf->api);
    faas_httpd_stop(&pf->api, NULL);
    uv_close((uv_handle_t *)&pf->tick, on_closed_nop);
    uv_close((uv_handle_t *)&pf->stop_timer, on_closed_nop);
    uv_close((uv_handle_t *)&pf->sigterm, on_closed_nop);
    uv_close((uv_handle_t *)&pf->sigint, on_closed_nop);
}

static void maybe_finish(struct faas_platform *pf)
{
    if (!pf->stopping || uv_is_active((uv_handle_t *)&pf->stop_timer)) return;
    for (struct faas_fn *fn = pf->fns; fn != NULL; fn = fn->next)
        if (fn->insts != NULL) return;
    /* Every instance is gone; give the last replies a moment to leave. */
    uv_timer_start(&pf->stop_timer, on_stop_timer, 50, 0);
}

static void on_signal(uv_signal_t *s, int sig)
{
    struct faas_platform *pf = s->data;
    if (pf->stopping) return;
    cm_info("signal %d: stopping, killing every instance", sig);
    pf->stopping = 1;
    uv_timer_stop(&pf->tick);
    for (struct faas_fn *fn = pf->fns; fn != NULL; fn = fn->next) {
        struct faas_inv *inv;
        while ((inv = fn_dequeue(fn)) != NULL)
            inv_abort(inv);
        for (struct faas_inst *in = fn->insts; in != NULL; in = in->next) {
            if (in->exited) continue;
            if (in->state != INST_DEAD)
                inst_kill(in, "shutdown");
            else
                sig_group(in, SIGKILL);
        }
    }
    maybe_finish(pf);
}

int faas_run(const struct faas_options *o)
{
    struct faas_platform *pf = calloc(1, sizeof *pf);
    uv_loop_t loop;
    if (pf == NULL || uv_loop_init(&loop) != 0) return 1;
    pf->o = o;
    pf->loop = &loop;
    pf->page_kb = sysconf(_SC_PAGESIZE) / 1024;
    faas_rng_seed(&pf->rng, o->seed);
    faas_rng_seed(&pf->idrng, cm_wall_ms() ^ ((uint64_t)getpid() << 32) ^ cm_now_ns());
    signal(SIGPIPE, SIG_IGN);
    int rc = 1;
    if (o->billing_file != NULL) {
        pf->billing = fopen(o->billing_file, "a");
        if (pf->billing == NULL) {
            cm_error("cannot open the billing file %s: %s", o->billing_file, strerror(errno));
            goto out;
        }
    }
    if (faas_httpd_start(&pf->api, &loop, o->listen, (uint16_t)o->port,
                         (MHD_AccessHandlerCallback)api_handler, pf, on_completed, pf) != 0)
        goto out;
    if (o->port_file != NULL) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", o->port_file);
        FILE *f = fopen(tmp, "w");
        if (f == NULL || fprintf(f, "%u\n", pf->api.port) < 0 || fclose(f) != 0 ||
            rename(tmp, o->port_file) != 0) {
            cm_error("cannot write the port file %s", o->port_file);
            goto out;
        }
    }
    cm_info("Invoke API on http://%s:%u, %u concurrent instances at most, reclaim idle=%" PRIu64
            " ms lifetime=%" PRIu64 " ms random=%g/h mode=%s seed=%" PRIu64,
            o->listen, pf->api.port, o->concurrency, o->idle_ms, o->lifetime_ms, o->random_per_hour,
            faas_reclaim_mode_name(o->mode), o->seed);
    uv_timer_init(&loop, &pf->tick);
    uv_timer_init(&loop, &pf->stop_timer);
    pf->tick.data = pf->stop_timer.data = pf;
    uv_timer_start(&pf->tick, on_tick, o->tick_ms, o->tick_ms);
    uint64_t gap = faas_random_gap_ms(&pf->rng, o->random_per_hour);
    pf->next_random_ns = gap == UINT64_MAX ? UINT64_MAX : cm_now_ns() + gap * 1000000u;
    uv_signal_init(&loop, &pf->sigterm);
    uv_signal_init(&loop, &pf->sigint);
    pf->sigterm.data = pf->sigint.data = pf;
    uv_signal_start(&pf->sigterm, on_signal, SIGTERM);
    uv_signal_start(&pf->sigint, on_signal, SIGINT);
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = 0;
    cm_info("stopped: %" PRIu64 " invocations, %" PRIu64 " cold starts, %.6f GB-s",
            pf->bill.invocations, pf->bill.cold_starts, faas_gb_seconds(pf->bill.mb_ms));
out:
    for (struct faas_fn *fn = pf->fns, *next; fn != NULL; fn = next) {
        next = fn->next;
        free(fn->name);
        free(fn->arn);
        free(fn);
    }
    if (pf->billing != NULL) fclose(pf->billing);
    if (rc != 0 && pf->api.d != NULL) faas_httpd_stop(&pf->api, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    free(pf);
    return rc;
}

int faas_exec_shim(int argc, char **argv)
{
    /* argv: PARENT_PID PATH. Die with the platform, even if it is SIGKILLed. */
    if (argc < 2) return 127;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != (pid_t)atoi(argv[0])) _exit(127); /* the platform died already */
    char *args[] = {argv[1], NULL};
    execv(argv[1], args);
    fprintf(stderr, "fncache-faas: cannot exec %s: %s\n", argv[1], strerror(errno));
    _exit(127);
}
