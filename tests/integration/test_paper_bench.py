"""paper-bench/: every experiment in tiny mode, into one temporary results
folder; each must write well-formed CSV/JSON and a PNG. Then the reuse of
raw results, a real trace in the documented CSV format, and the model's
agreement with the local replays."""
import csv
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PB = os.path.join(ROOT, "paper-bench")
sys.path.insert(0, PB)

pytest.importorskip("matplotlib", reason="paper-bench plots need python3-matplotlib (scripts/deps.sh)")


def run(script, out, *args, timeout=60):
    p = subprocess.run([sys.executable, os.path.join(PB, script), "--tiny", "--out", out, *args],
                       capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, "%s failed:\n%s\n%s" % (script, p.stdout[-3000:], p.stderr[-3000:])
    return p.stdout + p.stderr


def rows(path, fields):
    with open(path, newline="") as f:
        r = list(csv.DictReader(f))
    assert r, path + " is empty"
    for f in fields:
        assert f in r[0], "%s lacks column %s" % (path, f)
    return r


def png(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path + " is not a PNG"
    assert len(data) > 10000, path + " is suspiciously small"


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return str(tmp_path_factory.mktemp("paper-bench"))


def test_exp1_latency(out):
    text = run("exp1_latency.py", out)
    d = os.path.join(out, "tiny", "exp1")
    summ = rows(os.path.join(d, "summary.csv"), ["system", "size_mb", "op", "p50_ms", "p99_ms"])
    systems = {r["system"] for r in summ}
    assert {"memcached", "4+2", "10+0"} <= systems
    for r in summ:
        assert 0 < float(r["p50_ms"]) <= float(r["p99_ms"]) < 10000
    for s in systems:
        raw = rows(os.path.join(d, "raw-%s.csv" % s), ["size_mb", "rep", "op", "ms"])
        assert len(raw) == 2 * 2 * 2           # sizes x reps x {get, set}
    png(os.path.join(d, "latency.png"))
    assert "memcached" in text
    again = run("exp1_latency.py", out, "--no-plot")
    assert again.count("reusing") == len(systems)


def test_exp2_cost(out):
    text = run("exp2_cost.py", out)
    d = os.path.join(out, "tiny", "exp2")
    cost = rows(os.path.join(d, "cost.csv"), ["workload", "fncache_50h_usd_1ms", "fncache_50h_usd_100ms",
                                              "elasticache_50h_usd", "serving_invocations", "warmup_invocations"])
    assert [r["workload"] for r in cost] == ["all", "large"]
    for r in cost:
        one, hundred = float(r["fncache_50h_usd_1ms"]), float(r["fncache_50h_usd_100ms"])
        assert 0 < one <= hundred                      # coarser billing never costs less
        assert float(r["elasticache_50h_usd"]) == pytest.approx(0.216 * 50)   # one cache.r5.large
        assert int(r["serving_invocations"]) > 0 and int(r["warmup_invocations"]) > 0
    j = json.load(open(os.path.join(d, "cost.json")))
    assert j["paper"]["elasticache_50h"] == 518.4 and len(j["ours"]) == 2
    png(os.path.join(d, "cost.png"))
    assert "518.4" in text and "16.51" in text
    replays = os.listdir(os.path.join(out, "tiny", "replays"))
    assert len(replays) == 2
    for r in replays:
        for f in ("settings.json", "trace.csv", "requests.csv", "stats.csv", "billing.jsonl", "run.json"):
            assert os.path.getsize(os.path.join(out, "tiny", "replays", r, f)) > 0
        for line in open(os.path.join(out, "tiny", "replays", r, "billing.jsonl")):
            assert json.loads(line)["billed_ms"] >= 1


def test_exp3_availability(out):
    text = run("exp3_availability.py", out)     # reuses exp2's large replay for "repair on"
    d = os.path.join(out, "tiny", "exp3")
    hourly = rows(os.path.join(d, "hourly.csv"), ["repair", "hour", "availability_pct", "hit_ratio_pct"])
    for r in hourly:
        assert 0 <= float(r["hit_ratio_pct"]) <= 100
    j = json.load(open(os.path.join(d, "availability.json")))
    assert j["paper"] == {"availability_backup_pct": 95.4, "availability_no_backup_pct": 81.4}
    assert 0 <= j["ours"]["on"]["mean_hourly_availability_pct"] <= 100
    assert j["ours"]["on"]["evictions"] == 0
    assert "hourly" in j["ours"]["off"]
    png(os.path.join(d, "availability.png"))
    assert "reusing" in text


def test_exp4_scale(out):
    run("exp4_scale.py", out)
    d = os.path.join(out, "tiny", "exp4")
    cal = json.load(open(os.path.join(d, "calibration.json")))
    assert "exp1" in cal["source"]["ms_per_mb"] and "replay" in cal["source"]["init_ms"]
    val = rows(os.path.join(d, "validation.csv"), ["replay", "metric", "local", "model", "agree"])
    # The model agrees with every local replay on cost (availability differs
    # by chance: different reclamation draws; tiny runs have few requests).
    for r in val:
        if r["metric"].startswith("cost"):
            assert r["agree"] == "1", r
        if r["metric"] == "serving_invocations":
            assert abs(float(r["model"]) / float(r["local"]) - 1) < 0.5, r
    proj = rows(os.path.join(d, "projection.csv"), ["nodes", "working_set_gb", "fncache_usd_1ms",
                                                    "fncache_usd_100ms", "elasticache_usd", "availability_pct"])
    assert len(proj) == 4
    png(os.path.join(d, "projection.png"))


def test_real_trace_format(tmp_path):
    """A trace in the documented CSV format replays (cost, tiny fleet)."""
    path = tmp_path / "trace.csv"
    path.write_text("time_s,key,size_bytes,op\n0.5,layer-a,3000000,SET\n120,layer-a,3000000\n"
                    "300,layer-b,2500000,GET\n1200,layer-a,3000000,GET\n2000,layer-b,2500000,GET\n")
    run("exp2_cost.py", str(tmp_path / "out"), "--trace", str(path), "--no-plot")
    r = rows(str(tmp_path / "out" / "tiny" / "exp2" / "cost.csv"), ["workload", "requests"])
    assert [x["requests"] for x in r] == ["5", "5"]       # all over the tiny mode's 1 MB "large" line
    req = rows(next(str(p) for p in (tmp_path / "out" / "tiny" / "replays").glob("large-*/requests.csv")),
               ["key", "hit", "prior"])
    assert [(x["key"], x["hit"]) for x in req] == [("layer-a", "0"), ("layer-a", "1"), ("layer-b", "0"),
                                                   ("layer-a", "1"), ("layer-b", "1")]
