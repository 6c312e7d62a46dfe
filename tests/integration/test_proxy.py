"""fncache-proxy with real clients on loopback: pymemcache, libmemcached's
tools, raw sockets; real memcached as the reference for reply bytes; a real
fncache-faas fleet whose instances the tests reclaim."""
import hashlib
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading

import pytest
from pymemcache.client.base import Client

import faasutil
from nodeproto import wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROXY = os.environ.get("FNCACHE_PROXY_BIN", os.path.join(ROOT, "bin", "fncache-proxy"))  # e.g. build/asan/bin/fncache-proxy
NODE = os.path.join(ROOT, "bin", "fncache-node")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, timeout=15):
    def up():
        assert proc.poll() is None, f"exited with {proc.returncode}"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False
    wait_for(up, timeout, f"port {port} to accept")


class Proxy:
    def __init__(self, *args, faas=None, nodes=12, binary=PROXY):
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="proxy-", suffix=".log", delete=False)
        cmd = [binary, "-p", str(self.port), "--nodes", str(nodes), "--node-memory", "256", "-v"]
        if faas is not None:
            cmd += ["--faas-url", f"http://127.0.0.1:{faas.port}", "--function-prefix", "px-"]
        self.proc = subprocess.Popen(cmd + list(args), stdout=self.log, stderr=subprocess.STDOUT)
        wait_listening(self.port, self.proc)

    def client(self):
        return Client(("127.0.0.1", self.port), timeout=60, default_noreply=False)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        with open(self.log.name) as f:
            text = f.read()
        os.unlink(self.log.name)
        return self.proc.returncode, text


@pytest.fixture
def fleet():
    f = faasutil.Faas([f"px-* {NODE} memory=256 timeout=300"])
    yield f
    f.close()


@pytest.fixture
def proxy(fleet):
    p = Proxy("-I", "128m", faas=fleet)
    yield p
    rc, log = p.stop()
    assert rc == 0, log[-3000:]


@pytest.fixture
def memcached():
    port = free_port()
    proc = subprocess.Popen(["memcached", "-u", "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody"),
                             "-p", str(port), "-l", "127.0.0.1", "-U", "0", "-I", "1m", "-m", "64"])
    wait_listening(port, proc)
    yield port
    proc.terminate()
    proc.wait(10)


def test_commands(proxy):
    c = proxy.client()
    assert c.set("a", b"hello", expire=0) and c.get("a") == b"hello"
    assert c.add("a", b"x") is False and c.add("b", b"bee") is True
    assert c.replace("none", b"x") is False and c.replace("b", b"bee2") is True
    assert c.append("b", b"+t") and c.prepend("b", b"h+") and c.get("b") == b"h+bee2+t"
    assert c.append("none", b"x") is False
    assert c.set("n", b"10") and c.incr("n", 5) == 15 and c.decr("n", 100) == 0
    assert c.get("n") == b"0 "                # memcached pads a shorter number
    assert c.set("w", b"18446744073709551615") and c.incr("w", 2) == 1   # 64-bit wrap
    with pytest.raises(Exception, match="non-numeric"):
        c.incr("a", 1)
    assert c.incr("none", 1) is None
    v, cas = c.gets("a")
    assert c.cas("a", b"new", cas) is True and c.cas("a", b"newer", cas) is False
    assert c.cas("none", b"x", 1) is None
    v2, cas2 = c.gets("a")
    assert v2 == b"new" and cas2 != cas       # a new CAS unique on every change
    assert c.set("f", b"flags", flags=1234) and c.get("f") == b"flags"
    assert c.delete("a") is True and c.delete("a") is False and c.get("a") is None
    assert c.touch("b", 100) is True and c.touch("none", 1) is False
    assert c.get_many(["b", "n", "zz"]) == {"b": b"h+bee2+t", "n": b"0 "}
    assert c.set("gone", b"x", expire=-1) and c.get("gone") is None
    c.flush_all()
    assert c.get("b") is None
    stats = c.stats()
    assert stats[b"curr_items"] == 0 and stats[b"cmd_set"] > 0 and stats[b"evictions"] == 0


def ask(sock, data):
    """Send one command and read its whole reply: a trailing mn marks the end."""
    sock.sendall(data + b"mn\r\n")
    buf = b""
    while not buf.endswith(b"MN\r\n"):
        chunk = sock.recv(65536)
        assert chunk, "connection closed"
        buf += chunk
    return buf[:-4]


SCRIPT = [
    b"set k1 5 0 3\r\nabc\r\n", b"get k1\r\n", b"gets k1\r\n", b"get k1 nope k1\r\n",
    b"add k1 0 0 1\r\nx\r\n", b"add k2 7 0 2\r\nhi\r\n", b"replace k3 0 0 1\r\nx\r\n",
    b"replace k2 8 0 3\r\nbye\r\n", b"get k2\r\n", b"append k2 0 0 2\r\n!!\r\n", b"prepend k2 0 0 2\r\n<<\r\n",
    b"get k2\r\n", b"append nope 0 0 1\r\nx\r\n", b"set num 0 0 2\r\n99\r\n", b"incr num 1\r\n",
    b"get num\r\n", b"decr num 5\r\n", b"get num\r\n", b"decr num 1000\r\n", b"incr k1 1\r\n",
    b"incr nope 1\r\n", b"incr num abc\r\n", b"delete k1\r\n", b"delete k1\r\n", b"get k1\r\n",
    b"touch k2 100\r\n", b"touch nope 100\r\n", b"set q 0 0 1 noreply\r\nq\r\n", b"get q\r\n",
    b"delete q noreply\r\n", b"get q\r\n", b"set e 0 -1 1\r\ne\r\n", b"get e\r\n",
    b"cas k2 0 0 1 999999\r\nz\r\n", b"cas nope 0 0 1 1\r\nz\r\n", b"set big 0 0 1048577\r\n" + b"x" * 1048577 + b"\r\n",
    b"get big\r\n", b"set bad 0 0 3\r\nabcde\r\n", b"get bad\r\n", b"bogus command\r\n",
    b"get " + b"k" * 251 + b"\r\n", b"set k 0 0 notanumber\r\n", b"set empty 0 0 0\r\n\r\n", b"get empty\r\n",
    b"gat 100 k2\r\n", b"flush_all\r\n", b"get k2 num\r\n", b"verbosity 1\r\n",
]


def test_reply_bytes_match_memcached(fleet, memcached):
    p = Proxy("-I", "1m", faas=fleet)
    try:
        ref = socket.create_connection(("127.0.0.1", memcached), timeout=30)
        ours = socket.create_connection(("127.0.0.1", p.port), timeout=30)
        for cmd in SCRIPT:
            want, got = ask(ref, cmd), ask(ours, cmd)
            # CAS uniques differ between servers: mask the 5th field of VALUE lines
            mask = lambda b: re.sub(rb"^(VALUE \S+ \d+ \d+) \d+", rb"\1 CAS", b, flags=re.M)
            assert mask(got) == mask(want), cmd[:60]
    finally:
        assert p.stop()[0] == 0


@pytest.mark.parametrize("size", [1, 1 << 20, 100 << 20])
def test_values_round_trip(proxy, size):
    c = proxy.client()
    data = os.urandom(size)
    assert c.set(f"v{size}", data)
    assert hashlib.sha256(c.get(f"v{size}")).digest() == hashlib.sha256(data).digest()


def test_libmemcached_tools(proxy, tmp_path):
    src = tmp_path / "blob"
    src.write_bytes(os.urandom(3 << 20))
    server = f"--servers=127.0.0.1:{proxy.port}"
    subprocess.run(["memccp", server, str(src)], check=True, timeout=60)
    out = subprocess.run(["memccat", server, "blob"], check=True, timeout=60, capture_output=True).stdout
    assert out == src.read_bytes() + b"\n"   # memccat ends what it prints with a newline, for memcached too
    subprocess.run(["memcrm", server, "blob"], check=True, timeout=60)
    assert proxy.client().get("blob") is None


def reclaim(fleet, node):
    status, _, body = fleet.request("POST", f"/_faas/reclaim?function=px-{node}")
    assert status == 200, body


def test_survives_p_lost_nodes(proxy, fleet):
    c = proxy.client()
    # over 10 x 64 KiB: full 10+2 stripes, a chunk on every one of the 12 nodes
    values = {f"obj{i}": os.urandom(700000 + i * 1000) for i in range(20)}
    for k, v in values.items():
        assert c.set(k, v)
    reclaim(fleet, 3)
    reclaim(fleet, 7)
    for k, v in values.items():          # 10+2: any two nodes may go
        assert c.get(k) == v, k
    # a lost instance is noticed when its node dials back, maybe after the reads were answered
    wait_for(lambda: c.stats()[b"fleet_instances_lost"] == 2, 15, "both lost instances to be noticed")
    assert c.stats()[b"decodes"] > 0
    # p + 1 nodes lost at once, before any read could repair: a clean miss
    more = {f"late{i}": os.urandom(700000 + i) for i in range(5)}
    for k, v in more.items():
        assert c.set(k, v)
    for node in (4, 5, 6):
        reclaim(fleet, node)
    for k in more:
        assert c.get(k) is None
    assert c.set("after", b"still serving") and c.get("after") == b"still serving"


def test_bad_input_keeps_serving(fleet):
    p = Proxy("-I", "1m", faas=fleet)
    try:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=30)
        assert ask(s, b"\x01\x02garbage\r\n") == b"ERROR\r\n"
        assert ask(s, b"set " + b"k" * 300 + b" 0 0 1\r\nx\r\n").startswith(b"CLIENT_ERROR")
        assert ask(s, b"set big 0 0 2000000\r\n" + b"x" * 2000000 + b"\r\n") == \
            b"SERVER_ERROR object too large for cache\r\n"
        assert ask(s, b"set ok 0 0 2\r\nok\r\n") == b"STORED\r\n"
        # a client that leaves mid-value stores nothing
        t = socket.create_connection(("127.0.0.1", p.port), timeout=30)
        t.sendall(b"set half 0 0 100000\r\n" + b"h" * 50000)
        t.close()
        assert ask(s, b"get half ok\r\n") == b"VALUE ok 0 2\r\nok\r\nEND\r\n"
    finally:
        assert p.stop()[0] == 0


def descendants(pid):
    out = subprocess.run(["ps", "-eo", "pid=,ppid="], capture_output=True, text=True).stdout
    kids = {}
    for line in out.split("\n"):
        if line.strip():
            a, b = map(int, line.split())
            kids.setdefault(b, []).append(a)
    found, todo = [], [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            found.append(k)
            todo.append(k)
    return found


def test_embedded_fleet_and_clean_stop():
    p = Proxy()
    c = p.client()
    assert c.set("x", b"y" * 100000) and c.get("x") == b"y" * 100000
    children = descendants(p.proc.pid)
    assert len(children) >= 2                 # fncache-faas and node instances
    rc, log = p.stop()
    assert rc == 0, log[-2000:]
    wait_for(lambda: all(faasutil.pid_gone(pid) for pid in children), 10, "the fleet to stop")


# ---- the codec's reference scenarios, against the whole proxy ----------

import struct  # noqa: E402

import test_proto_reference as ref  # noqa: E402


def mask_text(data):
    """CAS uniques and the version string differ between servers by design."""
    data = re.sub(rb"^(VALUE \S+ \d+ \d+) \d+", rb"\1 CAS", data, flags=re.M)
    data = re.sub(rb"(?<= )c\d+(?=[ \r])", b"cCAS", data)
    return re.sub(rb"^VERSION \S+", b"VERSION x", data, flags=re.M)


def mask_binary(data):
    out, at = b"", 0
    while at + 24 <= len(data) and data[at] == 0x81:
        body = struct.unpack_from(">I", data, at + 8)[0]
        head, rest = bytearray(data[at:at + 24]), data[at + 24:at + 24 + body]
        head[16:24] = b"\0" * 8                                # CAS
        if head[1] == 0x0b:                                     # VERSION: its text differs
            head[8:12], rest = b"\0\0\0\0", b""
        out += bytes(head) + rest
        at += 24 + body
    return out + data[at:]


@pytest.mark.parametrize("name", sorted(ref.TEXT) + sorted(ref.BINARY))
def test_scenarios_as_memcached(fleet, name):
    data = ref.TEXT.get(name) or ref.BINARY[name]
    mport = free_port()
    argv = [ref.MEMCACHED, "-p", str(mport), "-l", "127.0.0.1", "-U", "0", "-t", "1"]
    if os.geteuid() == 0:
        argv += ["-u", "root"]
    mc = ref.start(argv, mport)
    p = Proxy("-I", "1m", faas=fleet)
    try:
        want, got = ref.exchange(mport, data), ref.exchange(p.port, data)
    finally:
        mc.kill()
        mc.wait()
        assert p.stop()[0] == 0
    mask = mask_binary if name in ref.BINARY else mask_text
    want, got = mask(want), mask(got)
    if want != got:
        i = next((k for k in range(min(len(want), len(got))) if want[k] != got[k]), min(len(want), len(got)))
        pytest.fail(f"{name} differs at byte {i}:\n memcached: {want[max(0, i - 100):i + 100]!r}\n"
                    f" fncache:   {got[max(0, i - 100):i + 100]!r}")


# ---- nodes that lie or vanish --------------------------------------------

EVIL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "evil_node.py")


def evil_fleet(mode, names):
    return faasutil.Faas([f"px-* {NODE} memory=256 timeout=300"] +
                         [f"px-{n} {EVIL} memory=256 timeout=300 env:EVIL_MODE={mode}" for n in names])


@pytest.mark.parametrize("mode", ["corrupt", "cut"])
def test_lying_nodes_are_decoded_around(mode):
    f = evil_fleet(mode, [3, 4])                  # p = 2 bad nodes: every read still correct
    p = Proxy(faas=f)
    try:
        c = p.client()
        values = {f"o{i}": os.urandom(700000 + i) for i in range(10)}
        for k, v in values.items():
            assert c.set(k, v)
        for _ in range(2):
            for k, v in values.items():
                assert c.get(k) == v, k
        # still serving; a write whose chunk lands on a node that keeps
        # cutting its connection may fail, cleanly
        assert c.version()
        s = socket.create_connection(("127.0.0.1", p.port), timeout=60)
        assert ask(s, b"set small 0 0 4\r\ntiny\r\n") in (
            b"STORED\r\n", b"SERVER_ERROR failed to store the object on the fleet\r\n")
    finally:
        assert p.stop()[0] == 0
        f.close()


def test_too_many_lying_nodes_is_a_miss_never_garbage():
    f = evil_fleet("corrupt", [3, 4, 5])          # p + 1 bad nodes
    p = Proxy(faas=f)
    try:
        c = p.client()
        v = os.urandom(900000)
        assert c.set("k", v)
        assert c.get("k") is None                 # fewer than d good chunks: a miss
        assert c.stats()[b"objects_lost"] == 1
        assert c.set("k", v) and c.get("k") in (None, v)
    finally:
        assert p.stop()[0] == 0
        f.close()


def test_asan_proxy_workload(fleet):
    """The same paths under AddressSanitizer + UBSan: commands, protocols,
    large values, lost nodes, bad input."""
    binary = os.path.join(ROOT, "build", "asan", "bin", "fncache-proxy")
    if not os.path.exists(binary):
        pytest.fail(f"{binary} is not built (make test builds both variants)")
    p = Proxy("-I", "64m", faas=fleet, binary=binary)
    try:
        c = p.client()
        for size in (0, 1, 5000, 3 << 20, 40 << 20):
            v = os.urandom(size)
            assert c.set(f"s{size}", v) and c.get(f"s{size}") == v
        assert c.append("s1", b"+") and c.set("n", b"41") and c.incr("n", 1) == 42
        for i in range(10):                       # clients that leave mid-request, mid-reply
            t = socket.create_connection(("127.0.0.1", p.port), timeout=30)
            t.sendall(b"get s41943040 s41943040\r\n" if i % 2 else b"set half 0 0 9000000\r\n" + b"x" * 100000)
            t.close()
        reclaim(fleet, 1)
        reclaim(fleet, 2)
        for size in (3 << 20, 40 << 20):          # decoded around two lost nodes
            assert len(c.get(f"s{size}")) == size
        assert c.get("half") is None
        for name in sorted(ref.TEXT) + sorted(ref.BINARY):   # every protocol path, malformed ones too (flushes)
            assert ref.exchange(p.port, ref.TEXT.get(name) or ref.BINARY[name]), name
        s = socket.create_connection(("127.0.0.1", p.port), timeout=30)
        assert ask(s, b"\x01garbage\r\n") == b"ERROR\r\n"
    finally:
        rc, log = p.stop()
    assert rc == 0 and "AddressSanitizer" not in log and "runtime error" not in log, log[-4000:]


def test_asan_stop_while_a_write_is_coded():
    """SIGTERM lands while a large SET is being coded: the coding jobs end
    after the pool has closed, and every PUT they send is answered at once
    (cancelled) — the write must outlive those answers."""
    binary = os.path.join(ROOT, "build", "asan", "bin", "fncache-proxy")
    value = os.urandom(60 << 20)
    for _ in range(5):
        f = faasutil.Faas([f"px-* {NODE} memory=256 timeout=300"])
        p = Proxy("-I", "64m", faas=f, binary=binary)
        try:
            c = p.client()
            assert c.set("warm", b"x" * 3000000)                # nodes connected
            s = socket.create_connection(("127.0.0.1", p.port), timeout=30)
            s.sendall(b"set k 0 0 %d\r\n" % len(value) + value + b"\r\n")
            # the value is in and its write has begun: its coding takes a while
            wait_for(lambda: c.stats()[b"cmd_set"] == 2, 30, "the write to begin", interval=0)
            p.proc.send_signal(signal.SIGTERM)
        finally:
            rc, log = p.stop()
            f.close()
        assert rc == 0 and "AddressSanitizer" not in log and "runtime error" not in log, log[-4000:]


def test_eviction_keeps_recent_objects(fleet):
    p = Proxy("-m", "24", faas=fleet)                # room for about 20 objects of 1 MB (+ parity)
    try:
        c = p.client()
        for i in range(60):
            assert c.set(f"e{i}", bytes([i]) * 1000000)
        stats = c.stats()
        assert stats[b"evictions"] > 0 and stats[b"chunk_bytes"] <= 24 << 20
        assert c.get("e59") == bytes([59]) * 1000000    # the newest stay ...
        assert c.get("e0") is None                      # ... the oldest went first
    finally:
        assert p.stop()[0] == 0


def test_pipelined_requests(proxy):
    s = socket.create_connection(("127.0.0.1", proxy.port), timeout=60)
    batch = b"".join(b"set p%d 0 0 %d\r\n%s\r\nget p%d\r\n" % (i, i, b"x" * i, i) for i in range(300))
    s.sendall(batch + b"mn\r\n")
    want = b"".join(b"STORED\r\nVALUE p%d 0 %d\r\n%s\r\nEND\r\n" % (i, i, b"x" * i) for i in range(300))
    got = b""
    while not got.endswith(b"MN\r\n"):
        chunk = s.recv(1 << 16)
        assert chunk
        got += chunk
    assert got == want + b"MN\r\n"


@pytest.mark.parametrize("clients,ops", [(32, 20), (200, 5)])
def test_concurrent_clients_mixing_sizes(proxy, clients, ops):
    errors = []

    def worker(n):
        try:
            c = proxy.client()
            for i in range(ops):
                size = [10, 1000, 100000, 300000, 2000000][(n + i) % 5]
                v = bytes([(n * 7 + i) % 256]) * size
                assert c.set(f"m{n}-{i}", v) and c.get(f"m{n}-{i}") == v
        except Exception as e:  # reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors[:3]


def test_500mb_value(fleet):
    p = Proxy("-I", "600m", faas=fleet, nodes=12)
    try:
        c = p.client()
        data = os.urandom(500 << 20)
        assert c.set("huge", data)
        assert hashlib.sha256(c.get("huge")).digest() == hashlib.sha256(data).digest()
    finally:
        assert p.stop()[0] == 0


@pytest.mark.parametrize("protocol", ["text", "binary"])
def test_libmemcached_c_api(proxy, protocol):
    tool = os.path.join(ROOT, "build", "release", "tools", "libmc_check")
    out = subprocess.run([tool, str(proxy.port)] + (["binary"] if protocol == "binary" else []),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.endswith("libmc_check: 0 failed\n"), out.stdout


def test_dead_node_is_avoided():
    # px-5 cannot even start: its invocations fail, and after a few the
    # proxy places chunks on the other twelve
    f = faasutil.Faas([f"px-* {NODE} memory=256 timeout=300", "px-5 /bin/false memory=128 timeout=10"])
    p = Proxy(faas=f, nodes=13)
    try:
        s = socket.create_connection(("127.0.0.1", p.port), timeout=60)
        value = b"v" * 800000
        first = [ask(s, b"set k%d 0 0 %d\r\n%s\r\n" % (i, len(value), value)) for i in range(10)]
        assert set(first) == {b"STORED\r\n"}          # one chunk short is still d+p-1 >= d stored ...
        assert b"STAT stores_degraded 0\r\n" not in ask(s, b"stats\r\n")   # ... its chunk could not land on px-5
        # every write and repair that reaches px-5 invokes it and fails; three in a row mark it dead
        wait_for(lambda: b"px-5 state=sleeping,dead" in ask(s, b"stats nodes\r\n"), 15, "px-5 to be marked dead")
        for i in range(10):                              # ... and now every write avoids it
            assert ask(s, b"set k%d 0 0 %d\r\n%s\r\n" % (i, len(value), value)) == b"STORED\r\n"
            assert ask(s, b"get k%d\r\n" % i) == b"VALUE k%d 0 %d\r\n%s\r\nEND\r\n" % (i, len(value), value)
    finally:
        assert p.stop()[0] == 0
        f.close()


def test_reads_repair_lost_chunks(proxy, fleet):
    """A read that decodes around lost chunks writes them back: two more
    nodes can then go, which p = 2 alone would not survive."""
    c = proxy.client()
    values = {f"r{i}": os.urandom(700000 + i) for i in range(12)}
    for k, v in values.items():
        assert c.set(k, v)
    reclaim(fleet, 0)
    reclaim(fleet, 1)
    for k, v in values.items():
        assert c.get(k) == v

    def repaired():
        s = c.stats()
        if s[b"missing_chunks"] == 0 and s[b"chunks_repaired"] >= 2 * len(values) and s[b"fleet_instances_lost"] == 2:
            return True
        for k in values:   # reads repair whatever is still missing
            c.get(k)
        return False
    wait_for(repaired, 30, "the lost chunks to be written back")
    reclaim(fleet, 2)
    reclaim(fleet, 3)
    for k, v in values.items():
        assert c.get(k) == v, k


def test_warmup_notices_a_lost_instance(fleet):
    """Sleeping nodes that hold data are invoked every --warmup seconds; the
    answer names the instance, so a reclaimed one is noticed with no client
    touching it, and the next reads repair what it held."""
    p = Proxy("--warmup", "1", "--idle-ms", "200", faas=fleet)
    try:
        c = p.client()
        values = {f"w{i}": os.urandom(700000 + i) for i in range(6)}
        for k, v in values.items():
            assert c.set(k, v)
        wait_for(lambda: c.stats()[b"fleet_warmups"] >= 12, 20, "warm-ups of the sleeping nodes")
        assert c.stats()[b"fleet_instances_lost"] == 0      # the same instances answered
        reclaim(fleet, 5)
        wait_for(lambda: c.stats()[b"fleet_instances_lost"] == 1, 20, "the lost instance to be noticed")
        assert c.stats()[b"missing_chunks"] == len(values)  # one chunk of each object, before any read
        for k, v in values.items():
            assert c.get(k) == v
        wait_for(lambda: c.stats()[b"missing_chunks"] == 0, 20, "the reads to repair")
    finally:
        assert p.stop()[0] == 0
