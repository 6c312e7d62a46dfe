"""A TCP relay that caps each connection's bandwidth in each direction.

Used to emulate Lambda's per-function network without touching the C code:
the proxy listens for nodes on --node-port P and tells them to dial
--advertise 127.0.0.1:R, where this relay listens and forwards to P. Every
node has its own connection, so the cap is per node (token bucket, a
256 KiB burst). Threads: one acceptor, two pumps per connection.
"""
import socket
import threading
import time

BURST = 256 << 10


class Relay:
    def __init__(self, target_port, mb_per_s):
        self.target = target_port
        self.rate = mb_per_s * 1e6
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(256)
        self.port = self.lsock.getsockname()[1]
        self.closed = False
        self.socks = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                a, _ = self.lsock.accept()
            except OSError:
                return
            try:
                b = socket.create_connection(("127.0.0.1", self.target), timeout=10)
                b.settimeout(None)
            except OSError:
                a.close()
                continue
            with self.lock:
                self.socks += [a, b]
            for src, dst in ((a, b), (b, a)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src, dst):
        buf = bytearray(BURST)
        view = memoryview(buf)
        t_next = time.monotonic()
        try:
            while True:
                n = src.recv_into(buf)
                if n == 0:
                    break
                now = time.monotonic()
                t_next = max(t_next, now - BURST / self.rate) + n / self.rate
                if t_next > now:
                    time.sleep(t_next - now)
                dst.sendall(view[:n])
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        self.lsock.close()
        with self.lock:
            for s in self.socks:
                s.close()
