/* proxy/aws.c — AWS credentials: environment, shared credentials file,
 * EC2 instance metadata (IMDSv2), kept fresh from the proxy's loop. */
#include "proxy/aws.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/log.h"

#define FILE_CHECK_MS 30000
#define REFRESH_BEFORE_S (15 * 60)
#define RETRY_MS 10000

static int copy(char *dst, size_t cap, const char *src, size_t n)
{
    if (n >= cap) return -1;
    memcpy(dst, src, n);
    dst[n] = 0;
    return 0;
}

static const char *trim(const char *s, const char *end, size_t *len)
{
    while (s < end && isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        end--;
    *len = (size_t)(end - s);
    return s;
}

int px_aws_parse_credentials(const char *text, const char *profile, struct px_aws_creds *out,
                             char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    int in_profile = 0, found = 0;
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n');
        if (eol == NULL) eol = line + strlen(line);
        size_t n;
        const char *s = trim(line, eol, &n);
        line = *eol ? eol + 1 : eol;
        if (n == 0 || *s == '#' || *s == ';') continue;
        if (*s == '[') {
            size_t name_len;
            const char *name = s[n - 1] == ']' ? trim(s + 1, s + n - 1, &name_len) : NULL;
            in_profile =
                name != NULL && name_len == strlen(profile) && memcmp(name, profile, name_len) == 0;
            found |= in_profile;
            continue;
        }
        const char *eq = memchr(s, '=', n);
        if (!in_profile || eq == NULL) continue;
        size_t kl, vl;
        const char *k = trim(s, eq, &kl), *v = trim(eq + 1, s + n, &vl);
        char *dst = NULL;
        size_t dcap = 0;
        if (kl == 17 && strncasecmp(k, "aws_access_key_id", kl) == 0)
            dst = out->key, dcap = sizeof out->key;
        else if (kl == 21 && strncasecmp(k, "aws_secret_access_key", kl) == 0)
            dst = out->secret, dcap = sizeof out->secret;
        else if (kl == 17 && strncasecmp(k, "aws_session_token", kl) == 0)
            dst = out->token, dcap = sizeof out->token;
        if (dst != NULL && copy(dst, dcap, v, vl) != 0) {
            snprintf(err, cap, "profile %s: %.*s is too long", profile, (int)kl, k);
            return -EINVAL;
        }
    }
    if (!found) {
        snprintf(err, cap, "no profile [%s]", profile);
        return -ENOENT;
    }
    if (out->key[0] == 0 || out->secret[0] == 0) {
        snprintf(err, cap, "profile [%s] lacks aws_%s", profile,
                 out->key[0] == 0 ? "access_key_id" : "secret_access_key");
        return -EINVAL;
    }
    return 0;
}

/* "2026-11-27T05:00:00Z" -> unix seconds, or -1. */
static int64_t parse_time(const char *s)
{
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (end == NULL || (*end != 'Z' && *end != 0)) return -1;
    return (int64_t)timegm(&tm);
}

int px_aws_parse_imds(const char *json, struct px_aws_creds *out, char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    cJSON *doc = cJSON_Parse(json);
    const char *names[] = {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"};
    char *dst[] = {out->key, out->secret, out->token, NULL};
    size_t caps[] = {sizeof out->key, sizeof out->secret, sizeof out->token, 0};
    int rc = 0;
    if (doc == NULL) {
        snprintf(err, cap, "the credential document is not JSON");
        return -EINVAL;
    }
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(doc, "Code");
    if (cJSON_IsString(code) && strcmp(code->valuestring, "Success") != 0) {
        snprintf(err, cap, "the metadata service answered Code %s", code->valuestring);
        rc = -EINVAL;
    }
    for (int i = 0; i < 4 && rc == 0; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, names[i]);
        if (!cJSON_IsString(v) || v->valuestring[0] == 0 ||
            (dst[i] != NULL &&
             copy(dst[i], caps[i], v->valuestring, strlen(v->valuestring)) != 0) ||
            (dst[i] == NULL && (out->expires_s = parse_time(v->valuestring)) < 0)) {
            snprintf(err, cap, "the credential document has no usable %s", names[i]);
            rc = -EINVAL;
        }
    }
    cJSON_Delete(doc);
    return rc;
}

/* ---- sources ---------------------------------------------------------- */

static int from_env(struct px_aws_creds *c, char *err, size_t cap)
{
    const char *k = getenv("AWS_ACCESS_KEY_ID"), *s = getenv("AWS_SECRET_ACCESS_KEY");
    const char *t = getenv("AWS_SESSION_TOKEN");
    if ((k == NULL || !*k) && (s == NULL || !*s)) return -ENOENT;
    memset(c, 0, sizeof *c);
    if (k == NULL || !*k || s == NULL || !*s) {
        snprintf(err, cap, "AWS_%s is set but not AWS_%s",
                 k && *k ? "ACCESS_KEY_ID" : "SECRET_ACCESS_KEY",
                 k && *k ? "SECRET_ACCESS_KEY" : "ACCESS_KEY_ID");
        return -EINVAL;
    }
    if (copy(c->key, sizeof c->key, k, strlen(k)) ||
        copy(c->secret, sizeof c->secret, s, strlen(s)) ||
        (t != NULL && copy(c->token, sizeof c->token, t, strlen(t)))) {
        snprintf(err, cap, "an AWS_* credential variable is too long");
        return -EINVAL;
    }
    return 0;
}

static int read_file(const char *path, struct cm_buf *b, struct timespec *mtime)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) return -errno;
    struct stat st;
    if (fstat(fileno(f), &st) == 0) *mtime = st.st_mtim;
    char chunk[4096];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = cm_buf_append(b, chunk, n) ? -ENOMEM : 0;
    fclose(f);
    return rc == 0 && b->data == NULL ? cm_buf_append(b, "", 0) : rc;
}

static int from_file(struct px_aws *a, struct px_aws_creds *c, char *err, size_t cap)
{
    struct cm_buf b = {0};
    int rc = read_file(a->file, &b, &a->mtime);
    if (rc == 0)
        rc = px_aws_parse_credentials(b.data, a->profile, c, err, cap);
    else
        snprintf(err, cap, "%s", strerror(-rc));
    cm_buf_free(&b);
    return rc;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    return cm_buf_append(arg, p, size * n) == 0 ? size * n : 0;
}

/* One metadata request; the body lands in out. Returns 0 or -EIO (err says). */
static int imds_call(const char *url, const char *method, const char *header, struct cm_buf *out,
                     char *err, size_t cap)
{
    CURL *e = curl_easy_init();
    if (e == NULL) return -ENOMEM;
    struct curl_slist *h = curl_slist_append(NULL, header);
    long status = 0;
    out->len = 0;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 2000L);
    CURLcode rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    if (rc != CURLE_OK || status != 200 || cm_buf_append(out, "", 0) != 0) {
        snprintf(err, cap, "%s %s: %s", method, url,
                 rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP error");
        if (rc == CURLE_OK) snprintf(err + strlen(err), cap - strlen(err), " %ld", status);
        return -EIO;
    }
    return 0;
}

/* IMDSv2: a session token, the instance profile's role name, its keys.
 * Blocking; runs on the main thread at start and on the thread pool later. */
static int from_imds(const char *base, struct px_aws_creds *c, char *err, size_t cap)
{
    struct cm_buf b = {0};
    char url[512], header[256], role[128];
    int rc;
    snprintf(url, sizeof url, "%s/latest/api/token", base);
    if ((rc = imds_call(url, "PUT", "X-aws-ec2-metadata-token-ttl-seconds: 21600", &b, err, cap)) !=
        0)
        goto out;
    snprintf(header, sizeof header, "X-aws-ec2-metadata-token: %.200s", b.data);
    snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/", base);
    if ((rc = imds_call(url, "GET", header, &b, err, cap)) != 0) goto out;
    size_t n = strcspn(b.data, "\r\n");
    if (n == 0 || copy(role, sizeof role, b.data, n) != 0) {
        snprintf(err, cap, "the instance has no IAM role (attach an instance profile)");
        rc = -ENOENT;
        goto out;
    }
    snprintf(url, sizeof url, "%s/latest/meta-data/iam/security-credentials/%s", base, role);
    if ((rc = imds_call(url, "GET", header, &b, err, cap)) == 0)
        rc = px_aws_parse_imds(b.data, c, err, cap);
out:
    cm_buf_free(&b);
    return rc;
}

/* ---- keeping them fresh ---------------------------------------------- */

static void on_timer(uv_timer_t *t);

static void schedule(struct px_aws *a, uint64_t ms)
{
    if (!a->closing) uv_timer_start(&a->timer, on_timer, ms, 0);
}

static int found(struct px_aws *a, enum px_aws_source source, uint64_t first_check_ms)
{
    a->source = source;
    uv_timer_init(a->loop, &a->timer);
    a->timer.data = a;
    a->work.data = a;
    schedule(a, first_check_ms);
    return 0;
}

static uint64_t refresh_delay_ms(const struct px_aws_creds *c)
{
    int64_t at = c->expires_s - REFRESH_BEFORE_S - (int64_t)time(NULL);
    return at > 1 ? (uint64_t)at * 1000 : 1000;
}

/* The credentials file again, if it changed: 1 with *c filled, 0 when
 * unchanged, or a negative errno (err says why). */
static int file_changed(struct px_aws *a, struct px_aws_creds *c, char *err, size_t cap)
{
    struct stat st;
    if (stat(a->file, &st) != 0 ||
        (st.st_mtim.tv_sec == a->mtime.tv_sec && st.st_mtim.tv_nsec == a->mtime.tv_nsec))
        return 0;
    int rc = from_file(a, c, err, cap);
    return rc == 0 ? 1 : rc;
}

/* On the thread pool: neither a metadata call nor a file read (a home on a
 * hung network share) may stall the loop. */
static void fetch_work(uv_work_t *w)
{
    struct px_aws *a = w->data;
    if (a->source == PX_AWS_IMDS)
        a->fresh_rc = from_imds(a->imds, &a->fresh, a->fresh_err, sizeof a->fresh_err);
    else
        a->fresh_rc = file_changed(a, &a->fresh, a->fresh_err, sizeof a->fresh_err);
}

/* A re-read of the file, as fetched: 1 when the credentials changed. */
static int apply_file(struct px_aws *a, int rc, const struct px_aws_creds *c, const char *err)
{
    if (rc < 0)
        cm_warn("aws: %s changed but cannot be used (%s); keeping the credentials read before", a->file, err);
    if (rc <= 0) return 0;
    a->creds = *c;
    cm_info("aws: credentials re-read from %s [%s]", a->file, a->profile);
    return 1;
}

static void fetch_done(uv_work_t *w, int status)
{
    struct px_aws *a = w->data;
    a->working = 0;
    if (a->closing || status != 0) return;
    if (a->source == PX_AWS_FILE) {
        apply_file(a, a->fresh_rc, &a->fresh, a->fresh_err);
        schedule(a, FILE_CHECK_MS);
        return;
    }
    if (a->fresh_rc != 0) {
        cm_warn("aws: refreshing credentials from %s failed (%s); retrying in %d s", a->imds,
                a->fresh_err, RETRY_MS / 1000);
        schedule(a, RETRY_MS);
        return;
    }
    int same = a->fresh.expires_s == a->creds.expires_s;
    a->creds = a->fresh;
    cm_info("aws: credentials %s from %s, valid until %lld", same ? "unchanged" : "renewed",
            a->imds, (long long)a->creds.expires_s);
    /* The service renews a few minutes before the end: ask again soon. */
    schedule(a, same ? 60000 : refresh_delay_ms(&a->creds));
}

static void on_timer(uv_timer_t *t)
{
    struct px_aws *a = t->data;
    if (uv_queue_work(a->loop, &a->work, fetch_work, fetch_done) == 0) a->working = 1;
    else schedule(a, RETRY_MS);
}

int px_aws_reread(struct px_aws *a)
{
    struct px_aws_creds c;
    char err[256];
    if (a->source != PX_AWS_FILE) return 0;
    return apply_file(a, file_changed(a, &c, err, sizeof err), &c, err);
}

static int env_true(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

int px_aws_init(struct px_aws *a, uv_loop_t *loop, char *err, size_t cap)
{
    memset(a, 0, sizeof *a);
    a->loop = loop;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char why_file[300] = "", why_imds[300] = "";
    int rc = from_env(&a->creds, err, cap);
    if (rc == 0) {
        a->source = PX_AWS_ENV;
        return 0;
    }
    if (rc != -ENOENT) return rc;

    const char *file = getenv("AWS_SHARED_CREDENTIALS_FILE"), *home = getenv("HOME");
    const char *profile = getenv("AWS_PROFILE");
    snprintf(a->profile, sizeof a->profile, "%s", profile && *profile ? profile : "default");
    if (file && *file)
        snprintf(a->file, sizeof a->file, "%s", file);
    else if (home && *home)
        snprintf(a->file, sizeof a->file, "%s/.aws/credentials", home);
    if (a->file[0]) {
        rc = from_file(a, &a->creds, why_file, sizeof why_file);
        /* a file named on purpose must be usable; the default one may be
         * out of reach (a service user's home) and the metadata service next */
        if (rc != 0 && rc != -ENOENT && file && *file) {
            snprintf(err, cap, "AWS credentials file %s: %s", a->file, why_file);
            return rc;
        }
        if (rc == 0) return found(a, PX_AWS_FILE, FILE_CHECK_MS);
    }

    if (env_true("AWS_EC2_METADATA_DISABLED")) {
        snprintf(why_imds, sizeof why_imds, "AWS_EC2_METADATA_DISABLED is set");
    } else {
        const char *ep = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        snprintf(a->imds, sizeof a->imds, "%s", ep && *ep ? ep : "http://169.254.169.254");
        size_t n = strlen(a->imds);
        while (n > 0 && a->imds[n - 1] == '/')
            a->imds[--n] = 0;
        if (from_imds(a->imds, &a->creds, why_imds, sizeof why_imds) == 0)
            return found(a, PX_AWS_IMDS, refresh_delay_ms(&a->creds));
    }
    snprintf(err, cap,
             "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
             "AWS_SESSION_TOKEN), "
             "or write profile [%s] (AWS_PROFILE) in %s (AWS_SHARED_CREDENTIALS_FILE)%s%s, "
             "or run on EC2 with an instance profile (%s)",
             a->profile, a->file[0] ? a->file : "~/.aws/credentials", why_file[0] ? ": " : "",
             why_file, why_imds);
    return -ENOENT;
}

const char *px_aws_source_name(const struct px_aws *a)
{
    return a->source == PX_AWS_ENV ? "environment" : a->source == PX_AWS_FILE ? a->file : a->imds;
}

void px_aws_close(struct px_aws *a)
{
    if (a->closing) return;
    a->closing = 1;
    if (a->working) uv_cancel((uv_req_t *)&a->work);
    if (a->source != PX_AWS_ENV) uv_close((uv_handle_t *)&a->timer, NULL);
}
