"""fncache-node under fncache-faas, with this file playing the proxy side of
the node protocol (tests/integration/nodeproto.py) on loopback.

Every node test runs twice: with the release node and with the ASan+UBSan
build of it (build/asan/bin/fncache-node), whose reports fail the test."""
import hashlib
import json
import os
import socket
import struct
import subprocess
import threading
import zlib

import pytest

import faasutil
import nodeproto as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NODE_BINARIES = {
    "release": os.path.join(ROOT, "bin", "fncache-node"),
    "asan": os.path.join(ROOT, "build", "asan", "bin", "fncache-node"),
}


class Platform:
    """fncache-faas (tests/integration/faasutil.py) as the node tests use it."""

    def __init__(self, specs):
        self.faas = faasutil.Faas(specs)
        self.url = f"http://127.0.0.1:{self.faas.port}"

    def invoke(self, function, payload, timeout=20):
        """("ok" | "error", body text)."""
        status, headers, body = self.faas.invoke(function, payload, timeout=timeout)
        assert status == 200, (status, body)
        return ("error" if "x-amz-function-error" in headers else "ok"), body.decode()

    def reclaim(self, function):
        status, _, body = self.faas.request("POST", f"/_faas/reclaim?function={function}")
        assert status == 200, body

    def log(self):
        return self.faas.read_log()

    def stop(self):
        self.faas.close()


# a small quarantine: freed chunks must not count against the 128 MB function
SANITIZER_ENV = "env:ASAN_OPTIONS=exitcode=66:quarantine_size_mb=16 env:UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1"


@pytest.fixture(params=sorted(NODE_BINARIES))
def platform(request):
    binary = NODE_BINARIES[request.param]
    if not os.path.exists(binary):
        pytest.fail(f"{binary} is not built (make test builds both variants)")
    # node-*: general nodes; small-*: 128 MB; short-*: a 3 s timeout
    specs = [f"node-* {binary} memory=256 timeout=60 {SANITIZER_ENV}",
             f"small-* {binary} memory=128 timeout=60 {SANITIZER_ENV}",
             f"short-* {binary} memory=256 timeout=3 {SANITIZER_ENV}"]
    p = Platform(specs)
    try:
        yield p
    finally:
        log = p.log()
        p.stop()
    assert "AddressSanitizer" not in log and "runtime error:" not in log, log[-4000:]


class Serve:
    """An invocation of `serve` in a thread, and the node's connection."""

    def __init__(self, platform, function, token="tok-1", idle_ms=5000, tick_ms=1, proxy=None):
        self.proxy = proxy or np.ProxySide()
        payload = {"cmd": "serve", "proxy": self.proxy.address, "token": token,
                   "idle_ms": idle_ms, "tick_ms": tick_ms}
        self.result = None
        self.thread = threading.Thread(target=self._run, args=(platform, function, payload), daemon=True)
        self.thread.start()

    def _run(self, platform, function, payload):
        self.result = platform.invoke(function, payload, timeout=90)

    def connect(self, token="tok-1"):
        self.conn = self.proxy.accept()
        self.hello = self.conn.accept_hello(token)
        return self.conn

    def finish(self, timeout=30):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "invocation did not return"
        self.proxy.close()
        return self.result


def serve_and_connect(platform, function, **kw):
    s = Serve(platform, function, **kw)
    s.connect(kw.get("token", "tok-1"))
    return s


def bye(conn):
    f = conn.read_frame()
    assert f.op == np.BYE, f
    return f.meta.decode()


def test_round_trips_with_checksums(platform):
    s = serve_and_connect(platform, "node-0", idle_ms=3000)
    c = s.conn
    assert s.hello["chunks"] == 0 and s.hello["name"] == "node-0"
    assert s.hello["mem_limit"] == (256 - 16) << 20
    for size in (0, 1, 1 << 20, 64 << 20):
        data = os.urandom(size)
        crc = zlib.crc32(data)
        assert c.put(f"k{size}", 7, 3, data, size=size, crc=crc, d=10, p=2, flags=99, expiry=0) == np.OK
        status, meta, body = c.get(f"k{size}", 7, 3)
        assert status == np.OK
        assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
        assert (meta["crc"], meta["size"], meta["flags"], meta["d"], meta["p"]) == (crc, size, 99, 10, 2)
    assert c.get("k1", 8, 3)[0] == np.NOT_FOUND      # other version
    assert c.get("k1", 7, 4)[0] == np.NOT_FOUND      # other index
    assert c.delete("k1", 7, 3) == np.OK
    assert c.get("k1", 7, 3)[0] == np.NOT_FOUND
    assert c.delete("k1", 7, 3) == np.NOT_FOUND
    assert bye(c) == "idle"
    kind, out = s.finish()
    assert kind == "ok", out
    summary = json.loads(out)
    assert summary["reason"] == "idle" and summary["puts"] == 4 and summary["gets"] == 7
    assert summary["chunks"] == 3


def test_pipelined_requests(platform):
    s = serve_and_connect(platform, "node-0")
    c = s.conn
    n = 200
    seqs = []
    for i in range(n):  # every request sent before any reply is read
        seqs.append(c.send(np.PUT, np.chunk_meta(f"p{i}", 1, 0), bytes([i % 256]) * (i * 100)))
        seqs.append(c.send(np.GET, np.chunk_meta(f"p{i}", 1, 0)))
    for i in range(n):
        put, get = c.read_frame(), c.read_frame()
        assert (put.op, put.seq, put.status) == (np.PUT | np.REPLY, seqs[2 * i], np.OK)
        assert (get.op, get.seq, get.status) == (np.GET | np.REPLY, seqs[2 * i + 1], np.OK)
        assert get.body == bytes([i % 256]) * (i * 100)
    c.close()
    kind, out = s.finish()
    assert kind == "ok" and json.loads(out)["reason"] == "closed by proxy"


def test_warm_then_cold(platform):
    s = serve_and_connect(platform, "node-1", idle_ms=200)
    first = s.hello["instance"]
    assert s.conn.put("warm", 1, 0, b"still here") == np.OK
    assert bye(s.conn) == "idle"
    s.finish()
    # warm: same instance, data kept
    s = serve_and_connect(platform, "node-1", idle_ms=200)
    assert s.hello["instance"] == first and s.hello["chunks"] == 1
    assert s.conn.get("warm", 1, 0)[2] == b"still here"
    bye(s.conn)
    s.finish()
    # cold: the platform reclaims the instance; the next one is new and empty
    platform.reclaim("node-1")
    s = serve_and_connect(platform, "node-1", idle_ms=200)
    assert s.hello["instance"] != first and s.hello["chunks"] == 0
    assert s.conn.get("warm", 1, 0)[0] == np.NOT_FOUND
    bye(s.conn)
    s.finish()


def test_idle_return_aligned_to_tick(platform):
    s = serve_and_connect(platform, "node-2", idle_ms=100, tick_ms=1000)
    assert bye(s.conn) == "idle"
    summary = json.loads(s.finish()[1])
    # idle after 100 ms, but the 1 s tick is paid: it stays until just before
    # a tick ends (the next one, if a busy machine made it miss the first)
    ms = summary["duration_ms"]
    assert ms >= 900 and (ms % 1000 >= 900 or ms % 1000 <= 10), summary


def test_deadline_return(platform):
    s = serve_and_connect(platform, "short-0", idle_ms=60000)
    assert bye(s.conn) == "deadline"
    kind, out = s.finish()
    assert kind == "ok", out            # returned in time: not Sandbox.Timedout
    assert json.loads(out)["reason"] == "deadline"
    assert json.loads(out)["duration_ms"] < 3000


def test_memory_limit_refusal(platform):
    s = serve_and_connect(platform, "small-0")
    c = s.conn
    assert s.hello["mem_limit"] == (128 - 16) << 20
    big = os.urandom(64 << 20)
    assert c.put("a", 1, 0, big) == np.OK
    assert c.put("b", 1, 0, big) == np.NO_SPACE      # body read and dropped: still in step
    assert c.get("a", 1, 0)[2] == big
    assert c.delete("a") == np.OK
    assert c.put("b", 1, 0, big) == np.OK            # room again
    c.close()
    summary = json.loads(s.finish()[1])
    assert summary["refused_puts"] == 1


def test_inventory_paging(platform):
    s = serve_and_connect(platform, "node-3")
    c = s.conn
    n = 10000
    for i in range(n):
        c.send(np.PUT, np.chunk_meta(f"inv{i}", 5, i % 12, d=10, p=2, size=1234, crc=i), b"x" * 16)
    for i in range(n):
        assert c.read_frame().status == np.OK
    records, pages = c.list_all(page=999)
    assert pages >= n // 999
    keys = [r["key"].decode() for r in records]
    assert len(keys) == n and set(keys) == {f"inv{i}" for i in range(n)}   # each exactly once
    assert all(r["version"] == 5 and r["size"] == 1234 for r in records)
    c.close()
    s.finish()


def test_wrong_token_refused(platform):
    s = Serve(platform, "node-4", token="right")
    conn = s.proxy.accept()
    hello = conn.accept_hello(token="something-else")   # answers BAD_TOKEN
    assert hello["token"] == "right"
    kind, out = s.finish()
    assert kind == "error" and "Node.Refused" in out
    # the node still serves the next invocation
    s = serve_and_connect(platform, "node-4", idle_ms=100)
    assert s.hello["instance"] == hello["instance"]
    bye(s.conn)
    s.finish()


@pytest.mark.parametrize("attack", ["garbage", "truncated-header", "vanish-mid-chunk", "bad-meta", "huge-meta"])
def test_bad_peer_then_next_invocation(platform, attack):
    s = serve_and_connect(platform, "node-5")
    c = s.conn
    assert c.put("keep", 1, 0, b"precious") == np.OK
    instance = s.hello["instance"]
    if attack == "garbage":
        c.sock.sendall(b"get foo\r\nGARBAGE" * 10)
    elif attack == "truncated-header":
        c.sock.sendall(np.header(np.PUT, 1, 10, 100)[:13])
        c.sock.shutdown(socket.SHUT_WR)
    elif attack == "vanish-mid-chunk":
        meta = np.chunk_meta("half", 1, 0)
        c.sock.sendall(np.header(np.PUT, 9, len(meta), 10 << 20) + meta + b"y" * (3 << 20))
    elif attack == "bad-meta":
        c.sock.sendall(np.header(np.GET, 9, 5) + b"short")
        f = c.read_frame()
        assert f.status == np.BAD_REQUEST                 # answered, connection kept
        assert c.get("keep", 1, 0)[2] == b"precious"
    elif attack == "huge-meta":
        c.sock.sendall(struct.pack(">BBBBHHIIQ", 0xFC, 1, np.PUT, 0, 60000, 0, 1, 0, 0))
    c.close()
    kind, out = s.finish()
    assert kind == "ok", out
    # same instance, nothing lost, nothing half-stored
    s = serve_and_connect(platform, "node-5", idle_ms=100)
    assert s.hello["instance"] == instance
    assert s.conn.get("keep", 1, 0)[2] == b"precious"
    assert s.conn.get("half", 1, 0)[0] == np.NOT_FOUND
    bye(s.conn)
    s.finish()


def test_warmup_ping_and_bad_payloads(platform):
    kind, out = platform.invoke("node-6", {"cmd": "ping"})
    assert kind == "ok"
    instance = json.loads(out)["instance"]
    kind, out = platform.invoke("node-6", {"cmd": "warmup"})
    assert kind == "ok" and json.loads(out)["instance"] == instance
    for bad in ({"cmd": "explode"}, {"nocmd": 1}, {"cmd": "serve"}, {"cmd": "serve", "proxy": "nonsense", "token": "t"}):
        kind, out = platform.invoke("node-6", bad)
        assert kind == "error" and "Node.BadPayload" in out, (bad, out)
    # nothing listens on the proxy address: the node says so and lives on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    kind, out = platform.invoke("node-6", {"cmd": "serve", "proxy": f"127.0.0.1:{dead}", "token": "t"})
    assert kind == "error" and "Node.ConnectFailed" in out
    kind, out = platform.invoke("node-6", {"cmd": "ping"})
    assert kind == "ok" and json.loads(out)["instance"] == instance


def pool_driver(variant):
    return os.path.join(ROOT, "build", variant, "tools", "pool_driver")


@pytest.mark.parametrize("variant", ["release", "asan"])
def test_proxy_pool_against_real_nodes(variant):
    """proxy/pool.c end to end: invoke, hello with token, PUT/GET/LIST/DEL
    into the caller's buffers; then an instance reclaimed between phases is
    noticed as lost."""
    p = Platform([f"px-* {NODE_BINARIES['release']} memory=256 timeout=60"])
    try:
        drv = subprocess.Popen([pool_driver(variant), p.url, "px-", "6", str(3 << 20), "--pause"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        lines = []
        for line in drv.stdout:
            lines.append(line.strip())
            if line.strip() == "PAUSED":
                break
        assert "PAUSED" in lines, lines
        p.reclaim("px-2")
        drv.stdin.write("go\n")
        drv.stdin.flush()
        out, _ = drv.communicate(timeout=60)
        lines += out.splitlines()
        assert drv.returncode == 0, "\n".join(lines)
        assert "node 2: instance lost" in lines and "node 2: chunk gone" in lines, lines
        assert lines[-1] == "failures 0, instances lost 1, loop closed cleanly"
    finally:
        p.stop()
