"""Resilience of fncache-proxy on a real fncache-faas fleet: lost instances
noticed without clients, chunks re-created in the background, corrupt
chunks caught, a SIGKILLed proxy replaced without losing objects, platform
throttling ridden out."""
import os
import re
import signal
import socket
import subprocess
import threading

import pytest

import faasutil
import nodeproto as np
from nodeproto import wait_for
from test_proxy import EVIL, NODE, ROOT, Proxy, ask, reclaim


@pytest.fixture
def fleet():
    f = faasutil.Faas([f"px-* {NODE} memory=256 timeout=300"])
    yield f
    f.close()


def stats(c):
    return {k.decode(): v for k, v in c.stats().items()}


def store(c, n, prefix, size=700000):
    """n objects over 10 x 64 KiB: full 10+2 stripes, a chunk on each node."""
    values = {f"{prefix}{i}": os.urandom(size + i) for i in range(n)}
    for k, v in values.items():
        assert c.set(k, v)
    return values


def reclaim_as(fleet, node, mode):
    status, _, body = fleet.request("POST", f"/_faas/reclaim?function=px-{node}&mode={mode}")
    assert status == 200 and b'"reclaimed":1' in body, body


@pytest.mark.parametrize("mode", ["kill", "vanish"])
def test_background_repair_restores_redundancy(fleet, mode):
    """p nodes reclaimed at once, again and again, with no client reading:
    the failed invocation, the silent connection or the next warm-up shows
    the loss, background repair re-creates the chunks, nothing is lost."""
    p = Proxy("--warmup", "1", "--idle-ms", "200", faas=fleet)
    try:
        c = p.client()
        values = store(c, 8, "bg")
        lost = 0
        for pair in ((0, 1), (5, 9), (2, 11)):
            for node in pair:
                reclaim_as(fleet, node, mode)
            lost += 2
            wait_for(lambda: stats(c)["fleet_instances_lost"] >= lost, 20, "the losses to be noticed")
            wait_for(lambda: stats(c)["missing_chunks"] == 0, 30, "background repair")
        s = stats(c)
        assert s["repairs_background"] >= 8 and s["objects_lost"] == 0 and s["get_hits"] == 0, s
        assert s["repair_bytes"] > 0
        for k, v in values.items():
            assert c.get(k) == v, k
    finally:
        assert p.stop()[0] == 0


def test_reclaiming_everything_gives_clean_misses(fleet):
    # without background repair: it would save what the first reclaims
    # left readable, one node at a time, as the control endpoint goes
    p = Proxy("--repair-rate", "0", faas=fleet)
    try:
        c = p.client()
        values = store(c, 4, "all")
        values["small"] = b"x" * 100
        assert c.set("small", values["small"])
        for node in range(12):
            reclaim(fleet, node)
        for k in values:
            assert c.get(k) is None, k
        assert stats(c)["objects_lost"] == len(values)
        again = store(c, 4, "refill")
        for k, v in again.items():
            assert c.get(k) == v
    finally:
        assert p.stop()[0] == 0


def test_instance_death_during_an_invocation_is_a_loss(fleet):
    """A node killed while serving: its invocation ends with an exit error,
    which alone tells the proxy the memory is gone (no client, no warm-up)."""
    p = Proxy("--warmup", "0", "--idle-ms", "60000", "--repair-rate", "0", faas=fleet)
    try:
        c = p.client()
        store(c, 5, "busy")
        assert stats(c)["fleet_connected"] == 12
        reclaim(fleet, 4)
        wait_for(lambda: stats(c)["fleet_instances_lost"] == 1, 15, "the exit to be noticed")
        assert stats(c)["missing_chunks"] == 5
    finally:
        assert p.stop()[0] == 0


def corrupt_one_chunk(fleet, function):
    """Invoke a sleeping node ourselves and overwrite the bytes of one data
    chunk it holds, keeping its metadata (and so the checksum the proxy
    expects). Returns the chunk's key, or None when it holds no data chunk."""
    side = np.ProxySide()
    result = {}
    t = threading.Thread(target=lambda: result.update(r=fleet.invoke(function, {
        "cmd": "serve", "proxy": side.address, "token": "t", "idle_ms": 100, "tick_ms": 1}, timeout=30)))
    t.start()
    try:
        conn = side.accept()
        conn.accept_hello("t")
        records, _ = conn.list_all()
        data = [r for r in records if r["index"] < r["d"]]
        if not data:
            conn.send(np.BYE, b"idle")
            conn.close()
            return None
        r = data[0]
        status, meta, body = conn.get(r["key"], r["version"], r["index"])
        assert status == np.OK
        bad = bytes([body[0] ^ 0xFF]) + body[1:]
        assert conn.put(r["key"], r["version"], r["index"], bad, d=r["d"], p=r["p"], size=r["size"],
                        crc=r["crc"]) == np.OK
        conn.send(np.BYE, b"idle")
        conn.close()
    finally:
        t.join(30)
        side.close()
    return r["key"].decode()


def test_corrupt_chunk_is_caught_and_repaired(fleet):
    p = Proxy("--warmup", "0", "--idle-ms", "100", faas=fleet)
    try:
        c = p.client()
        values = store(c, 3, "crc")
        wait_for(lambda: stats(c)["fleet_connected"] == 0, 15, "the nodes to return")
        node, key = next((n, k) for n in range(12) for k in [corrupt_one_chunk(fleet, f"px-{n}")] if k)
        # first d win: a read may answer before the corrupt chunk arrives and
        # never look at it, so read until one has checked it
        wait_for(lambda: c.get(key) == values[key] and stats(c)["chunks_repaired"] >= 1, 15,
                 "the corrupt chunk to be caught and rewritten")
        assert stats(c)["bad_chunks"] == 1
        # with the chunk repaired, two other nodes may go
        wait_for(lambda: stats(c)["fleet_connected"] == 0, 15, "the nodes to return")
        for other in [n for n in range(12) if n != node][:2]:
            reclaim(fleet, other)
        for k, v in values.items():
            assert c.get(k) == v, k
    finally:
        assert p.stop()[0] == 0


def kill_proxy(p, fleet):
    """SIGKILL, then wait for its nodes to notice and return from their
    invocations (a new proxy then meets the same warm instances)."""
    p.proc.send_signal(signal.SIGKILL)
    p.proc.wait(10)
    p.stop()
    wait_for(lambda: all(i["state"] != "busy" for i in fleet.instances()), 15, "the nodes to return")


def test_restart_after_sigkill_serves_everything(fleet):
    """The proxy dies under write load; a new one rebuilds its index from
    the nodes' inventories and serves every object acknowledged before."""
    a = Proxy("--warmup", "0", faas=fleet)
    acked, stop = {}, threading.Event()

    def writer():
        s = socket.create_connection(("127.0.0.1", a.port), timeout=30)
        i = 0
        try:
            while not stop.is_set():
                k = f"load{i % 40}"
                v = os.urandom(50000 + (i * 7919) % 900000)
                if ask(s, b"set %s 0 0 %d\r\n%s\r\n" % (k.encode(), len(v), v)) == b"STORED\r\n":
                    acked[k] = v
                i += 1
        except (OSError, AssertionError):
            pass   # the proxy died mid-request: that write is not acknowledged
    t = threading.Thread(target=writer)
    t.start()
    wait_for(lambda: len(acked) >= 40, 30, "the load to cover every key")
    kill_proxy(a, fleet)
    stop.set()
    t.join(30)
    b = Proxy("--warmup", "0", faas=fleet)
    try:
        c = b.client()
        for k, v in acked.items():
            got = c.get(k)
            assert got is not None, k
            # the last write to each key may have been cut off by the kill
            assert got == v or len(got) in range(50000, 950000), k
        s = stats(c)
        assert s["rebuilding"] == 0 and s["rebuild_objects"] == len(acked), s
        assert c.set("after", b"fresh") and c.get("after") == b"fresh"
    finally:
        assert b.stop()[0] == 0


def test_rebuild_keeps_the_newest_version_and_drops_the_rest(fleet):
    """Overwritten keys: the restarted proxy serves the newest value, not
    an older one that may still sit on the nodes."""
    a = Proxy("--warmup", "0", faas=fleet)
    c = a.client()
    values = store(c, 6, "v")
    newer = {k: os.urandom(len(v)) for k, v in values.items() if k in ("v0", "v1")}
    for k, v in newer.items():
        assert c.set(k, v)
    kill_proxy(a, fleet)
    b = Proxy("--warmup", "0", faas=fleet)
    try:
        c = b.client()
        for k, v in values.items():
            assert c.get(k) == newer.get(k, v), k
        assert stats(c)["rebuild_objects"] == 6
    finally:
        assert b.stop()[0] == 0


def test_throttled_invocations_are_retried():
    """The platform caps live instances at 6 and reclaims idle ones after
    half a second: invoking a seventh node meets 429 until one is gone.
    The proxy backs off and retries; every write succeeds."""
    f = faasutil.Faas([f"px-* {NODE} memory=256 timeout=300"], args=["-c", "6", "--idle", "500ms"])
    p = Proxy("--ec", "4+2", "--warmup", "0", "--idle-ms", "50", "--repair", "off", faas=f, nodes=8)
    try:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=60)
        value = b"t" * 400000
        for i in range(6):
            assert ask(s, b"set t%d 0 0 %d\r\n%s\r\n" % (i, len(value), value)) == b"STORED\r\n", i
        c = p.client()
        assert stats(c)["fleet_throttles"] > 0
    finally:
        assert p.stop()[0] == 0
        f.close()


def test_fleet_grows_with_data_and_shrinks_back(fleet):
    """3 nodes of 48 MB of chunks each, up to 6: 14 objects of 8 MB (12 MB
    of chunks each under 2+1) need more than 3; deleting most of them
    drains the added nodes again, moving their chunks."""
    p = Proxy("--ec", "2+1", "--max-nodes", "6", "--node-memory", "64", "--shrink-after", "1",
              "--warmup", "0", "-I", "16m", faas=fleet, nodes=3)
    try:
        c = p.client()
        values = {f"e{i}": os.urandom(8 << 20) for i in range(14)}
        for k, v in values.items():
            assert c.set(k, v), k
        s = stats(c)
        assert s["fleet_nodes"] >= 5 and s["fleet_grown"] >= 1 and s["evictions"] == 0, s
        for k, v in values.items():
            assert c.get(k) == v, k
        keep = {k: values[k] for k in ("e0", "e13")}
        for k in values:
            if k not in keep:
                assert c.delete(k)
        wait_for(lambda: stats(c)["fleet_nodes"] == 3, 60, "the fleet to shrink back to 3 nodes")
        s = stats(c)
        assert s["fleet_shrunk"] >= 2 and s["objects_lost"] == 0, s
        for k, v in keep.items():
            assert c.get(k) == v, k
        history = ask(socket.create_connection(("127.0.0.1", p.port), timeout=10), b"stats fleet\r\n")
        sizes = [int(n) for n in re.findall(rb"nodes=(\d+)", history)]
        assert sizes[0] == 3 and max(sizes) >= 5 and sizes[-1] == 3, history
    finally:
        assert p.stop()[0] == 0


def test_soak_smoke():
    """make soak's script, tiny: it runs, prints its table, reads no wrong byte."""
    soak = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "soak", "soak.py")
    out = subprocess.run([soak, "--hours", "2", "--scale", "1200", "--objects", "6", "--size", "200000",
                          "--read-rate", "5", "--lifetime", "60"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:] + out.stdout[-3000:]
    rows = [l.split() for l in out.stdout.splitlines() if l.split()[:1] in (["on"], ["off"])]
    assert [r[:2] for r in rows] == [["on", "1"], ["on", "2"], ["off", "1"], ["off", "2"]], out.stdout
    assert "mean availability per hour" in out.stdout


def test_asan_resilience_paths(fleet):
    """Background repair, relocation off a dead node, fleet growth and the
    index rebuild, under AddressSanitizer + UBSan."""
    binary = os.path.join(ROOT, "build", "asan", "bin", "fncache-proxy")
    if not os.path.exists(binary):
        pytest.fail(f"{binary} is not built (make test builds both variants)")
    logs = []
    a = Proxy("--ec", "2+1", "--max-nodes", "6", "--node-memory", "64", "--warmup", "1", "--idle-ms", "200",
              "-I", "16m", faas=fleet, nodes=3, binary=binary)
    try:
        c = a.client()
        values = {f"a{i}": os.urandom((8 << 20) + i) for i in range(12)}   # 144 MB of chunks: the fleet grows
        for k, v in values.items():
            assert c.set(k, v), k
        assert stats(c)["fleet_nodes"] > 3
        reclaim_as(fleet, 0, "kill")
        wait_for(lambda: stats(c)["fleet_instances_lost"] >= 1 and stats(c)["missing_chunks"] == 0, 30,
                 "background repair")
    finally:
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(10)
        logs.append(a.stop()[1])
    wait_for(lambda: all(i["state"] != "busy" for i in fleet.instances()), 15, "the nodes to return")
    b = Proxy("--ec", "2+1", "--max-nodes", "6", "--node-memory", "64", "--warmup", "0", "-I", "16m",
              faas=fleet, nodes=3, binary=binary)
    try:
        c = b.client()
        for k, v in values.items():
            assert c.get(k) == v, k
        assert stats(c)["rebuild_objects"] == len(values) and stats(c)["fleet_nodes"] > 3
    finally:
        rc, log = b.stop()
        logs.append(log)
    assert rc == 0
    for log in logs:
        assert "AddressSanitizer" not in log and "runtime error" not in log, log[-4000:]


def test_rebuild_refuses_lying_inventories():
    """At start the proxy lists every node: one claims a 1 GiB page and
    hangs up, one lists an object it cannot hold. Neither is believed;
    the rebuild ends and the proxy serves."""
    f = faasutil.Faas([f"px-* {NODE} memory=256 timeout=300",
                       f"px-3 {EVIL} memory=256 timeout=300 env:EVIL_MODE=huge-list",
                       f"px-4 {EVIL} memory=256 timeout=300 env:EVIL_MODE=bogus-list"])
    p = Proxy("--warmup", "0", faas=f)
    try:
        c = p.client()
        s = stats(c)
        assert s["rebuilding"] == 0 and s["rebuild_objects"] == 0 and s["rebuild_discarded"] == 1, s
        assert c.get("bogus") is None
        assert c.set("k", b"v" * 1000) and c.get("k") == b"v" * 1000
    finally:
        assert p.stop()[0] == 0
        f.close()
