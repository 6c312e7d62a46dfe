"""bin/fncache, the command-line tool, against a real fncache-proxy (with its
own local fleet) and a real memcached 1.6: files in and out byte for byte,
errors and exit codes, stats as a table and JSON, client-side consistent
hashing over several servers, and the load generator's results, trace replay
and corruption check."""
import csv
import hashlib
import io
import json
import os
import pty
import select
import socket
import subprocess
import threading
import time

import pytest
from pymemcache.client.base import Client

from test_proxy import Proxy, free_port, wait_listening

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FNCACHE = os.path.join(ROOT, "bin", "fncache")


def fncache(*args, stdin=None, timeout=120):
    return subprocess.run([FNCACHE, *map(str, args)], input=stdin, capture_output=True, timeout=timeout)


def start_memcached(*extra):
    port = free_port()
    user = ["-u", "root"] if os.geteuid() == 0 else []
    proc = subprocess.Popen(["memcached", *user, "-l", "127.0.0.1", "-p", str(port), "-U", "0", *extra])
    wait_listening(port, proc)
    return port, proc


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


@pytest.fixture(scope="module")
def proxy():
    p = Proxy("-I", "256m")          # no --faas-url: it starts its own fleet of 12
    yield f"127.0.0.1:{p.port}"
    rc, log = p.stop()
    assert rc == 0, log[-3000:]


@pytest.fixture(scope="module")
def memcached():
    port, proc = start_memcached("-I", "256m", "-m", "1024")
    yield f"127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=["proxy", "memcached"])
def server(request):
    return request.getfixturevalue(request.param)


# ---- files ---------------------------------------------------------------

def test_put_get_files(server, tmp_path):
    blob = tmp_path / "blob"
    blob.write_bytes(os.urandom(3 << 20) + bytes(range(256)) * 100)   # every byte value
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    for key, path in (("blob", blob), ("empty", empty)):
        assert fncache("-s", server, "put", key, path).returncode == 0
        out = tmp_path / f"{key}.out"
        out.write_bytes(b"stale contents, longer than an empty value")
        r = fncache("-s", server, "get", key, out)
        assert r.returncode == 0, r.stderr
        assert sha256_file(out) == sha256_file(path)
    # standard input and output; flags after the arguments
    data = os.urandom(100000)
    assert fncache("put", "piped", "-", "--server", server, stdin=data).returncode == 0
    r = fncache("get", "piped", "--server", server)
    assert r.returncode == 0 and r.stdout == data
    # what memcached clients see is the file itself
    host, port = server.split(":")
    assert Client((host, int(port)), timeout=30).get("piped") == data
    assert fncache("-s", server, "rm", "piped").returncode == 0
    assert fncache("-s", server, "get", "piped").returncode == 1


@pytest.fixture(scope="module")
def file_200mb(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "200mb"
    with open(path, "wb") as f:
        for _ in range(25):
            f.write(os.urandom(8 << 20))
    return path, sha256_file(path)


def test_200mb_file(server, file_200mb, tmp_path):
    path, digest = file_200mb
    r = fncache("-s", server, "put", "big200", path)
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    r = fncache("-s", server, "get", "big200", out)
    assert r.returncode == 0, r.stderr
    assert os.path.getsize(out) == 200 << 20 and sha256_file(out) == digest
    assert fncache("-s", server, "rm", "big200").returncode == 0


def test_errors_and_exit_codes(memcached, tmp_path):
    closed = free_port()
    out = tmp_path / "never"
    cases = [
        (["-s", "nosuch.invalid:11211", "get", "k"], 3, b"nosuch.invalid:11211"),
        (["-s", f"127.0.0.1:{closed}", "get", "k", out], 3, f"127.0.0.1:{closed}".encode()),
        (["-s", f"127.0.0.1:{closed}", "stats"], 3, b"CONNECTION FAILURE"),
        (["-s", "host:notaport", "get", "k"], 2, b"bad server"),
        (["-s", memcached, "get", "missing", out], 1, b"get missing: not found"),
        (["-s", memcached, "rm", "missing"], 1, b"rm missing: not found"),
        (["-s", memcached, "put", "k", tmp_path / "no-such-file"], 4, b"No such file"),
        (["-s", memcached, "put", "two words", "-"], 2, b"bad key"),
        (["-s", memcached, "put", "k"], 2, b"wrong number of arguments"),
        (["frobnicate"], 2, b"unknown command"),
        (["get", "k", "--bogus"], 2, b"unknown flag"),
        (["-s", memcached, "bench", "--keys", "lots"], 2, b"keys wants a whole number"),
        (["-s", memcached, "bench", "--nosuch", "1"], 2, b"unknown workload parameter"),
        (["-s", memcached, "bench", "--trace", tmp_path / "no.csv"], 4, b"no.csv: No such file"),
    ]
    for args, code, message in cases:
        r = fncache(*args)
        assert r.returncode == code, (args, r.returncode, r.stderr)
        assert message in r.stderr, (args, r.stderr)
    assert not out.exists()            # a failed get leaves the file alone
    # a value the server refuses: memcached -I 256m and a 300 MB value
    r = fncache("-s", memcached, "put", "huge", "-", stdin=b"\0" * (300 << 20))
    assert r.returncode == 3 and b"ITEM TOO BIG" in r.stderr, r.stderr


def test_help():
    r = fncache("--help")
    assert r.returncode == 0 and b"usage: fncache" in r.stdout and b"Exit status" in r.stdout
    for cmd in ("put", "get", "rm", "stats", "bench"):
        for args in ((cmd, "--help"), ("help", cmd)):
            r = fncache(*args)
            assert r.returncode == 0 and f"usage: fncache {cmd}".encode() in r.stdout, args
    bench = fncache("bench", "--help").stdout
    for param in (b"--size=SPEC", b"--zipf=X", b"--ratio=G:S", b"--connections=N", b"--trace=TEXT", b"--csv"):
        assert param in bench, param
    assert fncache().returncode == 2


def test_progress_bar_on_a_terminal(tmp_path):
    """A server that takes its time reading a 16 MB SET: on a terminal the
    put draws a bar that moves; without one, nothing."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)   # inherited by the connection
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def slow_server():
        conn, _ = srv.accept()
        with conn:
            got = b""
            while b"\r\n" not in got:
                got += conn.recv(4096)
            want = int(got.split(b"\r\n")[0].split()[4]) + 2 - len(got.split(b"\r\n", 1)[1])
            while want > 0:
                chunk = conn.recv(min(want, 1 << 18))
                assert chunk
                want -= len(chunk)
                select.select([], [], [], 0.02)     # the slow peer the bar is for
            conn.sendall(b"STORED\r\n")

    t = threading.Thread(target=slow_server, daemon=True)
    t.start()
    src = tmp_path / "v"
    src.write_bytes(os.urandom(16 << 20))
    pid, fd = pty.fork()
    if pid == 0:                                     # the child: stderr is the terminal
        os.execv(FNCACHE, [FNCACHE, "-s", f"127.0.0.1:{port}", "put", "slow", str(src)])
    seen = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    t.join(30)
    srv.close()
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert b"put slow [#" in seen and b"%" in seen and b"MB / 16.0 MB" in seen, seen[-500:]
    assert seen.count(b"\r") >= 3                    # redrawn as it went


# ---- stats ---------------------------------------------------------------

def test_stats_of_the_proxy(proxy):
    r = fncache("-s", proxy, "stats", "--json")
    assert r.returncode == 0, r.stderr
    [s] = json.loads(r.stdout)["servers"]
    assert s["server"] == proxy and s["stats"]["fleet_nodes"] == 12 and s["stats"]["ec"] == "10+2"
    assert len(s["nodes"]) == 12
    assert [n["id"] for n in s["nodes"]] == list(range(12))
    assert all(n["function"] == f"fncache-node-{n['id']}" and "state" in n and "invocations" in n for n in s["nodes"])
    table = fncache("-s", proxy, "stats").stdout.decode()
    assert table.startswith(f"== {proxy}  version ") and "\nfleet " in table and "nodes     12: " in table
    assert "code" in table and "10+2" in table and "missing chunks" in table


def test_stats_of_memcached_and_several_servers(memcached, proxy):
    r = fncache("-s", f"{memcached},{proxy}", "stats", "--json")
    assert r.returncode == 0, r.stderr
    mc, px = json.loads(r.stdout)["servers"]
    assert mc["server"] == memcached and "version" in mc["stats"] and "nodes" not in mc
    assert px["server"] == proxy and len(px["nodes"]) == 12
    table = fncache("-s", memcached, "stats").stdout.decode()
    assert "not an fncache proxy" in table and "hit ratio" in table
    # one server down: the other still shows, the exit status says so
    dead = f"127.0.0.1:{free_port()}"
    r = fncache("-s", memcached, "-s", dead, "stats", "-j")
    assert r.returncode == 3
    ok, down = json.loads(r.stdout)["servers"]
    assert "error" not in ok and "CONNECTION FAILURE" in down["error"]


def test_stats_watch(memcached):
    r = fncache("-s", memcached, "stats", "--watch=0.2", "--count", "3", "--json", timeout=30)
    assert r.returncode == 0
    docs = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert len(docs) == 3
    uptimes = [d["servers"][0]["stats"]["uptime"] for d in docs]
    assert uptimes == sorted(uptimes)
    r = fncache("-s", memcached, "stats", "-w", "0.1", "-n", "2")
    assert r.stdout.decode().count(f"== {memcached}") == 2


# ---- several servers: ketama ---------------------------------------------

def test_consistent_hashing_over_servers(tmp_path):
    started = [start_memcached("-m", "64") for _ in range(3)]
    a, b, c = (f"127.0.0.1:{port}" for port, _ in started)
    try:
        src = tmp_path / "v"
        keys = [f"ring{i}" for i in range(60)]
        for k in keys:
            src.write_bytes(k.encode() * 10)
            assert fncache("-s", f"{a},{b}", "put", k, src).returncode == 0
        items = [json.loads(fncache("-s", s, "stats", "-j").stdout)["servers"][0]["stats"]["curr_items"] for s in (a, b)]
        assert sum(items) == 60 and min(items) >= 10, items      # both servers hold a share
        # the ring does not depend on the order the servers are given in
        for k in keys:
            r = fncache("-s", b, "-s", a, "get", k)
            assert r.returncode == 0 and r.stdout == k.encode() * 10, k
        # a third server takes over about a third of the keys, the rest stay put
        found = sum(fncache("-s", f"{a},{b},{c}", "get", k).returncode == 0 for k in keys)
        assert 25 <= found < 60, found
    finally:
        for _, proc in started:
            proc.terminate()
            proc.wait(10)


# ---- bench ---------------------------------------------------------------

def bench(server, *args, expect=0, timeout=120):
    r = fncache("-s", server, "bench", "--json", *args, timeout=timeout)
    assert r.returncode == expect, (r.returncode, r.stderr.decode()[-2000:])
    return json.loads(r.stdout), r.stderr.decode()


def test_bench_small_values(server):
    res, _ = bench(server, "--duration", "1.5", "--connections", "4", "--size", "100-4k", "--keys", "300",
                   "--zipf", "0.99", "--ratio", "4:1", "--key-prefix", "small:")
    get, total = res["ops"]["get"], res["total"]
    assert res["prefilled"] == 300 and res["prefill_errors"] == 0
    assert total["errors"] == 0 and res["corrupt"] == 0 and total["count"] > 200
    assert get["hit_ratio"] == 1.0 and res["verified"] == get["hits"] == get["count"]
    assert 0.65 < get["count"] / total["count"] < 0.95               # about 4 gets to 1 set
    lat = total["latency_us"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"]
    assert 1.0 < res["seconds"] < 3 and abs(total["ops_per_s"] - total["count"] / res["seconds"]) < 1


def test_bench_large_values_and_csv(proxy):
    r = fncache("-s", proxy, "bench", "--csv", "--ops", "24", "--connections", "2", "--size", "mix:1m@1,5m@1,20m@1",
                "--keys", "6", "--ratio", "1:1", "--key-prefix", "large:", timeout=120)
    assert r.returncode == 0, r.stderr
    rows = {row["op"]: row for row in csv.DictReader(io.StringIO(r.stdout.decode()))}
    assert set(rows) == {"get", "set", "total"}
    assert int(rows["total"]["count"]) == 24 and int(rows["total"]["errors"]) == 0
    assert int(rows["get"]["verified"]) == int(rows["get"]["hits"]) > 0 and int(rows["total"]["corrupt"]) == 0
    assert float(rows["total"]["mb_per_s"]) > 0


def test_bench_workload_file_and_flags(memcached, tmp_path):
    wl = tmp_path / "w.conf"
    wl.write_text("# reads only, after a prefill\nsize = 2k\nkeys = 50\nratio = 1:0\nops = 400\nconnections = 3\n")
    res, _ = bench(memcached, "--workload", wl, "--keys", "40", "--key-prefix", "wl:")    # flags win
    assert res["workload"]["keys"] == 40 and res["workload"]["size"] == "2k" and res["prefilled"] == 40
    assert res["total"]["count"] == 400 and res["ops"]["get"]["count"] == 400 and "set" not in res["ops"]
    assert res["verified"] == 400


def test_bench_trace_replay(memcached, tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text("timestamp,op,key,size\n"
                     "10.00,set,tr/a,1000\n"
                     "10.01,get,tr/a,0\n"
                     "10.02,get,tr/never,0\n"
                     "10.03,set,tr/b,2m\n"
                     "10.04,get,tr/b,0\n"
                     "10.05,delete,tr/a,0\n"
                     "10.06,get,tr/a,0\n"
                     "10.30,delete,tr/gone,0\n")
    started = time.monotonic()
    res, _ = bench(memcached, "--trace", trace, "--connections", "3")
    assert time.monotonic() - started >= 0.3                          # paced: 0.3 s of trace
    ops = res["ops"]
    assert ops["set"]["count"] == 2 and ops["get"]["count"] == 4 and ops["delete"]["count"] == 2
    assert ops["get"]["hits"] == 2 and ops["get"]["misses"] == 2        # in order, key by key
    assert ops["delete"]["hits"] == 1 and ops["delete"]["misses"] == 1
    assert res["verified"] == 2 and res["total"]["errors"] == 0
    fast, _ = bench(memcached, "--trace", trace, "--speed", "0")
    assert fast["total"]["count"] == 8 and fast["seconds"] < res["seconds"]


def test_bench_catches_altered_values(memcached):
    host, port = memcached.split(":")
    mc = Client((host, int(port)), timeout=30)
    args = ("--keys", "20", "--size", "4k", "--key-prefix", "cx:", "--connections", "2")
    res, _ = bench(memcached, *args, "--ops", "1")                       # prefill 20 values
    reads = ("--ratio", "1:0", "--no-prefill", "--ops", "200")
    res, err = bench(memcached, *args, *reads)                           # untouched: all intact
    assert res["corrupt"] == 0 and res["verified"] == 200 and err == ""
    good = mc.get("cx:3")
    flipped = bytearray(good)
    flipped[1000] ^= 0x10                                                # one bit of one value
    mc.set("cx:3", bytes(flipped))
    res, err = bench(memcached, *args, *reads, expect=5)
    assert res["corrupt"] > 0 and res["verified"] + res["corrupt"] == 200
    assert res["first_corrupt"].startswith("key cx:3: 4096 byte value: bytes differ") and "offset 1000" in res["first_corrupt"]
    assert "CORRUPT key cx:3" in err
    mc.set("cx:3", good[:-1])                                            # one byte short
    res, _ = bench(memcached, *args, *reads, expect=5)
    assert "length differs" in res["first_corrupt"]
    mc.set("cx:3", mc.get("cx:4"))                                       # another key's value
    res, _ = bench(memcached, *args, *reads, expect=5)
    assert "another key" in res["first_corrupt"]
    mc.set("cx:3", good)
    res, _ = bench(memcached, *args, *reads)
    assert res["corrupt"] == 0


def test_bench_reports_failures(memcached):
    """Values the server refuses are errors, named, with exit status 3."""
    res, err = bench(memcached, "--ops", "10", "--size", "300m", "--keys", "2", "--connections", "1",
                     "--ratio", "0:1", "--no-prefill", "--key-prefix", "toobig:", expect=3)
    assert res["total"]["count"] == res["total"]["errors"] == 10
    assert "ITEM TOO BIG" in res["first_error"] and "toobig:" in res["first_error"]
    # nobody there: the prefill fails whole, and the run stops rather than spin for 60 s
    dead = f"127.0.0.1:{free_port()}"
    res, err = bench(dead, "--duration", "60", "--keys", "10", expect=3, timeout=20)
    assert res["prefill_errors"] == 10 and res["total"]["count"] == 0
    assert f"{dead}: CONNECTION FAILURE" in res["first_error"] and "CONNECTION FAILURE" in err
