/* deploy/local/faas_platform.h — the running platform: instances, the Invoke
 * API, the per-instance Runtime API, lifecycle, reclamation and billing.
 *
 * Ownership: faas_run borrows *o (and the function list in it) for its whole
 * duration; it allocates and frees everything else itself.
 */
#ifndef FNCACHE_DEPLOY_LOCAL_FAAS_PLATFORM_H
#define FNCACHE_DEPLOY_LOCAL_FAAS_PLATFORM_H

#include "deploy/local/faas.h"

struct faas_options {
    const char *listen;         /* Invoke API address, default 127.0.0.1 */
    unsigned port;              /* Invoke API port, 0 = any */
    const char *port_file;      /* write the bound port there, or NULL */
    const char *runtime_listen; /* instances' Runtime API address */
    struct faas_fn_conf *functions;
    unsigned concurrency;        /* global cap on live instances */
    unsigned fn_concurrency;     /* default per-function cap, 0 = none */
    uint64_t init_timeout_ms;    /* default 10000 */
    uint64_t idle_ms;            /* reclaim idle instances after this, 0 = never */
    uint64_t lifetime_ms;        /* max lifetime, 0 = unlimited */
    double lifetime_jitter;      /* 0..1 */
    double random_per_hour;      /* random reclamations per hour, 0 = off */
    enum faas_reclaim_mode mode; /* kill or vanish */
    uint64_t linger_ms;          /* vanish: frozen this long, then killed */
    uint64_t seed;
    uint64_t tick_ms; /* housekeeping period (RSS, reclamation) */
    struct faas_prices prices;
    int bill_init;            /* cold starts bill the init duration too */
    const char *billing_file; /* JSON lines, or NULL */
    const char *region;
    const char *account;
    const char *self_exe; /* this program, re-executed as the exec shim */
};

/* Runs the platform until SIGTERM/SIGINT. Returns the process exit code. */
int faas_run(const struct faas_options *o);

/* The exec shim, run in the child between fork and the function's exec:
 * arms PR_SET_PDEATHSIG and execs argv[0]. Never returns on success. */
int faas_exec_shim(int argc, char **argv);

#endif
