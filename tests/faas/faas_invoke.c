/* tests/faas/faas_invoke.c — one Invoke API call with libcurl, the way the
 * proxy makes it (optionally SigV4-signed), for tests and by hand.
 *
 *   faas-invoke [-s] [-n BYTES] [-t TYPE] [-k] BASE_URL FUNCTION [PAYLOAD]
 *     -s        sign with CURLOPT_AWS_SIGV4 ("aws:amz:us-east-1:lambda")
 *     -n BYTES  send {"op":"echo","pad":"xxx..."} padded to BYTES bytes
 *     -t TYPE   X-Amz-Invocation-Type (default RequestResponse)
 * Prints one line "status=N seconds=F expect=0|1 continue=0|1 bytes=N" and
 * then the response body.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct out {
    char *p;
    size_t n;
    int expect_sent, continue_seen;
};

static size_t on_body(char *d, size_t sz, size_t nm, void *u)
{
    struct out *o = u;
    size_t n = sz * nm;
    char *p = realloc(o->p, o->n + n + 1);
    if (p == NULL) return 0;
    memcpy(p + o->n, d, n);
    o->p = p;
    o->n += n;
    o->p[o->n] = '\0';
    return n;
}

static int on_debug(CURL *c, curl_infotype t, char *d, size_t n, void *u)
{
    (void)c;
    struct out *o = u;
    if (t == CURLINFO_HEADER_OUT && memmem(d, n, "Expect: 100-continue", 20) != NULL)
        o->expect_sent = 1;
    if (t == CURLINFO_HEADER_IN && n >= 12 && memcmp(d, "HTTP/1.1 100", 12) == 0)
        o->continue_seen = 1;
    return 0;
}

int main(int argc, char **argv)
{
    int sign = 0, opt;
    long bytes = -1;
    const char *type = "RequestResponse";
    while ((opt = getopt(argc, argv, "sn:t:")) != -1) {
        switch (opt) {
        case 's': sign = 1; break;
        case 'n': bytes = atol(optarg); break;
        case 't': type = optarg; break;
        default:
            fprintf(stderr,
                    "usage: faas-invoke [-s] [-n BYTES] [-t TYPE] BASE_URL FUNCTION [PAYLOAD]\n");
            return 2;
        }
    }
    if (argc - optind < 2) {
        fprintf(stderr,
                "usage: faas-invoke [-s] [-n BYTES] [-t TYPE] BASE_URL FUNCTION [PAYLOAD]\n");
        return 2;
    }
    const char *base = argv[optind], *fn = argv[optind + 1];
    char *payload;
    if (bytes >= 0) {
        const char *head = "{\"op\":\"echo\",\"pad\":\"";
        size_t hl = strlen(head);
        if (bytes < (long)hl + 2) bytes = (long)hl + 2;
        payload = malloc((size_t)bytes + 1);
        memcpy(payload, head, hl);
        memset(payload + hl, 'x', (size_t)bytes - hl - 2);
        memcpy(payload + bytes - 2, "\"}", 2);
        payload[bytes] = '\0';
    } else {
        payload = strdup(argc - optind > 2 ? argv[optind + 2] : "{}");
    }
    char url[1024], th[128];
    snprintf(url, sizeof url, "%s/2015-03-31/functions/%s/invocations", base, fn);
    snprintf(th, sizeof th, "X-Amz-Invocation-Type: %s", type);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    struct out o = {0};
    struct curl_slist *h = curl_slist_append(NULL, th);
    h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &o);
    curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(c, CURLOPT_DEBUGDATA, &o);
    curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    if (sign) {
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:lambda");
        curl_easy_setopt(c, CURLOPT_USERPWD,
                         "AKIDEXAMPLE:wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    }
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    double secs = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &secs);
    if (rc != CURLE_OK) fprintf(stderr, "faas-invoke: %s\n", curl_easy_strerror(rc));
    printf("status=%ld seconds=%.6f expect=%d continue=%d bytes=%zu\n%s\n", status, secs,
           o.expect_sent, o.continue_seen, o.n, o.p ? o.p : "");
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(payload);
    free(o.p);
    return rc == CURLE_OK ? 0 : 1;
}
