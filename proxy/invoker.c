/* proxy/invoker.c — Lambda Invoke API calls on libcurl multi + libuv,
 * after curl's docs/examples/multi-uv.c: CURLMOPT_SOCKETFUNCTION maps each
 * socket to a uv_poll_t, CURLMOPT_TIMERFUNCTION to one uv_timer_t. */
#include "proxy/invoker.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/container.h"
#include "proxy/aws.h"

struct px_call {
    struct px_invoker *iv;
    struct px_call *prev, *next; /* the invoker's list of calls in flight */
    CURL *easy;
    struct curl_slist *headers;
    char *payload;
    struct cm_buf body;
    char error_type[128];
    char function_error[64];
    uint64_t start_ms;
    px_invoke_cb cb;
    void *arg;
};

struct sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct px_invoker *iv;
};

static void handle_closed(uv_handle_t *h)
{
    struct px_invoker *iv = h->data;
    if (h->type == UV_POLL) free(cm_container_of((uv_poll_t *)h, struct sock, poll));
    if (--iv->open_handles == 0 && iv->closing && iv->on_closed != NULL) iv->on_closed(iv);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct px_call *c = arg;
    return cm_buf_append(&c->body, ptr, size * nmemb) == 0 ? size * nmemb : 0;
}

static void header_value(const char *line, size_t n, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return;
    const char *v = line + nl + 1;
    while (v < line + n && (*v == ' ' || *v == '\t')) v++;
    size_t len = (size_t)(line + n - v);
    while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n')) len--;
    if (len >= cap) len = cap - 1;
    memcpy(out, v, len);
    out[len] = 0;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *arg)
{
    struct px_call *c = arg;
    size_t n = size * nmemb;
    header_value(line, n, "x-amzn-ErrorType", c->error_type, sizeof c->error_type);
    header_value(line, n, "X-Amz-Function-Error", c->function_error, sizeof c->function_error);
    return n;
}

static void finish_call(struct px_call *c, CURLcode code)
{
    struct px_invoke_result r = {0};
    long status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    r.transport_error = (int)code;
    r.transport_text = code != CURLE_OK ? curl_easy_strerror(code) : NULL;
    r.http_status = status;
    /* AWS adds a ":http://..." suffix to some error types */
    char *colon = strchr(c->error_type, ':');
    if (colon != NULL) *colon = 0;
    r.error_type = c->error_type[0] ? c->error_type : NULL;
    r.function_error = c->function_error[0] ? c->function_error : NULL;
    r.body = c->body.data != NULL ? c->body.data : "";
    r.body_len = c->body.len;
    r.elapsed_ms = cm_now_ms() - c->start_ms;
    r.ok = code == CURLE_OK && (status == 200 || status == 202 || status == 204) && r.function_error == NULL;
    struct px_invoker *iv = c->iv;
    iv->in_flight--;
    if (c->prev != NULL) c->prev->next = c->next;
    else iv->calls = c->next;
    if (c->next != NULL) c->next->prev = c->prev;
    c->cb(&r, c->arg);
    curl_slist_free_all(c->headers);
    curl_easy_cleanup(c->easy);
    free(c->payload);
    cm_buf_free(&c->body);
    free(c);
}

static void drain_done(struct px_invoker *iv)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(iv->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE) continue;
        struct px_call *c;
        CURL *easy = msg->easy_handle;
        CURLcode code = msg->data.result;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&c);
        curl_multi_remove_handle(iv->multi, easy);
        finish_call(c, code);
    }
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct sock *s = cm_container_of(h, struct sock, poll);
    int flags = 0, running;
    if (status < 0) flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(s->iv->multi, s->fd, flags, &running);
    drain_done(s->iv);
}

static void on_timeout(uv_timer_t *t)
{
    struct px_invoker *iv = t->data;
    int running;
    curl_multi_socket_action(iv->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_done(iv);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *arg)
{
    (void)multi;
    struct px_invoker *iv = arg;
    if (timeout_ms < 0) uv_timer_stop(&iv->timer);
    else uv_timer_start(&iv->timer, on_timeout, (uint64_t)timeout_ms, 0); /* 0: at the next loop turn */
    return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
    (void)easy;
    struct px_invoker *iv = arg;
    struct sock *s = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, handle_closed);
            curl_multi_assign(iv->multi, fd, NULL);
        }
        return 0;
    }
    if (s == NULL) {
        s = calloc(1, sizeof *s);
        if (s == NULL || uv_poll_init_socket(iv->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->fd = fd;
        s->iv = iv;
        s->poll.data = iv;
        iv->open_handles++;
        curl_multi_assign(iv->multi, fd, s);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, on_poll);
    return 0;
}

int px_invoker_init(struct px_invoker *iv, uv_loop_t *loop, const char *base_url)
{
    memset(iv, 0, sizeof *iv);
    if (snprintf(iv->base_url, sizeof iv->base_url, "%s", base_url) >= (int)sizeof iv->base_url)
        return -ENAMETOOLONG;
    size_t n = strlen(iv->base_url);
    while (n > 0 && iv->base_url[n - 1] == '/') iv->base_url[--n] = 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    iv->loop = loop;
    iv->multi = curl_multi_init();
    if (iv->multi == NULL) return -ENOMEM;
    uv_timer_init(loop, &iv->timer);
    iv->timer.data = iv;
    iv->open_handles = 1;
    curl_multi_setopt(iv->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(iv->multi, CURLMOPT_SOCKETDATA, iv);
    curl_multi_setopt(iv->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(iv->multi, CURLMOPT_TIMERDATA, iv);
    return 0;
}

int px_invoker_sign_aws(struct px_invoker *iv, const char *region, const struct px_aws_creds *creds)
{
    if (region == NULL || !*region || strpbrk(region, ":/ ") != NULL || creds == NULL) return -EINVAL;
    if (snprintf(iv->sigv4, sizeof iv->sigv4, "aws:amz:%s:lambda", region) >= (int)sizeof iv->sigv4)
        return -EINVAL;
    iv->creds = creds;
    return 0;
}

int px_invoker_auth(struct px_invoker *iv, const char *spec)
{
    const char *colon = strchr(spec, ':'), *v = colon != NULL ? colon + 1 : "", *prefix = "";
    size_t kind = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
    char *dst = NULL;
    size_t cap = 0;
    iv->userpwd[0] = iv->auth_header[0] = 0;
    if (strcmp(spec, "none") == 0) return 0;
    if (*v == 0 || strpbrk(v, "\r\n") != NULL) return -EINVAL;
    if (kind == 5 && strncmp(spec, "basic", 5) == 0 && strchr(v, ':') != NULL) {
        dst = iv->userpwd, cap = sizeof iv->userpwd;
    } else if (kind == 6 && strncmp(spec, "bearer", 6) == 0) {
        dst = iv->auth_header, cap = sizeof iv->auth_header, prefix = "Authorization: Bearer ";
    } else if (kind == 6 && strncmp(spec, "header", 6) == 0 && strchr(v, ':') > v) {
        dst = iv->auth_header, cap = sizeof iv->auth_header;
    }
    if (dst == NULL || snprintf(dst, cap, "%s%s", prefix, v) >= (int)cap) {
        iv->userpwd[0] = iv->auth_header[0] = 0;
        return -EINVAL;
    }
    return 0;
}

/* Append a header line; out of memory, the whole list is freed (NULL). */
static struct curl_slist *add_header(struct curl_slist *list, const char *line)
{
    struct curl_slist *l = list != NULL ? curl_slist_append(list, line) : NULL;
    if (l == NULL) curl_slist_free_all(list);
    return l;
}

/* The call's URL: the Invoke API path under the base, or the template with
 * the function's name in it. */
static int call_url(const struct px_invoker *iv, const char *function, char *url, size_t cap)
{
    int n;
    const char *at = strstr(iv->base_url, "{function}");
    if (at == NULL)
        n = snprintf(url, cap, "%s/2015-03-31/functions/%s/invocations", iv->base_url, function);
    else
        n = snprintf(url, cap, "%.*s%s%s", (int)(at - iv->base_url), iv->base_url, function, at + 10);
    return n < (int)cap ? 0 : -1;
}

int px_invoke(struct px_invoker *iv, const char *function, const char *payload, int event,
              uint64_t timeout_ms, px_invoke_cb cb, void *arg)
{
    if (iv->closing) return -ECANCELED;
    struct px_call *c = calloc(1, sizeof *c);
    if (c == NULL) return -ENOMEM;
    char url[1024];
    if (call_url(iv, function, url, sizeof url) != 0) {
        free(c);
        return -ENAMETOOLONG;
    }
    c->iv = iv;
    c->cb = cb;
    c->arg = arg;
    c->start_ms = cm_now_ms();
    c->payload = strdup(payload);
    c->easy = curl_easy_init();
    c->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (event) c->headers = add_header(c->headers, "X-Amz-Invocation-Type: Event");
    if (iv->auth_header[0]) c->headers = add_header(c->headers, iv->auth_header);
    if (iv->sigv4[0] && iv->creds->token[0]) {
        char line[sizeof iv->creds->token + 32];
        snprintf(line, sizeof line, "X-Amz-Security-Token: %s", iv->creds->token);
        c->headers = add_header(c->headers, line);
    }
    if (c->payload == NULL || c->easy == NULL || c->headers == NULL) {
        curl_slist_free_all(c->headers);
        if (c->easy) curl_easy_cleanup(c->easy);
        free(c->payload);
        free(c);
        return -ENOMEM;
    }
    CURL *e = c->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->payload); /* not copied: lives in c */
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(c->payload));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(e, CURLOPT_PRIVATE, c);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    /* A serve call is silent for as long as its node works (up to 15 min):
     * NAT gateways and VPC endpoints drop connections idle for 350 s. */
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 60L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 60L);
    if (iv->sigv4[0]) {
        curl_easy_setopt(e, CURLOPT_AWS_SIGV4, iv->sigv4);
        curl_easy_setopt(e, CURLOPT_USERNAME, iv->creds->key);
        curl_easy_setopt(e, CURLOPT_PASSWORD, iv->creds->secret);
    } else if (iv->userpwd[0]) {
        curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(e, CURLOPT_USERPWD, iv->userpwd);
    }
    if (curl_multi_add_handle(iv->multi, e) != CURLM_OK) {
        curl_slist_free_all(c->headers);
        curl_easy_cleanup(e);
        free(c->payload);
        free(c);
        return -EIO;
    }
    iv->in_flight++;
    c->next = iv->calls;
    if (c->next != NULL) c->next->prev = c;
    iv->calls = c;
    return 0;
}

void px_invoker_close(struct px_invoker *iv, void (*on_closed)(struct px_invoker *))
{
    if (iv->closing) return;
    iv->closing = 1;
    iv->on_closed = on_closed;
    /* Cancel what is in flight: each caller hears about it once. Removing
     * a handle makes libcurl drop its sockets, closing their polls. */
    while (iv->calls != NULL) {
        struct px_call *c = iv->calls;
        curl_multi_remove_handle(iv->multi, c->easy);
        finish_call(c, CURLE_ABORTED_BY_CALLBACK);
    }
    curl_multi_cleanup(iv->multi);
    iv->multi = NULL;
    uv_timer_stop(&iv->timer);
    uv_close((uv_handle_t *)&iv->timer, handle_closed);
}
