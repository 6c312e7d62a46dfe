#!/usr/bin/python3
"""Experiment 1: GET and SET latency (p50, p99) against object size for
several Reed-Solomon codes, and memcached on the same machine.

Raw results: exp1/raw-<system>.csv (one line per request), exp1/summary.csv,
exp1/latency.png. --bw MB/S puts every node behind a relay that caps its
bandwidth (the paper's authors measured Lambda at roughly 40-70 MB/s per
function).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pb  # noqa: E402

SIZES = {"tiny": [1, 4], "quick": [1, 10, 20, 40, 60, 80, 100], "full": [1, 10, 20, 40, 60, 80, 100]}
CODES = {"tiny": ["4+2", "10+0"], "quick": ["10+1", "10+2", "10+4", "4+2", "5+1", "10+0"],
         "full": ["10+1", "10+2", "10+4", "4+2", "5+1", "10+0"]}
REPS = {"tiny": 2, "quick": 5, "full": 40}


def extra(ap):
    ap.add_argument("--bw", type=float, default=0, help="cap each node at this many MB/s (default: none)")
    ap.add_argument("--codes", help="comma-separated codes instead of the mode's list, e.g. 10+2,4+2")
    ap.add_argument("--sizes", help="comma-separated sizes in MB instead of the mode's list")
    ap.add_argument("--reps", type=int, help="requests per size and operation")


def measure(port, sizes, reps, tag, block):
    """SET then GET each size reps times; one warm-up round trip first."""
    c = pb.client(port)
    c.set("warm", block[:1 << 20])
    c.get("warm")
    rows = []
    for mb in sizes:
        value = block * mb
        for r in range(reps):
            key = "obj-%d-%d" % (mb, r % 2)
            t = time.perf_counter()
            ok = c.set(key, value)
            t_set = (time.perf_counter() - t) * 1000
            t = time.perf_counter()
            got = c.get(key)
            t_get = (time.perf_counter() - t) * 1000
            if not ok or got is None or len(got) != len(value):
                raise RuntimeError("%s: %d MB round trip failed" % (tag, mb))
            rows.append({"size_mb": mb, "rep": r, "op": "set", "ms": "%.3f" % t_set})
            rows.append({"size_mb": mb, "rep": r, "op": "get", "ms": "%.3f" % t_get})
        p50 = pb.percentile([float(x["ms"]) for x in rows if x["size_mb"] == mb and x["op"] == "get"], 50)
        pb.log("exp1", "%s %3d MB: GET p50 %.1f ms" % (tag, mb, p50))
    c.close()
    return rows


def run_system(a, system, sizes, reps, block):
    max_mb = max(sizes) + 8
    with pb.Procs("exp1") as procs:
        if system == "memcached":
            return measure(procs.memcached(max_mb, max_mb * 4 + 64), sizes, reps, system, block)
        d, p = (int(x) for x in system.split("+"))
        nodes = d + p
        # Each node holds at most two objects' chunks; leave room for the heap.
        node_mb = max(128, 2 * (2 * max_mb // d + 16) + 64)
        flags = ["--ec", system, "--nodes", nodes, "--node-memory", node_mb, "-I", "%dm" % max_mb,
                 "--warmup", 0]
        relay = None
        if a.bw:
            import relay as relay_mod
            node_port = pb.free_port()
            relay = relay_mod.Relay(node_port, a.bw)
            flags += ["--node-port", node_port, "--advertise", "127.0.0.1:%d" % relay.port]
        try:
            return measure(procs.proxy(flags), sizes, reps, "fncache %s" % system, block)
        finally:
            if relay:
                relay.close()


def summarize(raw):
    out = []
    for system, rows in raw.items():
        for mb in sorted({int(r["size_mb"]) for r in rows}):
            for op in ("get", "set"):
                ms = [float(r["ms"]) for r in rows if int(r["size_mb"]) == mb and r["op"] == op]
                out.append({"system": system, "size_mb": mb, "op": op, "n": len(ms),
                            "p50_ms": pb.fmt(pb.percentile(ms, 50)), "p99_ms": pb.fmt(pb.percentile(ms, 99)),
                            "mb_per_s": pb.fmt(mb * 1.048576 / (pb.percentile(ms, 50) / 1000), 1)})
    return out


def plot(summary, path, bw):
    plt = pb.plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
    systems = list(dict.fromkeys(r["system"] for r in summary))
    for ax, op in zip(axes, ("get", "set")):
        for s in systems:
            rs = [r for r in summary if r["system"] == s and r["op"] == op]
            x = [r["size_mb"] for r in rs]
            line, = ax.plot(x, [float(r["p50_ms"]) for r in rs], marker="o", label=s + " p50")
            ax.plot(x, [float(r["p99_ms"]) for r in rs], ls=":", color=line.get_color())
        ax.set_title("%s latency%s (dotted: p99)" % (op.upper(), ", nodes capped at %g MB/s" % bw if bw else ""))
        ax.set_xlabel("object size (MB)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("ms")
    axes[0].legend(fontsize=7)
    pb.save_plot(fig, path)


def main():
    a = pb.args(__doc__.split("\n")[0], extra)
    pb.need(["pymemcache"] + ([] if a.no_plot else ["matplotlib"]), [pb.PROXY, pb.FAAS, pb.NODE, "memcached"])
    sizes = [int(x) for x in a.sizes.split(",")] if a.sizes else SIZES[a.mode]
    codes = a.codes.split(",") if a.codes else CODES[a.mode]
    reps = a.reps or REPS[a.mode]
    out = os.path.join(a.dir, "exp1" + ("-bw%g" % a.bw if a.bw else ""))
    os.makedirs(out, exist_ok=True)
    block = os.urandom(1 << 20)
    raw = {}
    systems = codes + ["memcached"]
    for i, system in enumerate(systems):
        path = os.path.join(out, "raw-%s.csv" % system)
        conf = {"system": system, "sizes": sizes, "reps": reps, "bw": a.bw if system != "memcached" else 0}
        if pb.cached(path, conf, a.redo):
            pb.log("exp1", "[%d/%d] %s: reusing %s" % (i + 1, len(systems), system, path))
        else:
            pb.log("exp1", "[%d/%d] %s" % (i + 1, len(systems), system))
            pb.write_csv(path, run_system(a, system, sizes, reps, block))
            pb.mark_done(path, conf)
        raw[system] = pb.read_csv(path)
    summary = summarize(raw)
    pb.write_csv(os.path.join(out, "summary.csv"), summary)
    if not a.no_plot:
        plot(summary, os.path.join(out, "latency.png"), a.bw)
    big = max(sizes)
    rows = [r for r in summary if r["size_mb"] == big]
    pb.table(rows, ["system", "size_mb", "op", "p50_ms", "p99_ms", "mb_per_s"],
             "Largest object (the paper's latency figures are compared in shape only: see README)")


if __name__ == "__main__":
    main()
