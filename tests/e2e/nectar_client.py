"""A small Nectar API v1 signing client (NECTAR-V1 §2), standard library only.

It signs exactly as the SDKs do, with switches for each SDK's quirks: the Java hex form with leading
zero nibbles dropped (J21/J24, GW), Java/PHP/Python `Date` formats, the `nectar`/`NECTAR` scheme word,
and the J21 (`drn`, single object) or J24 (`decoder_reference_number`, array) request dialect.
`self_check()` pins the signer to the §2.9 worked example; the e2e tests call it before anything else.
"""

import base64
import hashlib
import hmac
import http.client
import json
import secrets
import time
import urllib.parse

EMPTY_MD5 = "D41D8CD98F00B204E9800998ECF8427E"


def content_md5(body: bytes) -> str:
    """Uppercase hex MD5 of the raw body bytes (§2.2, §2.4)."""
    return hashlib.md5(body).hexdigest().upper()


def string_to_sign(method: str, path: str, md5: str, ctype: str, date: str, nonce: str) -> str:
    """METHOD + PATH + CONTENT_MD5 + CONTENT_TYPE + DATE + NONCE, no separators; the path carries no query."""
    return method.upper() + path.split("?", 1)[0] + md5 + ctype + date + nonce


def signature(secret: str, sts: str, java_hex: bool = False) -> str:
    """Base64 of the lowercase hex HMAC-SHA256 text (§2.3). Java's BigInteger.toString(16) drops leading zeros."""
    hexmac = hmac.new(secret.encode("utf-8"), sts.encode("utf-8"), hashlib.sha256).hexdigest()
    if java_hex:
        hexmac = hexmac.lstrip("0") or "0"
    return base64.b64encode(hexmac.encode("ascii")).decode("ascii")


def format_date(style: str, when: float = None) -> str:
    """The Date header as each SDK writes it (§2.1), in UTC so the server's skew check can parse it."""
    t = time.gmtime(time.time() if when is None else when)
    if style == "java":      # Date.toString(): "Sun Nov 22 23:10:03 UTC 2026"
        return time.strftime("%a %b %d %H:%M:%S UTC %Y", t)
    if style == "php":       # date('D, j M Y G:i:s T'): no leading zero on day and hour
        return "%s, %d %s %d %d:%s UTC" % (time.strftime("%a", t), t.tm_mday, time.strftime("%b", t),
                                            t.tm_year, t.tm_hour, time.strftime("%M:%S", t))
    if style == "python":    # strftime("%a, %d %b %Y %H:%M:%S"): no zone at all
        return time.strftime("%a, %d %b %Y %H:%M:%S", t)
    raise ValueError("unknown date style " + style)


def new_nonce(style: str = "java") -> str:
    """32 hex digits (Java, PHP) or 30 (Python SDK)."""
    return secrets.token_hex(15) if style == "python" else secrets.token_hex(16)


class Response:
    def __init__(self, status: int, headers, raw: bytes):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw.decode("utf-8")) if raw else None
        except (ValueError, UnicodeDecodeError):
            self.json = None

    @property
    def code(self):
        """status.code of the Nectar envelope, or None for a non-envelope body."""
        if isinstance(self.json, dict) and isinstance(self.json.get("status"), dict):
            return self.json["status"].get("code")
        return None

    @property
    def message(self) -> str:
        if isinstance(self.json, dict):
            st = self.json.get("status")
            if isinstance(st, dict):
                return str(st.get("message", ""))
            return str(self.json.get("message", ""))
        return self.raw.decode("utf-8", "replace")

    @property
    def data(self):
        """data.data of the envelope (None if absent)."""
        if isinstance(self.json, dict) and isinstance(self.json.get("data"), dict):
            return self.json["data"].get("data")
        return None

    def ok(self) -> bool:
        return self.status == 200 and self.code == 200

    def __repr__(self):
        return "Response(http=%d, body=%s)" % (self.status, self.raw[:600].decode("utf-8", "replace"))


class NectarClient:
    """Signs and sends requests to one server. Not thread-safe: give each thread its own client."""

    def __init__(self, base_url: str, key: str, secret: str, dialect: str = "j24", scheme: str = "nectar",
                 java_hex: bool = False, date_style: str = "java", timeout: float = 30.0, ssl_context=None):
        u = urllib.parse.urlsplit(base_url)
        self.https = u.scheme == "https"
        self.host, self.port = u.hostname, u.port or (443 if self.https else 80)
        # A base URL with a path (a reverse proxy's prefix): requests go to prefix + path, and the
        # signature covers the path alone, as the SDKs build it.
        self.prefix = u.path.rstrip("/")
        self.ssl_context = ssl_context  # for https: e.g. one trusting a test's self-signed certificate
        self.key, self.secret = key, secret
        self.dialect, self.scheme, self.java_hex, self.date_style = dialect, scheme, java_hex, date_style
        self.timeout = timeout
        self.content_type = "application/json"

    # --- raw transport -------------------------------------------------------------------------------
    def send(self, method: str, path: str, body=b"", headers=None, sign: bool = True, overrides=None):
        """Sends one request. `body` may be bytes, str or a JSON-able object (compact, like org.json).
        `overrides` replaces signing inputs/headers after signing (for negative tests): keys
        md5, date, nonce, signature, key, scheme, content_type, authorization (None removes the header)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":")).encode("utf-8")
        elif isinstance(body, str):
            body = body.encode("utf-8")
        overrides = overrides or {}
        hdrs = {"Content-Type": overrides.get("content_type", self.content_type)}
        if sign:
            md5 = content_md5(body)
            date = format_date(self.date_style)
            nonce = new_nonce(self.date_style)
            sig = signature(self.secret, string_to_sign(method, path, md5, self.content_type, date, nonce),
                            self.java_hex)
            md5 = overrides.get("md5", md5)
            date = overrides.get("date", date)
            nonce = overrides.get("nonce", nonce)
            if "sign_with" in overrides:   # re-sign with the overridden inputs (valid signature, bad fields)
                sig = signature(overrides["sign_with"], string_to_sign(method, path, md5, hdrs["Content-Type"],
                                                                       date, nonce), self.java_hex)
            sig = overrides.get("signature", sig)
            auth = "%s %s:%s" % (overrides.get("scheme", self.scheme), overrides.get("key", self.key), sig)
            hdrs.update({"Content-MD5": md5, "Date": date, "nonce": nonce})
            hdrs["Authorization"] = overrides.get("authorization", auth)
        for k, v in (headers or {}).items():
            hdrs[k] = v
        hdrs = {k: v for k, v in hdrs.items() if v is not None}
        if self.https:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self.ssl_context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, self.prefix + path, body=body if (body or method in ("POST", "PUT")) else None, headers=hdrs)
            r = conn.getresponse()
            return Response(r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.send("GET", path, b"", **kw)

    def post(self, path, body, **kw):
        return self.send("POST", path, body, **kw)

    def put(self, path, **kw):
        return self.send("PUT", path, b"", **kw)

    def delete(self, path, **kw):
        return self.send("DELETE", path, b"", **kw)

    # --- dialect helpers -----------------------------------------------------------------------------
    def vend_body(self, params: dict) -> dict:
        """Renames the DRN fields for the dialect; J24 also sends `type: native`."""
        body = dict(params)
        drn_name = "drn" if self.dialect == "j21" else "decoder_reference_number"
        new_drn_name = "new_drn" if self.dialect == "j21" else "new_decoder_reference_number"
        if "drn" in body:
            body[drn_name] = body.pop("drn")
        if "new_drn" in body:
            body[new_drn_name] = body.pop("new_drn")
        if self.dialect == "j24":
            body.setdefault("type", "native")
        return body

    def vend(self, params: dict, idempotency_key: str = None, **kw):
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self.post("/v1/tokens", self.vend_body(params), headers=headers, **kw)

    def tokens_of(self, resp):
        """The token list of a vend response in either shape."""
        d = resp.data
        if isinstance(d, list):
            return d
        if isinstance(d, dict):
            return [d]
        return []


def self_check():
    """NECTAR-V1 §2.9, value by value. Raises AssertionError on any difference."""
    secret = "3f9a7c21-6b54-4d8e-a0f3-7e2d19c4b856"
    date = "Sun Nov 22 23:10:03 UTC 2026"
    body = (b'{"class":"2","subclass":"7","token_id":"2026-11-22T23:10","wm_factor":10,"random_no":5,'
            b'"is_stid":false,"drn":"47500150231","config_ref":"cbf43d1f-8c2d-44a0-95a9-9c3c13ec846c",'
            b'"debug":false}')
    assert len(body) == 189, len(body)
    md5 = content_md5(body)
    assert md5 == "C3EAEEBB40D4747D9F39C1ED90F12A31", md5
    sts = string_to_sign("POST", "/v1/tokens", md5, "application/json", date, "5f1c9a3e7b2d4c6a8e0f1a2b3c4d5e6f")
    assert sts == ("POST/v1/tokensC3EAEEBB40D4747D9F39C1ED90F12A31application/jsonSun Nov 22 23:10:03 UTC 2026"
                   "5f1c9a3e7b2d4c6a8e0f1a2b3c4d5e6f"), sts
    sig = "NjNkMGUxODZhZmYxMDA4ZWEwNjdiM2MxZjdhZmRmYzNiNTljNjg2NDYyOGE4Yjk1YWU1ZmM4NmQ2YTNmYzRjMQ=="
    assert signature(secret, sts) == sig
    assert signature(secret, sts, java_hex=True) == sig
    assert content_md5(b"") == EMPTY_MD5
    sts = string_to_sign("GET", "/v1/tokens?ref=abc", EMPTY_MD5, "application/json", date,
                         "5f1c9a3e7b2d4c6a8e0f1a2b3c4d5e6f")
    assert signature(secret, sts) == \
        "ODhiMTJkYjI3NzNmNGY0Y2JmODNhNWUwNmZkYTIwNjlkMDQ0ZGJkN2NhYzk5NzFmZmQzZWU3MDQ2YmU3YTNkYw=="
    sts = string_to_sign("GET", "/v1/tokens", EMPTY_MD5, "application/json", date, "5f1c9a3e7b2d4c6a8e0f1a2b3c4d5e0f")
    assert signature(secret, sts, java_hex=True) == \
        "M2E3MGM4NWVmYzRjNTJhYTAzYzJmMjRjOTE3NTQ0OWVmNmIyMDg2MGQ5MTE3ZTI1ZjRiZmUxNzc4ZmJkMmIx"
    assert signature(secret, sts) == \
        "MDNhNzBjODVlZmM0YzUyYWEwM2MyZjI0YzkxNzU0NDllZjZiMjA4NjBkOTExN2UyNWY0YmZlMTc3OGZiZDJiMQ=="
    # Date formats: day and hour without leading zeros in PHP, none of the three reformatted later.
    when = 1796099403.0  # 2026-12-01T04:30:03Z
    assert format_date("java", when) == "Tue Dec 01 04:30:03 UTC 2026", format_date("java", when)
    assert format_date("php", when) == "Tue, 1 Dec 2026 4:30:03 UTC", format_date("php", when)
    assert format_date("python", when) == "Tue, 01 Dec 2026 04:30:03", format_date("python", when)
    assert len(new_nonce("java")) == 32 and len(new_nonce("python")) == 30


if __name__ == "__main__":
    self_check()
    print("nectar_client self check: ok")
