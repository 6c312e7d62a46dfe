"""fncache-faas Invoke API and Runtime API: status codes, AWS error bodies, limits, signatures."""
import base64
import http.client
import json
import os
import subprocess
import threading
import urllib.parse

from faasutil import FAAS, INVOKE, ROOT, TESTFN, Faas, decode_tail, fn_spec, wait_until


def test_unknown_function_404():
    with Faas([fn_spec("fn")]) as f:
        status, h, body = f.invoke("nope")
        assert status == 404
        assert h["x-amzn-errortype"] == "ResourceNotFoundException"
        assert h["x-amzn-requestid"]
        assert json.loads(body)["message"].endswith("function:nope")


def test_bad_json_400():
    with Faas([fn_spec("fn")]) as f:
        status, h, body = f.invoke("fn", raw=b"{not json")
        assert status == 400
        assert h["x-amzn-errortype"] == "InvalidRequestContentException"
        assert json.loads(body)["Type"] == "User"


def test_payload_too_large_413():
    with Faas([fn_spec("fn")]) as f:
        status, h, _ = f.invoke("fn", raw=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
        assert status == 413 and h["x-amzn-errortype"] == "RequestTooLargeException"
        status, h, _ = f.invoke("fn", raw=b'"' + b"x" * (1024 * 1024) + b'"', type="Event")
        assert status == 413 and h["x-amzn-errortype"] == "RequestTooLargeException"
        status, _, _ = f.invoke("fn", raw=b'"' + b"x" * (900 * 1024) + b'"', type="Event")
        assert status == 202


def test_event_202_then_runs():
    with Faas([fn_spec("fn")]) as f:
        status, h, body = f.invoke("fn", {"op": "count"}, type="Event")
        assert status == 202 and body == b"" and h["x-amzn-requestid"]
        wait_until(lambda: any(i["state"] == "idle" and i["invocations"] == 1 for i in f.instances("fn")),
                   5, "the event to run")
        _, b = f.invoke_json("fn")
        assert b["count"] == 2


def test_dry_run_204():
    with Faas([fn_spec("fn")]) as f:
        status, _, body = f.invoke("fn", type="DryRun")
        assert status == 204 and body == b""
        assert f.instances("fn") == []
        status, h, _ = f.invoke("fn", type="Bogus")
        assert status == 400


def test_concurrency_caps_429():
    with Faas([fn_spec("one", concurrency=1), fn_spec("other")], ["--concurrency", "2"]) as f:
        t = threading.Thread(target=lambda: f.invoke("one", {"op": "sleep", "ms": 1500}))
        t.start()
        wait_until(lambda: any(i["state"] == "busy" for i in f.instances("one")), 3, "busy instance")
        status, h, body = f.invoke("one")
        assert status == 429 and h["x-amzn-errortype"] == "TooManyRequestsException"
        assert json.loads(body)["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        # Global cap: 'other' may take the second slot, then nothing more.
        t2 = threading.Thread(target=lambda: f.invoke("other", {"op": "sleep", "ms": 1500}))
        t2.start()
        wait_until(lambda: any(i["state"] == "busy" for i in f.instances("other")), 3, "busy other")
        status, h, body = f.invoke("other")
        assert status == 429
        assert json.loads(body)["Reason"] == "ConcurrentInvocationLimitExceeded"
        # Event invocations are queued, not throttled.
        status, _, _ = f.invoke("one", type="Event")
        assert status == 202
        t.join(10)
        t2.join(10)
        _, bill = f.control("billing")
        assert bill["throttles"] == 2
        wait_until(lambda: f.control("billing")[1]["functions"]["one"]["invocations"] == 2, 5,
                   "the queued event to run")


def test_sigv4_2mb_with_expect_continue_no_stall():
    with Faas([fn_spec("fn")]) as f:
        out = subprocess.run([INVOKE, "-s", "-n", "2000000", "http://127.0.0.1:%d" % f.port, "fn"],
                             capture_output=True, text=True, timeout=20)
        assert out.returncode == 0, out.stderr
        head, body = out.stdout.split("\n", 1)
        fields = dict(kv.split("=") for kv in head.split())
        assert fields["status"] == "200"
        assert fields["expect"] == "1" and fields["continue"] == "1"
        assert float(fields["seconds"]) < 0.9  # no 1 s Expect stall
        assert json.loads(body)["len"] == 2000000


def test_tail_logs():
    with Faas([fn_spec("fn")]) as f:
        status, h, _ = f.invoke("fn", {"op": "log", "text": "hello from the function"}, tail=True)
        assert status == 200
        log = decode_tail(h)
        assert "hello from the function" in log
        assert log.startswith("START RequestId: " + h["x-amzn-requestid"])
        assert "END RequestId" in log and "REPORT RequestId" in log and "Billed Duration" in log
        _, h2, _ = f.invoke("fn", {"op": "count"}, tail=True)
        assert "hello from the function" not in decode_tail(h2)  # only this invocation's output
        _, h3, _ = f.invoke("fn", {"op": "log", "text": "y" * 6000}, tail=True)
        log = decode_tail(h3)
        assert len(log) == 4096 and log.startswith("yyy") and "REPORT RequestId" in log  # last 4 KB
        _, h4, _ = f.invoke("fn", {"op": "count"})
        assert "x-amz-log-result" not in h4


def test_function_name_forms():
    with Faas([fn_spec("fn")]) as f:
        arn = urllib.parse.quote("arn:aws:lambda:us-east-1:000000000000:function:fn", safe="")
        for name in (arn, "fn:%24LATEST", "000000000000:function:fn"):
            status, _, body = f.invoke(name)
            assert status == 200, (name, body)


def test_keepalive_and_unknown_path():
    with Faas([fn_spec("fn")]) as f:
        for i in range(1, 20):
            _, a = f.invoke_json("fn", keepalive=True)
            assert a["count"] == i
        status, h, _ = f.request("GET", "/2015-03-31/functions/fn/configuration")
        assert status == 404 and h["x-amzn-errortype"]


def test_runtime_api_rejects_wrong_request_id():
    with Faas([fn_spec("fn")]) as f:
        f.invoke_json("fn")
        api = f.instances("fn")[0]["runtime_api"]
        host, port = api.split(":")
        c = http.client.HTTPConnection(host, int(port), timeout=5)
        c.request("POST", "/2018-06-01/runtime/invocation/not-a-request/response", body=b"{}")
        r = c.getresponse()
        assert r.status == 400
        assert json.loads(r.read())["errorType"] == "InvalidRequestID"
        c.request("GET", "/2018-06-01/runtime/nothing")
        r = c.getresponse()
        assert r.status == 404
        r.read()
        c.close()


def test_client_context_passed_to_runtime():
    with Faas([fn_spec("fn")]) as f:
        ctx = {"custom": {"who": "test"}}
        b64 = base64.b64encode(json.dumps(ctx).encode()).decode()
        status, _, body = f.request("POST", "/2015-03-31/functions/fn/invocations", b"{}",
                                    {"X-Amz-Client-Context": b64})
        assert status == 200
        assert json.loads(json.loads(body)["client_context"]) == ctx
        status, h, _ = f.request("POST", "/2015-03-31/functions/fn/invocations", b"{}",
                                 {"X-Amz-Client-Context": "not base64!"})
        assert status == 400 and h["x-amzn-errortype"] == "InvalidRequestContentException"
        _, a = f.invoke_json("fn")
        assert a["client_context"] == ""


def test_response_too_large():
    with Faas([fn_spec("fn")]) as f:
        status, h, body = f.invoke("fn", {"op": "big", "bytes": 5 * 1024 * 1024})
        assert status == 200 and "x-amz-function-error" not in h and len(body) == 5 * 1024 * 1024 + 2
        status, h, body = f.invoke("fn", {"op": "big", "bytes": 7 * 1024 * 1024})
        assert status == 200 and h["x-amz-function-error"] == "Unhandled"
        assert json.loads(body)["errorType"] == "Function.ResponseSizeTooLarge"
        _, a = f.invoke_json("fn")  # the instance lives on
        assert a["count"] == 3


def test_config_file_with_relative_path(tmp_path):
    conf = tmp_path / "functions.conf"
    rel = os.path.relpath(TESTFN, ROOT)
    conf.write_text("# test config\n\nfromfile %s memory=64 timeout=2\nfam-* %s\n" % (rel, rel))
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        f = Faas([], ["-f", str(conf)])
    finally:
        os.chdir(cwd)
    with f:
        _, a = f.invoke_json("fromfile")
        assert a["count"] == 1
        assert f.instances("fromfile")[0]["memory_mb"] == 64
        _, b = f.invoke_json("fam-1")
        assert b["function"] == "fam-1"
    bad = tmp_path / "bad.conf"
    bad.write_text("x %s bogus=1\n" % rel)
    out = subprocess.run([FAAS, "-f", str(bad)], capture_output=True, text=True, timeout=5)
    assert out.returncode == 2 and "bad.conf:1" in out.stderr
