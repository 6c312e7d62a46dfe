"""fncache-faas reclamation (idle, lifetime, random; kill and vanish) and the control endpoint."""
import pytest

from faasutil import Faas, pid_gone, proc_state, fn_spec, wait_until

FAST = ["--tick", "10ms"]


def check_reclaimed(f, pid, mode):
    """After reclamation: 'kill' ends the process now; 'vanish' keeps it frozen
    (sockets open) until the linger time, then kills it."""
    if mode == "kill":
        wait_until(lambda: pid_gone(pid), 5, "instance killed")
    else:
        wait_until(lambda: any(i["pid"] == pid and i["state"] == "vanished" for i in f.instances()), 5,
                   "instance vanished")
        wait_until(lambda: proc_state(pid) == "T", 3, "vanished instance frozen")
    # The next invocation is a cold start on a new, empty instance.
    _, b = f.invoke_json("fn")
    assert b["count"] == 1 and b["pid"] != pid
    if mode == "vanish":
        assert proc_state(pid) == "T"  # still lingering, frozen
        wait_until(lambda: pid_gone(pid), 5, "vanished instance killed after the linger time")


@pytest.mark.parametrize("mode", ["kill", "vanish"])
def test_idle_reclaim(mode):
    with Faas([fn_spec("fn")], FAST + ["--idle", "300ms", "--reclaim-mode", mode, "--linger", "2s"]) as f:
        _, a = f.invoke_json("fn")
        _, a2 = f.invoke_json("fn")  # busy use keeps it alive
        assert a2["pid"] == a["pid"]
        check_reclaimed(f, a["pid"], mode)


@pytest.mark.parametrize("mode", ["kill", "vanish"])
def test_lifetime_reclaim(mode):
    with Faas([fn_spec("fn")], FAST + ["--lifetime", "400ms", "--lifetime-jitter", "0.2", "--seed", "3",
                                      "--reclaim-mode", mode, "--linger", "2s"]) as f:
        _, a = f.invoke_json("fn")
        check_reclaimed(f, a["pid"], mode)
        assert "reclaimed (lifetime" in f.read_log()


@pytest.mark.parametrize("mode", ["kill", "vanish"])
def test_random_reclaim(mode):
    with Faas([fn_spec("fn")], FAST + ["--random-rate", "18000", "--seed", "7", "--reclaim-mode", mode,
                                      "--linger", "2s"]) as f:
        _, a = f.invoke_json("fn")
        check_reclaimed(f, a["pid"], mode)
        assert "reclaimed (random" in f.read_log()


def test_no_reclaim_by_default():
    with Faas([fn_spec("fn")], FAST) as f:
        _, a = f.invoke_json("fn")
        wait_until(lambda: proc_state(a["pid"]) == "T", 3, "frozen")
        _, b = f.invoke_json("fn")
        assert b["pid"] == a["pid"]


def test_control_endpoint():
    with Faas([fn_spec("fn"), fn_spec("other")]) as f:
        _, a = f.invoke_json("fn")
        _, o = f.invoke_json("other")
        inst = f.instances("fn")
        assert len(inst) == 1
        i = inst[0]
        assert i["pid"] == a["pid"] and i["memory_mb"] == 128 and i["age_ms"] > 0 and i["rss_kb"] >= 0
        assert len(f.instances()) == 2
        # thaw / freeze
        wait_until(lambda: proc_state(a["pid"]) == "T", 3, "frozen")
        status, _ = f.control("thaw?instance=" + i["id"], "POST")
        assert status == 200
        wait_until(lambda: proc_state(a["pid"]) in ("S", "R"), 3, "thawed")
        status, _ = f.control("freeze?instance=" + i["id"], "POST")
        wait_until(lambda: proc_state(a["pid"]) == "T", 3, "frozen again")
        assert f.control("freeze?instance=i-nope", "POST")[0] == 404
        # reclaim one instance
        status, j = f.control("reclaim?instance=" + i["id"], "POST")
        assert status == 200 and j["reclaimed"] == 1
        wait_until(lambda: pid_gone(a["pid"]), 3, "reclaimed instance gone")
        # reclaim all of a function, in vanish mode
        f.invoke_json("other", {"op": "count"})
        status, j = f.control("reclaim?function=other&mode=vanish", "POST")
        assert j["reclaimed"] == 1
        assert [x["state"] for x in f.instances("other")] == ["vanished"]
        wait_until(lambda: proc_state(o["pid"]) == "T", 3, "vanished instance frozen")
        assert f.control("reclaim", "POST")[0] == 400
        assert f.control("nothing")[0] == 404
