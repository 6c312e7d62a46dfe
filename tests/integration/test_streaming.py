"""Large values streamed to the client: a single-key GET of 1 MiB or more
sends its leading data chunks as they are verified while the later ones
wait, held, in the kernel's buffers. A chunk that turns out corrupt or cut
is decoded around before it is sent; a value that breaks off after its
start went out closes the connection, so no client takes part of a value
for the whole."""
import os
import socket

import pytest

import faasutil
from nodeproto import wait_for
from test_proxy import NODE, Proxy, ask, evil_fleet
from test_resilience import stats


def read_reply(s, limit):
    """Bytes until the reply ends (END), the connection closes, or limit."""
    got = b""
    while not got.endswith(b"END\r\n") and len(got) < limit:
        part = s.recv(1 << 20)
        if not part:
            break
        got += part
    return got


@pytest.mark.parametrize("mode", ["corrupt", "cut"])
def test_streamed_values_decoded_around_lying_nodes(mode):
    f = evil_fleet(mode, [3, 4])                  # p = 2 bad nodes
    p = Proxy("-I", "64m", faas=f)
    try:
        c = p.client()
        values = {f"big{i}": os.urandom(size) for i, size in enumerate([1 << 20, 3 << 20, 12 << 20 | 5, 40 << 20])}
        for k, v in values.items():
            assert c.set(k, v)
        for _ in range(2):
            for k, v in values.items():
                assert c.get(k) == v, k
        st = stats(c)
        assert st["gets_streamed"] >= 1 and st["bad_chunks" if mode == "corrupt" else "get_hits"] >= 1
        assert st["get_hits"] == 2 * len(values)
    finally:
        assert p.stop()[0] == 0
        f.close()


def test_stream_that_breaks_off_closes_the_connection():
    f = evil_fleet("corrupt", [3, 4, 5])          # p + 1 bad nodes: no object can be read
    p = Proxy("-I", "64m", faas=f)
    try:
        c = p.client()
        size = 20 << 20
        assert c.set("k", os.urandom(size))
        s = socket.create_connection(("127.0.0.1", p.port), timeout=60)
        s.sendall(b"get k\r\n")
        got = read_reply(s, size + 100)
        # a miss when no chunk went out; else cut short: never a whole value
        assert got == b"END\r\n" or (got.startswith(b"VALUE k 0 %d\r\n" % size) and not got.endswith(b"END\r\n")
                                     and s.recv(1) == b""), got[:80]
        assert c.get("k") is None and stats(c)["objects_lost"] == 1
        assert c.set("small", b"x") and c.get("small") == b"x"   # still serving
    finally:
        assert p.stop()[0] == 0
        f.close()


def test_streamed_get_pipelined_with_other_requests():
    """Replies keep their order around a streamed value, and requests read
    ahead while it streams are answered after it."""
    f = faasutil.Faas([f"px-* {NODE} memory=256 timeout=300"])
    p = Proxy("-I", "64m", faas=f)
    try:
        c = p.client()
        big = os.urandom(30 << 20)
        assert c.set("big", big) and c.set("a", b"1")
        s = socket.create_connection(("127.0.0.1", p.port), timeout=60)
        s.sendall(b"get a\r\nget big\r\nget a\r\nget big\r\n")
        want = (b"VALUE a 0 1\r\n1\r\nEND\r\n" + b"VALUE big 0 %d\r\n" % len(big) + big + b"\r\nEND\r\n") * 2
        got = b""
        while len(got) < len(want):
            part = s.recv(1 << 20)
            assert part, "connection closed"
            got += part
        assert got == want
        assert stats(c)["gets_streamed"] == 2
        wait_for(lambda: stats(c)["curr_connections"] >= 2, 5, "both clients")
        assert ask(s, b"get a\r\n") == b"VALUE a 0 1\r\n1\r\nEND\r\n"
    finally:
        assert p.stop()[0] == 0
        f.close()
