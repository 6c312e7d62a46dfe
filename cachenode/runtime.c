/* cachenode/runtime.c — Lambda Runtime API calls over libcurl. */
#include "cachenode/runtime.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/log.h"

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
    /* a short count makes curl fail the transfer */
    return cm_buf_append(arg, ptr, size * nmemb) == 0 ? size * nmemb : 0;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *arg)
{
    struct cn_invocation *inv = arg;
    size_t n = size * nmemb;
    char name[64];
    const char *colon = memchr(line, ':', n);
    if (colon == NULL || (size_t)(colon - line) >= sizeof name) return n;
    memcpy(name, line, (size_t)(colon - line));
    name[colon - line] = 0;
    const char *v = colon + 1;
    while (v < line + n && (*v == ' ' || *v == '\t')) v++;
    size_t vlen = (size_t)(line + n - v);
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n')) vlen--;
    if (strcasecmp(name, "Lambda-Runtime-Aws-Request-Id") == 0 && vlen < sizeof inv->request_id) {
        memcpy(inv->request_id, v, vlen);
        inv->request_id[vlen] = 0;
    } else if (strcasecmp(name, "Lambda-Runtime-Deadline-Ms") == 0) {
        inv->deadline_ms = strtoll(v, NULL, 10);
    }
    return n;
}

int cn_runtime_init(struct cn_runtime *rt, const char *api)
{
    memset(rt, 0, sizeof *rt);
    if (api == NULL || *api == 0) {
        cm_error("AWS_LAMBDA_RUNTIME_API is not set: fncache-node runs under a Lambda runtime "
                 "(AWS Lambda or fncache-faas)");
        return -1;
    }
    if (snprintf(rt->base, sizeof rt->base, "http://%s/2018-06-01/runtime", api) >= (int)sizeof rt->base) {
        cm_error("AWS_LAMBDA_RUNTIME_API is too long");
        return -1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    rt->curl = curl_easy_init();
    return rt->curl == NULL ? -1 : 0;
}

void cn_runtime_free(struct cn_runtime *rt)
{
    if (rt->curl != NULL) curl_easy_cleanup(rt->curl);
    rt->curl = NULL;
}

void cn_invocation_free(struct cn_invocation *inv)
{
    free(inv->body);
    memset(inv, 0, sizeof *inv);
}

int cn_runtime_next(struct cn_runtime *rt, struct cn_invocation *inv)
{
    CURL *c = rt->curl;
    char url[320];
    struct cm_buf b = {0};
    cn_invocation_free(inv);
    snprintf(url, sizeof url, "%s/invocation/next", rt->base);
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, inv);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 0L); /* wait as long as it takes */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK || status != 200 || inv->request_id[0] == 0) {
        cm_warn("runtime: GET /invocation/next failed: %s, HTTP %ld",
                rc != CURLE_OK ? curl_easy_strerror(rc) : "ok", status);
        cm_buf_free(&b);
        return -1;
    }
    inv->body = b.data != NULL ? b.data : strdup("");
    inv->body_len = b.len;
    return inv->body == NULL ? -1 : 0;
}

static int post(struct cn_runtime *rt, const char *path, const char *json, const char *error_type)
{
    CURL *c = rt->curl;
    char url[512], type_header[192];
    struct cm_buf ignored = {0};
    snprintf(url, sizeof url, "%s%s", rt->base, path);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (error_type != NULL) {
        snprintf(type_header, sizeof type_header, "Lambda-Runtime-Function-Error-Type: %s", error_type);
        headers = curl_slist_append(headers, type_header);
    }
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ignored);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    cm_buf_free(&ignored);
    if (rc != CURLE_OK || status != 202) {
        cm_warn("runtime: POST %s failed: %s, HTTP %ld", path,
                rc != CURLE_OK ? curl_easy_strerror(rc) : "ok", status);
        return -1;
    }
    return 0;
}

int cn_runtime_respond(struct cn_runtime *rt, const char *request_id, const char *json)
{
    char path[192];
    snprintf(path, sizeof path, "/invocation/%s/response", request_id);
    return post(rt, path, json, NULL);
}

static char *error_body(const char *type, const char *message)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "errorType", type);
    cJSON_AddStringToObject(o, "errorMessage", message);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

int cn_runtime_fail(struct cn_runtime *rt, const char *request_id, const char *type, const char *message)
{
    char path[192];
    snprintf(path, sizeof path, "/invocation/%s/error", request_id);
    char *body = error_body(type, message);
    int rc = body != NULL ? post(rt, path, body, type) : -1;
    free(body);
    return rc;
}

int cn_runtime_init_error(struct cn_runtime *rt, const char *type, const char *message)
{
    char *body = error_body(type, message);
    int rc = body != NULL ? post(rt, "/init/error", body, type) : -1;
    free(body);
    return rc;
}
