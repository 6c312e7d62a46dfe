/* cachenode/main.c — fncache-node: a Lambda custom runtime that holds
 * erasure-coded chunks in RAM and serves them to the proxy it dials. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>
#include <uv.h>

#include "cachenode/runtime.h"
#include "cachenode/serve.h"
#include "cachenode/store.h"
#include "common/clock.h"
#include "common/log.h"

struct node {
    struct cn_runtime rt;
    struct cn_store store;
    uv_loop_t loop;
    uint8_t instance[MCP_FRAME_INSTANCE_LEN];
    char instance_hex[2 * MCP_FRAME_INSTANCE_LEN + 1];
    const char *name;
    uint64_t invocations;
    /* defaults, overridden per invocation by the payload */
    uint64_t idle_ms, tick_ms, safety_ms, connect_ms;
};

static void usage(FILE *out)
{
    fprintf(out,
            "fncache-node: the fncache cache node, an AWS Lambda custom runtime.\n"
            "It takes invocations from the Lambda Runtime API (AWS_LAMBDA_RUNTIME_API), dials\n"
            "the proxy named in a `serve` payload and keeps chunks in memory between\n"
            "invocations. Run it under AWS Lambda (as `bootstrap`) or fncache-faas.\n"
            "\n"
            "-h, --help              print this help and exit\n"
            "-v, --verbose           log more (repeat for trace)\n"
            "    --overhead-mb=MB    memory kept back from AWS_LAMBDA_FUNCTION_MEMORY_SIZE for\n"
            "                        the process itself (default: 16)\n"
            "    --memory-mb=MB      memory size when AWS_LAMBDA_FUNCTION_MEMORY_SIZE is unset\n"
            "                        (default: 128)\n"
            "    --idle-ms=MS        return from `serve` after this long without a request\n"
            "                        (default: 1000; the payload's idle_ms wins)\n"
            "    --tick-ms=MS        billing granularity to align returns to (default: 1;\n"
            "                        the payload's tick_ms wins)\n"
            "    --safety-ms=MS      return this long before the invocation deadline\n"
            "                        (default: 500)\n"
            "    --connect-ms=MS     give up dialing the proxy after this long (default: 3000)\n"
            "\n"
            "Payloads (JSON): {\"cmd\":\"serve\",\"proxy\":\"HOST:PORT\",\"token\":\"...\"[,\"idle_ms\":N]\n"
            "[,\"tick_ms\":N]}, {\"cmd\":\"warmup\"}, {\"cmd\":\"ping\"}. Every answer names the\n"
            "instance id, drawn at random when the process starts.\n");
}

static void on_sigterm(int sig)
{
    (void)sig;
    static const char msg[] = "fncache-node: SIGTERM, exiting\n";
    if (write(2, msg, sizeof msg - 1) < 0) _exit(0);
    _exit(0);
}

static cJSON *status_json(const struct node *n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "instance", n->instance_hex);
    cJSON_AddStringToObject(o, "function", n->name);
    cJSON_AddNumberToObject(o, "chunks", (double)n->store.chunks);
    cJSON_AddNumberToObject(o, "bytes", (double)n->store.used);
    cJSON_AddNumberToObject(o, "mem_limit", (double)n->store.limit);
    cJSON_AddNumberToObject(o, "invocations", (double)n->invocations);
    return o;
}

static void respond(struct node *n, const char *request_id, cJSON *o)
{
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s == NULL || cn_runtime_respond(&n->rt, request_id, s) != 0)
        cm_warn("could not post the response of %s", request_id);
    free(s);
}

static uint64_t json_u64(const cJSON *payload, const char *field, uint64_t fallback)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(payload, field);
    return cJSON_IsNumber(v) && v->valuedouble >= 0 ? (uint64_t)v->valuedouble : fallback;
}

static void do_serve(struct node *n, const struct cn_invocation *inv, const cJSON *payload)
{
    const cJSON *proxy = cJSON_GetObjectItemCaseSensitive(payload, "proxy");
    const cJSON *token = cJSON_GetObjectItemCaseSensitive(payload, "token");
    if (!cJSON_IsString(proxy) || !cJSON_IsString(token) || strlen(token->valuestring) > 256) {
        cn_runtime_fail(&n->rt, inv->request_id, "Node.BadPayload",
                        "serve needs \"proxy\":\"HOST:PORT\" and \"token\" (at most 256 bytes)");
        return;
    }
    char host[256];
    const char *colon = strrchr(proxy->valuestring, ':');
    long port = colon ? strtol(colon + 1, NULL, 10) : 0;
    size_t hlen = colon ? (size_t)(colon - proxy->valuestring) : 0;
    if (hlen > 0 && proxy->valuestring[0] == '[' && proxy->valuestring[hlen - 1] == ']') {
        memmove(host, proxy->valuestring + 1, hlen - 2); /* [::1]:port */
        hlen -= 2;
    } else if (hlen < sizeof host) {
        memcpy(host, proxy->valuestring, hlen);
    }
    if (colon == NULL || hlen == 0 || hlen >= sizeof host || port <= 0 || port > 65535) {
        cn_runtime_fail(&n->rt, inv->request_id, "Node.BadPayload", "\"proxy\" is not HOST:PORT");
        return;
    }
    host[hlen] = 0;

    int64_t left = inv->deadline_ms > 0 ? inv->deadline_ms - (int64_t)cm_wall_ms() : 900000;
    int64_t budget = left - (int64_t)n->safety_ms;
    if (budget <= 0) {
        cn_runtime_fail(&n->rt, inv->request_id, "Node.NoTime", "deadline too close to serve");
        return;
    }
    struct cn_serve_params p = {
        .proxy_host = host, .proxy_port = (int)port, .token = token->valuestring, .name = n->name,
        .instance = n->instance, .idle_ms = json_u64(payload, "idle_ms", n->idle_ms),
        .tick_ms = json_u64(payload, "tick_ms", n->tick_ms), .budget_ms = (uint64_t)budget,
        .connect_ms = n->connect_ms};
    struct cn_serve_summary sum;
    cm_debug("serve: dialing %s:%ld, budget %lld ms", host, port, (long long)budget);
    cn_serve(&n->loop, &n->store, &p, &sum);
    cm_info("serve ended (%s%s%s): %llu requests, %llu B in, %llu B out, %llu ms",
            cn_serve_end_name(sum.end), sum.detail[0] ? ": " : "", sum.detail,
            (unsigned long long)sum.requests, (unsigned long long)sum.bytes_in,
            (unsigned long long)sum.bytes_out, (unsigned long long)sum.duration_ms);
    if (sum.end == CN_END_CONNECT || sum.end == CN_END_REFUSED) {
        cn_runtime_fail(&n->rt, inv->request_id,
                        sum.end == CN_END_CONNECT ? "Node.ConnectFailed" : "Node.Refused", sum.detail);
        return;
    }
    cJSON *o = status_json(n);
    cJSON_AddStringToObject(o, "reason", cn_serve_end_name(sum.end));
    if (sum.detail[0]) cJSON_AddStringToObject(o, "detail", sum.detail);
    cJSON_AddNumberToObject(o, "requests", (double)sum.requests);
    cJSON_AddNumberToObject(o, "puts", (double)sum.puts);
    cJSON_AddNumberToObject(o, "gets", (double)sum.gets);
    cJSON_AddNumberToObject(o, "dels", (double)sum.dels);
    cJSON_AddNumberToObject(o, "lists", (double)sum.lists);
    cJSON_AddNumberToObject(o, "refused_puts", (double)sum.refused_puts);
    cJSON_AddNumberToObject(o, "bytes_in", (double)sum.bytes_in);
    cJSON_AddNumberToObject(o, "bytes_out", (double)sum.bytes_out);
    cJSON_AddNumberToObject(o, "duration_ms", (double)sum.duration_ms);
    respond(n, inv->request_id, o);
}

static void handle(struct node *n, const struct cn_invocation *inv)
{
    n->invocations++;
    cJSON *payload = cJSON_ParseWithLength(inv->body, inv->body_len);
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(payload, "cmd");
    if (!cJSON_IsString(cmd)) {
        cn_runtime_fail(&n->rt, inv->request_id, "Node.BadPayload",
                        payload == NULL ? "payload is not JSON" : "payload has no \"cmd\" string");
    } else if (strcmp(cmd->valuestring, "serve") == 0) {
        do_serve(n, inv, payload);
    } else if (strcmp(cmd->valuestring, "warmup") == 0 || strcmp(cmd->valuestring, "ping") == 0) {
        cJSON *o = status_json(n);
        cJSON_AddStringToObject(o, "reason", cmd->valuestring);
        respond(n, inv->request_id, o);
    } else {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown cmd \"%.100s\" (serve, warmup, ping)", cmd->valuestring);
        cn_runtime_fail(&n->rt, inv->request_id, "Node.BadPayload", msg);
    }
    cJSON_Delete(payload);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != 0 || s[0] == '-') return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    struct node n = {.idle_ms = 1000, .tick_ms = 1, .safety_ms = 500, .connect_ms = 3000};
    uint64_t overhead_mb = 16, memory_mb = 128;
    int verbosity = CM_LOG_INFO;
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},           {"verbose", no_argument, NULL, 'v'},
        {"overhead-mb", required_argument, NULL, 1}, {"memory-mb", required_argument, NULL, 2},
        {"idle-ms", required_argument, NULL, 3},     {"tick-ms", required_argument, NULL, 4},
        {"safety-ms", required_argument, NULL, 5},   {"connect-ms", required_argument, NULL, 6},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
        uint64_t *target = NULL;
        switch (c) {
        case 'h': usage(stdout); return 0;
        case 'v': verbosity++; continue;
        case 1: target = &overhead_mb; break;
        case 2: target = &memory_mb; break;
        case 3: target = &n.idle_ms; break;
        case 4: target = &n.tick_ms; break;
        case 5: target = &n.safety_ms; break;
        case 6: target = &n.connect_ms; break;
        default: usage(stderr); return 2;
        }
        if (parse_u64(optarg, target) != 0) {
            fprintf(stderr, "fncache-node: --%s needs a non-negative number, not \"%s\"\n",
                    opts[c + 1].name, optarg);
            return 2;
        }
    }
    cm_log_init("fncache-node", verbosity > CM_LOG_TRACE ? CM_LOG_TRACE : (enum cm_log_level)verbosity);
    signal(SIGPIPE, SIG_IGN);
    /* Chunks up to 32 MB come from the heap and freed ones are kept for
     * reuse: a PUT into memory the node already touched runs at loopback
     * speed, one into fresh pages at a third of it (make bench-node). The
     * store keeps the resident size under the function's memory size. */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    signal(SIGTERM, on_sigterm);

    const char *mem = getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE");
    if (mem != NULL && parse_u64(mem, &memory_mb) != 0) {
        cm_error("AWS_LAMBDA_FUNCTION_MEMORY_SIZE is not a number: \"%s\"", mem);
        return 1;
    }
    n.name = getenv("AWS_LAMBDA_FUNCTION_NAME") ? getenv("AWS_LAMBDA_FUNCTION_NAME") : "fncache-node";
    uint64_t limit = memory_mb > overhead_mb ? (memory_mb - overhead_mb) << 20 : 0;

    if (getrandom(n.instance, sizeof n.instance, 0) != (ssize_t)sizeof n.instance) {
        cm_error("getrandom failed: %s", strerror(errno));
        return 1;
    }
    for (size_t i = 0; i < sizeof n.instance; i++) sprintf(n.instance_hex + 2 * i, "%02x", n.instance[i]);

    if (cn_runtime_init(&n.rt, getenv("AWS_LAMBDA_RUNTIME_API")) != 0) return 1;
    if (limit == 0) {
        cn_runtime_init_error(&n.rt, "Node.NoMemory", "memory size is not above the overhead");
        cm_error("memory size %llu MB leaves nothing above the %llu MB overhead",
                 (unsigned long long)memory_mb, (unsigned long long)overhead_mb);
        return 1;
    }
    if (cn_store_init(&n.store, limit) != 0 || uv_loop_init(&n.loop) != 0) {
        cn_runtime_init_error(&n.rt, "Node.InitFailed", "out of memory at start");
        return 1;
    }
    n.store.rss_cap = (memory_mb << 20) - ((memory_mb << 20) / 32); /* a margin below the kill line */
    cm_info("instance %s of %s started: %llu MB for chunks", n.instance_hex, n.name,
            (unsigned long long)(limit >> 20));

    struct cn_invocation inv = {0};
    unsigned failures = 0;
    for (;;) {
        if (cn_runtime_next(&n.rt, &inv) != 0) {
            /* The runtime API is local: a few failures in a row mean it is gone. */
            if (++failures >= 5) {
                cm_error("runtime API unreachable, exiting");
                return 1;
            }
            usleep(100000u << (failures - 1));
            continue;
        }
        failures = 0;
        handle(&n, &inv);
    }
}
