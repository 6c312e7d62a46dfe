"""Scaling out over several proxies: each proxy owns its fleet (its own
function prefix; here each starts its own local fncache-faas), and clients
spread keys over the proxies with ketama consistent hashing
(tests/tools/ketama_check.c, libmemcached). Keys spread over both; each
proxy holds exactly its share; losing one proxy loses only its share.
twemproxy (nutcracker) with `distribution: ketama` and `hash: md5` places
keys as libmemcached does, so it can route for clients that cannot."""
import collections
import os
import subprocess

import pytest
from pymemcache.client.base import Client

from faasutil import wait_until
from proxyutil import ROOT, Proxy, accepting, free_port

KETAMA = os.path.join(ROOT, "build", "release", "tools", "ketama_check")
FLEET = ["--nodes", "3", "--ec", "2+1", "--node-memory", "128", "--warmup", "0"]
N = 200


def ketama(servers, op, prefix="key-"):
    """{key: (server, result)} from one ketama_check run."""
    out = subprocess.run([KETAMA, ",".join(servers), op, str(N), prefix], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()]
    assert len(rows) == N
    return {k: (s, r) for k, s, r in rows}


def value_of(key):
    """The value ketama_check stores under key (see value_of there)."""
    head = "value of %s:" % key
    return (head + "".join(chr(ord("a") + (ord(key[i % len(key)]) + i) % 26) for i in range(200))).encode()


@pytest.fixture
def proxies():
    """Two proxies, each starting its own fleet: fleet-a-0..2 and fleet-b-0..2."""
    a = Proxy("--function-prefix", "fleet-a-", *FLEET)
    try:
        b = Proxy("--function-prefix", "fleet-b-", *FLEET)
    except BaseException:
        a.stop()
        raise
    try:
        yield a, b
    finally:
        try:
            a.stop()
        finally:
            rc, log = b.stop()
    assert rc == 0, log[-3000:]


def address(p):
    return "127.0.0.1:%d" % p.port


def test_keys_spread_each_proxy_serves_its_share_and_loses_only_it(proxies):
    a, b = proxies
    servers = [address(a), address(b)]
    placed = ketama(servers, "set")
    assert all(r == "STORED" for _, r in placed.values()), placed
    share = collections.Counter(s for s, _ in placed.values())
    assert set(share) == set(servers) and min(share.values()) > N // 4, share   # spread over both

    got = ketama(list(reversed(servers)), "get")    # the order of the list does not matter
    assert got == {k: (s, "HIT") for k, (s, _) in placed.items()}

    # each proxy holds its share and nothing else, in its own fleet
    for p, prefix in ((a, b"fleet-a-"), (b, b"fleet-b-")):
        c = p.client()
        mine = sorted(k for k, (s, _) in placed.items() if s == address(p))
        assert c.get_many(mine) == {k: value_of(k) for k in mine}
        assert c.get_many([k for k in placed if k not in mine]) == {}
        assert c.stats()[b"curr_items"] == len(mine)
        nodes = c.stats("nodes")
        assert len(nodes) == 3 and all(v.startswith(prefix) for v in nodes.values()), nodes
        c.close()

    # losing proxy a (SIGKILL; its fleet goes with it) loses a's share only
    a.kill()
    after = ketama(servers, "get")
    assert {k for k, (s, r) in after.items() if r == "HIT"} == {k for k, (s, _) in placed.items() if s == address(b)}
    assert all(r.startswith("ERROR:") for s, r in after.values() if s == address(a))
    assert b.client().stats()[b"curr_items"] == share[address(b)]


def test_twemproxy_ketama_routes_like_libmemcached(proxies, tmp_path):
    """nutcracker in front of the same two proxies puts every key on the
    proxy where libmemcached's ketama looks for it."""
    servers = [address(p) for p in proxies]
    port = free_port()
    conf = tmp_path / "nutcracker.yml"
    conf.write_text("pool:\n  listen: 127.0.0.1:%d\n  hash: md5\n  distribution: ketama\n  servers:\n" % port +
                    "".join("   - %s:1\n" % s for s in servers))
    nc = subprocess.Popen(["nutcracker", "-c", str(conf), "-o", os.devnull])
    try:
        wait_until(lambda: accepting(port), 5, "nutcracker to listen")
        via = Client(("127.0.0.1", port), timeout=30, default_noreply=False)
        for i in range(N):
            assert via.set("key-%d" % i, value_of("key-%d" % i))
        via.close()
    finally:
        nc.terminate()
        try:
            nc.wait(10)
        except subprocess.TimeoutExpired:
            nc.kill()
            nc.wait(10)
    routed = ketama(servers, "get")
    assert all(r == "HIT" for _, r in routed.values()), [(k, v) for k, v in routed.items() if v[1] != "HIT"]
    assert len({s for s, _ in routed.values()}) == 2
