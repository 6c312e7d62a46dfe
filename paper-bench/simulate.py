"""A discrete-event model of fncache on a Lambda-like platform, in trace
time, for fleets one machine cannot run (experiment 4).

Modelled: rendezvous-like placement of d+p chunks on distinct nodes; the
cache-aside replay (GET, and SET after a miss); first-d reads; read repair
(lost chunks re-written to their node's new instance); random reclamation
(a Poisson process over the fleet, one uniformly chosen instance per event,
which passes if that instance is busy; fncache-faas --random-rate picks
among idle ones); warm-ups of every node that holds data each W seconds,
cold when its instance was reclaimed; one invocation per node per burst of
requests, lasting its transfers plus the node's idle tail, so requests
closer than that share an invocation; cold starts billed with their init
time.

Time compression is modelled too, so the model can be checked against a
local replay: with compress C, invocations last their real duration (ms)
while request gaps shrink by C, exactly as in the local run.

Calibration (see exp4_scale.py): per-chunk transfer ms = a + MB * ms_per_mb,
init ms of a cold start, duration of a warm-up.
"""
import hashlib
import random

MB = 1 << 20


class Node:
    __slots__ = ("epoch", "live", "act_end", "inv_start", "inv_end", "cold", "has_data")

    def __init__(self):
        self.epoch = 0
        self.live = False       # an instance exists (invoked since the last reclamation)
        self.act_end = -1.0     # real s: end of the last transfer
        self.inv_start = 0.0
        self.inv_end = -1.0     # real s: the invocation returns then unless extended
        self.cold = False
        self.has_data = False


def _place(key, nodes, k):
    """k distinct nodes for key, a pseudo-random choice fixed by the key (as
    rendezvous hashing gives)."""
    h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little")
    return random.Random(h).sample(range(nodes), k)


def simulate(trace, nodes, d, p, node_mb, cal, reclaim_per_node_h, warmup_s=60, idle_ms=50, compress=1.0,
             repair=True, seed=1, min_chunk=64 << 10):
    """trace: [(time_s, key, size, op)] -> dict of counts, hourly availability
    and the invocations [(billed_ms_before_rounding, memory_mb, weight)]."""
    rng = random.Random(seed)
    ns = [Node() for _ in range(nodes)]
    live = []                     # indices of live instances
    pos = {}                      # node -> index in live
    invocations = []
    objects = {}                  # key -> [size, d_eff, nodes, epochs]
    place_cache = {}
    hours = {}
    counters = dict(gets=0, hits=0, objects_lost=0, chunks_repaired=0, instances_lost=0, warmups=0,
                    serving_invocations=0, cold_starts=0)
    c = float(compress)
    a_ms, ms_per_mb = cal["a_ms"], cal["ms_per_mb"]
    init_ms, warm_ms = cal["init_ms"], cal["warmup_ms"]

    def set_live(i, v):
        if v and i not in pos:
            pos[i] = len(live)
            live.append(i)
        elif not v and i in pos:
            j = pos.pop(i)
            last = live.pop()
            if last != i:
                live[j] = last
                pos[last] = j
        ns[i].live = v

    def close_if_done(n, now_real):
        if n.inv_end >= 0 and now_real >= n.inv_end:
            dur = (n.inv_end - n.inv_start) * 1000 + (init_ms if n.cold else 0)
            invocations.append((dur, node_mb, 1.0))
            counters["serving_invocations"] += 1
            n.inv_end = -1.0

    def touch(i, t, chunk_bytes):
        """A chunk transfer on node i at trace time t."""
        n = ns[i]
        now = t / c
        close_if_done(n, now)
        if n.inv_end < 0:          # a new invocation
            n.inv_start = now
            n.act_end = now
            n.cold = not n.live
            if n.cold:
                counters["cold_starts"] += 1
                n.epoch += 1
                set_live(i, True)
        n.act_end = max(n.act_end, now) + (a_ms + chunk_bytes / MB * ms_per_mb) / 1000
        n.inv_end = n.act_end + idle_ms / 1000
        n.has_data = True
        return n.epoch

    def store(key, size, t):
        de = max(1, min(d, size // min_chunk))
        where = place_cache.get((key, de))
        if where is None:
            where = place_cache[(key, de)] = _place(key, nodes, de + p)
        chunk = -(-size // de)
        objects[key] = [size, de, where, [touch(i, t, chunk) for i in where]]

    # Reclamation: Poisson over the fleet (trace time), warm-ups every warmup_s.
    rate = reclaim_per_node_h * nodes / 3600.0
    next_reclaim = rng.expovariate(rate) if rate > 0 else float("inf")
    next_warm = warmup_s
    end = trace[-1][0] if trace else 0
    for t, key, size, op in trace + [(end + 1e-3, None, 0, "END")]:
        while min(next_reclaim, next_warm) <= t:
            if next_reclaim <= next_warm:
                now = next_reclaim / c
                i = rng.choice(live) if live else None
                if i is not None and ns[i].inv_end < now:   # only idle instances are reclaimed
                    close_if_done(ns[i], now)
                    set_live(i, False)
                    counters["instances_lost"] += 1
                next_reclaim += rng.expovariate(rate)
            else:
                for i, n in enumerate(ns):
                    if n.has_data and n.inv_end < next_warm / c:
                        close_if_done(n, next_warm / c)
                        counters["warmups"] += 1
                        cold = not n.live
                        if cold:
                            n.epoch += 1
                            set_live(i, True)
                        invocations.append((warm_ms + (init_ms if cold else 0), node_mb, -1.0))
                next_warm += warmup_s
        if op == "END":
            break
        h = hours.setdefault(int(t // 3600), [0, 0, 0, 0])
        if op == "GET":
            counters["gets"] += 1
            h[0] += 1
            obj = objects.get(key)
            hit = False
            if obj is not None:
                h[2] += 1
                osize, de, where, epochs = obj
                alive = [k for k, i in enumerate(where) if ns[i].live and ns[i].epoch == epochs[k]]
                if len(alive) >= de:
                    hit = True
                    chunk = -(-osize // de)
                    for k in alive[:de]:
                        touch(where[k], t, chunk)
                    if repair and len(alive) < len(where):
                        for k in range(len(where)):
                            if k not in alive:
                                epochs[k] = touch(where[k], t, chunk)
                                counters["chunks_repaired"] += 1
                else:
                    counters["objects_lost"] += 1
            if hit:
                counters["hits"] += 1
                h[1] += 1
                h[3] += 1 if obj is not None else 0
                continue
        store(key, size, t)
    for n in ns:
        close_if_done(n, float("inf") if n.inv_end >= 0 else 0)
    hourly = []
    for hr in sorted(hours):
        gets, hits, prior, prior_hits = hours[hr]
        hourly.append({"hour": hr, "gets": gets, "availability_pct": 100.0 * prior_hits / prior if prior else None,
                       "hit_ratio_pct": 100.0 * hits / gets if gets else None})
    return dict(counters, hourly=hourly, invocations=invocations)


def split_invocations(invocations, warmup_factor=1.0):
    """(serving, warm-ups) for cost.lambda_cost; warm-ups carry weight -1
    internally and get warmup_factor."""
    serve = [x for x in invocations if x[2] > 0]
    warm = [(ms, mem, warmup_factor) for ms, mem, w in invocations if w < 0]
    return serve, warm


def mean_availability(hourly):
    av = [h["availability_pct"] for h in hourly if h["availability_pct"] is not None]
    return sum(av) / len(av) if av else None
