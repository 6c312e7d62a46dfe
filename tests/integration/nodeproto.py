"""The proxy's side of the node protocol, written independently of the C
codec (proto/frame.c) so the tests check one against the other.
Layout: docs/node-protocol.md."""
import socket
import struct
import time

HEADER = struct.Struct(">BBBBHHIIQ")  # magic version op status meta_len 0 seq 0 body_len
CHUNK_FIXED = struct.Struct(">QQqIIBBBBH")  # version size expiry flags crc index d p 0 key_len
MAGIC, VERSION, REPLY = 0xFC, 1, 0x80
HELLO, PUT, GET, DEL, LIST, PING, BYE, TOUCH = 1, 2, 3, 4, 5, 6, 7, 8
OK, NOT_FOUND, NO_SPACE, BAD_REQUEST, BAD_TOKEN, BAD_CHECKSUM, BAD_VERSION = range(7)
ALL_VERSIONS, ALL_CHUNKS = 0, 0xFF


def header(op, seq=0, meta_len=0, body_len=0, status=0):
    return HEADER.pack(MAGIC, VERSION, op, status, meta_len, 0, seq, 0, body_len)


def chunk_meta(key, version, index, d=0, p=0, size=0, expiry=0, flags=0, crc=0):
    key = key.encode() if isinstance(key, str) else key
    return CHUNK_FIXED.pack(version, size, expiry, flags, crc, index, d, p, 0, len(key)) + key


def parse_chunk_meta(meta):
    f = CHUNK_FIXED.unpack_from(meta)
    names = ("version", "size", "expiry", "flags", "crc", "index", "d", "p", "_", "key_len")
    out = dict(zip(names, f))
    out["key"] = meta[CHUNK_FIXED.size:CHUNK_FIXED.size + out["key_len"]]
    assert len(meta) == CHUNK_FIXED.size + out["key_len"], "trailing bytes in chunk meta"
    return out


def parse_hello(meta):
    version, = struct.unpack_from(">H", meta, 0)
    instance = meta[2:18]
    mem_limit, chunks, nbytes, name_len = struct.unpack_from(">QQQH", meta, 18)
    at = 18 + 26
    name = meta[at:at + name_len]
    at += name_len
    token_len, = struct.unpack_from(">H", meta, at)
    token = meta[at + 2:at + 2 + token_len]
    assert at + 2 + token_len == len(meta), "trailing bytes in hello"
    return dict(version=version, instance=instance.hex(), mem_limit=mem_limit, chunks=chunks,
                bytes=nbytes, name=name.decode(), token=token.decode())


def parse_list_records(body):
    out, at = [], 0
    while at < len(body):
        n, = struct.unpack_from(">H", body, at)
        out.append(parse_chunk_meta(body[at + 2:at + 2 + n]))
        at += 2 + n
    return out


class Frame:
    def __init__(self, op, status, seq, meta, body):
        self.op, self.status, self.seq, self.meta, self.body = op, status, seq, meta, body

    def __repr__(self):
        return f"Frame(op={self.op:#x}, status={self.status}, seq={self.seq}, meta={len(self.meta)}B, body={len(self.body)}B)"


class NodeConn:
    """One accepted node connection. Every read is bounded by `timeout`."""

    def __init__(self, sock, timeout=10.0):
        self.sock = sock
        sock.settimeout(timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.seq = 0

    def recv_exact(self, n):
        buf = bytearray(n)
        view, got = memoryview(buf), 0
        while got < n:
            k = self.sock.recv_into(view[got:], n - got)
            if k == 0:
                raise ConnectionError(f"node closed after {got} of {n} bytes")
            got += k
        return bytes(buf)

    def read_frame(self):
        magic, version, op, status, meta_len, _, seq, _, body_len = HEADER.unpack(self.recv_exact(HEADER.size))
        assert magic == MAGIC and version == VERSION, (magic, version)
        meta = self.recv_exact(meta_len)
        body = self.recv_exact(body_len) if body_len else b""
        return Frame(op, status, seq, meta, body)

    def send(self, op, meta=b"", body=b"", status=0, seq=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        self.sock.sendall(header(op, seq, len(meta), len(body), status) + meta)
        if body:
            self.sock.sendall(body)
        return seq

    def call(self, op, meta=b"", body=b""):
        seq = self.send(op, meta, body)
        f = self.read_frame()
        assert f.op == op | REPLY and f.seq == seq, f
        return f

    def accept_hello(self, token=None):
        f = self.read_frame()
        assert f.op == HELLO, f
        hello = parse_hello(f.meta)
        status = OK if token is None or hello["token"] == token else BAD_TOKEN
        self.send(HELLO | REPLY, status=status, seq=f.seq)
        return hello

    def put(self, key, version, index, data, **kw):
        return self.call(PUT, chunk_meta(key, version, index, **kw), data).status

    def get(self, key, version, index):
        f = self.call(GET, chunk_meta(key, version, index))
        return (f.status, parse_chunk_meta(f.meta) if f.meta else None, f.body)

    def delete(self, key, version=ALL_VERSIONS, index=ALL_CHUNKS):
        return self.call(DEL, chunk_meta(key, version, index)).status

    def list_all(self, page=1000):
        cursor, records, pages = 0, [], 0
        while True:
            f = self.call(LIST, struct.pack(">QI", cursor, page))
            cursor, count = struct.unpack(">QI", f.meta)
            recs = parse_list_records(f.body)
            assert len(recs) == count
            records += recs
            pages += 1
            if cursor == 0:
                return records, pages

    def close(self):
        self.sock.close()


class ProxySide:
    """A listening socket standing where the proxy's node port would be."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"

    def accept(self, timeout=10.0):
        self.sock.settimeout(timeout)
        s, _ = self.sock.accept()
        return NodeConn(s)

    def close(self):
        self.sock.close()


def wait_for(cond, timeout, what, interval=0.01):
    """Poll a condition until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
