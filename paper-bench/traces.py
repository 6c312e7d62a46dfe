#!/usr/bin/python3
"""Workload traces for experiments 2-4: a synthetic generator and a reader.

The IBM Docker-registry traces the paper replays are not shipped. The
generator draws a SYNTHETIC trace whose knobs are the properties the paper
describes: object sizes spanning KBs to hundreds of MB with large objects
(> 10 MB) holding most of the bytes, a skewed (Zipf) popularity, and a
request rate. Defaults are chosen to resemble that description, not fitted
to the real traces.

Trace CSV format (also for real traces; header required, extra columns
ignored):

    time_s,key,size_bytes[,op]

time_s: seconds from the start of the trace (non-decreasing); key: any
string without spaces or control characters, at most 200 bytes; size_bytes:
object size; op: GET (default) or SET. Replay is cache-aside: a GET that
misses is followed by a SET of the object, as a registry front-end would
after fetching from its backing store.

    paper-bench/traces.py --hours 50 --objects 400 --out trace.csv
"""
import argparse
import csv
import math
import random

MB = 1 << 20


def generate(hours=4.0, objects=150, rate_per_hour=120.0, median_mb=3.0, sigma=2.0,
             min_kb=4, max_mb=100, zipf=0.9, seed=1):
    """Returns [(time_s, key, size_bytes, op)] sorted by time."""
    rng = random.Random(seed)
    sizes = object_sizes(rng, objects, median_mb, sigma, min_kb, max_mb)
    # Popularity rank independent of size; Zipf weights 1/rank^s.
    weights = [1.0 / (r + 1) ** zipf for r in range(objects)]
    order = list(range(objects))
    rng.shuffle(order)
    cum, acc = [], 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    out, t = [], 0.0
    horizon = hours * 3600
    while True:
        t += rng.expovariate(rate_per_hour / 3600.0)   # Poisson arrivals
        if t >= horizon:
            break
        x = rng.random() * acc
        lo, hi = 0, objects - 1
        while lo < hi:
            mid = (lo + hi) // 2
            if cum[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        i = order[lo]
        out.append((round(t, 3), "obj%05d" % i, sizes[i], "GET"))
    return out


def object_sizes(rng, n, median_mb=3.0, sigma=2.0, min_kb=4, max_mb=100):
    """n log-normal object sizes in bytes, clipped to [min_kb, max_mb]."""
    return [int(min(max(math.exp(rng.gauss(math.log(median_mb * MB), sigma)), min_kb * 1024), max_mb * MB))
            for _ in range(n)]


def large_only(trace, threshold=10 * MB):
    """The paper's large-object workload: requests for objects over 10 MB."""
    return [r for r in trace if r[2] > threshold]


def read(path):
    out = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            op = (row.get("op") or "GET").strip().upper()
            if op not in ("GET", "SET"):
                raise ValueError("%s: op must be GET or SET, not %r" % (path, op))
            key = row["key"].strip()
            if not key or len(key) > 200 or any(c.isspace() or ord(c) < 32 for c in key):
                raise ValueError("%s: bad key %r" % (path, key))
            out.append((float(row["time_s"]), key, int(row["size_bytes"]), op))
    out.sort(key=lambda r: r[0])
    return out


def write(path, trace):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["time_s", "key", "size_bytes", "op"])
        w.writerows(trace)


def describe(trace):
    sizes = {}
    for _, k, s, _ in trace:
        sizes[k] = s
    ws = sum(sizes.values())
    big = sum(s for s in sizes.values() if s > 10 * MB)
    n_big = sum(1 for r in trace if r[2] > 10 * MB)
    return {"requests": len(trace), "objects": len(sizes), "working_set_bytes": ws,
            "large_bytes_share": big / ws if ws else 0, "large_request_share": n_big / len(trace) if trace else 0,
            "hours": (trace[-1][0] / 3600) if trace else 0}


def main():
    ap = argparse.ArgumentParser(description="Write a synthetic trace (see the module doc for the format).")
    ap.add_argument("--hours", type=float, default=50)
    ap.add_argument("--objects", type=int, default=400)
    ap.add_argument("--rate", type=float, default=120, help="requests per hour")
    ap.add_argument("--median-mb", type=float, default=3.0)
    ap.add_argument("--sigma", type=float, default=2.0, help="log-normal sigma of sizes")
    ap.add_argument("--max-mb", type=float, default=100)
    ap.add_argument("--zipf", type=float, default=0.9)
    ap.add_argument("--large-only", action="store_true", help="keep requests for objects over 10 MB")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    t = generate(a.hours, a.objects, a.rate, a.median_mb, a.sigma, 4, a.max_mb, a.zipf, a.seed)
    if a.large_only:
        t = large_only(t)
    write(a.out, t)
    print(describe(t))


if __name__ == "__main__":
    main()
