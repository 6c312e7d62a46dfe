"""fncache-proxy --platform aws, offline: the proxy's invocations go to a
loopback stand-in for the regional Lambda endpoint (LambdaFront) that checks
every request's SigV4 signature with the tests' own implementation
(sigv4.py, itself checked against AWS's vectors in test_sigv4_vectors.py),
refuses a wrong one as Lambda does (403 InvalidSignatureException) and
passes a right one on to a real fncache-faas fleet. So a cache that works
end to end here was signed right on every invocation.

Nodes reach the proxy through a NAT stand-in (Forwarder), at the address
given by --advertise, as Lambda functions reach a proxy's public or VPC
address. Credentials come from the environment, the shared credentials
file, or a stand-in for the EC2 instance metadata service."""
import datetime
import http.client
import http.server
import json
import os
import re
import socket
import subprocess
import threading
import time

import pytest
from pymemcache.exceptions import MemcacheServerError

import faasutil
import sigv4
from faasutil import wait_until
from proxyutil import NODE, PROXY, Proxy, free_port

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE/session+token=="
LAMBDA_PATH = re.compile(r"^/2015-03-31/functions/([A-Za-z0-9_-]+)/invocations$")
NODE_ARGS = ["--nodes", "3", "--ec", "2+1", "--node-memory", "128", "--idle-ms", "300", "--warmup", "0"]


class StandIn:
    """A loopback HTTP server run by a thread: the stand-ins below."""

    def serve(self, handler):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class LambdaFront(StandIn):
    """Loopback HTTP server in front of fncache-faas. check(path, headers,
    body) returns a list of problems; a request with problems gets 403,
    others are forwarded. route(path) names the function (None: 404)."""

    def __init__(self, faas_port, check, route=lambda p: (LAMBDA_PATH.match(p) or [None, None])[1]):
        self.requests = []
        self.lock = threading.Lock()
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def reply(self, status, body, headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = list(self.headers.items())
                problems = check(self.path, headers, body)
                fn = route(self.path)
                with front.lock:
                    front.requests.append(dict(path=self.path, function=fn, headers=headers, body=body,
                                               problems=problems, time=time.time()))
                if problems:
                    msg = json.dumps({"message": "; ".join(problems)}).encode()
                    return self.reply(403, msg, [("x-amzn-ErrorType", "InvalidSignatureException")])
                if fn is None:
                    return self.reply(404, b"{}", [("x-amzn-ErrorType", "ResourceNotFoundException")])
                fwd = {k: v for k, v in headers if k.lower() in ("content-type", "x-amz-invocation-type")}
                conn = http.client.HTTPConnection("127.0.0.1", faas_port, timeout=120)
                try:
                    conn.request("POST", "/2015-03-31/functions/%s/invocations" % fn, body, fwd)
                    r = conn.getresponse()
                    data = r.read()
                    keep = [(k, v) for k, v in r.getheaders()
                            if k.lower() in ("x-amz-function-error", "x-amzn-errortype", "x-amz-executed-version")]
                    self.reply(r.status, data, keep)
                finally:
                    conn.close()

        self.serve(Handler)

    def snapshot(self):
        with self.lock:
            return list(self.requests)



def sigv4_check(secrets):
    """A LambdaFront check: a SigV4 signature right for the key's secret."""
    def check(path, headers, body):
        auth = sigv4.parse_authorization(dict((k.lower(), v) for k, v in headers).get("authorization"))
        if auth is None or auth["key"] not in secrets:
            return ["unknown or missing credentials: %r" % (auth,)]
        return sigv4.check("POST", path, headers, body, secrets[auth["key"]])
    return check


class Forwarder:
    """A NAT between nodes and the proxy: accepts on host:port and splices
    each connection to the proxy's node port."""

    def __init__(self, host, target_port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.address = "%s:%d" % self.sock.getsockname()
        self.target = ("127.0.0.1", target_port)
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                a, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            try:
                b = socket.create_connection(self.target, timeout=5)
            except OSError:
                a.close()
                continue
            b.settimeout(None)
            for src, dst in ((a, b), (b, a)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(1 << 16)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()


def clean_env(**extra):
    """The proxy's environment: no AWS variables or files but those given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "FNCACHE_AUTH"}
    env["HOME"] = "/nonexistent"
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env.update(extra)
    return env


@pytest.fixture
def fleet():
    f = faasutil.Faas(["px-* %s memory=128 timeout=60" % NODE])
    yield f
    f.close()


def aws_proxy(front, region, env, *args):
    """A proxy of --platform aws whose Lambda endpoint is the stand-in."""
    return Proxy("--platform", "aws", "--region", region, "--faas-url", front.url, "--function-prefix", "px-",
                 *NODE_ARGS, *args, env=env)


def exercise(proxy, n=6):
    """Writes and reads back values big and small."""
    c = proxy.client()
    values = {"k%d" % i: os.urandom(100 + 300000 * (i % 2)) for i in range(n)}
    for k, v in values.items():
        assert c.set(k, v), k
    for k, v in values.items():
        assert c.get(k) == v, k
    c.close()


def assert_signed(reqs, key, region, token, signed):
    """Every invocation verified, for region's Lambda, dated now, signing
    exactly the headers expected (each of them sent)."""
    assert reqs, "no invocation reached the endpoint"
    now = datetime.datetime.now(datetime.timezone.utc)
    for r in reqs:
        assert r["problems"] == [], r["problems"]
        h = {k.lower(): v for k, v in r["headers"]}
        auth = sigv4.parse_authorization(h["authorization"])
        assert (auth["key"], auth["region"], auth["service"]) == (key, region, "lambda")
        assert sorted(auth["signed"]) == sorted(signed), auth["signed"]
        when = datetime.datetime.strptime(h["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        assert abs((now - when).total_seconds()) < 300
        assert h.get("x-amz-security-token") == token
        assert h["content-type"] == "application/json" and "expect" not in h
        assert LAMBDA_PATH.match(r["path"]) and r["function"].startswith("px-")


def test_signed_with_env_credentials_and_token_through_nat(fleet):
    node_port = free_port()
    env = clean_env(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=TOKEN)
    with LambdaFront(fleet.port, sigv4_check({KEY: SECRET})) as front, Forwarder("127.0.0.2", node_port) as nat:
        with aws_proxy(front, "eu-west-3", env, "--node-port", str(node_port), "--advertise", nat.address) as px:
            exercise(px)
            assert "signed for eu-west-3 with credentials from environment" in px.read_log()
        reqs = front.snapshot()
        assert {r["function"] for r in reqs} == {"px-0", "px-1", "px-2"}
        assert_signed(reqs, KEY, "eu-west-3", TOKEN, ["content-type", "host", "x-amz-date", "x-amz-security-token"])
        # nodes were told the advertised address, and came through it
        assert all(json.loads(r["body"])["proxy"] == nat.address for r in reqs if b"serve" in r["body"])
        assert nat.connections >= 3


def test_wrong_secret_is_refused(fleet):
    """The stand-in is not lenient: signed with another secret, nothing is stored."""
    env = clean_env(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET[:-1] + "Z")
    with LambdaFront(fleet.port, sigv4_check({KEY: SECRET})) as front:
        with aws_proxy(front, "us-east-1", env) as px:
            with pytest.raises(MemcacheServerError):
                px.client(timeout=20).set("k", b"v")
        reqs = front.snapshot()
        assert reqs and all(any("signature differs" in p for p in r["problems"]) for r in reqs)


def test_shared_credentials_file_profile(fleet, tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text("[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = nope\n\n"
                     "[cache]\naws_access_key_id = AKIDCACHE\naws_secret_access_key = cache/secret+1\n")
    env = clean_env(AWS_SHARED_CREDENTIALS_FILE=str(creds), AWS_PROFILE="cache")
    with LambdaFront(fleet.port, sigv4_check({"AKIDCACHE": "cache/secret+1"})) as front:
        with aws_proxy(front, "ap-southeast-2", env) as px:
            exercise(px, n=2)
            assert "credentials from %s" % creds in px.read_log()
        assert_signed(front.snapshot(), "AKIDCACHE", "ap-southeast-2", None, ["content-type", "host", "x-amz-date"])


class FakeImds(StandIn):
    """The EC2 instance metadata service, IMDSv2: a session token first, then
    the role's name, then its credentials (the next set of `creds` each time)."""

    def __init__(self, creds):
        self.creds, self.served, self.calls = creds, 0, []
        imds = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def answer(self, status, text):
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):
                imds.calls.append(("PUT", self.path, dict(self.headers)))
                if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    return self.answer(200, "imds-session")
                self.answer(400, "")

            def do_GET(self):
                imds.calls.append(("GET", self.path, dict(self.headers)))
                if self.headers.get("X-aws-ec2-metadata-token") != "imds-session":
                    return self.answer(401, "")
                base = "/latest/meta-data/iam/security-credentials/"
                if self.path == base:
                    return self.answer(200, "fncache-proxy-role")
                if self.path == base + "fncache-proxy-role":
                    c = imds.creds[min(imds.served, len(imds.creds) - 1)]
                    imds.served += 1
                    return self.answer(200, json.dumps(dict(Code="Success", Type="AWS-HMAC", **c)))
                self.answer(404, "")

        self.serve(Handler)



def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def test_instance_metadata_credentials_renewed(fleet):
    """On EC2 the instance profile's credentials come from the metadata
    service; 15 minutes before they expire the proxy fetches new ones (on
    the thread pool) and signs with those."""
    first = dict(AccessKeyId="ASIAFIRST", SecretAccessKey="first/secret", Token="token-1",
                 Expiration=iso(time.time() + 15 * 60 + 2))
    second = dict(AccessKeyId="ASIASECOND", SecretAccessKey="second/secret", Token="token-2",
                  Expiration=iso(time.time() + 6 * 3600))
    secrets = {"ASIAFIRST": "first/secret", "ASIASECOND": "second/secret"}
    with FakeImds([first, second]) as imds, LambdaFront(fleet.port, sigv4_check(secrets)) as front:
        env = clean_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url)
        del env["AWS_EC2_METADATA_DISABLED"]
        with aws_proxy(front, "us-east-1", env) as px:
            c = px.client()
            assert c.set("a", b"1")
            wait_until(lambda: imds.served >= 2, 10, "the credentials to be renewed")

            def signed_with_second():
                # nodes go back to sleep after --idle-ms; each get then invokes again
                assert c.get("a") == b"1"
                return any("ASIASECOND" in dict(r["headers"]).get("Authorization", "") for r in front.snapshot())
            # reads further apart than --idle-ms, so the nodes return in between
            wait_until(signed_with_second, 20, "an invocation signed with the new credentials", interval=0.5)
            assert "renewed" in px.read_log()
        reqs = front.snapshot()
        assert all(r["problems"] == [] for r in reqs)
        for r in reqs:
            h = dict(r["headers"])
            assert h["X-Amz-Security-Token"] == ("token-1" if "ASIAFIRST" in h["Authorization"] else "token-2")
        # IMDSv2 only: every GET carried the session token obtained by PUT
        assert imds.calls[0][0] == "PUT" and all(call[2].get("X-aws-ec2-metadata-token") for call in imds.calls if call[0] == "GET")


def test_no_credentials_is_a_clear_error(tmp_path):
    out = subprocess.run([PROXY, "--platform", "aws", "--region", "us-east-1", "-p", str(free_port())],
                         env=clean_env(HOME=str(tmp_path)), capture_output=True, text=True, timeout=10)
    assert out.returncode != 0
    assert "no AWS credentials" in out.stderr and "AWS_ACCESS_KEY_ID" in out.stderr
    assert "%s/.aws/credentials" % tmp_path in out.stderr


def test_default_endpoint_and_flag_checks():
    """Without --faas-url the endpoint is the region's; bad combinations are refused."""
    env = clean_env(AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION="us-west-2")
    # --rebuild off: listing the nodes at start would reach the real endpoint
    with Proxy("--platform", "aws", "--function-prefix", "px-", "--rebuild", "off", *NODE_ARGS, env=env) as px:
        wait_until(lambda: "platform https://lambda.us-west-2.amazonaws.com" in px.read_log(), 5, "the start line")
    for args, words in [(["--platform", "aws"], "needs --region"),
                        (["--platform", "aws", "--region", "us-east-1", "--function-prefix", "a/b"], "plain name"),
                        (["--platform", "http"], "needs --faas-url"),
                        (["--platform", "gcp"], "local, aws or http"),
                        (["--advertise", "proxy.example.com:7000"], "--advertise"),
                        (["--advertise", "10.0.0.5"], "--advertise")]:
        out = subprocess.run([PROXY] + args, env=clean_env(), capture_output=True, text=True, timeout=10)
        assert out.returncode == 2 and words in out.stderr, (args, out.stderr)


def test_http_platform_url_template_and_bearer(fleet):
    """--platform http: any URL with {function} in it, a bearer token from FNCACHE_AUTH."""
    route = lambda p: (re.match(r"^/fn/([a-z0-9-]+)/invoke$", p) or [None, None])[1]
    check = lambda p, h, b: [] if dict(h).get("Authorization") == "Bearer s3cr3t" else ["bad bearer"]
    with LambdaFront(fleet.port, check, route) as front:
        with Proxy("--platform", "http", "--faas-url", front.url + "/fn/{function}/invoke",
                   "--function-prefix", "px-", *NODE_ARGS, env=clean_env(FNCACHE_AUTH="bearer:s3cr3t")) as px:
            exercise(px, n=2)
        reqs = front.snapshot()
        assert reqs and all(r["problems"] == [] and r["function"] for r in reqs)
