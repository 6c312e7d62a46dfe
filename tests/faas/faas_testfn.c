/* tests/faas/faas_testfn.c — a tiny Lambda custom runtime for fncache-faas
 * tests: loops on the Runtime API with libcurl and does what each event says.
 *
 * Event {"op": ...}:
 *   "count" (default)    count this invocation in memory, answer the state
 *   "sleep", "ms": N     sleep N ms, then answer
 *   "exit", "code": N    exit(N) without answering
 *   "alloc", "mb": N, "hold_ms": M   allocate and touch N MB, wait M ms, answer
 *   "error"              post /error with {"errorType":"TestError",...}
 *   "log", "text": S     print S to stdout, then answer
 *   "big", "bytes": N    answer a JSON string of N bytes
 *   "echo"               answer the size of the event
 * Every answer: {"count":n,"pid":p,"instance":"...","function":"...","len":n,
 * "request_id","deadline_ms","arn","trace","client_context": the /next
 * headers it got}.
 * Environment: FAAS_TESTFN_INIT_ERROR=1 posts /init/error at start;
 * FAAS_TESTFN_INIT_SLEEP_MS=N sleeps N ms before the first /next.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct buf {
    char *p;
    size_t n;
};

static size_t on_body(char *d, size_t sz, size_t nm, void *u)
{
    struct buf *b = u;
    size_t n = sz * nm;
    char *p = realloc(b->p, b->n + n + 1);
    if (p == NULL) return 0;
    memcpy(p + b->n, d, n);
    b->p = p;
    b->n += n;
    b->p[b->n] = '\0';
    return n;
}

static char req_id[128], deadline[64], arn[256], trace[256], client_ctx[4096];
static char *hoard[64]; /* allocations kept alive on purpose */
static size_t nhoard;

static void grab(const char *d, size_t n, const char *key, char *out, size_t outlen)
{
    size_t kl = strlen(key);
    if (n > kl && strncasecmp(d, key, kl) == 0) {
        const char *v = d + kl;
        while (*v == ' ')
            v++;
        size_t vl = (size_t)(d + n - v);
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        if (vl >= outlen) vl = outlen - 1;
        memcpy(out, v, vl);
        out[vl] = '\0';
    }
}

static size_t on_header(char *d, size_t sz, size_t nm, void *u)
{
    (void)u;
    size_t n = sz * nm;
    grab(d, n, "lambda-runtime-aws-request-id:", req_id, sizeof req_id);
    grab(d, n, "lambda-runtime-deadline-ms:", deadline, sizeof deadline);
    grab(d, n, "lambda-runtime-invoked-function-arn:", arn, sizeof arn);
    grab(d, n, "lambda-runtime-trace-id:", trace, sizeof trace);
    grab(d, n, "lambda-runtime-client-context:", client_ctx, sizeof client_ctx);
    return n;
}

static void msleep(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static long post(CURL *c, const char *url, const char *body, size_t len)
{
    struct buf out = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 0L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, NULL);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h);
    free(out.p);
    return code;
}

int main(void)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    const char *inst = getenv("FNCACHE_FAAS_INSTANCE_ID");
    const char *fname = getenv("AWS_LAMBDA_FUNCTION_NAME");
    if (api == NULL) {
        fprintf(stderr, "faas_testfn: AWS_LAMBDA_RUNTIME_API is not set\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    char url[512];
    if (getenv("FAAS_TESTFN_INIT_ERROR") != NULL) {
        snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/init/error", api);
        const char *e =
            "{\"errorMessage\":\"init failed on purpose\",\"errorType\":\"TestInitError\"}";
        post(c, url, e, strlen(e));
        return 1;
    }
    const char *init_sleep = getenv("FAAS_TESTFN_INIT_SLEEP_MS");
    if (init_sleep != NULL) msleep(atol(init_sleep));
    unsigned long count = 0;
    for (;;) {
        struct buf ev = {0};
        req_id[0] = client_ctx[0] = '\0';
        snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/next", api);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &ev);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        CURLcode rc = curl_easy_perform(c);
        long code = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (rc != CURLE_OK || code != 200) {
            fprintf(stderr, "faas_testfn: /next failed: %s, HTTP %ld\n", curl_easy_strerror(rc),
                    code);
            return 3;
        }
        count++;
        cJSON *e = ev.p ? cJSON_ParseWithLength(ev.p, ev.n) : NULL;
        const cJSON *opj = cJSON_GetObjectItemCaseSensitive(e, "op");
        const char *op = cJSON_IsString(opj) ? opj->valuestring : "count";
        const cJSON *num = NULL;
        char *answer = NULL;
        int is_error = 0;
        if (strcmp(op, "sleep") == 0) {
            num = cJSON_GetObjectItemCaseSensitive(e, "ms");
            msleep(cJSON_IsNumber(num) ? (long)num->valuedouble : 0);
        } else if (strcmp(op, "exit") == 0) {
            num = cJSON_GetObjectItemCaseSensitive(e, "code");
            exit(cJSON_IsNumber(num) ? (int)num->valuedouble : 1);
        } else if (strcmp(op, "alloc") == 0) {
            num = cJSON_GetObjectItemCaseSensitive(e, "mb");
            size_t n = (size_t)(cJSON_IsNumber(num) ? num->valuedouble : 0) << 20;
            char *p = malloc(n);
            if (p != NULL) memset(p, 1, n);
            if (nhoard < 64) hoard[nhoard++] = p;
            num = cJSON_GetObjectItemCaseSensitive(e, "hold_ms");
            msleep(cJSON_IsNumber(num) ? (long)num->valuedouble : 0);
        } else if (strcmp(op, "error") == 0) {
            is_error = 1;
        } else if (strcmp(op, "log") == 0) {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "text");
            printf("%s\n", cJSON_IsString(t) ? t->valuestring : "");
            fflush(stdout);
        } else if (strcmp(op, "big") == 0) {
            num = cJSON_GetObjectItemCaseSensitive(e, "bytes");
            size_t n = (size_t)(cJSON_IsNumber(num) ? num->valuedouble : 0);
            answer = malloc(n + 3);
            answer[0] = '"';
            memset(answer + 1, 'x', n);
            answer[n + 1] = '"';
            answer[n + 2] = '\0';
        }
        if (answer == NULL) {
            cJSON *a = cJSON_CreateObject();
            cJSON_AddNumberToObject(a, "count", (double)count);
            cJSON_AddNumberToObject(a, "pid", (double)getpid());
            cJSON_AddStringToObject(a, "instance", inst ? inst : "");
            cJSON_AddStringToObject(a, "function", fname ? fname : "");
            cJSON_AddNumberToObject(a, "len", (double)ev.n);
            cJSON_AddStringToObject(a, "request_id", req_id);
            cJSON_AddStringToObject(a, "deadline_ms", deadline);
            cJSON_AddStringToObject(a, "arn", arn);
            cJSON_AddStringToObject(a, "trace", trace);
            cJSON_AddStringToObject(a, "client_context", client_ctx);
            if (is_error) {
                cJSON_AddStringToObject(a, "errorType", "TestError");
                cJSON_AddStringToObject(a, "errorMessage", "failed on purpose");
            }
            answer = cJSON_PrintUnformatted(a);
            cJSON_Delete(a);
        }
        cJSON_Delete(e);
        free(ev.p);
        snprintf(url, sizeof url, "http://%s/2018-06-01/runtime/invocation/%s/%s", api, req_id,
                 is_error ? "error" : "response");
        post(c, url, answer, strlen(answer));
        free(answer);
    }
}
