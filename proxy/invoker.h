/* proxy/invoker.h — invoke functions through the AWS Lambda Invoke API with
 * libcurl's multi interface, driven by the proxy's libuv loop.
 *
 * The same code reaches fncache-faas and AWS: only the base URL (and, on
 * AWS, request signing) differ. Nothing here blocks the loop: each socket
 * libcurl opens gets a uv_poll_t, libcurl's timer is one uv_timer_t.
 * Other HTTP platforms: a base URL holding "{function}" is a template for
 * the whole URL, optionally with basic, bearer or header authentication.
 *
 * Ownership: px_invoke() copies the function name and payload; the result
 * handed to the callback (body, error strings) is valid only during the
 * callback. The invoker owns every curl handle and poll handle it creates.
 */
#ifndef FNCACHE_PROXY_INVOKER_H
#define FNCACHE_PROXY_INVOKER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct px_invoke_result {
    int ok;                      /* 1: the function ran and answered normally */
    int transport_error;         /* curl error code, 0 when HTTP completed */
    const char *transport_text;  /* curl's words for it */
    long http_status;            /* 200, 202, 429, ... (0 without HTTP) */
    const char *error_type;      /* x-amzn-ErrorType of a service error, or NULL */
    const char *function_error;  /* X-Amz-Function-Error ("Unhandled"), or NULL */
    const char *body;            /* response body, NUL-terminated */
    size_t body_len;
    uint64_t elapsed_ms;
};

struct px_aws_creds;

typedef void (*px_invoke_cb)(const struct px_invoke_result *res, void *arg);

struct px_invoker {
    uv_loop_t *loop;
    void *multi;                 /* CURLM * */
    uv_timer_t timer;
    char base_url[512];
    char sigv4[96];              /* CURLOPT_AWS_SIGV4 provider string, or "" */
    const struct px_aws_creds *creds; /* with sigv4: the caller's, read at each call */
    char userpwd[512];           /* basic authentication "user:password", or "" */
    char auth_header[1024];      /* a header line sent with every call, or "" */
    unsigned in_flight;
    struct px_call *calls;          /* in flight, private to invoker.c */
    int closing;
    void (*on_closed)(struct px_invoker *);
    unsigned open_handles;       /* poll handles + timer not yet closed */
};

/* base_url: e.g. "http://127.0.0.1:9001". Returns 0 or a negative errno. */
int px_invoker_init(struct px_invoker *iv, uv_loop_t *loop, const char *base_url);

/* Sign every call with AWS Signature Version 4 for Lambda in region
 * (libcurl's CURLOPT_AWS_SIGV4 "aws:amz:REGION:lambda"), with *creds: the
 * caller's, read at every call, so they may be replaced from the loop
 * between calls; a session token goes out as X-Amz-Security-Token. The body
 * is given with its size and Content-Type: application/json, and no header
 * is ever removed or dated by hand: libcurl 7.88 signs exactly that right.
 * Returns 0 or -EINVAL. */
int px_invoker_sign_aws(struct px_invoker *iv, const char *region, const struct px_aws_creds *creds);

/* Authenticate every call to another HTTP platform: "none",
 * "basic:USER:PASSWORD", "bearer:TOKEN" or "header:NAME:VALUE". Returns 0
 * or -EINVAL. */
int px_invoker_auth(struct px_invoker *iv, const char *spec);

/* Start an invocation. event: 1 for InvocationType Event (202, fire and
 * forget), 0 for RequestResponse. timeout_ms bounds the whole call (0 =
 * none). The callback runs exactly once, from the loop, also when the
 * invoker is closed first (then transport_error is set). Returns 0, or a
 * negative errno when the call could not even start (no callback then). */
int px_invoke(struct px_invoker *iv, const char *function, const char *payload, int event,
              uint64_t timeout_ms, px_invoke_cb cb, void *arg);

/* Cancel what is in flight (callbacks run with an error) and close the
 * handles; on_closed runs when the last one is closed. */
void px_invoker_close(struct px_invoker *iv, void (*on_closed)(struct px_invoker *));

#endif
