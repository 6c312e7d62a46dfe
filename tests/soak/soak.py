#!/usr/bin/python3
"""fncache soak: Lambda-like reclamation against a proxy and its fleet, with
repair on and off, printing availability per simulated hour.

Each node's instance lives an exponentially distributed time (mean
--lifetime minutes of simulated time), then is reclaimed through
fncache-faas's control endpoint ("kill" or "vanish"), and its successor
draws a new lifetime. Time is compressed by --scale: one simulated hour
lasts 3600/scale real seconds, and the proxy's warm-up period is scaled the
same way. Objects are stored once at the start and never re-stored; at the
end of every simulated hour every object is read and checked byte for
byte: the fraction that reads back is that hour's availability. A reader
issues random GETs in between (the GET success ratio).

  tests/soak/soak.py --hours 3 --scale 60 --lifetime 30 --objects 60
"""
import argparse
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "bin")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise SystemExit(f"soak: timed out waiting for {what}")


class Mc:
    """A minimal memcached text client (one connection, one thread)."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.f = self.s.makefile("rb")

    def set(self, key, value):
        self.s.sendall(b"set %s 0 0 %d\r\n%s\r\n" % (key.encode(), len(value), value))
        return self.f.readline() == b"STORED\r\n"

    def get(self, key):
        self.s.sendall(b"get %s\r\n" % key.encode())
        line = self.f.readline()
        if line == b"END\r\n":
            return None
        if not line.startswith(b"VALUE "):
            raise IOError(f"unexpected reply {line[:80]!r}")
        n = int(line.split()[3])
        data = self.f.read(n + 2)[:-2]
        assert self.f.readline() == b"END\r\n"
        return data

    def stats(self):
        self.s.sendall(b"stats\r\n")
        out = {}
        while True:
            line = self.f.readline().decode().split()
            if line == ["END"]:
                return out
            out[line[1]] = int(line[2]) if line[2].isdigit() else line[2]


def value_of(key, size, seed):
    """Bytes derived from the key: checkable without keeping them."""
    out, block, i = bytearray(), hashlib.sha256(f"{seed}:{key}".encode()).digest(), 0
    while len(out) < size:
        out += hashlib.sha256(block + i.to_bytes(8, "little")).digest() * 64
        i += 1
    return bytes(out[:size])


def run(mode, a):
    """One soak run: mode is "on" or "off" (repair). Returns its rows."""
    tmp = tempfile.mkdtemp(prefix="fncache-soak-")
    port_file = os.path.join(tmp, "faas.port")
    faas = subprocess.Popen([os.path.join(BIN, "fncache-faas"), "-p", "0", "--port-file", port_file, "-q",
                             "-F", f"soak-* {os.path.join(BIN, 'fncache-node')} memory=256 timeout=900",
                             "--idle", "0", "--linger", "5s"],
                            stdout=open(os.path.join(tmp, "faas.log"), "w"), stderr=subprocess.STDOUT)
    procs = [faas]
    try:
        wait_for(lambda: os.path.exists(port_file) and open(port_file).read().strip(), 10, "fncache-faas")
        faas_url = f"http://127.0.0.1:{int(open(port_file).read())}"
        port = free_port()
        warmup = max(1, round(60 / a.scale))
        proxy = subprocess.Popen([os.path.join(BIN, "fncache-proxy"), "-p", str(port), "--faas-url", faas_url,
                                  "--function-prefix", "soak-", "--nodes", str(a.nodes), "--ec", a.ec,
                                  "--node-memory", "256", "--warmup", str(warmup), "--idle-ms", "200",
                                  "--repair", mode, "--repair-rate", str(a.repair_rate)] + ["-v"] * a.verbose,
                                 stdout=open(os.path.join(tmp, f"proxy-{mode}.log"), "w"), stderr=subprocess.STDOUT)
        procs.append(proxy)

        def up():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return True
            except OSError:
                return False
        wait_for(up, 30, "fncache-proxy")
        mc = Mc(port)
        keys = [f"obj{i}" for i in range(a.objects)]
        for k in keys:
            if not mc.set(k, value_of(k, a.size, a.seed)):
                raise SystemExit(f"soak: could not store {k}")

        rng = random.Random(a.seed)
        hour_s = 3600.0 / a.scale
        mean_life_s = a.lifetime * 60.0 / a.scale
        t0 = time.monotonic()
        deaths = {n: t0 + rng.expovariate(1 / mean_life_s) for n in range(a.nodes)}
        reclaimed = [0]
        stop = threading.Event()
        reads = {"ok": 0, "miss": 0, "bad": 0}

        def reclaimer():
            while not stop.is_set():
                n, when = min(deaths.items(), key=lambda kv: kv[1])
                if stop.wait(max(0.0, when - time.monotonic())):
                    return
                mode_ = a.reclaim_mode if a.reclaim_mode != "mixed" else rng.choice(["kill", "vanish"])
                req = urllib.request.Request(f"{faas_url}/_faas/reclaim?function=soak-{n}&mode={mode_}",
                                             method="POST", data=b"")
                with urllib.request.urlopen(req, timeout=10) as r:
                    reclaimed[0] += json.load(r)["reclaimed"]
                deaths[n] = time.monotonic() + rng.expovariate(1 / mean_life_s)

        def reader():
            r = Mc(port)
            rr = random.Random(a.seed + 1)
            while not stop.is_set():
                k = rr.choice(keys)
                got = r.get(k)
                reads["miss" if got is None else "ok" if got == value_of(k, a.size, a.seed) else "bad"] += 1
                stop.wait(1.0 / a.read_rate)

        threads = [threading.Thread(target=reclaimer, daemon=True), threading.Thread(target=reader, daemon=True)]
        for t in threads:
            t.start()
        rows = []
        for h in range(1, a.hours + 1):
            end = t0 + h * hour_s
            while time.monotonic() < end:
                time.sleep(min(0.2, max(0.0, end - time.monotonic())))
            ok = sum(1 for k in keys if mc.get(k) == value_of(k, a.size, a.seed))
            s = mc.stats()
            rows.append(dict(mode=mode, hour=h, objects=len(keys), available=ok, availability=ok / len(keys),
                             reclaimed=reclaimed[0], instances_lost=s["fleet_instances_lost"],
                             objects_lost=s["objects_lost"], chunks_repaired=s["chunks_repaired"],
                             repair_bytes=s["repair_bytes"], invocations=s["fleet_invocations"],
                             warmups=s["fleet_warmups"], reads_ok=reads["ok"], reads_miss=reads["miss"],
                             reads_bad=reads["bad"]))
            print(f"  repair {mode}: hour {h}/{a.hours}: {ok}/{len(keys)} available, "
                  f"{reclaimed[0]} instances reclaimed", file=sys.stderr, flush=True)
        stop.set()
        for t in threads:
            t.join(30)
        return rows
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hours", type=int, default=3, help="simulated hours per run (default 3)")
    ap.add_argument("--scale", type=float, default=60, help="simulated seconds per real second (default 60)")
    ap.add_argument("--lifetime", type=float, default=30, help="mean instance lifetime, simulated minutes (default 30)")
    ap.add_argument("--objects", type=int, default=60, help="objects stored (default 60)")
    ap.add_argument("--size", type=int, default=1 << 20, help="object size in bytes (default 1 MiB)")
    ap.add_argument("--nodes", type=int, default=12)
    ap.add_argument("--ec", default="10+2")
    ap.add_argument("--repair-rate", type=int, default=64, help="MB/s of background repair (default 64)")
    ap.add_argument("--read-rate", type=float, default=20, help="random GETs per second (default 20)")
    ap.add_argument("--reclaim-mode", choices=["kill", "vanish", "mixed"], default="mixed")
    ap.add_argument("--modes", default="on,off", help="repair modes to run (default on,off)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", help="also write every row to this file")
    ap.add_argument("-v", "--verbose", action="count", default=0, help="proxy log detail (logs stay in /tmp/fncache-soak-*)")
    a = ap.parse_args()
    for b in ("fncache-proxy", "fncache-faas", "fncache-node"):
        if not os.access(os.path.join(BIN, b), os.X_OK):
            raise SystemExit(f"soak: {BIN}/{b} is missing: run make first")
    print(f"soak: {a.nodes} nodes, {a.ec}, {a.objects} x {a.size} B objects, mean instance lifetime "
          f"{a.lifetime:g} min, {a.hours} h at {a.scale:g}x ({3600 / a.scale:g} s per hour), "
          f"reclaim mode {a.reclaim_mode}, seed {a.seed}", flush=True)
    rows = []
    for mode in a.modes.split(","):
        rows += run(mode, a)
    print(f"{'repair':>6} {'hour':>4} {'available':>10} {'avail %':>8} {'reclaimed':>9} {'lost inst':>9} "
          f"{'obj lost':>8} {'repaired':>8} {'repair MB':>9} {'invokes':>7} {'GET ok %':>8} {'bad':>3}")
    for r in rows:
        reads = r["reads_ok"] + r["reads_miss"] + r["reads_bad"]
        print(f"{r['mode']:>6} {r['hour']:>4} {r['available']:>5}/{r['objects']:<4} {100 * r['availability']:>8.2f} "
              f"{r['reclaimed']:>9} {r['instances_lost']:>9} {r['objects_lost']:>8} {r['chunks_repaired']:>8} "
              f"{r['repair_bytes'] / 1e6:>9.1f} {r['invocations']:>7} "
              f"{100 * r['reads_ok'] / reads if reads else 0:>8.2f} {r['reads_bad']:>3}")
    for mode in a.modes.split(","):
        mine = [r for r in rows if r["mode"] == mode]
        if mine:
            print(f"repair {mode}: mean availability per hour {100 * sum(r['availability'] for r in mine) / len(mine):.2f}%, "
                  f"worst {100 * min(r['availability'] for r in mine):.2f}%")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    if any(r["reads_bad"] for r in rows):
        raise SystemExit("soak: a GET returned wrong bytes")


if __name__ == "__main__":
    main()
