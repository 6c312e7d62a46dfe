/* client/bench.h — `fncache bench`: a closed-loop load generator over
 * libmemcached (prefix cl_bench_).
 *
 * One thread per connection, each with its own memcached_st and one request
 * in flight (libmemcached calls block), so requests in flight = connections.
 * Each operation picks a key (uniform or Zipf), GET or SET by the ratio, and
 * a size; SETs write values from client/value.h at the key's next version
 * (a per-key counter, 4 bytes a key); GETs verify every byte returned.
 * Latencies are recorded per thread in client/hist.h histograms, merged at
 * the end. Phases: prefill (every key SET once), warm-up (not recorded),
 * measurement (a duration or a number of operations). Or a trace replayed
 * at its own pace, ops of one key always on one connection, in order.
 *
 * cl_bench_run fills a result the caller allocates (it is large: four
 * histograms) and frees nothing of the caller's.
 */
#ifndef FNCACHE_CLIENT_BENCH_H
#define FNCACHE_CLIENT_BENCH_H

#include <stdint.h>
#include <stdio.h>

#include "client/conn.h"
#include "client/hist.h"
#include "client/trace.h"
#include "client/workload.h"

struct cl_bench_opts {
    struct cl_workload w;
    struct cl_conn_opts conn;
    int progress; /* a live line on stderr */
};

struct cl_bench_op {
    struct cl_hist lat; /* ns, successful operations */
    uint64_t count, errors, hits, misses, bytes;
};

struct cl_bench_result {
    struct cl_bench_op op[CL_OPS];
    struct cl_bench_op total;
    double seconds; /* the measured window */
    uint64_t verified, verified_bytes, corrupt;
    uint64_t prefilled, prefill_errors;
    int interrupted; /* stopped by SIGINT/SIGTERM */
    char first_error[512], first_corrupt[512];
};

/* Run the workload. Returns 0 when it ran (whatever it found), or a
 * negative errno with a message in err when it could not start: -ENOMEM or
 * -EAGAIN (threads) for resources, anything else for the trace file. */
int cl_bench_run(const struct cl_bench_opts *o, struct cl_bench_result *r, char *err,
                 size_t errlen);
/* 0, 3 when operations failed, 5 when a value was corrupt. */
int cl_bench_exit_code(const struct cl_bench_result *r);
void cl_bench_print(FILE *f, const struct cl_bench_opts *o, const struct cl_bench_result *r);
void cl_bench_json(FILE *f, const struct cl_bench_opts *o, const struct cl_bench_result *r);
void cl_bench_csv(FILE *f, const struct cl_bench_result *r);

#endif
