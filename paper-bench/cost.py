"""The tenant's bill: AWS Lambda from fncache-faas billing records (or from
the simulator's invocations), and an ElastiCache cluster sized to hold the
same working set (paper-bench/elasticache-prices.csv).

Lambda: $0.20 per million requests + $0.0000166667 per GB-second, each
invocation billed ceil(duration / G) * G for a granularity G of 1 ms (AWS
today) or 100 ms (AWS in 2020, the paper's bill).
"""
import csv
import json
import math
import os

PRICE_REQUEST = 0.20 / 1e6
PRICE_GBS = 0.0000166667
GRANULARITIES = (1, 100)
PRICES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "elasticache-prices.csv")


def billed_ms(ms, g):
    return max(1, math.ceil(ms / g - 1e-9)) * g


def lambda_cost(invocations, g):
    """invocations: [(duration_ms incl. billed init, memory_mb, weight)] ->
    (requests, gb_seconds, usd), weight counting an invocation that many times."""
    n = gbs = 0.0
    for ms, mem, w in invocations:
        n += w
        gbs += w * billed_ms(ms, g) * mem / 1024 / 1000
    return n, gbs, n * PRICE_REQUEST + gbs * PRICE_GBS


def read_billing(path, idle_ms, warmup_factor):
    """fncache-faas records -> invocations for lambda_cost, split into
    serving (includes read repair) and warm-up. A serving invocation lasts at
    least the node's idle tail (--idle-ms); a warm-up answers at once, so
    anything shorter than half the tail is a warm-up. Warm-ups are weighted
    by warmup_factor (see replay.py)."""
    serve, warm = [], []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            ms = r["duration_ms"] + ((r.get("init_ms") or 0) if r.get("cold") else 0)
            if r["duration_ms"] < idle_ms / 2:
                warm.append((ms, r["memory_mb"], warmup_factor))
            else:
                serve.append((ms, r["memory_mb"], 1.0))
    return serve, warm


def elasticache_nodes():
    with open(PRICES) as f:
        rows = [r for r in csv.DictReader(line for line in f if not line.startswith("#"))]
    return [(r["node"], float(r["memory_gib"]), float(r["usd_per_hour"])) for r in rows]


def elasticache(working_set_bytes):
    """Cheapest cluster of identical nodes holding the working set:
    (description, usd_per_hour)."""
    best = None
    gib = working_set_bytes / (1 << 30)
    for name, mem, price in elasticache_nodes():
        n = max(1, math.ceil(gib / mem))
        if best is None or n * price < best[1]:
            best = ("%d x %s" % (n, name), n * price)
    return best
