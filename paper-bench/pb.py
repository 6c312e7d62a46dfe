"""paper-bench common parts: flags, dependency checks, result reuse, the
processes an experiment starts (fncache-faas, fncache-proxy, memcached),
progress lines, plots and the paper's figures.

Every process started through Procs is stopped when the `with` block ends,
also on an exception or SIGTERM/SIGINT (turned into SystemExit).
"""
import argparse
import csv
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.join(ROOT, "paper-bench")
BIN = os.path.join(ROOT, "bin")
PROXY = os.path.join(BIN, "fncache-proxy")
FAAS = os.path.join(BIN, "fncache-faas")
NODE = os.path.join(BIN, "fncache-node")
MODES = ("tiny", "quick", "full")

# Figures printed in the paper (Wang et al., FAST '20) that we compare with.
PAPER = {
    "availability_backup": 95.4,       # % per hour, with backup
    "availability_no_backup": 81.4,    # % per hour, without backup
    "elasticache_50h": 518.4,          # USD, 50 hours at $10.368/h
    "elasticache_hourly": 10.368,
    "infinicache_all": 20.52,          # USD, all objects cached
    "infinicache_large": 16.51,        # USD, objects > 10 MB only (31x)
    "infinicache_no_backup": 5.41,     # USD, large only, backup off (96x)
    "trace_hours": 50,
}

# Debian package for each Python module we import.
DEB_OF = {"pymemcache": "python3-pymemcache", "matplotlib": "python3-matplotlib",
          "numpy": "python3-numpy"}


def need(modules=(), programs=()):
    """Exit with an install hint if a Python module or a program is missing."""
    missing_deb, missing_prog = [], []
    for m in modules:
        try:
            __import__(m)
        except ImportError:
            missing_deb.append(DEB_OF.get(m, "python3-" + m))
    for p in programs:
        if not (os.path.isabs(p) and os.access(p, os.X_OK)) and shutil.which(p) is None:
            missing_prog.append(p)
    if missing_deb or missing_prog:
        if missing_deb:
            print("missing Python modules; install with:\n  sudo apt-get install " + " ".join(missing_deb)
                  + "\n(and run with /usr/bin/python3, which sees Debian's modules)", file=sys.stderr)
        for p in missing_prog:
            hint = "run `make` in %s" % ROOT if p.startswith(BIN) else "sudo apt-get install " + os.path.basename(p)
            print("missing program %s; %s" % (p, hint), file=sys.stderr)
        sys.exit(2)


def args(description, extra=None):
    """Flags every experiment takes; extra(parser) adds its own."""
    ap = argparse.ArgumentParser(description=description)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--mode", choices=MODES, default="quick", help="size of the run (default: quick)")
    g.add_argument("--full", dest="mode", action="store_const", const="full", help="same as --mode full")
    g.add_argument("--tiny", dest="mode", action="store_const", const="tiny", help="same as --mode tiny (tests)")
    ap.add_argument("--seed", type=int, default=1, help="seed of traces and reclamation (default: 1)")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "paper-bench"),
                    help="results root; each mode and experiment has its own folder (default: build/paper-bench)")
    ap.add_argument("--redo", action="store_true", help="run again even when raw results exist")
    ap.add_argument("--no-plot", action="store_true", help="skip the PNG")
    if extra:
        extra(ap)
    a = ap.parse_args()
    a.dir = os.path.join(a.out, a.mode)
    os.makedirs(a.dir, exist_ok=True)
    return a


def log(tag, msg):
    print("[%s %s] %s" % (time.strftime("%H:%M:%S"), tag, msg), file=sys.stderr, flush=True)


def config_key(conf):
    return hashlib.sha1(json.dumps(conf, sort_keys=True).encode()).hexdigest()[:12]


def cached(path, conf, redo):
    """True if path's raw results were made with the same configuration."""
    meta = path + ".conf.json"
    if redo or not os.path.exists(path) or not os.path.exists(meta):
        return False
    with open(meta) as f:
        return json.load(f) == json.loads(json.dumps(conf))


def mark_done(path, conf):
    with open(path + ".conf.json", "w") as f:
        json.dump(conf, f, indent=1, sort_keys=True)


def write_csv(path, rows, fields=None):
    fields = fields or (list(rows[0].keys()) if rows else [])
    tmp = path + ".tmp"
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def wait_until(cond, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(xs, q):
    """q in [0, 100], linear interpolation; None for no data."""
    if not xs:
        return None
    s = sorted(xs)
    k = (len(s) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _stop_on_signal(signum, frame):
    raise SystemExit(128 + signum)


class Procs:
    """Processes of one run, all stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, tag, logdir=None):
        """Logs go to logdir (kept) or to a temporary folder (removed)."""
        self.tag = tag
        self.procs = []
        self.keep = logdir is not None
        self.tmp = logdir or tempfile.mkdtemp(prefix="paper-bench-")
        for s in (signal.SIGTERM, signal.SIGINT):
            signal.signal(s, _stop_on_signal)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for p, _ in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for p, logf in reversed(self.procs):
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
            logf.close()
        self.procs = []
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, name, cmd):
        logf = open(os.path.join(self.tmp, name + ".log"), "w")
        p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs.append((p, logf))
        return p

    def log_tail(self, name, n=2000):
        try:
            with open(os.path.join(self.tmp, name + ".log")) as f:
                return f.read()[-n:]
        except OSError:
            return ""

    def wait_port(self, name, proc, port, timeout=20):
        def up():
            if proc.poll() is not None:
                raise RuntimeError("%s exited (%s):\n%s" % (name, proc.returncode, self.log_tail(name)))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return True
            except OSError:
                return False
        wait_until(up, timeout, name + " to listen on %d" % port)

    def faas(self, prefix, memory_mb, billing=None, flags=()):
        """fncache-faas serving PREFIX* with fncache-node; returns its URL."""
        port_file = os.path.join(self.tmp, "faas.port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        cmd = [FAAS, "--quiet", "--listen", "127.0.0.1", "--port", "0", "--port-file", port_file,
               "-F", "%s* %s memory=%d timeout=900" % (prefix, NODE, memory_mb)]
        if billing:
            cmd += ["--billing", billing]
        p = self.start("faas", cmd + [str(f) for f in flags])

        def port():
            if p.poll() is not None:
                raise RuntimeError("fncache-faas exited (%s):\n%s" % (p.returncode, self.log_tail("faas")))
            try:
                with open(port_file) as f:
                    return int(f.read().strip() or 0)
            except (OSError, ValueError):
                return 0
        return "http://127.0.0.1:%d" % wait_until(port, 15, "fncache-faas port")

    def proxy(self, flags=(), name="proxy"):
        """fncache-proxy on a free port; returns the port."""
        port = free_port()
        p = self.start(name, [PROXY, "-p", str(port)] + [str(f) for f in flags])
        self.wait_port(name, p, port)
        return port

    def memcached(self, max_item_mb, memory_mb):
        port = free_port()
        user = "root" if os.geteuid() == 0 else os.environ.get("USER", "nobody")
        p = self.start("memcached", ["memcached", "-u", user, "-l", "127.0.0.1", "-p", str(port), "-U", "0",
                                     "-I", "%dm" % max_item_mb, "-m", str(memory_mb)])
        self.wait_port("memcached", p, port)
        return port


def client(port, timeout=120):
    from pymemcache.client.base import Client
    return Client(("127.0.0.1", port), timeout=timeout, connect_timeout=10, default_noreply=False)


def stats(c):
    out = {}
    for k, v in c.stats().items():
        k = k.decode() if isinstance(k, bytes) else k
        out[k] = v.decode() if isinstance(v, bytes) else v
    return out


def plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as p
    return p


def save_plot(fig, path):
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    import matplotlib.pyplot as p
    p.close(fig)
    log("plot", path)


def table(rows, cols, title=None):
    """A plain text table for the terminal (and README)."""
    w = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) if rows else len(c) for c in cols}
    lines = []
    if title:
        lines.append(title)
    lines.append("| " + " | ".join(c.ljust(w[c]) for c in cols) + " |")
    lines.append("|" + "|".join("-" * (w[c] + 2) for c in cols) + "|")
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(c, "")).ljust(w[c]) for c in cols) + " |")
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def fmt(x, nd=2):
    return "-" if x is None else ("%.*f" % (nd, x))
