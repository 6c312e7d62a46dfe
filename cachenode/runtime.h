/* cachenode/runtime.h — client of the AWS Lambda Runtime API (libcurl).
 *
 * The same calls work against AWS and against fncache-faas: the base
 * address comes from AWS_LAMBDA_RUNTIME_API. One struct cn_runtime per
 * process; it owns its curl handle and the last invocation's body.
 */
#ifndef FNCACHE_CACHENODE_RUNTIME_H
#define FNCACHE_CACHENODE_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

struct cn_runtime {
    char base[256];          /* http://HOST:PORT/2018-06-01/runtime */
    void *curl;              /* CURL *, reused between calls */
};

/* One invocation as /next delivered it. Owned by the runtime until the
 * next call to cn_runtime_next(). */
struct cn_invocation {
    char request_id[128];
    int64_t deadline_ms;     /* unix ms, from Lambda-Runtime-Deadline-Ms; 0 if absent */
    char *body;              /* NUL-terminated payload */
    size_t body_len;
};

/* Returns 0, or -1 with a logged reason (variable missing, curl failed). */
int cn_runtime_init(struct cn_runtime *rt, const char *api);
void cn_runtime_free(struct cn_runtime *rt);

/* Block for the next invocation (no timeout: a frozen instance may wait for
 * hours). Returns 0, or -1 after a failed call (the caller retries). */
int cn_runtime_next(struct cn_runtime *rt, struct cn_invocation *inv);
/* Answer an invocation with a JSON body, or with an error (type and
 * message go into Lambda's {"errorType","errorMessage"} body). 0 or -1. */
int cn_runtime_respond(struct cn_runtime *rt, const char *request_id, const char *json);
int cn_runtime_fail(struct cn_runtime *rt, const char *request_id, const char *type, const char *message);
/* Report a failure before the first invocation (POST /init/error). */
int cn_runtime_init_error(struct cn_runtime *rt, const char *type, const char *message);

void cn_invocation_free(struct cn_invocation *inv);

#endif
