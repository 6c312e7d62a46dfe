"""Trace replay on a local fleet, shared by experiments 2 (cost) and 3
(availability), and the settings of each mode.

Time compression: a trace of H hours is replayed in H*3600/C seconds. The
request schedule, the platform's idle reclamation, its random reclamation
rate and the proxy's warm-up period are all scaled by C; the work inside an
invocation (transfers, the node's --idle-ms tail) is not. Costs are computed
in trace time (see cost.py). The warm-up period cannot go below 1 s (the
proxy takes whole seconds): when 60 s/C < 1 s the proxy warms every second
and the warm-up cost is scaled by warmup_factor = C * 1 s / 60 s.

One replay = one folder (named by a hash of its settings) with:
  settings.json   everything that defines the run
  trace.csv       the replayed trace (trace time)
  requests.csv    one line per request: trace time, key, size, hit, whether
                  the key had been stored before, latencies, lateness
  stats.csv       the proxy's `stats` sampled over trace time
  billing.jsonl   fncache-faas billing records (real durations)
  run.json        summary: wall time, proxy features, final stats
  proxy.log, faas.log
A folder with a run.json is reused unless --redo.
"""
import json
import os
import queue
import shutil
import threading
import time

import pb
import traces as tr

MB = 1 << 20

MODES = {
    # trace shape (trace time)            fleet                    replay
    "tiny": dict(hours=1.0, objects=24, rate=300, median_mb=0.8, sigma=1.0, max_mb=4, large_mb=1,
                 nodes=8, node_mb=256, ec="4+2", compress=600, workers=2),
    "quick": dict(hours=4.0, objects=150, rate=120, median_mb=3.0, sigma=2.0, max_mb=100, large_mb=10,
                  nodes=20, node_mb=1024, ec="10+2", compress=120, workers=3),
    "full": dict(hours=50.0, objects=400, rate=120, median_mb=3.0, sigma=2.0, max_mb=100, large_mb=10,
                 nodes=40, node_mb=1024, ec="10+2", compress=60, workers=3),
}
# Platform behaviour in trace time (assumptions, documented in README).
PLATFORM = dict(warmup_s=60,           # InfiniCache warms every node each minute
                idle_reclaim_s=1800,   # an idle instance is reclaimed after 30 min
                reclaim_per_node_h=0.1,  # random reclamations per node per hour
                idle_ms=50)            # node's idle tail before it returns (real ms)


def settings(mode, workload, seed, repair="default", trace_file=None, **over):
    s = dict(MODES[mode])
    s.update(PLATFORM)
    s.update(workload=workload, seed=seed, repair=repair, trace_file=trace_file)
    s.update({k: v for k, v in over.items() if v is not None})
    return s


def build_trace(s):
    if s["trace_file"]:
        t = tr.read(s["trace_file"])
    else:
        t = tr.generate(s["hours"], s["objects"], s["rate"], s["median_mb"], s["sigma"], 4, s["max_mb"],
                        0.9, s["seed"])
    if s["workload"] == "large":
        t = tr.large_only(t, s["large_mb"] * MB)
    return t


def warmup_real_s(s):
    return max(1, round(s["warmup_s"] / s["compress"]))


def run_dir(root, s):
    return os.path.join(root, "replays", "%s-%s" % (s["workload"], pb.config_key(s)))


def replay(root, s, redo=False, tag="replay"):
    """Runs (or reuses) one replay; returns its folder."""
    d = run_dir(root, s)
    if not redo and os.path.exists(os.path.join(d, "run.json")):
        with open(os.path.join(d, "settings.json")) as f:
            if json.load(f) == json.loads(json.dumps(s)):
                pb.log(tag, "reusing %s" % d)
                return d
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    pb.write_json(os.path.join(d, "settings.json"), s)
    trace = build_trace(s)
    tr.write(os.path.join(d, "trace.csv"), trace)
    if not trace:
        raise RuntimeError("empty trace")
    c = s["compress"]
    billing = os.path.join(d, "billing.jsonl")
    max_obj = max(r[2] for r in trace)
    wall0 = time.monotonic()
    with pb.Procs(tag, d) as procs:
        faas_flags = ["--seed", s["seed"], "--idle", "%dms" % max(50, s["idle_reclaim_s"] * 1000 // c),
                      "--random-rate", "%.6f" % (s["reclaim_per_node_h"] * s["nodes"] * c),
                      "--reclaim-mode", "kill", "--granularity", 1]
        url = procs.faas("pbn-", s["node_mb"], billing, faas_flags)
        flags = ["--faas-url", url, "--function-prefix", "pbn-", "--nodes", s["nodes"],
                 "--node-memory", s["node_mb"], "--ec", s["ec"], "-I", "%dm" % (max_obj // MB + 2),
                 "--warmup", warmup_real_s(s), "--idle-ms", s["idle_ms"]]
        if s["repair"] != "default":
            flags += ["--repair=" + s["repair"]]
        port = procs.proxy(flags)
        reqs, samples, failed = _drive(port, trace, s, tag)
        final = pb.stats(pb.client(port))
    wall = time.monotonic() - wall0
    pb.write_csv(os.path.join(d, "requests.csv"), reqs, ["time_s", "key", "size", "op", "hit", "prior", "get_ms",
                                                         "set_ms", "lag_ms", "error"])
    pb.write_csv(os.path.join(d, "stats.csv"), samples)
    pb.write_json(os.path.join(d, "run.json"), {
        "wall_s": round(wall, 1), "failed_requests": failed, "warmup_real_s": warmup_real_s(s),
        "warmup_factor": c * warmup_real_s(s) / s["warmup_s"], "final_stats": final,
        "trace": tr.describe(trace)})
    return d


STAT_KEYS = ["get_hits", "get_misses", "evictions", "objects_lost", "chunks_repaired", "repair_failures",
             "missing_chunks", "fleet_invocations", "fleet_instances_lost", "fleet_warmups",
             "repair_bytes", "repairs_background", "curr_items"]


def _drive(port, trace, s, tag):
    c = s["compress"]
    block = os.urandom(MB)
    stored = set()
    lock = threading.Lock()
    work = queue.Queue()
    rows, errors = [], []
    t0 = time.monotonic() + 0.2

    def worker():
        cl = pb.client(port)
        while True:
            item = work.get()
            if item is None:
                break
            t, key, size, op = item
            lag = (time.monotonic() - (t0 + t / c)) * 1000
            with lock:
                prior = key in stored
            try:
                hit, g_ms, s_ms = 0, "", ""
                if op == "GET":
                    a = time.perf_counter()
                    v = cl.get(key)
                    g_ms = "%.2f" % ((time.perf_counter() - a) * 1000)
                    hit = int(v is not None and len(v) == size)
                if not hit:
                    value = block * (size // MB) + block[:size % MB]
                    a = time.perf_counter()
                    if not cl.set(key, value):
                        raise RuntimeError("SET %s refused" % key)
                    s_ms = "%.2f" % ((time.perf_counter() - a) * 1000)
                    with lock:
                        stored.add(key)
                with lock:
                    rows.append({"time_s": t, "key": key, "size": size, "op": op, "hit": hit,
                                 "prior": int(prior), "get_ms": g_ms, "set_ms": s_ms, "lag_ms": "%.0f" % lag})
            except Exception as e:  # noqa: BLE001 - counted, the run goes on
                errors.append("%s %s: %r" % (op, key, e))
                with lock:
                    rows.append({"time_s": t, "key": key, "size": size, "op": op, "hit": 0, "prior": int(prior),
                                 "error": repr(e)[:200]})
                cl.close()
                cl = pb.client(port)
        cl.close()

    samples = []
    stop = threading.Event()

    def sampler():
        cl = pb.client(port)
        period = max(0.25, 900.0 / c)   # every quarter of a trace hour
        while True:
            st = pb.stats(cl)
            row = {"time_s": round((time.monotonic() - t0) * c, 1)}
            row.update({k: st.get(k, "") for k in STAT_KEYS})
            samples.append(row)
            if stop.wait(period):
                break
        cl.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(s["workers"])]
    smp = threading.Thread(target=sampler, daemon=True)
    for th in threads + [smp]:
        th.start()
    total, last_log = len(trace), 0
    try:
        for i, r in enumerate(trace):
            delay = t0 + r[0] / c - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            work.put(r)
            if time.monotonic() - last_log > 10 or i + 1 == total:
                last_log = time.monotonic()
                pb.log(tag, "%d/%d requests, trace hour %.1f of %.1f" % (i + 1, total, r[0] / 3600, s["hours"]))
    finally:
        for _ in threads:
            work.put(None)
        for th in threads:
            th.join(300)
        stop.set()
        smp.join(30)
    if errors:
        pb.log(tag, "%d requests failed (counted as misses), first: %s" % (len(errors), errors[0]))
        if len(errors) > 0.05 * total:
            raise RuntimeError("more than 5%% of the requests failed, first: %s" % errors[0])
    rows.sort(key=lambda x: x["time_s"])
    return rows, samples, len(errors)


def hourly(d):
    """Per trace hour: GETs, hits, GETs of objects stored before, availability and hit ratio."""
    rows = pb.read_csv(os.path.join(d, "requests.csv"))
    hours = {}
    for r in rows:
        if r["op"] != "GET":
            continue
        h = hours.setdefault(int(float(r["time_s"]) // 3600), [0, 0, 0, 0])
        h[0] += 1
        h[1] += int(r["hit"])
        if int(r["prior"]):
            h[2] += 1
            h[3] += int(r["hit"])
    out = []
    for h in sorted(hours):
        gets, hits, prior, prior_hits = hours[h]
        out.append({"hour": h, "gets": gets, "hits": hits, "prior_gets": prior,
                    "availability_pct": pb.fmt(100.0 * prior_hits / prior if prior else None, 1),
                    "hit_ratio_pct": pb.fmt(100.0 * hits / gets, 1)})
    return out


def overall(hrs):
    av = [float(h["availability_pct"]) for h in hrs if h["availability_pct"] != "-"]
    gets = sum(h["gets"] for h in hrs)
    return {"mean_hourly_availability_pct": round(sum(av) / len(av), 1) if av else None,
            "min_hourly_availability_pct": min(av) if av else None,
            "hit_ratio_pct": round(100.0 * sum(h["hits"] for h in hrs) / gets, 1) if gets else None}
