#!/usr/bin/python3
"""Experiment 4: cost and availability of fleets of 100-1000 nodes and
10-600 GB working sets over 50 hours, projected by a discrete-event model
(simulate.py) calibrated with what experiments 1-3 measured locally.

1. calibration.json: per-chunk transfer time (fit of exp1's GET latency
   against size), cold-start init and warm-up durations (billing records of
   the replays). Defaults stand in for anything not measured yet.
2. validation.csv: the model replays each local replay's own requests, at
   the times they were issued, with the same settings (time compression
   included) and is compared with it.
3. projection.csv, projection.png: the grid, with the ElastiCache cluster
   that holds each working set.
"""
import glob
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pb  # noqa: E402
import cost  # noqa: E402
import replay  # noqa: E402
import simulate as sim  # noqa: E402
import traces  # noqa: E402

DEFAULT_CAL = {"a_ms": 1.0, "ms_per_mb": 5.0, "init_ms": 60.0, "warmup_ms": 0.5}
GRID = {"tiny": dict(fleets=[20, 50], ws_gb=[1, 5], hours=2, rate=300, seeds=3),
        "quick": dict(fleets=[100, 200, 400, 1000], ws_gb=[10, 50, 100, 300, 600], hours=50, rate=1000, seeds=3),
        "full": dict(fleets=[100, 200, 400, 600, 800, 1000], ws_gb=[10, 25, 50, 100, 200, 300, 450, 600],
                     hours=50, rate=1000, seeds=10)}
# Agreement the checks ask for (validation.csv "agree"): relative error of
# costs and invocation counts, absolute error of availability (points).
TOL_REL, TOL_AVAIL = 0.35, 15.0


def extra(ap):
    ap.add_argument("--rate", type=float, help="requests per trace hour in projections (default: the mode's)")
    ap.add_argument("--reclaim", type=float, help="reclamations per node-hour in projections (default: %g)"
                    % replay.PLATFORM["reclaim_per_node_h"])
    ap.add_argument("--node-mb", type=int, default=1024, help="node memory in projections (default: 1024)")


def calibrate(root):
    cal = dict(DEFAULT_CAL)
    src = {k: "default" for k in cal}
    summ = glob.glob(os.path.join(root, "exp1", "summary.csv"))
    if summ:
        rows = [r for r in pb.read_csv(summ[0]) if r["op"] == "get" and r["system"] != "memcached"]
        by_code = {}
        for r in rows:
            by_code.setdefault(r["system"], []).append((float(r["size_mb"]), float(r["p50_ms"])))
        # The replays' code: a node is busy for its share of the object's
        # transfer at that code's rate.
        codes = [pb.read_json(f)["ec"] for f in glob.glob(os.path.join(root, "replays", "*", "settings.json"))]
        code = next((c for c in codes + ["10+2"] if c in by_code), sorted(by_code)[0] if by_code else None)
        pts = by_code.get(code, [])
        if len(pts) >= 2:
            n = len(pts)
            mx, my = sum(x for x, _ in pts) / n, sum(y for _, y in pts) / n
            slope = sum((x - mx) * (y - my) for x, y in pts) / max(sum((x - mx) ** 2 for x, _ in pts), 1e-9)
            d = int(code.split("+")[0])
            cal["ms_per_mb"] = max(0.05, slope * d)     # a node moves size/d of the object
            cal["a_ms"] = max(0.2, my - slope * mx)
            src["ms_per_mb"] = src["a_ms"] = "exp1 GET p50, code %s" % code
    inits, warms = [], []
    for d in glob.glob(os.path.join(root, "replays", "*", "billing.jsonl")):
        s = pb.read_json(os.path.join(os.path.dirname(d), "settings.json"))
        for r in map(json.loads, open(d)):
            if r.get("cold") and r.get("init_ms"):
                inits.append(r["init_ms"])
            elif r["duration_ms"] < s["idle_ms"] / 2:
                warms.append(r["duration_ms"])
    if inits:
        cal["init_ms"], src["init_ms"] = sum(inits) / len(inits), "replay billing, %d cold starts" % len(inits)
    if warms:
        cal["warmup_ms"], src["warmup_ms"] = sum(warms) / len(warms), "replay billing, %d warm-ups" % len(warms)
    return cal, src


def model_cost(res, warmup_factor, g):
    serve, warm = sim.split_invocations(res["invocations"], warmup_factor)
    return cost.lambda_cost(serve, g)[2] + cost.lambda_cost(warm, g)[2]


def validate(root, cal, seeds):
    rows = []
    for d in sorted(glob.glob(os.path.join(root, "replays", "*", "run.json"))):
        d = os.path.dirname(d)
        s = pb.read_json(os.path.join(d, "settings.json"))
        run = pb.read_json(os.path.join(d, "run.json"))
        # The trace as the replay issued it: a request that left late (the
        # client was busy) is modelled at the time it left.
        trace = sorted((float(r["time_s"]) + float(r["lag_ms"] or 0) / 1000 * s["compress"], r["key"],
                        int(r["size"]), r["op"]) for r in pb.read_csv(os.path.join(d, "requests.csv")))
        dd, p = (int(x) for x in s["ec"].split("+"))
        f = run["warmup_factor"]
        serve, warm = cost.read_billing(os.path.join(d, "billing.jsonl"), s["idle_ms"], f)
        local = replay.overall(replay.hourly(d))
        local_m = {"serving_invocations": len(serve), "hit_ratio_pct": local["hit_ratio_pct"],
                   "availability_pct": local["mean_hourly_availability_pct"]}
        for g in cost.GRANULARITIES:
            local_m["cost_usd_%dms" % g] = cost.lambda_cost(serve, g)[2] + cost.lambda_cost(warm, g)[2]
        acc = {k: [] for k in local_m}
        for seed in range(seeds):
            res = sim.simulate(trace, s["nodes"], dd, p, s["node_mb"], cal, s["reclaim_per_node_h"],
                               warmup_s=run["warmup_real_s"] * s["compress"], idle_ms=s["idle_ms"],
                               compress=s["compress"], repair=s["repair"] != "off", seed=s["seed"] * 1000 + seed)
            acc["serving_invocations"].append(res["serving_invocations"])
            acc["hit_ratio_pct"].append(100.0 * res["hits"] / max(res["gets"], 1))
            acc["availability_pct"].append(sim.mean_availability(res["hourly"]))
            for g in cost.GRANULARITIES:
                acc["cost_usd_%dms" % g].append(model_cost(res, f, g))
        for k, v in local_m.items():
            vals = [x for x in acc[k] if x is not None]
            m = sum(vals) / len(vals) if vals else None
            if v is None or m is None:
                err, ok = None, True
            elif k.endswith("_pct"):
                err, ok = m - v, abs(m - v) <= TOL_AVAIL
            else:
                err = (m - v) / v if v else 0.0
                ok = abs(err) <= TOL_REL
            rows.append({"replay": os.path.basename(d), "metric": k, "local": pb.fmt(v, 6 if "cost" in k else 1),
                         "model": pb.fmt(m, 6 if "cost" in k else 1),
                         "error": pb.fmt(err, 3) + ("" if k.endswith("_pct") or err is None else " rel"),
                         "agree": int(ok)})
    return rows


def project(grid, cal, a, seed):
    # Large objects only: the generator's size law above 10 MB.
    sizes = traces.object_sizes(random.Random(seed), 20000)
    big = [x for x in sizes if x > 10 * traces.MB]
    mean_big, share = sum(big) / len(big), len(big) / len(sizes)
    rows = []
    d, p = 10, 2
    reclaim = a.reclaim if a.reclaim is not None else replay.PLATFORM["reclaim_per_node_h"]
    rate = a.rate or grid["rate"]
    for n in grid["fleets"]:
        for ws in grid["ws_gb"]:
            if ws * 1e9 * (d + p) / d > 0.9 * n * a.node_mb * (1 << 20):
                continue
            objects = max(1, int(ws * 1e9 / mean_big / share))
            trace = traces.large_only(traces.generate(grid["hours"], objects, rate / share, seed=seed))
            res = sim.simulate(trace, n, d, p, a.node_mb, cal, reclaim, seed=seed)
            ec_desc, ec_hourly = cost.elasticache(ws * 1e9)
            row = {"nodes": n, "working_set_gb": ws, "hours": grid["hours"], "requests": len(trace),
                   "availability_pct": pb.fmt(sim.mean_availability(res["hourly"]), 1),
                   "hit_ratio_pct": pb.fmt(100.0 * res["hits"] / max(res["gets"], 1), 1),
                   "instances_lost": res["instances_lost"], "objects_lost": res["objects_lost"],
                   "elasticache": ec_desc, "elasticache_usd": round(ec_hourly * grid["hours"], 2)}
            for g in cost.GRANULARITIES:
                c = model_cost(res, 1.0, g)
                row["fncache_usd_%dms" % g] = round(c, 3)
                row["saving_x_%dms" % g] = round(row["elasticache_usd"] / max(c, 1e-9), 1)
            rows.append(row)
            pb.log("exp4", "%4d nodes, %3d GB: $%.2f (100 ms) vs ElastiCache $%.2f, availability %s%%"
                   % (n, ws, row["fncache_usd_100ms"], row["elasticache_usd"], row["availability_pct"]))
    return rows


def plot(rows, path, hours):
    plt = pb.plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for n in sorted({r["nodes"] for r in rows}):
        rs = [r for r in rows if r["nodes"] == n]
        x = [r["working_set_gb"] for r in rs]
        line, = axes[0].plot(x, [r["fncache_usd_100ms"] for r in rs], marker="o", label="%d nodes, 100 ms" % n)
        axes[0].plot(x, [r["fncache_usd_1ms"] for r in rs], ls=":", color=line.get_color())
        axes[1].plot(x, [float(r["availability_pct"]) for r in rs], marker="o", label="%d nodes" % n)
    ws = sorted({r["working_set_gb"] for r in rows})
    axes[0].step(ws, [cost.elasticache(w * 1e9)[1] * hours for w in ws], where="post", color="k",
                 label="ElastiCache")
    axes[0].scatter([635], [pb.PAPER["infinicache_no_backup"]], marker="*", s=120, color="grey",
                    label="paper: no backup")
    axes[0].scatter([635], [pb.PAPER["elasticache_50h"]], marker="*", s=120, color="k", label="paper: ElastiCache")
    axes[0].set_yscale("log")
    axes[0].set_title("cost for %g h (dotted: 1 ms billing)" % hours)
    axes[0].set_ylabel("USD")
    axes[1].axhline(pb.PAPER["availability_no_backup"], ls="--", color="grey")
    axes[1].axhline(pb.PAPER["availability_backup"], ls="--", color="grey")
    axes[1].set_title("mean hourly availability (paper: dashed)")
    axes[1].set_ylabel("%")
    for ax in axes:
        ax.set_xlabel("working set (GB)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    pb.save_plot(fig, path)


def main():
    a = pb.args(__doc__.split("\n")[0], extra)
    pb.need([] if a.no_plot else ["matplotlib"])
    out = os.path.join(a.dir, "exp4")
    os.makedirs(out, exist_ok=True)
    grid = GRID[a.mode]
    cal, src = calibrate(a.dir)
    pb.write_json(os.path.join(out, "calibration.json"), {"calibration": cal, "source": src})
    pb.log("exp4", "calibration: %s" % ", ".join("%s=%.3g (%s)" % (k, v, src[k]) for k, v in cal.items()))
    val = validate(a.dir, cal, grid["seeds"])
    pb.write_csv(os.path.join(out, "validation.csv"), val, ["replay", "metric", "local", "model", "error", "agree"])
    if val:
        pb.table(val, ["replay", "metric", "local", "model", "error", "agree"],
                 "Model against the local replays (same trace and settings)")
    else:
        pb.log("exp4", "no local replays under %s yet: run exp2/exp3 first to check the model" % a.dir)
    path = os.path.join(out, "projection.csv")
    conf = {"grid": grid, "cal": cal, "rate": a.rate, "reclaim": a.reclaim, "node_mb": a.node_mb, "seed": a.seed}
    if pb.cached(path, conf, a.redo):
        pb.log("exp4", "reusing %s" % path)
    else:
        pb.write_csv(path, project(grid, cal, a, a.seed))
        pb.mark_done(path, conf)
    rows = [dict(r, nodes=int(r["nodes"]), working_set_gb=int(r["working_set_gb"]),
                 fncache_usd_100ms=float(r["fncache_usd_100ms"]), fncache_usd_1ms=float(r["fncache_usd_1ms"]))
            for r in pb.read_csv(path)]
    if not a.no_plot:
        plot(rows, os.path.join(out, "projection.png"), grid["hours"])
    pb.table(rows, ["nodes", "working_set_gb", "requests", "fncache_usd_1ms", "fncache_usd_100ms", "elasticache",
                    "elasticache_usd", "saving_x_100ms", "availability_pct"],
             "Projection, %g hours (paper, 50 h: ElastiCache $%.1f, InfiniCache $%.2f-$%.2f)"
             % (grid["hours"], pb.PAPER["elasticache_50h"], pb.PAPER["infinicache_no_backup"],
                pb.PAPER["infinicache_all"]))


if __name__ == "__main__":
    main()
