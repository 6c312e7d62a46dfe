"""The tests' SigV4 reference (sigv4.py) against AWS's published
Signature Version 4 test suite: key AKIDEXAMPLE, region us-east-1, service
"service", 2015-08-30T12:36:00Z. Each vector is the request as the suite
gives it (before signing) and the Signature of its signed request; the
post-x-www-form-urlencoded body appears twice, in the 2015 suite's form and
in the aws-c-auth suite's (content-length and x-amz-content-sha256 signed)."""
import hashlib

import pytest

import sigv4

KEY, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
DATE, REGION, SERVICE = "20150830T123600Z", "us-east-1", "service"
HOST = ("Host", "example.amazonaws.com")
STS_TOKEN = ("AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfp"
             "SPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQ"
             "DYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+"
             "scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==")
FORM = b"Param1=value1"

# name, method, target, headers besides Host and X-Amz-Date, body, signature
VECTORS = [
    ("get-vanilla", "GET", "/", [], b"",
     "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    ("post-vanilla", "POST", "/", [], b"",
     "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ("get-vanilla-query-order-key-case", "GET", "/?Param2=value2&Param1=value1", [], b"",
     "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    ("get-vanilla-query-unreserved", "GET",
     "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
     "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", [], b"",
     "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
    ("get-vanilla-empty-query-key", "GET", "/?Param1=value1", [], b"",
     "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"),
    ("post-vanilla-query", "POST", "/?Param1=value1", [], b"",
     "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
    ("get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", [], b"",
     "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
    ("get-utf8", "GET", "/\u1234", [], b"",
     "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
    ("get-header-key-duplicate", "GET", "/",
     [("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")], b"",
     "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
    ("get-header-value-order", "GET", "/",
     [("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"), ("My-Header1", "value2")], b"",
     "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"),
    ("get-header-value-trim", "GET", "/", [("My-Header1", " value1"), ("My-Header2", ' "a   b   c"')], b"",
     "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
    ("post-header-value-case", "POST", "/", [("My-Header1", "VALUE1")], b"",
     "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
    ("get-vanilla-with-session-token", "GET", "/",
     [("X-Amz-Security-Token", "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267")], b"",
     "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"),
    ("post-sts-header-before", "POST", "/", [("X-Amz-Security-Token", STS_TOKEN)], b"",
     "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
    ("post-x-www-form-urlencoded (2015)", "POST", "/",
     [("Content-Type", "application/x-www-form-urlencoded")], FORM,
     "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
    ("post-x-www-form-urlencoded (aws-c-auth)", "POST", "/",
     [("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", "13"),
      ("x-amz-content-sha256", hashlib.sha256(FORM).hexdigest())], FORM,
     "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"),
]


def signed_request(headers):
    return [HOST] + headers + [("X-Amz-Date", DATE)]


@pytest.mark.parametrize("name,method,target,headers,body,signature", VECTORS, ids=[v[0] for v in VECTORS])
def test_published_vector(name, method, target, headers, body, signature):
    sent = signed_request(headers)
    auth = sigv4.authorization(method, target, sent, body, KEY, SECRET, REGION, SERVICE, DATE)
    names = ";".join(sorted({n.lower() for n, _ in sent}))
    assert auth == ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                    "SignedHeaders=%s, Signature=%s" % (names, signature))
    # the checker accepts the signed request as the suite gives it ...
    assert sigv4.check(method, target, sent + [("Authorization", auth)], body, SECRET) == []


def test_checker_refuses_what_differs():
    """... and refuses it once any signed part changes or a signed header is missing."""
    sent = signed_request([("Content-Type", "application/x-www-form-urlencoded")])
    auth = sigv4.authorization("POST", "/", sent, FORM, KEY, SECRET, REGION, SERVICE, DATE)
    ok = sent + [("Authorization", auth)]
    assert sigv4.check("POST", "/", ok, FORM, SECRET) == []
    assert sigv4.check("POST", "/", ok, b"Param1=value2", SECRET)                      # body
    assert sigv4.check("POST", "/", ok, FORM, SECRET[:-1] + "x")                       # secret
    assert sigv4.check("PUT", "/", ok, FORM, SECRET)                                   # method
    assert sigv4.check("POST", "/a", ok, FORM, SECRET)                                 # path
    changed = [(n, "text/plain" if n == "Content-Type" else v) for n, v in ok]
    assert sigv4.check("POST", "/", changed, FORM, SECRET)                              # a signed value
    missing = [(n, v) for n, v in ok if n != "Content-Type"]
    assert any("was not sent" in p for p in sigv4.check("POST", "/", missing, FORM, SECRET))
    assert sigv4.check("POST", "/", sent, FORM, SECRET)                                 # no Authorization
