"""fncache-faas lifecycle: cold/warm, freezing, concurrency, deadlines, crashes, memory, orphans."""
import json
import os
import signal
import subprocess
import threading
import time

from faasutil import FAAS, Faas, pid_gone, proc_state, fn_spec, wait_until


def test_cold_then_warm_keeps_state():
    with Faas([fn_spec("fn")]) as f:
        h1, a = f.invoke_json("fn", {"op": "count"})
        h2, b = f.invoke_json("fn", {"op": "count"})
        assert a["count"] == 1 and b["count"] == 2
        assert a["pid"] == b["pid"] and a["instance"] == b["instance"]
        assert h1["x-amz-executed-version"] == "$LATEST"
        assert h1["x-amzn-requestid"] != h2["x-amzn-requestid"]
        assert len(f.live("fn")) == 1


def test_frozen_between_invocations():
    with Faas([fn_spec("fn")]) as f:
        _, a = f.invoke_json("fn")
        pid = a["pid"]
        wait_until(lambda: proc_state(pid) == "T", 3, "instance stopped (T) after answering")
        inst = f.instances("fn")[0]
        assert inst["state"] == "idle" and inst["frozen"] and inst["pid"] == pid
        _, b = f.invoke_json("fn")  # thawed for the event, frozen again after
        assert b["pid"] == pid and b["count"] == 2
        wait_until(lambda: proc_state(pid) == "T", 3, "instance stopped again")


def test_concurrent_invoke_starts_second_empty_instance():
    with Faas([fn_spec("fn")]) as f:
        _, first = f.invoke_json("fn")
        out = {}
        t = threading.Thread(target=lambda: out.update(r=f.invoke_json("fn", {"op": "sleep", "ms": 800})))
        t.start()
        wait_until(lambda: any(i["state"] == "busy" for i in f.instances("fn")), 3, "first instance busy")
        _, second = f.invoke_json("fn")
        t.join(10)
        assert second["count"] == 1 and second["pid"] != first["pid"]  # a new, empty instance
        assert out["r"][1]["count"] == 2 and out["r"][1]["pid"] == first["pid"]
        assert len(f.live("fn")) == 2
        # The most recently used idle instance is reused: the sleeper finished last.
        wait_until(lambda: sum(i["state"] == "idle" for i in f.instances("fn")) == 2, 3, "both idle")
        _, third = f.invoke_json("fn")
        assert third["pid"] == first["pid"] and third["count"] == 3


def test_timeout_gives_sandbox_timedout_and_loses_memory():
    with Faas([fn_spec("fn", timeout=1)]) as f:
        _, a = f.invoke_json("fn")
        t0 = time.monotonic()
        status, h, body = f.invoke("fn", {"op": "sleep", "ms": 5000})
        took = time.monotonic() - t0
        assert status == 200 and h["x-amz-function-error"] == "Unhandled"
        err = json.loads(body)
        assert err["errorType"] == "Sandbox.Timedout"
        assert "Task timed out after 1.00 seconds" in err["errorMessage"]
        assert 0.9 < took < 2.5
        wait_until(lambda: pid_gone(a["pid"]), 3, "timed-out instance killed")
        _, b = f.invoke_json("fn")
        assert b["count"] == 1 and b["pid"] != a["pid"]  # cold again: memory lost


def test_exit_gives_runtime_exit_error():
    with Faas([fn_spec("fn")]) as f:
        _, a = f.invoke_json("fn")
        status, h, body = f.invoke("fn", {"op": "exit", "code": 3})
        assert status == 200 and h["x-amz-function-error"] == "Unhandled"
        err = json.loads(body)
        assert err["errorType"] == "Runtime.ExitError"
        assert err["errorMessage"].endswith("Runtime exited with error: exit status 3")
        wait_until(lambda: pid_gone(a["pid"]), 3, "exited instance gone")
        _, b = f.invoke_json("fn")
        assert b["count"] == 1


def test_function_error_posted_by_runtime():
    with Faas([fn_spec("fn")]) as f:
        status, h, body = f.invoke("fn", {"op": "error"})
        assert status == 200 and h["x-amz-function-error"] == "Unhandled"
        assert json.loads(body)["errorType"] == "TestError"
        _, b = f.invoke_json("fn")  # the instance survives a handled error
        assert b["count"] == 2


def test_init_error():
    with Faas([fn_spec("fn") + " env:FAAS_TESTFN_INIT_ERROR=1"]) as f:
        status, h, body = f.invoke("fn")
        assert status == 200 and h["x-amz-function-error"] == "Unhandled"
        assert json.loads(body)["errorType"] == "TestInitError"


def test_over_memory_is_killed():
    with Faas([fn_spec("fn", memory=48)], ["--tick", "10ms"]) as f:
        _, a = f.invoke_json("fn")
        status, h, body = f.invoke("fn", {"op": "alloc", "mb": 96, "hold_ms": 3000})
        assert status == 200 and h["x-amz-function-error"] == "Unhandled"
        assert json.loads(body)["errorType"] == "Runtime.OutOfMemory"
        wait_until(lambda: pid_gone(a["pid"]), 3, "over-memory instance killed")
        assert "over the memory size" in f.read_log()


def test_runtime_environment():
    with Faas([fn_spec("node-*", memory=256)]) as f:
        _, a = f.invoke_json("node-7")
        assert a["function"] == "node-7"
        env = open("/proc/%d/environ" % a["pid"], "rb").read().split(b"\0")
        env = dict(e.decode().split("=", 1) for e in env if b"=" in e)
        inst = f.instances("node-7")[0]
        assert env["AWS_LAMBDA_RUNTIME_API"] == inst["runtime_api"]
        assert env["AWS_LAMBDA_FUNCTION_NAME"] == "node-7"
        assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
        assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
        for k in ("AWS_REGION", "_HANDLER", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_LOG_GROUP_NAME",
                  "AWS_LAMBDA_LOG_STREAM_NAME"):
            assert env[k]
        # Own process group, own port per instance.
        assert os.getpgid(a["pid"]) == a["pid"]
        _, b = f.invoke_json("node-8")
        assert f.instances("node-8")[0]["runtime_api"] != inst["runtime_api"]
        assert b["pid"] != a["pid"]


def test_sigterm_kills_every_instance():
    f = Faas([fn_spec("fn")])
    try:
        out = {}

        def busy():
            try:
                out["r"] = f.invoke("fn", {"op": "sleep", "ms": 10000}, timeout=10)
            except OSError as e:
                out["r"] = e

        t = threading.Thread(target=busy)
        t.start()
        wait_until(lambda: any(i["state"] == "busy" for i in f.instances("fn")), 3, "a busy instance")
        _, a = f.invoke_json("fn")  # and an idle one
        pids = [i["pid"] for i in f.instances("fn")]
        assert len(pids) == 2
        f.proc.send_signal(signal.SIGTERM)
        assert f.proc.wait(5) == 0
        for pid in pids:
            wait_until(lambda: pid_gone(pid), 3, "instance killed on SIGTERM")
        t.join(5)
        assert not t.is_alive()  # the busy caller got an answer (or a closed connection), no hang
        if isinstance(out["r"], tuple):
            status, h, body = out["r"]
            assert status == 200 and json.loads(body)["errorType"] == "Runtime.ExitError"
        assert "stopped:" in f.read_log()
    finally:
        f.close()


def test_sigkill_of_platform_leaves_no_instance():
    f = Faas([fn_spec("fn")])
    try:
        def sleeper():
            try:
                f.invoke("fn", {"op": "sleep", "ms": 5000}, timeout=10)
            except OSError:
                pass  # the platform is killed under it

        t = threading.Thread(target=sleeper)
        t.daemon = True
        t.start()
        wait_until(lambda: any(i["state"] == "busy" for i in f.instances("fn")), 3, "a busy instance")
        _, a = f.invoke_json("fn")  # a second instance, idle and frozen
        pids = [i["pid"] for i in f.instances("fn")]
        assert len(pids) == 2 and a["pid"] in pids
        wait_until(lambda: proc_state(a["pid"]) == "T", 3, "idle instance frozen")
        f.proc.send_signal(signal.SIGKILL)
        f.proc.wait(5)
        for pid in pids:
            wait_until(lambda: pid_gone(pid), 5, "instance %d gone after SIGKILL of the platform" % pid)
    finally:
        f.close()


def test_help():
    out = subprocess.run([FAAS, "--help"], capture_output=True, text=True, timeout=5)
    assert out.returncode == 0
    for flag in ("--port", "--function", "--idle", "--lifetime", "--random-rate", "--reclaim-mode",
                 "--billing", "--granularity", "--concurrency", "--seed"):
        assert flag in out.stdout
    bad = subprocess.run([FAAS, "--bogus"], capture_output=True, text=True, timeout=5)
    assert bad.returncode != 0


def test_init_timeout():
    with Faas([fn_spec("fn") + " env:FAAS_TESTFN_INIT_SLEEP_MS=5000"], ["--init-timeout", "300ms"]) as f:
        t0 = time.monotonic()
        status, h, body = f.invoke("fn")
        assert time.monotonic() - t0 < 2
        assert status == 200 and h["x-amz-function-error"] == "Unhandled"
        err = json.loads(body)
        assert err["errorType"] == "Sandbox.Timedout" and "Init timed out" in err["errorMessage"]
        wait_until(lambda: f.live("fn") == [], 3, "the instance to be gone")


def test_next_headers():
    with Faas([fn_spec("fn", timeout=7)], ["--region", "eu-west-1", "--account", "123456789012"]) as f:
        before = time.time() * 1000
        h, a = f.invoke_json("fn")
        assert a["request_id"] == h["x-amzn-requestid"]
        assert a["arn"] == "arn:aws:lambda:eu-west-1:123456789012:function:fn"
        assert before + 6000 < int(a["deadline_ms"]) < before + 8000
        assert a["trace"].startswith("Root=1-")


def test_missing_executable():
    with Faas(["fn /nonexistent/dir/bootstrap", "bad /bin/false"]) as f:
        status, h, body = f.invoke("fn")
        assert status == 200 and h["x-amz-function-error"] == "Unhandled"
        assert json.loads(body)["errorType"] == "Runtime.InvalidEntrypoint"
        status, h, body = f.invoke("bad")  # starts, exits before asking for work
        assert status == 200 and json.loads(body)["errorType"] == "Runtime.ExitError"
        assert f.live() == []
