/* proxy/main.c — fncache-proxy: flags, the embedded local fleet, wiring,
 * and a clean shutdown. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"
#include "proxy/aws.h"
#include "proxy/cache.h"
#include "proxy/fleet.h"
#include "proxy/frontend.h"
#include "proxy/invoker.h"
#include "proxy/pool.h"
#include "proxy/rebuild.h"
#include "proxy/repair.h"
#include "proxy/stripe.h"

struct options {
    const char *listen, *node_listen, *faas_url, *prefix, *advertise;
    const char *platform, *region, *auth;
    char aws_url[128];
    int port, node_port, verbose, d, p, repair, rebuild;
    unsigned conns, nodes, max_nodes;
    uint64_t node_timeout_ms, max_item, memory_mb, node_memory_mb, min_chunk, idle_ms, tick_ms, warmup_s, repair_rate_mb, shrink_after_s;
};

struct proxy {
    struct options o;
    uv_loop_t *loop;
    uv_signal_t sigint, sigterm;
    uv_timer_t warmer;
    struct px_invoker invoker;
    struct px_aws aws;
    struct px_pool pool;
    struct px_stripe stripe;
    struct px_cache cache;
    struct px_repair repair;
    struct px_fleet fleet;
    struct px_frontend fe;
    struct px_rebuild_stats rebuilt;
    int rebuilding;
    pid_t faas_pid;
    char faas_url[128];
    int stopping;
};

static void usage(FILE *out)
{
    fprintf(out,
        "fncache-proxy: a memcached-compatible cache whose memory lives in serverless\n"
        "function instances. Values are striped with Reed-Solomon codes over a fleet of\n"
        "fncache-node functions, invoked through the AWS Lambda Invoke API.\n"
        "\n"
        "With no --faas-url it starts its own local platform (fncache-faas) with a fleet\n"
        "of fncache-node functions from the same directory, and stops it on exit.\n"
        "\n"
        "-p, --port=<num>          TCP port to listen on (default: 11211)\n"
        "-l, --listen=<addr>       interface to listen on (default: 127.0.0.1)\n"
        "-c, --conn-limit=<num>    max simultaneous connections (default: 1024)\n"
        "-I, --max-item-size=<num> largest value, with k/m/g suffix (default: 512m)\n"
        "-m, --memory-limit=<mb>   bytes of chunks the fleet may hold, in MB (default:\n"
        "                          90%% of max-nodes x (node memory - 16 MB))\n"
        "-v, --verbose             log more (-vv for debug, -vvv for trace)\n"
        "-h, --help                print this help and exit\n"
        "    --ec=<d>+<p>          erasure code: d data + p parity chunks (default: 10+2)\n"
        "    --nodes=<num>         fleet size at start: functions PREFIX0..PREFIX<num-1>\n"
        "                          (default: 12)\n"
        "    --max-nodes=<num>     the fleet grows up to this many nodes as data arrives, and\n"
        "                          shrinks back to --nodes when it leaves (default: --nodes)\n"
        "    --shrink-after=<s>    usage must stay low this long before a node is drained\n"
        "                          (default: 600)\n"
        "    --node-memory=<mb>    memory size of each node function (default: 1024)\n"
        "    --node-listen=<addr>  address nodes dial back to (default: 127.0.0.1)\n"
        "    --node-port=<num>     port nodes dial back to (default: any free port)\n"
        "    --advertise=<ip:port> node address given to nodes, if not node-listen:node-port\n"
        "                          (the proxy's public or VPC address)\n"
        "    --faas-url=<url>      use this Lambda Invoke API endpoint instead of starting\n"
        "                          a local fncache-faas; with {function} in it, the whole URL\n"
        "                          of an invocation (other HTTP platforms)\n"
        "    --platform=<name>     local (default), aws (AWS Lambda in --region, SigV4-signed;\n"
        "                          --faas-url overrides the endpoint), http (--faas-url, --auth)\n"
        "    --region=<name>       AWS region (default: $AWS_REGION, $AWS_DEFAULT_REGION);\n"
        "                          credentials: $AWS_ACCESS_KEY_ID, $AWS_SECRET_ACCESS_KEY,\n"
        "                          $AWS_SESSION_TOKEN, ~/.aws/credentials ($AWS_PROFILE), or\n"
        "                          the EC2 instance profile\n"
        "    --auth=<how>          http platform: none, basic:USER:PASS, bearer:TOKEN or\n"
        "                          header:NAME:VALUE (default: $FNCACHE_AUTH, else none)\n"
        "    --function-prefix=<s> node function names start with this (default: fncache-node-)\n"
        "    --min-chunk=<num>     smallest chunk before fewer data chunks are used, with\n"
        "                          k/m suffix (default: 64k)\n"
        "    --idle-ms=<ms>        nodes return after this long idle (default: 2000)\n"
        "    --tick-ms=<ms>        billing tick nodes align their return to (default: 1)\n"
        "    --node-timeout=<ms>   a node silent this long with requests out is taken for\n"
        "                          gone: its connection is dropped, it is invoked again\n"
        "                          (default: 1000)\n"
        "    --warmup=<s>          invoke sleeping nodes that hold data this often, to keep\n"
        "                          them warm and notice lost instances (default: 60; 0 = off)\n"
        "    --repair=<on|off>     re-create lost chunks, on reads and in the background\n"
        "                          (default: on)\n"
        "    --repair-rate=<MB/s>  bandwidth budget of background repair, bytes read plus\n"
        "                          written (default: 64; 0 = repair on reads only)\n"
        "    --rebuild=<on|off>    with --faas-url: rebuild the index from the nodes'\n"
        "                          inventories at start; clients wait for it, 30 s at most\n"
        "                          (default: on)\n");
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-') return -1;
    switch (*end) {
    case 'k': case 'K': v <<= 10; end++; break;
    case 'm': case 'M': v <<= 20; end++; break;
    case 'g': case 'G': v <<= 30; end++; break;
    }
    if (*end) return -1;
    *out = v;
    return 0;
}

static int on_off(const char *s)
{
    return strcmp(s, "on") == 0 ? 1 : strcmp(s, "off") == 0 ? 0 : -1;
}

static int bad(const char *flag, const char *value)
{
    fprintf(stderr, "fncache-proxy: bad value for %s: \"%s\" (see --help)\n", flag, value);
    return 2;
}

/* Nodes dial the address they are given; they resolve no names. */
static int check_advertise(const char *s)
{
    const char *colon = strrchr(s, ':');
    char host[64];
    struct sockaddr_in6 a;
    char *end;
    long port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
    if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof host || *end || port < 1 || port > 65535)
        return -1;
    snprintf(host, sizeof host, "%.*s", (int)(colon - s), s);
    return uv_ip4_addr(host, 1, (struct sockaddr_in *)&a) == 0 || uv_ip6_addr(host, 1, &a) == 0 ? 0 : -1;
}

/* --platform aws: a region, an endpoint, plain function names (the only
 * kind libcurl 7.88 signs right); http: a URL. */
static int check_platform(struct options *o)
{
    if (o->auth == NULL) o->auth = getenv("FNCACHE_AUTH");
    if (strcmp(o->platform, "aws") == 0) {
        if (o->region == NULL) o->region = getenv("AWS_REGION");
        if (o->region == NULL || !*o->region) o->region = getenv("AWS_DEFAULT_REGION");
        const char *lower = "abcdefghijklmnopqrstuvwxyz0123456789-";
        if (o->region == NULL || !*o->region || o->region[strspn(o->region, lower)] != 0) {
            fprintf(stderr, "fncache-proxy: --platform aws needs --region (or AWS_REGION), e.g. us-east-1\n");
            return 2;
        }
        if (o->prefix[strspn(o->prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz0123456789-")] != 0) {
            fprintf(stderr, "fncache-proxy: --function-prefix must be a plain name on AWS (letters, digits, - and _)\n");
            return 2;
        }
        if (o->faas_url == NULL) {
            snprintf(o->aws_url, sizeof o->aws_url, "https://lambda.%s.amazonaws.com%s", o->region,
                     strncmp(o->region, "cn-", 3) == 0 ? ".cn" : "");
            o->faas_url = o->aws_url;
        }
    } else if (strcmp(o->platform, "http") == 0 ? o->faas_url == NULL : strcmp(o->platform, "local") != 0) {
        fprintf(stderr, "fncache-proxy: --platform is local, aws or http (which needs --faas-url)\n");
        return 2;
    }
    return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){.listen = "127.0.0.1", .node_listen = "127.0.0.1", .prefix = "fncache-node-",
                          .port = 11211, .d = 10, .p = 2, .conns = 1024, .nodes = 12,
                          .max_item = 512u << 20, .node_memory_mb = 1024, .min_chunk = 64 << 10,
                          .idle_ms = 2000, .tick_ms = 1, .warmup_s = 60, .repair = 1, .repair_rate_mb = 64,
                          .rebuild = 1, .shrink_after_s = 600, .node_timeout_ms = 1000,
                          .platform = "local"};
    enum { O_EC = 256, O_NODES, O_NODE_MEM, O_NODE_LISTEN, O_NODE_PORT, O_ADVERTISE, O_FAAS, O_PREFIX,
           O_MIN_CHUNK, O_IDLE, O_TICK, O_WARMUP, O_REPAIR, O_REPAIR_RATE, O_REBUILD, O_MAX_NODES, O_SHRINK_AFTER, O_NODE_TIMEOUT,
           O_PLATFORM, O_REGION, O_AUTH };
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'}, {"listen", required_argument, NULL, 'l'},
        {"conn-limit", required_argument, NULL, 'c'}, {"max-item-size", required_argument, NULL, 'I'},
        {"memory-limit", required_argument, NULL, 'm'}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'}, {"ec", required_argument, NULL, O_EC},
        {"nodes", required_argument, NULL, O_NODES}, {"node-memory", required_argument, NULL, O_NODE_MEM},
        {"node-listen", required_argument, NULL, O_NODE_LISTEN}, {"node-port", required_argument, NULL, O_NODE_PORT},
        {"advertise", required_argument, NULL, O_ADVERTISE}, {"faas-url", required_argument, NULL, O_FAAS},
        {"function-prefix", required_argument, NULL, O_PREFIX}, {"min-chunk", required_argument, NULL, O_MIN_CHUNK},
        {"idle-ms", required_argument, NULL, O_IDLE}, {"tick-ms", required_argument, NULL, O_TICK},
        {"warmup", required_argument, NULL, O_WARMUP}, {"repair", required_argument, NULL, O_REPAIR},
        {"repair-rate", required_argument, NULL, O_REPAIR_RATE}, {"rebuild", required_argument, NULL, O_REBUILD},
        {"max-nodes", required_argument, NULL, O_MAX_NODES}, {"shrink-after", required_argument, NULL, O_SHRINK_AFTER},
        {"node-timeout", required_argument, NULL, O_NODE_TIMEOUT},
        {"platform", required_argument, NULL, O_PLATFORM},
        {"region", required_argument, NULL, O_REGION}, {"auth", required_argument, NULL, O_AUTH},
        {NULL, 0, NULL, 0}};
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "p:l:c:I:m:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'p': if (parse_size(optarg, &v) || v > 65535) return bad("-p", optarg); o->port = (int)v; break;
        case 'l': o->listen = optarg; break;
        case 'c': if (parse_size(optarg, &v) || v == 0 || v > 1000000) return bad("-c", optarg); o->conns = (unsigned)v; break;
        case 'I': if (parse_size(optarg, &o->max_item) || o->max_item == 0 || o->max_item > (2ull << 30)) return bad("-I", optarg); break;
        case 'm': if (parse_size(optarg, &o->memory_mb) || o->memory_mb == 0) return bad("-m", optarg); break;
        case 'v': o->verbose++; break;
        case 'h': usage(stdout); exit(0);
        case O_EC:
            if (sscanf(optarg, "%d+%d", &o->d, &o->p) != 2 || o->d < 1 || o->p < 0 || o->d + o->p > 64)
                return bad("--ec", optarg);
            break;
        case O_NODES: if (parse_size(optarg, &v) || v == 0 || v > 4096) return bad("--nodes", optarg); o->nodes = (unsigned)v; break;
        case O_NODE_MEM: if (parse_size(optarg, &o->node_memory_mb) || o->node_memory_mb < 64) return bad("--node-memory", optarg); break;
        case O_NODE_LISTEN: o->node_listen = optarg; break;
        case O_NODE_PORT: if (parse_size(optarg, &v) || v > 65535) return bad("--node-port", optarg); o->node_port = (int)v; break;
        case O_ADVERTISE: if (check_advertise(optarg)) return bad("--advertise (IP:PORT)", optarg); o->advertise = optarg; break;
        case O_FAAS: o->faas_url = optarg; break;
        case O_PREFIX: o->prefix = optarg; break;
        case O_MIN_CHUNK: if (parse_size(optarg, &o->min_chunk)) return bad("--min-chunk", optarg); break;
        case O_IDLE: if (parse_size(optarg, &o->idle_ms)) return bad("--idle-ms", optarg); break;
        case O_TICK: if (parse_size(optarg, &o->tick_ms) || o->tick_ms == 0) return bad("--tick-ms", optarg); break;
        case O_WARMUP: if (parse_size(optarg, &o->warmup_s) || o->warmup_s > 86400) return bad("--warmup", optarg); break;
        case O_REPAIR: if ((o->repair = on_off(optarg)) < 0) return bad("--repair", optarg); break;
        case O_REPAIR_RATE: if (parse_size(optarg, &o->repair_rate_mb) || o->repair_rate_mb > 100000) return bad("--repair-rate", optarg); break;
        case O_MAX_NODES: if (parse_size(optarg, &v) || v == 0 || v > 4096) return bad("--max-nodes", optarg); o->max_nodes = (unsigned)v; break;
        case O_SHRINK_AFTER: if (parse_size(optarg, &o->shrink_after_s) || o->shrink_after_s > 30 * 86400) return bad("--shrink-after", optarg); break;
        case O_NODE_TIMEOUT: if (parse_size(optarg, &o->node_timeout_ms) || o->node_timeout_ms < 10) return bad("--node-timeout", optarg); break;
        case O_REBUILD: if ((o->rebuild = on_off(optarg)) < 0) return bad("--rebuild", optarg); break;
        case O_PLATFORM: o->platform = optarg; break;
        case O_REGION: o->region = optarg; break;
        case O_AUTH: o->auth = optarg; break;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "fncache-proxy: unexpected argument \"%s\" (see --help)\n", argv[optind]);
        return 2;
    }
    if (o->max_nodes == 0) o->max_nodes = o->nodes;
    if (o->max_nodes < o->nodes) {
        fprintf(stderr, "fncache-proxy: --max-nodes %u is below --nodes %u\n", o->max_nodes, o->nodes);
        return 2;
    }
    if (o->nodes < (unsigned)(o->d + o->p)) {
        fprintf(stderr, "fncache-proxy: --nodes %u is fewer than the %d+%d chunks of a stripe\n", o->nodes, o->d, o->p);
        return 2;
    }
    return check_platform(o);
}

/* ---- the embedded platform ------------------------------------------- */

static int exe_dir(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n <= 0) return -1;
    out[n] = 0;
    char *slash = strrchr(out, '/');
    if (slash == NULL) return -1;
    *slash = 0;
    return 0;
}

/* Start fncache-faas with the node functions; wait (bounded) for its port. */
static int start_faas(struct proxy *px)
{
    char dir[PATH_MAX], faas[PATH_MAX + 32], node[PATH_MAX + 32], spec[2 * PATH_MAX], port_file[64];
    if (exe_dir(dir, sizeof dir) != 0) return -1;
    snprintf(faas, sizeof faas, "%s/fncache-faas", dir);
    snprintf(node, sizeof node, "%s/fncache-node", dir);
    if (access(faas, X_OK) != 0 || access(node, X_OK) != 0) {
        cm_error("cannot start the local fleet: %s and %s must sit beside fncache-proxy (or give --faas-url)", faas, node);
        return -1;
    }
    snprintf(spec, sizeof spec, "%s* %s memory=%" PRIu64 " timeout=900", px->o.prefix, node, px->o.node_memory_mb);
    snprintf(port_file, sizeof port_file, "/tmp/fncache-faas-%d.port", (int)getpid());
    unlink(port_file);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* the fleet never outlives the proxy */
        execl(faas, "fncache-faas", "--quiet", "--listen", "127.0.0.1", "--port", "0", "--port-file", port_file,
              "--function", spec, (char *)NULL);
        _exit(127);
    }
    px->faas_pid = pid;
    uint64_t deadline = cm_now_ms() + 10000;
    while (cm_now_ms() < deadline) {
        FILE *f = fopen(port_file, "r");
        int port = 0;
        if (f != NULL) {
            if (fscanf(f, "%d", &port) != 1) port = 0;
            fclose(f);
        }
        if (port > 0) {
            unlink(port_file);
            snprintf(px->faas_url, sizeof px->faas_url, "http://127.0.0.1:%d", port);
            return 0;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            px->faas_pid = 0;
            cm_error("fncache-faas exited at start");
            return -1;
        }
        usleep(10000);
    }
    cm_error("fncache-faas did not report its port within 10 s");
    return -1;
}

static void stop_faas(struct proxy *px)
{
    if (px->faas_pid <= 0) return;
    kill(px->faas_pid, SIGTERM);
    for (int i = 0; i < 500 && waitpid(px->faas_pid, NULL, WNOHANG) == 0; i++) usleep(10000);
    if (waitpid(px->faas_pid, NULL, WNOHANG) == 0) {
        kill(px->faas_pid, SIGKILL);
        waitpid(px->faas_pid, NULL, 0);
    }
    px->faas_pid = 0;
}

/* ---- the platform ----------------------------------------------------- */

/* aws: find credentials, then sign every invocation; http: authenticate. */
static int setup_platform(struct proxy *px)
{
    char err[1024];
    int rc;
    if (strcmp(px->o.platform, "aws") == 0) {
        if (px_aws_init(&px->aws, px->loop, err, sizeof err) != 0) {
            cm_error("%s", err);
            return -ENOKEY;
        }
        cm_info("aws: invocations signed for %s with credentials from %s", px->o.region, px_aws_source_name(&px->aws));
        return px_invoker_sign_aws(&px->invoker, px->o.region, &px->aws.creds);
    }
    if (px->o.auth != NULL && (rc = px_invoker_auth(&px->invoker, px->o.auth)) != 0) {
        cm_error("--auth (or FNCACHE_AUTH) is none, basic:USER:PASS, bearer:TOKEN or header:NAME:VALUE");
        return rc;
    }
    return 0;
}

/* ---- fleet events and stats ------------------------------------------ */

/* A node came back empty: every chunk recorded there is missing now. */
static void on_instance_lost(struct px_pool *pool, struct px_node *n, void *arg)
{
    (void)pool;
    px_cache_node_lost(&((struct proxy *)arg)->cache, n->id);
}

static void stats_extra(struct px_frontend *fe, const char *group, void (*line)(void *, const char *, const char *),
                        void *ctx)
{
    struct proxy *px = fe->owner;
    char name[64], value[256];
    if (group[0] == 0) {
        uint64_t inv = 0, lost = 0, connected = 0, missing = 0, warmups = 0, throttles = 0, dead = 0, invoked_ms = 0;
        for (unsigned i = 0; i < px->pool.nnodes; i++) {
            inv += px->pool.nodes[i].invocations;
            warmups += px->pool.nodes[i].warmups;
            lost += px->pool.nodes[i].instances_lost;
            throttles += px->pool.nodes[i].throttles;
            invoked_ms += px->pool.nodes[i].invoked_ms;
            dead += px_node_dead(&px->pool.nodes[i]);
            connected += px->pool.nodes[i].state == PX_NODE_CONNECTED;
        }
        for (struct px_object *o = px->cache.index.lru_head; o != NULL; o = o->lru_next)
            missing += (uint64_t)__builtin_popcountll(o->missing);
        snprintf(value, sizeof value, "%d+%d", px->o.d, px->o.p);
        line(ctx, "ec", value);
#define U64(n, v) (snprintf(value, sizeof value, "%" PRIu64, (uint64_t)(v)), line(ctx, n, value))
        U64("fleet_nodes", px->pool.nnodes);
        U64("fleet_max_nodes", px->o.max_nodes);
        U64("fleet_grown", px->fleet.grown);
        U64("fleet_shrunk", px->fleet.shrunk);
        snprintf(value, sizeof value, "%d", px->fleet.draining);
        line(ctx, "fleet_draining", value);
        U64("fleet_connected", connected);
        U64("fleet_invocations", inv);
        U64("fleet_instances_lost", lost);
        U64("fleet_warmups", warmups);
        U64("fleet_throttles", throttles);
        /* the platform's bill, as the proxy sees it: wall time x configured memory */
        snprintf(value, sizeof value, "%.3f", (double)invoked_ms / 1000.0 * (double)px->o.node_memory_mb / 1024.0);
        line(ctx, "fleet_billed_gb_seconds", value);
        U64("fleet_dead", dead);
        U64("missing_chunks", missing);
        U64("repair_queue", px->repair.queued);
        U64("repairs_background", px->repair.repairs);
        U64("rebuilding", px->rebuilding);
        U64("rebuild_objects", px->rebuilt.objects);
        U64("rebuild_incomplete", px->rebuilt.incomplete);
        U64("rebuild_discarded", px->rebuilt.discarded);
        U64("rebuild_ms", px->rebuilt.elapsed_ms);
#undef U64
    } else if (strcmp(group, "fleet") == 0) { /* the fleet's size over time */
        unsigned n = px->fleet.nhistory, first = n > PX_FLEET_HISTORY ? n - PX_FLEET_HISTORY : 0;
        for (unsigned i = first; i < n; i++) {
            const struct px_fleet_sample *s = &px->fleet.history[i % PX_FLEET_HISTORY];
            snprintf(name, sizeof name, "fleet:%u", i);
            snprintf(value, sizeof value, "unix_ms=%" PRIu64 " nodes=%u used_bytes=%" PRIu64, s->unix_ms, s->nodes,
                     s->used);
            line(ctx, name, value);
        }
    } else if (strcmp(group, "nodes") == 0) {
        uint64_t now = cm_now_ms();
        for (unsigned i = 0; i < px->pool.nnodes; i++) {
            struct px_node *n = &px->pool.nodes[i];
            char inst[2 * MCP_FRAME_INSTANCE_LEN + 1] = "-";
            if (n->known)
                for (int b = 0; b < MCP_FRAME_INSTANCE_LEN; b++) sprintf(inst + 2 * b, "%02x", n->instance[b]);
            snprintf(name, sizeof name, "node:%u", i);
            snprintf(value, sizeof value,
                     "%s state=%s%s instance=%s placed_bytes=%" PRIu64 " hello_chunks=%" PRIu64
                     " hello_bytes=%" PRIu64 " invocations=%" PRIu64 " failures=%" PRIu64 " lost=%" PRIu64
                     " last_seen_ms=%" PRIu64,
                     n->function, px_node_state_name(n->state), px_node_dead(n) ? ",dead" : "", inst,
                     px->cache.node_used[i], n->chunks, n->bytes, n->invocations, n->invoke_failures,
                     n->instances_lost, n->last_seen_ms ? now - n->last_seen_ms : 0);
            line(ctx, name, value);
        }
    }
}

/* Keep warm the sleeping nodes that hold chunks; nodes holding nothing
 * cost money for nothing and are left to the platform. */
static void on_warmup_tick(uv_timer_t *t)
{
    struct proxy *px = t->data;
    for (unsigned i = 0; i < px->pool.nnodes; i++)
        if (px->cache.node_used[i] > 0 || px_node_dead(&px->pool.nodes[i])) /* a dead one is probed */
            px_pool_warmup(&px->pool, (uint16_t)i);
}

/* The index is back: clients may go on. Nodes found holding chunks beyond
 * --nodes stay in the fleet. */
static void on_rebuilt(const struct px_rebuild_stats *st, void *arg)
{
    struct proxy *px = arg;
    unsigned n = px->o.nodes;
    if (st->highest_node >= 0 && (unsigned)st->highest_node + 1 > n) n = (unsigned)st->highest_node + 1;
    px_cache_resize(&px->cache, n);
    px->rebuilt = *st;
    px->rebuilding = 0;
    px_fleet_note(&px->fleet);
    cm_info("index rebuilt in %llu ms: %llu objects (%llu with chunks missing), %llu versions discarded; "
            "%llu nodes listed, %llu failed",
            (unsigned long long)st->elapsed_ms, (unsigned long long)st->objects, (unsigned long long)st->incomplete,
            (unsigned long long)st->discarded, (unsigned long long)st->nodes_listed,
            (unsigned long long)st->nodes_failed);
    if (!px->stopping) px_frontend_hold(&px->fe, 0);
}

/* ---- shutdown --------------------------------------------------------- */

static void on_signal(uv_signal_t *s, int signum)
{
    struct proxy *px = s->data;
    if (px->stopping) return;
    px->stopping = 1;
    cm_info("%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
    px_frontend_close(&px->fe);
    px_pool_close(&px->pool, NULL); /* first: cancelled invocations are then expected */
    px_invoker_close(&px->invoker, NULL);
    px_repair_close(&px->repair);
    px_fleet_close(&px->fleet);
    if (strcmp(px->o.platform, "aws") == 0) px_aws_close(&px->aws);
    uv_close((uv_handle_t *)&px->warmer, NULL);
    uv_close((uv_handle_t *)&px->sigint, NULL);
    uv_close((uv_handle_t *)&px->sigterm, NULL);
    stop_faas(px);
}

int main(int argc, char **argv)
{
    struct proxy px = {0};
    int rc = parse_options(argc, argv, &px.o);
    if (rc != 0) return rc;
    cm_log_init("fncache-proxy", px.o.verbose >= 3 ? CM_LOG_TRACE : (enum cm_log_level)(CM_LOG_INFO + px.o.verbose));
    signal(SIGPIPE, SIG_IGN);
    px.loop = uv_default_loop();

    if (px.o.faas_url == NULL) {
        if (start_faas(&px) != 0) return 1;
        px.o.faas_url = px.faas_url;
    }
    uint64_t per_node = (px.o.node_memory_mb - 16) << 20;
    uint64_t capacity = px.o.memory_mb ? px.o.memory_mb << 20 : per_node * px.o.max_nodes / 10 * 9;

    struct px_pool_config pc = {.listen_host = px.o.node_listen, .listen_port = px.o.node_port,
                                .advertise = px.o.advertise, .function_prefix = px.o.prefix,
                                .nodes = px.o.nodes, .idle_ms = px.o.idle_ms, .tick_ms = px.o.tick_ms,
                                .hello_timeout_ms = 15000, .invoke_timeout_ms = 900000,
                                .max_nodes = px.o.max_nodes, .silence_ms = px.o.node_timeout_ms};
    if ((rc = px_invoker_init(&px.invoker, px.loop, px.o.faas_url)) != 0 || (rc = setup_platform(&px)) != 0 ||
        (rc = px_pool_init(&px.pool, px.loop, &px.invoker, &pc)) != 0 ||
        (rc = px_stripe_init(&px.stripe, px.loop, &px.pool, px.o.d, px.o.p, px.o.min_chunk)) != 0 ||
        (rc = px_cache_init(&px.cache, px.loop, &px.stripe, (uint16_t)px.o.nodes, (uint16_t)px.o.max_nodes,
                            capacity, per_node, px.o.max_item)) != 0 ||
        (rc = px_repair_init(&px.repair, px.loop, &px.cache, px.o.repair ? px.o.repair_rate_mb << 20 : 0)) != 0 ||
        (rc = px_fleet_init(&px.fleet, px.loop, &px.cache, px.o.max_nodes, px.o.shrink_after_s * 1000,
                            px.o.repair && px.o.repair_rate_mb > 0)) != 0) {
        cm_error("start-up failed: %s", rc < 0 ? strerror(-rc) : "bad configuration");
        stop_faas(&px);
        return 1;
    }
    px.pool.on_instance_lost = on_instance_lost;
    px.pool.owner = &px;
    px.cache.read_repair = px.o.repair;
    if ((rc = px_frontend_init(&px.fe, px.loop, &px.cache, px.o.listen, px.o.port, px.o.conns, px.o.max_item)) != 0) {
        cm_error("cannot listen on %s:%d: %s", px.o.listen, px.o.port, uv_strerror(rc));
        stop_faas(&px);
        return 1;
    }
    px.fe.owner = &px;
    px.fe.stats_extra = stats_extra;
    uv_signal_init(px.loop, &px.sigint);
    uv_signal_init(px.loop, &px.sigterm);
    px.sigint.data = px.sigterm.data = &px;
    uv_signal_start(&px.sigint, on_signal, SIGINT);
    uv_signal_start(&px.sigterm, on_signal, SIGTERM);
    uv_timer_init(px.loop, &px.warmer);
    px.warmer.data = &px;
    if (px.o.warmup_s > 0) uv_timer_start(&px.warmer, on_warmup_tick, px.o.warmup_s * 1000, px.o.warmup_s * 1000);
    if (px.faas_pid == 0 && px.o.rebuild) {
        /* an existing fleet: what its nodes hold is the index (and clients wait for it) */
        px.rebuilding = 1;
        px_frontend_hold(&px.fe, 1);
        px_cache_resize(&px.cache, px.o.max_nodes);
        if ((rc = px_rebuild_start(&px.cache, px.o.max_nodes, 30000, on_rebuilt, &px)) != 0) {
            cm_error("cannot rebuild the index: %s", strerror(-rc));
            return 1;
        }
    }
    /* the platform URL without its query: a key may ride in it */
    cm_info("serving memcached on %s:%d: %u nodes (%s*), %d+%d code, %" PRIu64 " MB capacity, platform %.*s",
            px.o.listen, px.o.port, px.o.nodes, px.o.prefix, px.o.d, px.o.p, capacity >> 20,
            (int)strcspn(px.o.faas_url, "?"), px.o.faas_url);

    uv_run(px.loop, UV_RUN_DEFAULT);
    px_cache_free(&px.cache);
    px_stripe_free(&px.stripe);
    px_pool_free(&px.pool);
    stop_faas(&px);
    cm_info("stopped");
    return 0;
}
