/* proxy/aws.h — AWS credentials for signing the proxy's Lambda Invoke calls
 * (prefix px_aws_). The signing itself is libcurl's (proxy/invoker.c).
 *
 * Sources, tried in the order the AWS SDKs use:
 *   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY [+ AWS_SESSION_TOKEN];
 *   2. the shared credentials file, $AWS_SHARED_CREDENTIALS_FILE or
 *      ~/.aws/credentials, profile $AWS_PROFILE (default "default");
 *   3. the EC2 instance metadata service (IMDSv2) — the role of the
 *      instance profile —, at $AWS_EC2_METADATA_SERVICE_ENDPOINT (default
 *      http://169.254.169.254); skipped when AWS_EC2_METADATA_DISABLED=true.
 * The file is read again when it changes (checked every 30 s); credentials
 * from the metadata service are fetched again 15 minutes before they expire,
 * on libuv's thread pool so the loop never waits for it.
 *
 * Ownership: struct px_aws is the caller's. `creds` is replaced only on the
 * loop thread, between callbacks: read it from the loop (the invoker reads it
 * at every call, and libcurl copies what it is given).
 */
#ifndef FNCACHE_PROXY_AWS_H
#define FNCACHE_PROXY_AWS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

struct px_aws_creds {
    char key[128];
    char secret[128];
    char token[4096];  /* session token, "" for long-term keys */
    int64_t expires_s; /* unix time; 0: no known expiry */
};

enum px_aws_source { PX_AWS_ENV, PX_AWS_FILE, PX_AWS_IMDS };

struct px_aws {
    uv_loop_t *loop;
    struct px_aws_creds creds; /* what the invoker signs with */
    enum px_aws_source source;
    char file[PATH_MAX]; /* PX_AWS_FILE: the file and the profile read */
    char profile[128];
    struct timespec mtime;
    char imds[256];   /* PX_AWS_IMDS: the service's base URL */
    uv_timer_t timer; /* file check or metadata refresh */
    uv_work_t work;   /* a metadata fetch on the thread pool */
    int working, closing;
    struct px_aws_creds fresh; /* the fetch's result, owned by the work until it is done */
    int fresh_rc;
    char fresh_err[256];
};

/* Find PROFILE's keys in the text of a shared credentials file (INI:
 * "[name]" sections, "key = value" lines, '#' and ';' comments). Returns 0;
 * -ENOENT when the profile is absent; -EINVAL when it lacks a key or secret
 * (err says which). */
int px_aws_parse_credentials(const char *text, const char *profile, struct px_aws_creds *out,
                             char *err, size_t cap);

/* Read the metadata service's credential document (JSON with AccessKeyId,
 * SecretAccessKey, Token, Expiration). Returns 0 or -EINVAL (err says). */
int px_aws_parse_imds(const char *json, struct px_aws_creds *out, char *err, size_t cap);

/* Find credentials (blocking: reads the environment and a file, or asks the
 * metadata service, a few seconds at most) and start keeping them fresh on
 * loop. Returns 0, or a negative errno with a message for the operator in
 * err. */
int px_aws_init(struct px_aws *a, uv_loop_t *loop, char *err, size_t cap);

/* Credentials from a file: read it again if it changed since (the timer
 * does the same every 30 s, on the thread pool). Returns 1 when new credentials were taken, else 0
 * (unchanged, unreadable or incomplete: the old ones stay). */
int px_aws_reread(struct px_aws *a);

/* Where the credentials came from: "environment", a file path, or the
 * metadata service's URL. */
const char *px_aws_source_name(const struct px_aws *a);

/* Stop refreshing; the timer is closed from the loop (a fetch in flight
 * finishes on its own and is dropped). */
void px_aws_close(struct px_aws *a);

#endif
