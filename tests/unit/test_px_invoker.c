/* tests/unit/test_px_invoker.c — the Invoke API client on libuv, against a
 * libmicrohttpd server in this process that answers as Lambda does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/container.h"
#include "proxy/invoker.h"

struct upload {
    char *data;
    size_t len;
};

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *body,
                              const char *hname, const char *hvalue)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "X-Amz-Executed-Version", "$LATEST");
    if (hname != NULL) MHD_add_response_header(r, hname, hvalue);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Functions by name: ok (echo), crash, throttle, slow; anything else 404. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size,
                                  void **con_cls)
{
    (void)cls;
    (void)version;
    struct upload *u = *con_cls;
    if (u == NULL) {
        *con_cls = calloc(1, sizeof *u);
        return MHD_YES;
    }
    if (*upload_size > 0) {
        u->data = realloc(u->data, u->len + *upload_size + 1);
        memcpy(u->data + u->len, upload_data, *upload_size);
        u->len += *upload_size;
        u->data[u->len] = 0;
        *upload_size = 0;
        return MHD_YES;
    }
    if (strncmp(url, "/tmpl/", 6) == 0) { /* another platform's URL: echo what identifies the caller */
        const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
        const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Api-Key");
        char echo[512];
        snprintf(echo, sizeof echo, "%s|%s|%s", url, auth ? auth : "", key ? key : "");
        return answer(conn, 200, echo, NULL, NULL);
    }
    char name[64];
    if (strcmp(method, "POST") != 0 || sscanf(url, "/2015-03-31/functions/%63[^/]/invocations", name) != 1)
        return answer(conn, 400, "{}", NULL, NULL);
    const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Invocation-Type");
    if (type != NULL && strcmp(type, "Event") == 0) return answer(conn, 202, "", NULL, NULL);
    if (strcmp(name, "ok") == 0) return answer(conn, 200, u->data ? u->data : "", NULL, NULL);
    if (strcmp(name, "crash") == 0)
        return answer(conn, 200, "{\"errorType\":\"Runtime.ExitError\",\"errorMessage\":\"exit status 1\"}",
                      "X-Amz-Function-Error", "Unhandled");
    if (strcmp(name, "throttle") == 0)
        return answer(conn, 429, "{\"Reason\":\"ReservedFunctionConcurrentInvocationLimitExceeded\"}",
                      "x-amzn-ErrorType", "TooManyRequestsException:http://internal.amazon.com/");
    if (strcmp(name, "slow") == 0) {
        usleep(1500000);
        return answer(conn, 200, "{}", NULL, NULL);
    }
    return answer(conn, 404, "{\"Type\":\"User\"}", "x-amzn-ErrorType", "ResourceNotFoundException");
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
    (void)cls;
    (void)c;
    (void)t;
    struct upload *u = *con_cls;
    if (u != NULL) free(u->data);
    free(u);
}

struct fixture {
    struct MHD_Daemon *httpd;
    char url[64];
    uv_loop_t loop;
    struct px_invoker iv;
    int closed;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->httpd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                                NULL, on_request, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
                                MHD_OPTION_SOCK_ADDR, NULL, MHD_OPTION_END);
    if (f->httpd == NULL) return -1;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(f->httpd, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u/", info->port);
    uv_loop_init(&f->loop);
    if (px_invoker_init(&f->iv, &f->loop, f->url) != 0) return -1;
    *state = f;
    return 0;
}

static void on_closed(struct px_invoker *iv) { cm_container_of(iv, struct fixture, iv)->closed = 1; }

/* Every test ends with the invoker closed and the loop empty: no handle leaks. */
static int teardown(void **state)
{
    struct fixture *f = *state;
    px_invoker_close(&f->iv, on_closed);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(f->closed, 1);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    MHD_stop_daemon(f->httpd);
    free(f);
    return 0;
}

struct seen {
    int calls, ok, transport_error;
    long status;
    char body[256], error_type[64], function_error[64];
};

static void record(const struct px_invoke_result *r, void *arg)
{
    struct seen *s = arg;
    s->calls++;
    s->ok = r->ok;
    s->status = r->http_status;
    s->transport_error = r->transport_error;
    snprintf(s->body, sizeof s->body, "%s", r->body);
    snprintf(s->error_type, sizeof s->error_type, "%s", r->error_type ? r->error_type : "");
    snprintf(s->function_error, sizeof s->function_error, "%s", r->function_error ? r->function_error : "");
}

static struct seen run_one(struct fixture *f, const char *fn, const char *payload, int event, uint64_t timeout)
{
    struct seen s = {0};
    assert_int_equal(px_invoke(&f->iv, fn, payload, event, timeout, record, &s), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT); /* returns once nothing is pending */
    assert_int_equal(s.calls, 1);
    return s;
}

static void test_request_response(void **state)
{
    struct seen s = run_one(*state, "ok", "{\"cmd\":\"ping\"}", 0, 5000);
    assert_true(s.ok);
    assert_int_equal(s.status, 200);
    assert_string_equal(s.body, "{\"cmd\":\"ping\"}");
    assert_string_equal(s.function_error, "");
}

static void test_event(void **state)
{
    struct seen s = run_one(*state, "ok", "{}", 1, 5000);
    assert_true(s.ok);
    assert_int_equal(s.status, 202);
}

static void test_function_error(void **state)
{
    struct seen s = run_one(*state, "crash", "{}", 0, 5000);
    assert_false(s.ok);
    assert_int_equal(s.status, 200);
    assert_string_equal(s.function_error, "Unhandled");
    assert_non_null(strstr(s.body, "Runtime.ExitError"));
}

static void test_service_errors(void **state)
{
    struct seen s = run_one(*state, "throttle", "{}", 0, 5000);
    assert_false(s.ok);
    assert_int_equal(s.status, 429);
    assert_string_equal(s.error_type, "TooManyRequestsException"); /* suffix cut */
    s = run_one(*state, "nosuchfunction", "{}", 0, 5000);
    assert_false(s.ok);
    assert_int_equal(s.status, 404);
    assert_string_equal(s.error_type, "ResourceNotFoundException");
}

static void test_timeout(void **state)
{
    struct seen s = run_one(*state, "slow", "{}", 0, 200);
    assert_false(s.ok);
    assert_int_not_equal(s.transport_error, 0);
}

static void test_refused(void **state)
{
    struct fixture *f = *state;
    struct px_invoker iv;
    struct seen s = {0};
    /* port 1: nothing listens there, the connection is refused */
    assert_int_equal(px_invoker_init(&iv, &f->loop, "http://127.0.0.1:1"), 0);
    assert_int_equal(px_invoke(&iv, "ok", "{}", 0, 2000, record, &s), 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    assert_int_equal(s.calls, 1);
    assert_false(s.ok);
    assert_int_not_equal(s.transport_error, 0);
    px_invoker_close(&iv, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void test_many_concurrent(void **state)
{
    struct fixture *f = *state;
    enum { N = 64 };
    struct seen s[N];
    char payload[N][32];
    memset(s, 0, sizeof s);
    for (int i = 0; i < N; i++) {
        snprintf(payload[i], sizeof payload[i], "{\"n\":%d}", i);
        assert_int_equal(px_invoke(&f->iv, "ok", payload[i], 0, 10000, record, &s[i]), 0);
    }
    assert_int_equal(f->iv.in_flight, N);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    for (int i = 0; i < N; i++) {
        assert_int_equal(s[i].calls, 1);
        assert_true(s[i].ok);
        assert_string_equal(s[i].body, payload[i]); /* each answer reached its own caller */
    }
    assert_int_equal(f->iv.in_flight, 0);
}

/* Closing with calls in flight: each caller hears once, nothing leaks. */
static void test_close_in_flight(void **state)
{
    struct fixture *f = *state;
    struct seen s[3] = {0};
    for (int i = 0; i < 3; i++) assert_int_equal(px_invoke(&f->iv, "slow", "{}", 0, 10000, record, &s[i]), 0);
    uv_run(&f->loop, UV_RUN_NOWAIT); /* let the requests start */
    px_invoker_close(&f->iv, on_closed);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s[i].calls, 1);
        assert_false(s[i].ok);
    }
    assert_int_equal(px_invoke(&f->iv, "ok", "{}", 0, 1000, record, &s[0]), -ECANCELED);
}

/* A URL template with the function's name in it, and each kind of --auth. */
static void test_url_template_and_auth(void **state)
{
    struct fixture *f = *state;
    struct px_invoker iv;
    char base[128];
    snprintf(base, sizeof base, "%stmpl/{function}/run", f->url);
    assert_int_equal(px_invoker_init(&iv, &f->loop, base), 0);
    const char *bad[] = {"", "basic", "basic:nocolon", "bearer:", "header:novalue", "header::v", "digest:x",
                         "bearer:a\r\nX-Injected: y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(px_invoker_auth(&iv, bad[i]), -EINVAL);
    const struct {
        const char *spec, *want;
    } cases[] = {
        {"none", "/tmpl/fn-1/run||"},
        {"basic:user:pa:ss", "/tmpl/fn-1/run|Basic dXNlcjpwYTpzcw==|"},
        {"bearer:tok123", "/tmpl/fn-1/run|Bearer tok123|"},
        {"header:X-Api-Key: k1", "/tmpl/fn-1/run||k1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct seen s = {0};
        assert_int_equal(px_invoker_auth(&iv, cases[i].spec), 0);
        assert_int_equal(px_invoke(&iv, "fn-1", "{}", 0, 5000, record, &s), 0);
        uv_run(&f->loop, UV_RUN_DEFAULT);
        assert_true(s.ok);
        assert_string_equal(s.body, cases[i].want);
    }
    px_invoker_close(&iv, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_response, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_function_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_service_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_close_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_template_and_auth, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
