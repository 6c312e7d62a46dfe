#!/usr/bin/python3
"""Experiment 2: the tenant's cost of a large-object workload on fncache
(Lambda requests + GB-seconds from fncache-faas billing) against an
ElastiCache cluster holding the same working set.

Replays a synthetic registry-like trace (or --trace FILE, see traces.py)
twice: all objects, and only objects over 10 MB. Results: exp2/cost.csv,
exp2/cost.json, exp2/cost.png; replays under replays/.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pb  # noqa: E402
import cost  # noqa: E402
import replay  # noqa: E402


def extra(ap):
    ap.add_argument("--trace", help="replay this CSV trace instead of a synthetic one (format: traces.py)")
    ap.add_argument("--compress", type=float, help="time compression factor (default: the mode's)")
    ap.add_argument("--hours", type=float, help="synthetic trace length in hours")


def account(d):
    """Cost of one replay in trace time, scaled to the paper's 50 hours."""
    s = pb.read_json(os.path.join(d, "settings.json"))
    run = pb.read_json(os.path.join(d, "run.json"))
    hours = max(run["trace"]["hours"], 1e-9) if s["trace_file"] else s["hours"]
    serve, warm = cost.read_billing(os.path.join(d, "billing.jsonl"), s["idle_ms"], run["warmup_factor"])
    ec_desc, ec_hourly = cost.elasticache(run["trace"]["working_set_bytes"])
    row = {"workload": s["workload"], "trace_hours": hours, "requests": run["trace"]["requests"],
           "working_set_gb": round(run["trace"]["working_set_bytes"] / 1e9, 3),
           "serving_invocations": len(serve), "warmup_invocations": round(sum(w for _, _, w in warm)),
           "elasticache": ec_desc, "elasticache_50h_usd": round(ec_hourly * 50, 2)}
    for g in cost.GRANULARITIES:
        _, gbs_s, usd_s = cost.lambda_cost(serve, g)
        _, gbs_w, usd_w = cost.lambda_cost(warm, g)
        scale = 50.0 / hours
        row["gbs_%dms" % g] = round(gbs_s + gbs_w, 3)
        row["serving_50h_usd_%dms" % g] = round(usd_s * scale, 4)
        row["warmup_50h_usd_%dms" % g] = round(usd_w * scale, 4)
        row["fncache_50h_usd_%dms" % g] = round((usd_s + usd_w) * scale, 4)
        row["saving_x_%dms" % g] = round(ec_hourly * 50 / max((usd_s + usd_w) * scale, 1e-12), 1)
    return row


def plot(rows, path):
    plt = pb.plt()
    fig, ax = plt.subplots(figsize=(9, 4.2))
    labels, vals, colors = [], [], []
    for lab, v in (("paper: ElastiCache", pb.PAPER["elasticache_50h"]),
                   ("paper: all objects", pb.PAPER["infinicache_all"]),
                   ("paper: >10 MB", pb.PAPER["infinicache_large"]),
                   ("paper: >10 MB,\nno backup", pb.PAPER["infinicache_no_backup"])):
        labels.append(lab), vals.append(v), colors.append("#999999")
    for r in rows:
        labels.append("ours: ElastiCache\n(%s)" % r["workload"]), vals.append(r["elasticache_50h_usd"])
        colors.append("#d62728")
        for g, c in ((100, "#1f77b4"), (1, "#2ca02c")):
            labels.append("ours: %s\n%d ms billing" % (r["workload"], g))
            vals.append(r["fncache_50h_usd_%dms" % g]), colors.append(c)
    ax.bar(range(len(vals)), vals, color=colors)
    ax.set_yscale("log")
    ax.set_xticks(range(len(vals)))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("USD for 50 hours (log)")
    ax.set_title("Tenant cost: paper (grey) and fncache on the local platform")
    for i, v in enumerate(vals):
        ax.text(i, v, "%.3g" % v, ha="center", va="bottom", fontsize=6)
    pb.save_plot(fig, path)


def main():
    a = pb.args(__doc__.split("\n")[0], extra)
    pb.need(["pymemcache"] + ([] if a.no_plot else ["matplotlib"]), [pb.PROXY, pb.FAAS, pb.NODE])
    out = os.path.join(a.dir, "exp2")
    os.makedirs(out, exist_ok=True)
    rows = []
    for i, wl in enumerate(("all", "large")):
        s = replay.settings(a.mode, wl, a.seed, trace_file=a.trace and os.path.abspath(a.trace),
                            compress=a.compress, hours=a.hours)
        pb.log("exp2", "[%d/2] workload %s: %.1f trace hours at %gx" % (i + 1, wl, s["hours"], s["compress"]))
        rows.append(account(replay.replay(a.dir, s, a.redo, "exp2 " + wl)))
    pb.write_csv(os.path.join(out, "cost.csv"), rows)
    pb.write_json(os.path.join(out, "cost.json"), {"ours": rows, "paper": {
        k: v for k, v in pb.PAPER.items() if k.startswith(("elasticache", "infinicache"))}})
    if not a.no_plot:
        plot(rows, os.path.join(out, "cost.png"))
    t = [{"what": "paper: ElastiCache 50 h", "usd_50h": pb.PAPER["elasticache_50h"]},
         {"what": "paper: InfiniCache all objects", "usd_50h": pb.PAPER["infinicache_all"], "saving": "25x"},
         {"what": "paper: InfiniCache > 10 MB", "usd_50h": pb.PAPER["infinicache_large"], "saving": "31x"},
         {"what": "paper: > 10 MB, backup off", "usd_50h": pb.PAPER["infinicache_no_backup"], "saving": "96x"}]
    for r in rows:
        t.append({"what": "ours: ElastiCache %s (%s GB)" % (r["elasticache"], r["working_set_gb"]),
                  "usd_50h": r["elasticache_50h_usd"]})
        for g in cost.GRANULARITIES:
            t.append({"what": "ours: fncache %s, %d ms billing (no backup)" % (r["workload"], g),
                      "usd_50h": r["fncache_50h_usd_%dms" % g], "saving": "%sx" % r["saving_x_%dms" % g]})
    pb.table(t, ["what", "usd_50h", "saving"], "Cost for 50 trace hours")


if __name__ == "__main__":
    main()
