#!/usr/bin/env python3
"""Black-box negative tests: every authentication rejection (HTTP 401/403 with a JSON body), malformed and
oversized bodies, missing fields, wrong types, out-of-range values, unknown refs and another tenant's refs.
Every rejection must name the offending field and change nothing: both tenants' balances and meters' token
lists are compared before and after every test.
"""

import base64
import json
import os
import socket
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import nectar_client as nc  # noqa: E402

DRN_A = harness.luhn_drn("4100000001")
DRN_B = harness.luhn_drn("4200000002")


class Negative(harness.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.user_a, cls.cred_a, cls.a = srv.tenant("alice@example.org", credits=50)
        cls.user_b, cls.cred_b, cls.b = srv.tenant("bob@example.org", credits=50)
        cls.cfg_a = harness.upload_config(srv, cls.a, os.path.join(cls.work, "a"), harness.config_text("a"))
        cls.cfg_b = harness.upload_config(srv, cls.b, os.path.join(cls.work, "b"),
                                          harness.config_text("b", vending_key="1122334455667788"))
        cls.tok_a = cls._vend_one(cls.a, cls.cfg_a, DRN_A)
        cls.tok_b = cls._vend_one(cls.b, cls.cfg_b, DRN_B)
        r = cls.b.get("/v1/public_keys")
        assert r.ok(), r
        cls.pk_b = r.data[0]["ref"]
        cls.before = cls.snapshot()

    @classmethod
    def _vend_one(cls, client, cfg, drn):
        r = client.vend({"class": "0", "subclass": "0", "drn": drn, "config_ref": cfg, "amount": 5})
        assert r.ok(), r
        return r.data[0]

    @classmethod
    def snapshot(cls):
        out = {}
        for name, c, drn in (("a", cls.a, DRN_A), ("b", cls.b, DRN_B)):
            cr = c.get("/v1/credits")
            assert cr.ok(), cr
            lst = c.get("/v1/tokens?meter=" + drn)
            assert lst.ok(), lst
            out[name] = (cr.data["credits"], sorted((t["ref"], t["token_no"]) for t in lst.data))
        return out

    def tearDown(self):
        super().tearDown()
        now = self.snapshot()
        if now != self.before:
            type(self).before = now   # report this test only, not every later one
            self.fail("a rejected request changed state: %r" % (now,))

    # --- helpers -----------------------------------------------------------------------------------
    def assert_auth_error(self, r, status):
        self.assertEqual(r.status, status, r)
        self.assertIsInstance(r.json, dict, "auth errors must carry a JSON body: %r" % r)
        self.assertNotIn("data", r.json, r)
        self.assertNotIn(self.cred_a["secret"], r.raw.decode(errors="replace"))

    def assert_field_error(self, r, *fields):
        """An application error in the Nectar envelope whose message names (one spelling of) the field."""
        self.assertIn(r.status, (200, 400), r)
        if r.status == 200:
            self.assertIsNotNone(r.code, r)
            self.assertNotEqual(r.code, 200, r)
        msg = r.message
        self.assertTrue(any(f in msg for f in fields), "message %r names none of %r" % (msg, fields))
        self.assertFalse(r.data, "an error must not carry data: %r" % r)

    def vend_a(self, overrides=None, **fields):
        """A valid class-0 vend for Alice with `fields` replaced (None removes one); `overrides` as in send()."""
        params = {"class": "0", "subclass": "0", "drn": DRN_A, "config_ref": self.cfg_a, "amount": 1}
        for k, v in fields.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = v
        return self.a.vend(params, overrides=overrides)

    # --- authentication ----------------------------------------------------------------------------
    def test_auth_bad_signature(self):
        bogus = base64.b64encode(b"0" * 64).decode()
        self.assert_auth_error(self.a.get("/v1/credits", overrides={"signature": bogus}), 401)
        self.assert_auth_error(self.vend_a(overrides={"signature": bogus}), 401)
        # Signed with the wrong secret.
        self.assert_auth_error(self.a.get("/v1/credits", overrides={"sign_with": "not-the-secret"}), 401)

    def test_auth_unknown_key(self):
        self.assert_auth_error(self.a.get("/v1/credits", overrides={"key": str(uuid.uuid4())}), 401)

    def test_auth_missing_headers(self):
        for h in ("authorization", "md5", "date", "nonce"):
            with self.subTest(missing=h):
                self.assert_auth_error(self.a.get("/v1/credits", overrides={h: None}), 401)
                self.assert_auth_error(self.vend_a(overrides={h: None}), 401)
        self.assert_auth_error(self.a.get("/v1/credits", sign=False), 401)
        self.assert_auth_error(self.a.get("/v1/credits", overrides={"authorization": "Basic Zm9vOmJhcg=="}), 401)
        self.assert_auth_error(self.a.get("/v1/credits", overrides={"authorization": "nectar " + self.cred_a["key"]}),
                               401)

    def test_auth_content_md5_mismatch(self):
        # A valid signature over a Content-MD5 that is not the body's.
        wrong = nc.content_md5(b'{"class":"0"}')
        r = self.vend_a(overrides={"md5": wrong, "sign_with": self.cred_a["secret"]})
        self.assert_auth_error(r, 401)

    def test_auth_replayed_nonce(self):
        date, nonce = nc.format_date("java"), nc.new_nonce()
        ov = {"date": date, "nonce": nonce, "sign_with": self.cred_a["secret"]}
        first = self.a.get("/v1/credits", overrides=ov)
        self.assertTrue(first.ok(), first)
        self.assert_auth_error(self.a.get("/v1/credits", overrides=ov), 401)
        # A replayed vend must neither vend nor charge (tearDown compares balances and token lists).
        ov = {"date": nc.format_date("java"), "nonce": nc.new_nonce(), "sign_with": self.cred_a["secret"]}
        body = self.a.vend_body({"class": "0", "subclass": "0", "drn": DRN_A, "config_ref": self.cfg_a,
                                 "amount": 1, "token_id": "2015-01-01T00:00"})
        r1 = self.a.post("/v1/tokens", body, overrides=ov)
        self.assertEqual(r1.status, 200, r1)   # refused (token_id older than the meter's last TID), not charged
        self.assertNotEqual(r1.code, 200, r1)
        self.assert_auth_error(self.a.post("/v1/tokens", body, overrides=ov), 401)

    def test_auth_date_skew_with_zone(self):
        now = time.time()
        for style, delta in (("java", -20 * 60), ("java", 20 * 60), ("php", -16 * 60), ("php", 3600)):
            with self.subTest(style=style, delta=delta):
                ov = {"date": nc.format_date(style, now + delta), "sign_with": self.cred_a["secret"]}
                self.assert_auth_error(self.a.get("/v1/credits", overrides=ov), 401)
                self.assert_auth_error(self.vend_a(overrides=dict(ov)), 401)

    def test_auth_date_within_window_and_zoneless_accepted(self):
        now = time.time()
        for style, delta in (("java", -10 * 60), ("php", 10 * 60), ("python", -3 * 3600), ("python", 0)):
            with self.subTest(style=style, delta=delta):
                ov = {"date": nc.format_date(style, now + delta), "sign_with": self.cred_a["secret"]}
                r = self.a.get("/v1/credits", overrides=ov)
                self.assertTrue(r.ok(), r)

    def test_auth_both_hex_forms_and_schemes(self):
        """Java strips leading zero nibbles of the HMAC hex (~1 request in 16); both forms must verify."""
        for scheme in ("nectar", "NECTAR", "Nectar"):
            c = nc.NectarClient(self.server.url, self.cred_a["key"], self.cred_a["secret"], scheme=scheme)
            self.assertTrue(c.get("/v1/credits").ok(), scheme)
        for java_hex in (True, False):
            for _ in range(5000):
                date, nonce = nc.format_date("java"), nc.new_nonce()
                sts = nc.string_to_sign("GET", "/v1/credits", nc.EMPTY_MD5, "application/json", date, nonce)
                if base64.b64decode(nc.signature(self.cred_a["secret"], sts)).startswith(b"0"):
                    break
            sig = nc.signature(self.cred_a["secret"], sts, java_hex=java_hex)
            self.assertEqual(len(sig) < 88, java_hex)
            r = self.a.get("/v1/credits", overrides={"date": date, "nonce": nonce, "signature": sig})
            self.assertTrue(r.ok(), ("java_hex=%s refused" % java_hex, r))

    def test_auth_deactivated_credential(self):
        srv = self.server
        cred = srv.create_credential(self.user_a)
        c = srv.client(cred)
        self.assertTrue(c.get("/v1/credits").ok())
        r = self.a.delete("/v1/credentials?ref=" + cred["ref"])
        self.assertTrue(r.ok(), r)
        self.assert_auth_error(c.get("/v1/credits"), 401)
        self.assert_auth_error(c.vend({"class": "0", "subclass": "0", "drn": DRN_A, "config_ref": self.cfg_a,
                                       "amount": 1}), 401)

    def test_auth_missing_permission(self):
        cred = self.server.create_credential(self.user_a, "get_credits")
        c = self.server.client(cred)
        self.assertTrue(c.get("/v1/credits").ok())
        self.assert_auth_error(c.vend({"class": "0", "subclass": "0", "drn": DRN_A, "config_ref": self.cfg_a,
                                       "amount": 1}), 403)
        self.assert_auth_error(c.get("/v1/tokens?ref=" + self.tok_a["ref"]), 403)
        self.assert_auth_error(c.get("/v1/transactions"), 403)

    # --- malformed bodies --------------------------------------------------------------------------
    def test_malformed_json(self):
        for body in (b'{"class":', b"not json", b"[1,2", b'{"class":"0",}', b"\xff\xfe"):
            with self.subTest(body=body):
                r = self.a.post("/v1/tokens", body)
                self.assertIn(r.status, (200, 400), r)
                if r.status == 200:
                    self.assertNotEqual(r.code, 200, r)
                self.assertIsInstance(r.json, dict, r)
        r = self.a.post("/v1/tokens", b"[]")
        self.assertIn(r.status, (200, 400), r)
        self.assertNotEqual(r.code, 200, r)

    def test_oversized_body(self):
        """More than 1 MiB: refused with a JSON error (413), the server stays up."""
        body = json.dumps({"class": "0", "pad": "x" * (1024 * 1024 + 100)}).encode()
        md5 = nc.content_md5(body)
        date, nonce = nc.format_date("java"), nc.new_nonce()
        sig = nc.signature(self.cred_a["secret"], nc.string_to_sign("POST", "/v1/tokens", md5, "application/json",
                                                                    date, nonce))
        head = ("POST /v1/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                "Content-MD5: %s\r\nDate: %s\r\nnonce: %s\r\nAuthorization: nectar %s:%s\r\n"
                "Content-Length: %d\r\n\r\n" % (md5, date, nonce, self.cred_a["key"], sig, len(body))).encode()
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
        try:
            try:
                s.sendall(head + body)
            except (BrokenPipeError, ConnectionResetError):
                pass   # the server may answer and close before reading everything; its answer is what counts
            data = b""
            try:
                while b"\r\n\r\n" not in data or len(data) < data.find(b"\r\n\r\n") + 4 + self._clen(data):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except ConnectionResetError:
                pass
        finally:
            s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), "expected 413, got %r" % data[:300])
        body_part = data.split(b"\r\n\r\n", 1)[1]
        self.assertIsInstance(json.loads(body_part.decode()), dict)
        self.assertTrue(self.a.get("/v1/credits").ok())

    @staticmethod
    def _clen(data):
        head = data.split(b"\r\n\r\n", 1)[0].decode(errors="replace").lower()
        for line in head.split("\r\n"):
            if line.startswith("content-length:"):
                return int(line.split(":", 1)[1])
        return 0

    # --- validation: missing, wrong type, out of range -----------------------------------------------
    def test_missing_fields(self):
        for field, names in (("class", ("class",)), ("subclass", ("subclass",)),
                             ("drn", ("drn", "decoder_reference_number")), ("config_ref", ("config_ref",)),
                             ("amount", ("amount",))):
            for dialect in ("j21", "j24"):
                with self.subTest(field=field, dialect=dialect):
                    self.a.dialect = dialect
                    try:
                        self.assert_field_error(self.vend_a(**{field: None}), *names)
                    finally:
                        self.a.dialect = "j24"
        base = {"class": "2", "drn": DRN_A, "config_ref": self.cfg_a, "random_no": 1, "token_id": None}
        for sub, field in (("0", "maximum_power_limit"), ("1", "register"), ("2", "tariff_rate"), ("5", "pad"),
                           ("6", "mppul"), ("7", "wm_factor")):
            with self.subTest(subclass=sub):
                self.assert_field_error(self.a.vend(dict({k: v for k, v in base.items() if v is not None},
                                                         subclass=sub)), field)
        kct = {"class": "2", "subclass": "3", "drn": DRN_A, "config_ref": self.cfg_a,
               "new_vending_key": "0011223344556677", "new_supply_group_code": "123456", "new_tariff_index": "01",
               "new_key_revision_no": "2", "new_key_type": "2", "new_key_expiry_no": "255", "new_drn": DRN_A,
               "new_issuer_identification_no": "600727", "ro": "0"}
        for field in ("new_vending_key", "new_supply_group_code", "new_key_revision_no"):
            with self.subTest(kct_missing=field):
                self.assert_field_error(self.a.vend({k: v for k, v in kct.items() if k != field}), field)
        r = self.a.post("/v1/tokens/" + self.tok_a["token_no"], {"config_ref": self.cfg_a})
        self.assert_field_error(r, "drn", "decoder_reference_number")
        r = self.a.post("/v1/configurations", {"data": "AAAA", "digest": "AAAA"})
        self.assert_field_error(r, "key")
        r = self.a.post("/v1/public_keys", {"name": "x", "activated": True})
        self.assert_field_error(r, "key")

    def test_wrong_types(self):
        cases = [("class", "x", ("class",)), ("class", [0], ("class",)), ("subclass", {"a": 1}, ("subclass",)),
                 ("amount", "abc", ("amount",)), ("amount", True, ("amount",)), ("random_no", "five", ("random_no",)),
                 ("is_stid", "maybe", ("is_stid",)), ("config_ref", 123, ("config_ref",)),
                 ("drn", ["47500150231"], ("drn", "decoder_reference_number")),
                 ("token_id", 12345, ("token_id",)), ("debug", "perhaps", ("debug",))]
        for field, value, names in cases:
            with self.subTest(field=field, value=value):
                self.assert_field_error(self.vend_a(**{field: value}), *names)

    def test_out_of_range(self):
        cases = [("class", "3", ("class",)), ("class", "-1", ("class",)), ("subclass", "8", ("subclass",)),
                 ("random_no", 16, ("random_no",)), ("random_no", -1, ("random_no",)),
                 ("amount", -1, ("amount",)), ("amount", "1e400", ("amount",)), ("amount", 10 ** 12, ("amount",)),
                 ("drn", "123", ("drn", "decoder_reference_number")),
                 ("drn", "4750015023a", ("drn", "decoder_reference_number")),
                 ("drn", "12345678901234", ("drn", "decoder_reference_number")),
                 ("token_id", "2026-13-45T99:99", ("token_id",)), ("token_id", "yesterday", ("token_id",)),
                 ("token_id", "2001-01-01T00:00", ("token_id",)),   # before the config's base date 2014
                 ("token_id", "2015-01-01T00:00", ("token_id",))]   # older than the meter's last TID
        for field, value, names in cases:
            with self.subTest(field=field, value=value):
                self.assert_field_error(self.vend_a(**{field: value}), *names)
        more = [({"class": "1", "subclass": "0", "control": "1", "manufacturer_code": 100000, "amount": None},
                 "manufacturer_code"),
                ({"class": "1", "subclass": "0", "control": "-5", "manufacturer_code": 1, "amount": None}, "control"),
                ({"class": "2", "subclass": "7", "wm_factor": 70000, "amount": None}, "wm_factor"),
                ({"class": "2", "subclass": "2", "tariff_rate": -2, "amount": None}, "tariff_rate"),
                ({"class": "2", "subclass": "1", "register": "x", "amount": None}, "register")]
        for fields, name in more:
            with self.subTest(field=name):
                self.assert_field_error(self.vend_a(**fields), name)
        kct = {"class": "2", "subclass": "3", "drn": DRN_A, "config_ref": self.cfg_a,
               "new_vending_key": "0011223344556677", "new_supply_group_code": "123456", "new_tariff_index": "01",
               "new_key_revision_no": "2", "new_key_type": "2", "new_key_expiry_no": "255", "new_drn": DRN_A,
               "new_issuer_identification_no": "600727", "ro": "0"}
        for field, value in (("new_vending_key", "xyz"), ("new_vending_key", "00112233"),
                             ("new_key_revision_no", "10"), ("new_key_type", "4"), ("new_key_expiry_no", "256"),
                             ("new_supply_group_code", "12345a"), ("new_issuer_identification_no", "123456"),
                             ("new_drn", "12"), ("ro", "2")):
            with self.subTest(kct_field=field, value=value):
                r = self.a.vend(dict(kct, **{field: value}))
                self.assert_field_error(r, field, field.replace("new_drn", "new_decoder_reference_number"))
                self.assertNotIn("0011223344556677", r.raw.decode(errors="replace"))

    # --- unknown refs and other tenants' refs ---------------------------------------------------------
    def check_all(self, checks):
        """Runs every (label, request thunk, field names) as its own subTest, so one failure hides no other."""
        for label, thunk, names in checks:
            with self.subTest(label):
                self.assert_field_error(thunk(), *names)

    def test_unknown_refs(self):
        unknown = str(uuid.uuid4())
        a = self.a
        self.check_all([
            ("vend config_ref", lambda: self.vend_a(config_ref=unknown), ("config_ref",)),
            ("GET token", lambda: a.get("/v1/tokens?ref=" + unknown), ("ref",)),
            ("GET configuration", lambda: a.get("/v1/configurations?ref=%s&detailed=true" % unknown), ("ref",)),
            ("PUT configuration", lambda: a.put("/v1/configurations?ref=" + unknown), ("ref",)),
            ("PUT public key", lambda: a.put("/v1/public_keys?ref=" + unknown), ("ref",)),
            ("DELETE public key", lambda: a.delete("/v1/public_keys?ref=" + unknown), ("ref",)),
            ("GET credential", lambda: a.get("/v1/credentials?ref=" + unknown), ("ref",)),
            ("PUT credential", lambda: a.put("/v1/credentials?ref=" + unknown), ("ref",)),
            ("decode config_ref", lambda: a.post("/v1/tokens/" + self.tok_a["token_no"],
                                                 {"decoder_reference_number": DRN_A, "config_ref": unknown}),
             ("config_ref",)),
        ])

    def test_other_tenants_refs(self):
        """Bob's refs behave for Alice exactly like refs that do not exist; Bob's things stay as they were."""
        a = self.a
        self.check_all([
            ("vend with Bob's config", lambda: self.vend_a(config_ref=self.cfg_b), ("config_ref",)),
            ("vend with Bob's config and meter", lambda: self.vend_a(config_ref=self.cfg_b, drn=DRN_B),
             ("config_ref",)),
            ("GET Bob's token", lambda: a.get("/v1/tokens?ref=" + self.tok_b["ref"]), ("ref",)),
            ("GET Bob's configuration", lambda: a.get("/v1/configurations?ref=%s&detailed=true" % self.cfg_b),
             ("ref",)),
            ("DELETE Bob's configuration", lambda: a.delete("/v1/configurations?ref=" + self.cfg_b), ("ref",)),
            ("DELETE Bob's public key", lambda: a.delete("/v1/public_keys?ref=" + self.pk_b), ("ref",)),
            ("GET Bob's credential", lambda: a.get("/v1/credentials?ref=" + self.cred_b["ref"]), ("ref",)),
            ("DELETE Bob's credential", lambda: a.delete("/v1/credentials?ref=" + self.cred_b["ref"]), ("ref",)),
            ("decode with Bob's config", lambda: a.post("/v1/tokens/" + self.tok_b["token_no"],
                                                        {"decoder_reference_number": DRN_B,
                                                         "config_ref": self.cfg_b}), ("config_ref",)),
        ])
        r = a.get("/v1/tokens?ref=" + self.tok_b["ref"])
        self.assertNotIn(self.tok_b["token_no"], r.raw.decode())
        r = a.get("/v1/credentials?ref=" + self.cred_b["ref"])
        self.assertNotIn(self.cred_b["secret"], r.raw.decode())
        lst = a.get("/v1/tokens?meter=" + DRN_B)
        if lst.ok():
            self.assertEqual(lst.data, [], lst)
        else:
            self.assert_field_error(lst, "meter", "drn")
        # Bob's credential, key and config still work.
        self.assertTrue(self.b.get("/v1/credits").ok())
        keys = self.b.get("/v1/public_keys")
        self.assertTrue(any(k["ref"] == self.pk_b and k["activated"] is True for k in keys.data), keys)
        g = self.b.get("/v1/configurations?ref=%s&detailed=false" % self.cfg_b)
        self.assertTrue(g.ok() and g.data["activated"] is True, g)
        own = a.get("/v1/tokens?ref=" + self.tok_a["ref"])
        self.assertTrue(own.ok(), own)

    def test_insufficient_credits(self):
        user, cred, c = self.server.tenant("carol@example.org", credits=None)
        cfg = harness.upload_config(self.server, c, os.path.join(self.work, "c"), harness.config_text("c"))
        drn = harness.luhn_drn("4300000003")
        r = c.vend({"class": "0", "subclass": "0", "drn": drn, "config_ref": cfg, "amount": 1})
        self.assert_field_error(r, "credits", "Insufficient")
        lst = c.get("/v1/tokens?meter=" + drn)
        self.assertTrue(not lst.ok() or lst.data == [], lst)
        cr = c.get("/v1/credits")
        self.assertEqual(float(cr.data["credits"]), 0.0, cr)


if __name__ == "__main__":
    harness.main()
