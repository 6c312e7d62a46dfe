#!/usr/bin/python3
"""Experiment 3: hourly data availability and hit ratio under Lambda-like
reclamation, with repair on and off.

Availability of a trace hour = GETs that hit / GETs of objects stored
earlier in the run (the fleet holds the whole working set, so such a miss
is a loss, not an eviction; evictions are reported). Hit ratio = hits / all
GETs (first accesses included). fncache has no backup: compare with the
paper's 81.4% without backup (95.4% with). Results: exp3/hourly.csv,
exp3/availability.json, exp3/availability.png.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pb  # noqa: E402
import replay  # noqa: E402


def extra(ap):
    ap.add_argument("--trace", help="replay this CSV trace instead of a synthetic one (format: traces.py)")
    ap.add_argument("--reclaim", type=float, help="random reclamations per node per trace hour (default: %g)"
                    % replay.PLATFORM["reclaim_per_node_h"])
    ap.add_argument("--compress", type=float, help="time compression factor (default: the mode's)")
    ap.add_argument("--hours", type=float, help="synthetic trace length in hours")


def plot(results, path):
    plt = pb.plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for label, res in results.items():
        x = [h["hour"] for h in res["hourly"]]
        axes[0].plot(x, [float(h["availability_pct"]) if h["availability_pct"] != "-" else float("nan")
                         for h in res["hourly"]], marker="o", label="ours, repair " + label)
        axes[1].plot(x, [float(h["hit_ratio_pct"]) for h in res["hourly"]], marker="o", label="repair " + label)
    for v, lab in ((pb.PAPER["availability_backup"], "paper, with backup"),
                   (pb.PAPER["availability_no_backup"], "paper, no backup")):
        axes[0].axhline(v, ls="--", color="grey")
        axes[0].text(0, v, lab, fontsize=7, va="bottom")
    axes[0].set_title("hourly data availability")
    axes[1].set_title("hourly hit ratio")
    for ax in axes:
        ax.set_xlabel("trace hour")
        ax.set_ylabel("%")
        ax.set_ylim(0, 105)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    pb.save_plot(fig, path)


def main():
    a = pb.args(__doc__.split("\n")[0], extra)
    pb.need(["pymemcache"] + ([] if a.no_plot else ["matplotlib"]), [pb.PROXY, pb.FAAS, pb.NODE])
    out = os.path.join(a.dir, "exp3")
    os.makedirs(out, exist_ok=True)
    variants = {"on": "default", "off": "off"}
    results, hourly_rows = {}, []
    for i, (label, rep) in enumerate(variants.items()):
        s = replay.settings(a.mode, "large", a.seed, repair=rep, trace_file=a.trace and os.path.abspath(a.trace),
                            reclaim_per_node_h=a.reclaim, compress=a.compress, hours=a.hours)
        pb.log("exp3", "[%d/%d] repair %s" % (i + 1, len(variants), label))
        d = replay.replay(a.dir, s, a.redo, "exp3 repair " + label)
        run = pb.read_json(os.path.join(d, "run.json"))
        hrs = replay.hourly(d)
        fs = run["final_stats"]
        results[label] = dict(replay.overall(hrs), hourly=hrs, replay=d, reclaim_per_node_h=s["reclaim_per_node_h"],
                              instances_lost=int(fs.get("fleet_instances_lost", 0)),
                              objects_lost=int(fs.get("objects_lost", 0)),
                              chunks_repaired=int(fs.get("chunks_repaired", 0)),
                              evictions=int(fs.get("evictions", 0)))
        hourly_rows += [dict(h, repair=label) for h in hrs]
    pb.write_csv(os.path.join(a.dir, "exp3", "hourly.csv"), hourly_rows,
                 ["repair", "hour", "gets", "hits", "prior_gets", "availability_pct", "hit_ratio_pct"])
    pb.write_json(os.path.join(out, "availability.json"), {"ours": results, "paper": {
        "availability_backup_pct": pb.PAPER["availability_backup"],
        "availability_no_backup_pct": pb.PAPER["availability_no_backup"]}})
    if not a.no_plot:
        plot({k: v for k, v in results.items() if "hourly" in v}, os.path.join(out, "availability.png"))
    t = [{"what": "paper: with backup", "availability": pb.PAPER["availability_backup"]},
         {"what": "paper: without backup", "availability": pb.PAPER["availability_no_backup"]}]
    for label, r in results.items():
        t.append({"what": "ours: repair %s (no backup)" % label, "availability": r["mean_hourly_availability_pct"],
                  "min_hour": r["min_hourly_availability_pct"], "hit_ratio": r["hit_ratio_pct"],
                  "instances_lost": r["instances_lost"], "objects_lost": r["objects_lost"],
                  "repaired": r["chunks_repaired"], "evictions": r["evictions"]})
    pb.table(t, ["what", "availability", "min_hour", "hit_ratio", "instances_lost", "objects_lost", "repaired",
                 "evictions"], "Hourly availability, %% (%g reclamations per node-hour)"
             % results["on"]["reclaim_per_node_h"])


if __name__ == "__main__":
    main()
