"""fncache-proxy as the deployment tests (test_aws, test_lambda_zip,
test_proxies) start it: a free port, a log file, an environment of the test's
choosing, a bounded wait for the port, and a clean-exit check at the end."""
import os
import signal
import socket
import subprocess
import tempfile

from pymemcache.client.base import Client

from faasutil import wait_until

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# FNCACHE_PROXY_BIN runs the tests against another build, e.g. build/asan/bin/fncache-proxy.
PROXY = os.environ.get("FNCACHE_PROXY_BIN", os.path.join(ROOT, "bin", "fncache-proxy"))
NODE = os.path.join(ROOT, "bin", "fncache-node")


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def accepting(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


class Proxy:
    """One fncache-proxy. Use as a context manager: on a clean exit of the
    block the proxy must stop with status 0 on SIGTERM."""

    def __init__(self, *args, env=None, port=None):
        self.port = port or free_port()
        fd, self.log_path = tempfile.mkstemp(prefix="proxy-", suffix=".log")
        self.log = os.fdopen(fd, "w")
        cmd = [PROXY, "-p", str(self.port), "-v"] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_until(lambda: self.proc.poll() is not None or accepting(self.port), 15,
                       "fncache-proxy to listen on %d" % self.port)
            assert self.proc.poll() is None, "fncache-proxy exited:\n" + self.read_log()
        except BaseException:
            self.stop()
            raise

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        rc, log = self.stop()
        if exc_type is None:
            assert rc == 0, "fncache-proxy exit status %s:\n%s" % (rc, log[-4000:])

    def client(self, timeout=30):
        return Client(("127.0.0.1", self.port), timeout=timeout, connect_timeout=5, default_noreply=False)

    def read_log(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        """SIGTERM, wait; returns (exit status, log)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        log = self.read_log() if not self.log.closed else ""
        if not self.log.closed:
            self.log.close()
            os.unlink(self.log_path)
        return self.proc.returncode, log
