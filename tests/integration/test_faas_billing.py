"""fncache-faas billing records: exact billed duration, GB-seconds and cost."""
import math

from faasutil import Faas, fn_spec

PRICE_REQ = 0.0000002
PRICE_GBS = 0.0000166667


def test_billing_records_are_exact():
    with Faas([fn_spec("fn", memory=512)], ["--granularity", "100"], billing=True) as f:
        f.invoke_json("fn", {"op": "sleep", "ms": 150})
        f.invoke_json("fn", {"op": "count"})
        f.invoke("fn", {"op": "error"})
        lines = f.billing_lines()
        assert len(lines) == 3
        cold, warm, err = lines
        assert cold["cold"] and not warm["cold"] and not err["cold"]
        assert cold["init_ms"] > 0 and warm["init_ms"] == 0
        for r in lines:
            assert r["function"] == "fn" and r["memory_mb"] == 512 and r["instance"]
            billable = r["duration_ms"] + r["init_ms"]  # cold starts bill init (--bill-init 1)
            assert r["billed_ms"] % 100 == 0
            assert r["billed_ms"] == max(100, 100 * math.ceil(billable / 100 - 1e-9)) or \
                abs(billable - (r["billed_ms"] - 100)) < 0.01  # float printing at a boundary
            assert r["gb_seconds"] == r["billed_ms"] * 512 / 1024000
            assert abs(r["cost_usd"] - (PRICE_REQ + r["gb_seconds"] * PRICE_GBS)) < 1e-15
        assert cold["duration_ms"] >= 150 and cold["billed_ms"] >= 200
        assert warm["billed_ms"] == 100
        assert err["status"] == "error" and cold["status"] == "ok"
        _, tot = f.control("billing")
        assert tot["invocations"] == 3 and tot["cold_starts"] == 1 and tot["errors"] == 1
        assert tot["billed_ms"] == sum(r["billed_ms"] for r in lines)
        assert tot["mb_ms"] == sum(r["billed_ms"] * 512 for r in lines)
        assert tot["gb_seconds"] == tot["mb_ms"] / 1024000
        assert abs(tot["cost_usd"] - (3 * PRICE_REQ + tot["gb_seconds"] * PRICE_GBS)) < 1e-15
        assert tot["functions"]["fn"]["invocations"] == 3


def test_billing_1ms_granularity_without_init():
    with Faas([fn_spec("fn", memory=128)], ["--bill-init", "0", "--price-gbs", "0.00001",
                                           "--price-request", "0.000001"], billing=True) as f:
        f.invoke_json("fn")
        f.invoke_json("fn")
        for r in f.billing_lines():
            assert r["billed_ms"] == max(1, math.ceil(r["duration_ms"] - 1e-9))
            assert abs(r["cost_usd"] - (0.000001 + r["billed_ms"] * 128 / 1024000 * 0.00001)) < 1e-15
        _, tot = f.control("billing")
        assert tot["prices"]["per_gb_second"] == 0.00001
