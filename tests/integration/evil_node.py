#!/usr/bin/python3
"""A cache node that lies, for fault injection: a Lambda custom runtime
(it runs under fncache-faas like fncache-node) that speaks the node
protocol but, per EVIL_MODE, corrupts every chunk it returns ("corrupt"),
drops the connection halfway through sending one ("cut"), claims a 1 GiB
inventory page and hangs up ("huge-list"), or lists a key it does not
hold with an absurd size ("bogus-list")."""
import json
import os
import socket
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nodeproto as np  # noqa: E402

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime"
MODE = os.environ.get("EVIL_MODE", "corrupt")
INSTANCE = os.urandom(16)
store = {}


def serve(payload):
    host, port = payload["proxy"].rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=30)
    conn = np.NodeConn(s, timeout=5)
    name, token = os.environ["AWS_LAMBDA_FUNCTION_NAME"].encode(), payload["token"].encode()
    hello = (np.struct.pack(">H", 1) + INSTANCE + np.struct.pack(">QQQH", 256 << 20, len(store), 0, len(name))
             + name + np.struct.pack(">H", len(token)) + token)
    conn.send(np.HELLO, hello, seq=0)
    try:
        while True:
            f = conn.read_frame()
            if f.op & np.REPLY:
                continue
            m = np.parse_chunk_meta(f.meta) if f.op in (np.PUT, np.GET, np.DEL, np.TOUCH) else None
            key = (m["key"], m["version"], m["index"]) if m else None
            if f.op == np.PUT:
                store[key] = (f.meta, f.body)
                conn.send(f.op | np.REPLY, seq=f.seq)
            elif f.op == np.GET and key in store:
                meta, body = store[key]
                if MODE == "cut":
                    s.sendall(np.header(f.op | np.REPLY, f.seq, len(meta), len(body)) + meta + body[:len(body) // 2])
                    return
                bad = bytes([body[0] ^ 0xFF]) + body[1:] if body else body
                conn.send(f.op | np.REPLY, meta, bad, seq=f.seq)
            elif f.op == np.LIST and MODE == "huge-list":
                s.sendall(np.header(f.op | np.REPLY, f.seq, 12, 1 << 30) + np.struct.pack(">QI", 0, 1000))
                return
            elif f.op == np.LIST and MODE == "bogus-list":
                recs = b"".join(np.struct.pack(">H", len(m)) + m for m in
                                (np.chunk_meta("bogus", 7, i, d=1, p=2, size=1 << 50) for i in range(3)))
                conn.send(f.op | np.REPLY, np.struct.pack(">QI", 0, 3), recs, seq=f.seq)
            elif f.op in (np.DEL, np.TOUCH):
                conn.send(f.op | np.REPLY, status=np.OK if key and store.pop(key, None) else np.NOT_FOUND, seq=f.seq)
            else:
                conn.send(f.op | np.REPLY, status=np.NOT_FOUND, seq=f.seq)
    except (ConnectionError, OSError, TimeoutError):
        return
    finally:
        s.close()


while True:
    with urllib.request.urlopen(API + "/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        payload = json.loads(r.read() or b"{}")
    if payload.get("cmd") == "serve":
        serve(payload)
    body = json.dumps({"instance": INSTANCE.hex()}).encode()
    urllib.request.urlopen(urllib.request.Request(API + f"/invocation/{rid}/response", data=body)).read()
