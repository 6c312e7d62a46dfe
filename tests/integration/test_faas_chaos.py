"""fncache-faas under a mixed, concurrent load with reclamation, crashes and throttling:
every caller gets a well-formed answer and the platform exits cleanly."""
import json
import random
import threading
import time

import pytest

from faasutil import Faas, fn_spec, pid_gone, wait_until

OPS = [
    {"op": "count"}, {"op": "count"}, {"op": "count"},
    {"op": "sleep", "ms": 30}, {"op": "exit", "code": 1}, {"op": "error"},
    {"op": "sleep", "ms": 1500},  # over the 1 s timeout
]


@pytest.mark.parametrize("mode", ["kill", "vanish"])
def test_chaos(mode):
    args = ["--tick", "10ms", "--idle", "150ms", "--random-rate", "36000", "--seed", "11",
            "--lifetime", "400ms", "--reclaim-mode", mode, "--linger", "200ms", "--concurrency", "8"]
    with Faas([fn_spec("a", timeout=1), fn_spec("b", timeout=1, concurrency=2)], args) as f:
        stop = time.monotonic() + 2.5
        errors, counts = [], {}
        lock = threading.Lock()

        def caller(seed):
            rnd = random.Random(seed)
            while time.monotonic() < stop:
                fn = rnd.choice("ab")
                op = rnd.choice(OPS)
                kind = "Event" if rnd.random() < 0.02 else None
                try:
                    status, h, body = f.invoke(fn, op, type=kind, keepalive=False, timeout=10)
                except Exception as e:  # noqa: BLE001 - report any transport failure
                    with lock:
                        errors.append(repr(e))
                    continue
                with lock:
                    counts[status] = counts.get(status, 0) + 1
                    if status == 200:
                        j = json.loads(body)
                        if "x-amz-function-error" in h:
                            if j["errorType"] not in ("Runtime.ExitError", "Sandbox.Timedout", "TestError"):
                                errors.append(j)
                        elif "count" not in j:
                            errors.append(j)
                    elif status == 429:
                        if h["x-amzn-errortype"] != "TooManyRequestsException":
                            errors.append(h)
                    elif status != 202:
                        errors.append((status, body))
                if status == 429:
                    time.sleep(0.01)  # back off, as SDKs do

        threads = [threading.Thread(target=caller, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(15)
        assert not errors, errors[:5]
        assert counts.get(200, 0) > 20, counts
        # Everything settles: once idle, instances are reclaimed and, in vanish
        # mode, killed after the linger time.
        wait_until(lambda: all(i["state"] != "busy" for i in f.instances()), 5, "no busy instance")
        _, bill = f.control("billing")
        assert bill["invocations"] >= counts.get(200, 0)
        pids = [i["pid"] for i in f.instances()]
    for pid in pids:
        wait_until(lambda: pid_gone(pid), 5, "instances gone after shutdown")
