"""AWS Signature Version 4, written from the published algorithm with hashlib
and hmac only, as the tests' reference for what libcurl's CURLOPT_AWS_SIGV4
sends. test_sigv4_vectors.py checks it against AWS's own test-suite vectors;
test_aws.py uses it on the requests the proxy makes.

Only header signing (the Authorization header), the form Lambda's Invoke API
uses. The canonical URI is the request path encoded once, as for every
service but S3 when the path holds only plain characters."""
import hashlib
import hmac
import re
import urllib.parse

ALGORITHM = "AWS4-HMAC-SHA256"
UNRESERVED = "-_.~"


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret, day, region, service):
    k = _hmac(("AWS4" + secret).encode(), day)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def canonical_uri(path):
    return urllib.parse.quote(path or "/", safe="/" + UNRESERVED)


def canonical_query(query):
    pairs = []
    for part in query.split("&") if query else []:
        k, _, v = part.partition("=")
        pairs.append((urllib.parse.quote(urllib.parse.unquote(k), safe=UNRESERVED),
                      urllib.parse.quote(urllib.parse.unquote(v), safe=UNRESERVED)))
    return "&".join("%s=%s" % kv for kv in sorted(pairs))


def canonical_headers(headers, signed):
    """headers: [(name, value)] as sent, duplicates in order; signed: the
    lower-case names to sign. Values trimmed, inner runs of spaces made one,
    duplicates joined with commas."""
    values = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(re.sub(" +", " ", value.strip()))
    return "".join("%s:%s\n" % (n, ",".join(values[n])) for n in signed)


def canonical_request(method, target, headers, signed, body):
    path, _, query = target.partition("?")
    return "\n".join([method, canonical_uri(path), canonical_query(query),
                      canonical_headers(headers, signed), ";".join(signed),
                      hashlib.sha256(body).hexdigest()])


def string_to_sign(amz_date, scope, creq):
    return "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()])


def authorization(method, target, headers, body, key, secret, region, service, amz_date, signed=None):
    """The Authorization header value for a request whose headers (including
    Host and X-Amz-Date, and X-Amz-Security-Token when there is one) are
    given; by default every given header is signed."""
    if signed is None:
        signed = sorted({n.lower() for n, _ in headers})
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    creq = canonical_request(method, target, headers, signed, body)
    sig = hmac.new(signing_key(secret, amz_date[:8], region, service),
                   string_to_sign(amz_date, scope, creq).encode(), hashlib.sha256).hexdigest()
    return "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (ALGORITHM, key, scope, ";".join(signed), sig)


AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                     r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$")


def parse_authorization(value):
    """{key, day, region, service, signed: [names], signature} or None."""
    m = AUTH_RE.match(value or "")
    if m is None:
        return None
    return dict(key=m[1], day=m[2], region=m[3], service=m[4], signed=m[5].split(";"), signature=m[6])


def check(method, target, headers, body, secret):
    """Checks a received request's Authorization header against this
    module's computation with its own X-Amz-Date. Returns a list of
    problems (empty when the signature is right)."""
    problems = []
    lower = {}
    for n, v in headers:
        lower.setdefault(n.lower(), v)
    auth = parse_authorization(lower.get("authorization"))
    if auth is None:
        return ["no SigV4 Authorization header: %r" % lower.get("authorization")]
    for name in auth["signed"]:
        if name not in lower:
            problems.append("signed header %s was not sent" % name)
    if auth["signed"] != sorted(auth["signed"]):
        problems.append("SignedHeaders not sorted: %s" % auth["signed"])
    amz_date = lower.get("x-amz-date", "")
    if amz_date[:8] != auth["day"]:
        problems.append("X-Amz-Date %r does not match the credential day %s" % (amz_date, auth["day"]))
    if problems:
        return problems
    expected = authorization(method, target, headers, body, auth["key"], secret, auth["region"],
                             auth["service"], amz_date, signed=auth["signed"])
    if expected != lower["authorization"]:
        problems.append("signature differs:\n sent     %s\n expected %s\n canonical request:\n%s" % (
            lower["authorization"], expected,
            canonical_request(method, target, headers, auth["signed"], body)))
    return problems
