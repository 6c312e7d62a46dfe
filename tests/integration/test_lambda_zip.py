"""The Lambda artifact (make lambda-zip, deploy/aws/package.sh): its
layout, its glibc needs, and the node run from it. The zip is unpacked into
an empty directory and *that* bootstrap runs under fncache-faas behind a
proxy, with no library path of ours: every shared object the running node
has mapped must come from the unpacked lib/."""
import os
import re
import subprocess
import zipfile

import pytest

import faasutil
from faasutil import wait_until
from proxyutil import NODE, ROOT, Proxy

ZIP = os.path.join(ROOT, "deploy", "aws", "fncache-node.zip")
# Amazon Linux 2023, the OS of Lambda's provided.al2023 runtime, has glibc 2.34.
AL2023_GLIBC = (2, 34)


@pytest.fixture(scope="module")
def artifact():
    out = subprocess.run(["make", "--no-print-directory", "-s", "lambda-zip"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    return ZIP


@pytest.fixture
def unpacked(artifact, tmp_path):
    out = subprocess.run(["unzip", "-q", artifact, "-d", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return str(tmp_path)


def glibc_versions(text):
    return {tuple(int(x) for x in v.split(".")) for v in re.findall(r"GLIBC_(\d+\.\d+(?:\.\d+)?)", text)}


def test_layout(artifact):
    with zipfile.ZipFile(artifact) as z:
        entries = {i.filename: i for i in z.infolist()}
    assert (entries["bootstrap"].external_attr >> 16) & 0o111 == 0o111      # executable, at the root
    assert (entries["bin/fncache-node"].external_attr >> 16) & 0o111 == 0o111
    assert "lib/ld-linux-x86-64.so.2" in entries and "lib/libc.so.6" in entries
    ldd = subprocess.run(["ldd", NODE], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"^\s*(\S+) => /", ldd, re.M)
    assert needed and all("lib/" + n in entries for n in needed), needed
    # Lambda's limits for a zip uploaded directly: 50 MB zipped, 250 MB unzipped
    assert os.path.getsize(artifact) < 50 << 20
    assert sum(i.file_size for i in entries.values()) < 250 << 20


def test_glibc_needs_are_met_by_the_bundle(unpacked):
    """Debian's libraries need a newer glibc than Amazon Linux 2023's, which
    is why the loader and libc travel in the zip; the packaged libc provides
    every version any packaged file asks for."""
    required = set()
    for d in ("bin", "lib"):
        for f in os.listdir(os.path.join(unpacked, d)):
            dump = subprocess.run(["objdump", "-p", os.path.join(unpacked, d, f)], capture_output=True,
                                  text=True, check=True).stdout
            refs = dump.split("Version References:")[-1] if "Version References:" in dump else ""
            required |= glibc_versions(refs)
    libc = subprocess.run(["objdump", "-T", os.path.join(unpacked, "lib", "libc.so.6")], capture_output=True,
                          text=True, check=True).stdout
    provided = glibc_versions(libc)
    assert max(required) > AL2023_GLIBC            # the system's glibc would not do
    assert required <= provided, sorted(required - provided)


def test_bootstrap_loads_only_the_bundle(unpacked):
    env = {"PATH": "/usr/bin:/bin", "LD_DEBUG": "files"}
    out = subprocess.run([os.path.join(unpacked, "bootstrap"), "--help"], env=env, capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0 and "fncache-node" in out.stdout, out.stderr[-2000:]
    # what /bin/sh loaded for the script itself comes first; then the node's own loading
    node_part = out.stderr.split("file=%s/bin/fncache-node" % unpacked, 1)[1]
    loaded = re.findall(r"calling init: (\S+)", node_part)
    assert len(loaded) >= 10, out.stderr[-2000:]
    assert all(p.startswith(unpacked + "/lib/") for p in loaded), [p for p in loaded if not p.startswith(unpacked)]


def test_unpacked_bootstrap_serves_behind_the_proxy(unpacked):
    """The unpacked bootstrap is the function: a proxy stores and reads
    values on three such nodes, and each running node maps shared objects
    from the unpacked lib/ only."""
    with faasutil.Faas(["zip-* %s/bootstrap memory=128 timeout=60" % unpacked]) as faas:
        with Proxy("--faas-url", "http://127.0.0.1:%d" % faas.port, "--function-prefix", "zip-", "--nodes", "3",
                   "--ec", "2+1", "--node-memory", "128", "--idle-ms", "5000", "--warmup", "0") as px:
            c = px.client()
            values = {"z%d" % i: os.urandom(1000 + 200000 * i) for i in range(4)}
            for k, v in values.items():
                assert c.set(k, v)
            for k, v in values.items():
                assert c.get(k) == v
            live = wait_until(lambda: len(faas.live()) == 3 and faas.live(), 10, "three live instances")
            for inst in live:
                with open("/proc/%d/maps" % inst["pid"]) as f:
                    objects = {line.split()[-1] for line in f if ".so" in line.split()[-1]}
                assert objects and all(o.startswith(unpacked + "/lib/") for o in objects), objects
                assert os.readlink("/proc/%d/exe" % inst["pid"]) == os.path.join(unpacked, "lib",
                                                                                 "ld-linux-x86-64.so.2")
