/* deploy/local/faas_main.c — fncache-faas command line: flags, --help, start. */
#include "common/log.h"
#include "deploy/local/faas.h"
#include "deploy/local/faas_platform.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void usage(void)
{
    printf(
        "fncache-faas 0.1 - a local function platform speaking the AWS Lambda Invoke and Runtime "
        "APIs\n"
        "-p, --port=<num>          Invoke API TCP port (default: 9001; 0 = any free port)\n"
        "-l, --listen=<addr>       Invoke API address (default: 127.0.0.1)\n"
        "    --port-file=<file>    write the bound Invoke API port to <file> once listening\n"
        "    --runtime-listen=<addr>  address of the per-instance Runtime API endpoints; each\n"
        "                          instance gets its own port (default: 127.0.0.1)\n"
        "-F, --function=<spec>     add a function (repeatable); <spec> is\n"
        "                            'NAME[*] PATH [memory=MB] [timeout=S] [concurrency=N]\n"
        "                             [handler=H] [env:KEY=VALUE]...'\n"
        "                          NAME* serves every function whose name starts with NAME,\n"
        "                          each with its own instances. Defaults: memory=128,\n"
        "                          timeout=3, concurrency=--fn-concurrency, handler=handler\n"
        "-f, --config=<file>       read function specs from <file>, one per line ('#' comments)\n"
        "-c, --concurrency=<num>   cap on live instances over all functions; beyond it a\n"
        "                          synchronous invoke gets 429 (default: 1000)\n"
        "    --fn-concurrency=<num>  default per-function cap (default: 0 = none)\n"
        "    --init-timeout=<dur>  an instance must ask for its first event within this\n"
        "                          (default: 10s)\n"
        "    --idle=<dur>          reclaim instances idle this long (default: 10m; 0 = never)\n"
        "    --lifetime=<dur>      reclaim instances older than this at their next idle moment\n"
        "                          (default: 0 = unlimited)\n"
        "    --lifetime-jitter=<f> shorten each lifetime by up to this fraction, uniformly\n"
        "                          (default: 0.1)\n"
        "    --random-rate=<num>   random reclamations per hour, over idle instances\n"
        "                          (default: 0)\n"
        "    --reclaim-mode=<mode> kill: the process is killed, peers see the connection close;\n"
        "                          vanish: it stays frozen with its sockets open for --linger,\n"
        "                          then is killed (default: kill)\n"
        "    --linger=<dur>        how long a vanished instance lingers (default: 60s)\n"
        "    --seed=<num>          seed of lifetimes and random reclamation (default: 1)\n"
        "    --tick=<dur>          memory watch and reclamation period (default: 50ms)\n"
        "-b, --billing=<file>     append one JSON line per invocation to <file>\n"
        "    --granularity=<ms>    billed duration is rounded up to this (default: 1; 2020: 100)\n"
        "    --price-request=<usd> price of one request (default: 0.0000002)\n"
        "    --price-gbs=<usd>     price of one GB-second (default: 0.0000166667)\n"
        "    --bill-init=<0|1>     add a cold start's init duration to its billed duration\n"
        "                          (default: 1)\n"
        "    --region=<name>       AWS_REGION and ARNs (default: us-east-1)\n"
        "    --account=<id>        account id in ARNs (default: 000000000000)\n"
        "-v, --verbose             more logging (repeat: -vv for trace)\n"
        "-q, --quiet               errors and warnings only\n"
        "-h, --help                print this help and exit\n"
        "\n"
        "Durations take ms, s, m or h suffixes (bare numbers: seconds).\n"
        "Invoke API:  POST /2015-03-31/functions/NAME/invocations  (X-Amz-Invocation-Type:\n"
        "             RequestResponse | Event | DryRun; X-Amz-Log-Type: Tail). Any signature.\n"
        "Runtime API: AWS_LAMBDA_RUNTIME_API in each instance's environment.\n"
        "Control:     GET /_faas/instances[?function=F], GET /_faas/billing,\n"
        "             POST /_faas/reclaim?function=F[&instance=ID][&mode=kill|vanish],\n"
        "             POST /_faas/freeze?instance=ID, POST /_faas/thaw?instance=ID\n"
        "SIGTERM or SIGINT kills every instance and exits.\n");
}

enum {
    OPT_PORT_FILE = 1000,
    OPT_RUNTIME_LISTEN,
    OPT_FN_CONC,
    OPT_INIT_TIMEOUT,
    OPT_IDLE,
    OPT_LIFETIME,
    OPT_JITTER,
    OPT_RANDOM,
    OPT_MODE,
    OPT_LINGER,
    OPT_SEED,
    OPT_TICK,
    OPT_GRAN,
    OPT_PRICE_REQ,
    OPT_PRICE_GBS,
    OPT_BILL_INIT,
    OPT_REGION,
    OPT_ACCOUNT,
};

static int bad(const char *flag, const char *val)
{
    fprintf(stderr, "fncache-faas: bad value for %s: '%s' (see --help)\n", flag, val);
    return 2;
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--exec-instance") == 0)
        return faas_exec_shim(argc - 2, argv + 2);

    static const struct option longopts[] = {
        {"port", required_argument, NULL, 'p'},
        {"listen", required_argument, NULL, 'l'},
        {"port-file", required_argument, NULL, OPT_PORT_FILE},
        {"runtime-listen", required_argument, NULL, OPT_RUNTIME_LISTEN},
        {"function", required_argument, NULL, 'F'},
        {"config", required_argument, NULL, 'f'},
        {"concurrency", required_argument, NULL, 'c'},
        {"fn-concurrency", required_argument, NULL, OPT_FN_CONC},
        {"init-timeout", required_argument, NULL, OPT_INIT_TIMEOUT},
        {"idle", required_argument, NULL, OPT_IDLE},
        {"lifetime", required_argument, NULL, OPT_LIFETIME},
        {"lifetime-jitter", required_argument, NULL, OPT_JITTER},
        {"random-rate", required_argument, NULL, OPT_RANDOM},
        {"reclaim-mode", required_argument, NULL, OPT_MODE},
        {"linger", required_argument, NULL, OPT_LINGER},
        {"seed", required_argument, NULL, OPT_SEED},
        {"tick", required_argument, NULL, OPT_TICK},
        {"billing", required_argument, NULL, 'b'},
        {"granularity", required_argument, NULL, OPT_GRAN},
        {"price-request", required_argument, NULL, OPT_PRICE_REQ},
        {"price-gbs", required_argument, NULL, OPT_PRICE_GBS},
        {"bill-init", required_argument, NULL, OPT_BILL_INIT},
        {"region", required_argument, NULL, OPT_REGION},
        {"account", required_argument, NULL, OPT_ACCOUNT},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct faas_options o = {
        .listen = "127.0.0.1",
        .port = 9001,
        .runtime_listen = "127.0.0.1",
        .concurrency = 1000,
        .init_timeout_ms = 10000,
        .idle_ms = 600000,
        .lifetime_jitter = 0.1,
        .mode = FAAS_RECLAIM_KILL,
        .linger_ms = 60000,
        .seed = 1,
        .tick_ms = 50,
        .prices = {.per_request = 0.20 / 1e6, .per_gb_second = 0.0000166667, .granularity_ms = 1},
        .bill_init = 1,
        .region = "us-east-1",
        .account = "000000000000",
    };
    int verbose = CM_LOG_INFO;
    char err[512];
    int c;
    double d;
    while ((c = getopt_long(argc, argv, "p:l:F:f:c:b:vqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (parse_num(optarg, 0, 65535, &d)) return bad("--port", optarg);
            o.port = (unsigned)d;
            break;
        case 'l': o.listen = optarg; break;
        case OPT_PORT_FILE: o.port_file = optarg; break;
        case OPT_RUNTIME_LISTEN: o.runtime_listen = optarg; break;
        case 'F': {
            struct faas_fn_conf *fc;
            if (faas_fn_conf_parse(optarg, &fc, err, sizeof err)) {
                fprintf(stderr, "fncache-faas: --function: %s\n", err);
                return 2;
            }
            faas_fn_conf_append(&o.functions, fc);
            break;
        }
        case 'f':
            if (faas_fn_conf_load(optarg, &o.functions, err, sizeof err)) {
                fprintf(stderr, "fncache-faas: --config: %s\n", err);
                return 2;
            }
            break;
        case 'c':
            if (parse_num(optarg, 1, 1e6, &d)) return bad("--concurrency", optarg);
            o.concurrency = (unsigned)d;
            break;
        case OPT_FN_CONC:
            if (parse_num(optarg, 0, 1e6, &d)) return bad("--fn-concurrency", optarg);
            o.fn_concurrency = (unsigned)d;
            break;
        case OPT_INIT_TIMEOUT:
            if (faas_parse_duration_ms(optarg, 1000, &o.init_timeout_ms))
                return bad("--init-timeout", optarg);
            break;
        case OPT_IDLE:
            if (faas_parse_duration_ms(optarg, 1000, &o.idle_ms)) return bad("--idle", optarg);
            break;
        case OPT_LIFETIME:
            if (faas_parse_duration_ms(optarg, 1000, &o.lifetime_ms))
                return bad("--lifetime", optarg);
            break;
        case OPT_JITTER:
            if (parse_num(optarg, 0, 1, &o.lifetime_jitter))
                return bad("--lifetime-jitter", optarg);
            break;
        case OPT_RANDOM:
            if (parse_num(optarg, 0, 1e9, &o.random_per_hour)) return bad("--random-rate", optarg);
            break;
        case OPT_MODE:
            if (faas_reclaim_mode_parse(optarg, &o.mode)) return bad("--reclaim-mode", optarg);
            break;
        case OPT_LINGER:
            if (faas_parse_duration_ms(optarg, 1000, &o.linger_ms)) return bad("--linger", optarg);
            break;
        case OPT_SEED:
            if (parse_num(optarg, 0, 1.8e19, &d)) return bad("--seed", optarg);
            o.seed = strtoull(optarg, NULL, 10);
            break;
        case OPT_TICK:
            if (faas_parse_duration_ms(optarg, 1000, &o.tick_ms) || o.tick_ms == 0)
                return bad("--tick", optarg);
            break;
        case 'b': o.billing_file = optarg; break;
        case OPT_GRAN:
            if (parse_num(optarg, 1, 3600000, &d)) return bad("--granularity", optarg);
            o.prices.granularity_ms = (unsigned)d;
            break;
        case OPT_PRICE_REQ:
            if (parse_num(optarg, 0, 1e6, &o.prices.per_request))
                return bad("--price-request", optarg);
            break;
        case OPT_PRICE_GBS:
            if (parse_num(optarg, 0, 1e6, &o.prices.per_gb_second))
                return bad("--price-gbs", optarg);
            break;
        case OPT_BILL_INIT:
            if (parse_num(optarg, 0, 1, &d)) return bad("--bill-init", optarg);
            o.bill_init = d != 0;
            break;
        case OPT_REGION: o.region = optarg; break;
        case OPT_ACCOUNT: o.account = optarg; break;
        case 'v':
            if (verbose < CM_LOG_TRACE) verbose++;
            break;
        case 'q': verbose = CM_LOG_WARN; break;
        case 'h':
            usage();
            faas_fn_conf_free(o.functions);
            return 0;
        default: fprintf(stderr, "fncache-faas: see --help\n"); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fncache-faas: unexpected argument '%s' (see --help)\n", argv[optind]);
        return 2;
    }
    cm_log_init("fncache-faas", (enum cm_log_level)verbose);
    if (o.functions == NULL) cm_warn("no function configured (-F): every invoke will get 404");
    /* Each instance holds a few descriptors here (its Runtime API daemon's
     * socket, epoll and eventfd, two pipes, a connection): lift the soft
     * limit to the hard one. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        cm_error("cannot find my own executable");
        return 1;
    }
    self[n] = '\0';
    o.self_exe = self;
    for (struct faas_fn_conf *fc = o.functions; fc != NULL; fc = fc->next) {
        /* Instances run in their executable's directory (LAMBDA_TASK_ROOT):
         * make relative paths absolute first. */
        char *abs = realpath(fc->path, NULL);
        if (abs != NULL) {
            free(fc->path);
            fc->path = abs;
        }
        if (access(fc->path, X_OK) != 0)
            cm_warn("function %s%s: %s is not executable", fc->name, fc->prefix ? "*" : "",
                    fc->path);
        cm_info("function %s%s -> %s (memory %u MB, timeout %u s)", fc->name, fc->prefix ? "*" : "",
                fc->path, fc->memory_mb, fc->timeout_s);
    }
    int rc = faas_run(&o);
    faas_fn_conf_free(o.functions);
    return rc;
}
