"""Shared helpers for the fncache-faas integration tests (tests/integration/test_faas_*.py).

Starts bin/fncache-faas on 127.0.0.1 with a port chosen by the kernel (read
back from --port-file), talks to it with http.client, and waits on
conditions with deadlines (never a bare sleep).
"""
import base64
import http.client
import json
import os
import signal
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, "bin")
# FNCACHE_FAAS_BIN runs the tests against another build, e.g.
# build/asan/bin/fncache-faas (make VARIANT=asan build).
FAAS = os.environ.get("FNCACHE_FAAS_BIN", os.path.join(BIN, "fncache-faas"))
TOOLS = os.path.join(ROOT, "build", "release", "tools")  # test programs (make tests)
TESTFN = os.path.join(TOOLS, "faas-testfn")
INVOKE = os.path.join(TOOLS, "faas-invoke")


def wait_until(cond, timeout=5.0, what="condition", interval=0.005):
    """Polls cond() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def proc_state(pid):
    """The state letter of /proc/PID/stat ('R', 'S', 'T', 'Z', ...) or None if gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return data[data.rindex(")") + 2]


def pid_gone(pid):
    """True once the process is dead (gone, or a zombie nobody reaped yet)."""
    return proc_state(pid) in (None, "Z", "X")


class Faas:
    """One fncache-faas process. Use as a context manager."""

    def __init__(self, functions, args=(), billing=False):
        self.tmp = tempfile.TemporaryDirectory(prefix="faas-test-")
        self.port_file = os.path.join(self.tmp.name, "port")
        self.log_path = os.path.join(self.tmp.name, "faas.log")
        self.billing_path = os.path.join(self.tmp.name, "billing.jsonl") if billing else None
        cmd = [FAAS, "-p", "0", "--port-file", self.port_file, "-v"]
        for f in functions:
            cmd += ["-F", f]
        if self.billing_path:
            cmd += ["-b", self.billing_path]
        cmd += list(args)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: os.path.exists(self.port_file) or self.proc.poll() is not None,
                       5, "fncache-faas to listen")
            if self.proc.poll() is not None:
                raise AssertionError("fncache-faas exited: %s" % self.read_log())
            with open(self.port_file) as f:
                self.port = int(f.read())
        except BaseException:
            self.close()
            raise
        self._conn = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        self.close(check=exc_type is None)

    def read_log(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def close(self, check=False):
        """SIGTERM and wait. With check, a clean exit (status 0, no sanitizer
        report) is asserted."""
        rc = self.proc.poll()
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                rc = "hung"
            if check and rc != 0:
                log = self.read_log()
                self._cleanup()
                raise AssertionError("fncache-faas exit status %s:\n%s" % (rc, log[-4000:]))
        self._cleanup()

    def _cleanup(self):
        if self.log.closed:
            return
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.log.close()
        self.tmp.cleanup()

    # ---- HTTP ----
    def request(self, method, path, body=None, headers=None, timeout=20, keepalive=False):
        """Returns (status, headers dict lower-cased, body bytes)."""
        if keepalive:
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            conn = self._conn
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        except BaseException:
            if keepalive:
                self._conn = None
            conn.close()
            raise
        finally:
            if not keepalive:
                conn.close()

    def invoke(self, fn, payload=None, type=None, tail=False, raw=None, timeout=20, keepalive=False):
        body = raw if raw is not None else json.dumps(payload if payload is not None else {}).encode()
        h = {"Content-Type": "application/json"}
        if type:
            h["X-Amz-Invocation-Type"] = type
        if tail:
            h["X-Amz-Log-Type"] = "Tail"
        return self.request("POST", "/2015-03-31/functions/%s/invocations" % fn, body, h,
                            timeout=timeout, keepalive=keepalive)

    def invoke_json(self, fn, payload=None, **kw):
        status, headers, body = self.invoke(fn, payload, **kw)
        assert status == 200, (status, body)
        return headers, json.loads(body)

    def control(self, path, method="GET"):
        status, _, body = self.request(method, "/_faas/" + path)
        return status, json.loads(body)

    def instances(self, fn=None):
        _, j = self.control("instances" + ("?function=" + fn if fn else ""))
        return j["instances"]

    def live(self, fn=None):
        return [i for i in self.instances(fn) if i["state"] in ("init", "busy", "answered", "idle")]

    def billing_lines(self):
        with open(self.billing_path) as f:
            return [json.loads(line) for line in f if line.strip()]


def fn_spec(name="fn", **opts):
    """A -F spec for the test function."""
    return " ".join([name, TESTFN] + ["%s=%s" % (k, v) for k, v in opts.items()])


def decode_tail(headers):
    return base64.b64decode(headers["x-amz-log-result"]).decode()
