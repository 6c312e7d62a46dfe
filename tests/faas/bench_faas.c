/* tests/faas/bench_faas.c — fncache-faas figures on loopback: warm-invoke
 * round trip (p50/p99), cold-start round trip, and invocations per second
 * with 16 concurrent callers. Starts its own fncache-faas.
 *
 *   bench_faas FNCACHE_FAAS FAAS_TESTFN [WARM_N] [SECONDS]
 */
#include "common/clock.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CALLERS 16

static char base[128];

static size_t sink(char *d, size_t sz, size_t nm, void *u)
{
    (void)d;
    (void)u;
    return sz * nm;
}

static CURL *mk_handle(const char *url, const char *body)
{
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    return c;
}

/* One call; returns its round trip in ns, or 0 on failure. */
static uint64_t call(CURL *c)
{
    uint64_t t0 = cm_now_ns();
    long code = 0;
    if (curl_easy_perform(c) != CURLE_OK) return 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    return code == 200 ? cm_now_ns() - t0 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(uint64_t *v, size_t n, double p)
{
    qsort(v, n, sizeof *v, cmp_u64);
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

struct caller {
    pthread_t t;
    uint64_t until_ns;
    unsigned long ok, errors;
};

static void *caller_main(void *arg)
{
    struct caller *cl = arg;
    char url[256];
    snprintf(url, sizeof url, "%s/2015-03-31/functions/bench/invocations", base);
    CURL *c = mk_handle(url, "{}");
    while (cm_now_ns() < cl->until_ns) {
        if (call(c))
            cl->ok++;
        else
            cl->errors++;
    }
    curl_easy_cleanup(c);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_faas FNCACHE_FAAS FAAS_TESTFN [WARM_N] [SECONDS]\n");
        return 2;
    }
    size_t warm_n = argc > 3 ? (size_t)atol(argv[3]) : 5000;
    double secs = argc > 4 ? atof(argv[4]) : 3.0;
    char dir[] = "/tmp/bench_faasXXXXXX";
    if (mkdtemp(dir) == NULL) return 1;
    char port_file[256], spec[1024];
    snprintf(port_file, sizeof port_file, "%s/port", dir);
    char *fnpath = realpath(argv[2], NULL);
    snprintf(spec, sizeof spec, "bench %s memory=128 timeout=10", fnpath ? fnpath : argv[2]);
    pid_t pid = fork();
    if (pid == 0) {
        execl(argv[1], argv[1], "-p", "0", "--port-file", port_file, "-q", "-F", spec,
              "--concurrency", "64", (char *)NULL);
        _exit(127);
    }
    int port = 0;
    for (int i = 0; i < 500 && port == 0; i++) { /* deadline 5 s on the port file */
        FILE *f = fopen(port_file, "r");
        if (f != NULL) {
            if (fscanf(f, "%d", &port) != 1) port = 0;
            fclose(f);
        }
        if (port == 0) usleep(10000);
    }
    if (port == 0) {
        fprintf(stderr, "bench_faas: fncache-faas did not start\n");
        kill(pid, SIGKILL);
        return 1;
    }
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char url[256], reclaim[256];
    snprintf(url, sizeof url, "%s/2015-03-31/functions/bench/invocations", base);
    snprintf(reclaim, sizeof reclaim, "%s/_faas/reclaim?function=bench", base);

    /* Warm round trip: one keep-alive caller, one instance. */
    CURL *c = mk_handle(url, "{}");
    call(c);
    for (int i = 0; i < 200; i++)
        call(c); /* warm-up */
    uint64_t *lat = calloc(warm_n, sizeof *lat);
    size_t n = 0, fails = 0;
    for (size_t i = 0; i < warm_n; i++) {
        uint64_t t = call(c);
        if (t)
            lat[n++] = t;
        else
            fails++;
    }
    printf("fncache-faas bench: loopback, test function faas-testfn, libcurl keep-alive callers\n");
    if (n > 0)
        printf("warm invoke round trip: n=%zu p50=%.3f ms p99=%.3f ms (failures %zu)\n", n,
               pct(lat, n, 0.5), pct(lat, n, 0.99), fails);

    /* Cold start: reclaim (kill) the instance, then invoke. */
    CURL *rc = mk_handle(reclaim, "");
    uint64_t cold[30];
    size_t nc = 0;
    for (int i = 0; i < 30; i++) {
        curl_easy_perform(rc);
        uint64_t t = call(c);
        if (t) cold[nc++] = t;
    }
    if (nc > 0)
        printf("cold start round trip:  n=%zu p50=%.3f ms p99=%.3f ms\n", nc, pct(cold, nc, 0.5),
               pct(cold, nc, 0.99));
    curl_easy_cleanup(rc);
    curl_easy_cleanup(c);

    /* Throughput: 16 callers, each with its own connection (and instance). */
    struct caller cl[CALLERS];
    memset(cl, 0, sizeof cl);
    uint64_t t0 = cm_now_ns(), until = t0 + (uint64_t)(secs * 1e9);
    for (int i = 0; i < CALLERS; i++) {
        cl[i].until_ns = until;
        pthread_create(&cl[i].t, NULL, caller_main, &cl[i]);
    }
    unsigned long ok = 0, errs = 0;
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(cl[i].t, NULL);
        ok += cl[i].ok;
        errs += cl[i].errors;
    }
    double el = (double)(cm_now_ns() - t0) / 1e9;
    printf("throughput: %d concurrent callers, %.1f s: %.0f invocations/s (%lu ok, %lu errors)\n",
           CALLERS, el, (double)ok / el, ok, errs);

    kill(pid, SIGTERM);
    int st = 0;
    waitpid(pid, &st, 0);
    unlink(port_file);
    rmdir(dir);
    free(lat);
    free(fnpath);
    curl_global_cleanup();
    return 0;
}
