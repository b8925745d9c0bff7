#!/usr/bin/env python3
"""The seeds' "Nectar API for Production Systems" walkthrough, done literally against a real `stsvend serve`.

openssl genrsa 4096, the seed's AES key and IV, its `openssl enc`/`base64`/`rsautl` pipeline, the public key
uploaded as bare base64 SPKI, POST /v1/configurations, then every token type in both wire dialects (J21 `drn`
→ one object, J24 `decoder_reference_number` → array), each token checked against the engine CLI twice:
regenerated from the same inputs (exact token number) and decoded (class, subclass, TID, amount). Finally the
balance and transactions: decimals on the wire and one consumption per token.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

# The seed's config text, byte for byte (including the trailing space after the name), except where noted.
SEED_CONFIG = """name: example_config 
key_expiry_no: 255
encryption_algorithm: sta
token_carrier_type: numeric
decoder_key_generation_algorithm: 04
tariff_index: 01
key_revision_no: 1
vending_key: 0123456789abcdef
supply_group_code: 123456
key_type: 3
base_date: 2035
issuer_identification_no: 600727
"""
# The seed's file names DKGA-04 with a 16-hex key (DKGA-04 takes 40) and base date 2035 (its TIDs start in 2035,
# so nothing can be vended today). The runnable variants keep everything else and fix only those lines.
DKGA02_CONFIG = SEED_CONFIG.replace("decoder_key_generation_algorithm: 04", "decoder_key_generation_algorithm: 02") \
                           .replace("base_date: 2035", "base_date: 2014")
MISTY_VK = "abababababababab949494949494949401234567"
MISTY_CONFIG = SEED_CONFIG.replace("encryption_algorithm: sta", "encryption_algorithm: misty") \
                          .replace("vending_key: 0123456789abcdef", "vending_key: " + MISTY_VK) \
                          .replace("base_date: 2035", "base_date: 2014")
BASE_YEAR = 2014

TOKEN_TYPES = {(0, 0): "Electricity_00", (0, 1): "Water_01", (0, 2): "Gas_02", (0, 4): "ElectricityCurrency_04",
               (1, 0): "InitiateMeterTestOrDisplay1_10", (1, 1): "InitiateMeterTestOrDisplay1_11",
               (2, 0): "SetMaximumPowerLimit_20", (2, 1): "ClearCredit_21", (2, 2): "SetTariffRate_22",
               (2, 3): "Set1stSectionDecoderKey_23", (2, 4): "Set2ndSectionDecoderKey_24",
               (2, 5): "ClearTamperCondition_25", (2, 6): "SetMaximumPhasePowerUnbalanceLimit_26",
               (2, 7): "SetWaterMeterFactor_27", (2, 8): "Set3rdSectionDecoderKey_28",
               (2, 9): "Set4thSectionDecoderKey_29"}

# (class, subclass, API fields as an SDK sends them, engine CLI flags for the same request)
SIMPLE_TYPES = [
    (0, 0, {"amount": 25.5}, ["--amount", "25.5"]),
    (0, 1, {"amount": 10}, ["--amount", "10"]),
    (0, 2, {"amount": "3.5"}, ["--amount", "3.5"]),
    (1, 0, {"control": "1", "manufacturer_code": 1}, ["--control", "1", "--manufacturer-code", "1"]),
    (1, 1, {"control": "123", "manufacturer_code": "2151"}, ["--control", "123", "--manufacturer-code", "2151"]),
    (2, 0, {"maximum_power_limit": 5000}, ["--maximum-power-limit", "5000"]),
    (2, 1, {"register": 0}, ["--register", "0"]),
    (2, 2, {"tariff_rate": "150"}, ["--tariff-rate", "150"]),
    (2, 5, {"pad": 0}, ["--pad", "0"]),
    (2, 6, {"mppul": 1000}, ["--mppul", "1000"]),
    (2, 7, {"wm_factor": 10}, ["--wm-factor", "10"]),
]


def iso_minute(epoch_minute: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M", time.gmtime(epoch_minute * 60))


class SeedWalkthrough(harness.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.user, cls.cred, cls.client = srv.tenant("seed@example.org", credits=1000)
        w = cls.work
        # Step 6 of the seed, literally.
        harness.sh("openssl genrsa -out key.pem 4096 2>/dev/null", w, timeout=300)
        harness.sh("openssl rsa -in key.pem -pubout > public_key.pub 2>/dev/null", w)
        with open(os.path.join(w, "server.pub"), "w") as f:
            f.write(srv.server_key_pem())
        with open(os.path.join(w, "public_key.pub")) as f:
            cls.spki = harness.bare_spki(f.read())
        r = cls.client.post("/v1/public_keys", {"name": "laptop key", "key": cls.spki, "activated": True})
        assert r.ok(), r
        cls.public_key_ref = r.data["ref"]
        cls.configs = {}
        for name, text in (("dkga02", DKGA02_CONFIG), ("misty", MISTY_CONFIG)):
            d = os.path.join(w, name)
            os.makedirs(d)
            os.symlink(os.path.join(w, "key.pem"), os.path.join(d, "key.pem"))
            parts = harness.openssl_upload_parts(d, text, srv.server_key_pem())
            r = cls.client.post("/v1/configurations", parts)
            assert r.ok(), ("upload %s" % name, r)
            cfg_path = os.path.join(d, "sts_config.yml")
            cls.configs[name] = (r.data["ref"], cfg_path, r)
        cls.received = []       # every token object the server handed out
        # Explicit token_ids: strictly increasing per meter, a little in the past (the server may not accept
        # future minutes it has not reached yet).
        cls.minute = int(time.time() // 60) - 24 * 60

    def next_token_id(self):
        type(self).minute += 1
        return iso_minute(type(self).minute)

    # --- checks ----------------------------------------------------------------------------------------
    def check_engine(self, cfg_path, drn, tokens, expected_numbers, expect):
        """Exact token numbers as the engine makes them, then the engine's decode of what the server sent."""
        self.assertEqual([t["token_no"] for t in tokens], expected_numbers)
        decoded = harness.engine_decode(cfg_path, drn, [t["token_no"] for t in tokens])
        self.assertEqual(len(decoded), len(tokens))
        for t, d, e in zip(tokens, decoded, expect):
            cls_, sub = e["class"], e["subclass"]
            self.assertRegex(t["token_no"], r"^\d{20}$")
            self.assertEqual(t["token_type"], TOKEN_TYPES[(cls_, sub)])
            self.assertEqual(t["meter_no"], drn)
            self.assertRegex(t["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
            for k in ("ref", "user_ref"):
                self.assertTrue(isinstance(t.get(k), str) and t[k], (k, t))
            self.assertEqual(t["user_ref"], self.user)
            self.assertEqual(int(d["class"]), cls_, d)
            self.assertEqual(int(d["subclass"]), sub, d)
            if "tid" in e:
                self.assertEqual(int(d["tid"]), e["tid"], d)
            if "amount" in e:
                self.assertAlmostEqual(float(d["amount"]), e["amount"], places=1, msg=str(d))
            if e.get("accepted", True):
                self.assertEqual(d["result"], "accepted", d)
        type(self).received.extend(tokens)

    def vend_all_types(self, dialect, cfg_name, drn):
        ref, cfg_path, _ = self.configs[cfg_name]
        c = self.server.client(self.cred, dialect=dialect, java_hex=(dialect == "j21"),
                               scheme="nectar" if dialect == "j21" else "NECTAR",
                               date_style="java" if dialect == "j21" else "php")
        for i, (cls_, sub, fields, flags) in enumerate(SIMPLE_TYPES):
            with self.subTest(dialect=dialect, config=cfg_name, cls=cls_, sub=sub):
                params = {"class": str(cls_), "subclass": str(sub), "drn": drn, "config_ref": ref,
                          "is_stid": False, "debug": False}
                params.update(fields)
                engine_flags = ["--class", str(cls_), "--subclass", str(sub)] + flags
                expect = {"class": cls_, "subclass": sub}
                if cls_ != 1:
                    token_id, rnd = self.next_token_id(), (i * 7) % 16
                    params.update({"token_id": token_id, "random_no": rnd})
                    engine_flags += ["--token-id", token_id, "--random-no", str(rnd)]
                    expect["tid"] = harness.parse_instant_minutes(token_id, BASE_YEAR)
                if cls_ == 0:
                    expect["amount"] = float(fields["amount"])
                r = c.vend(params)
                self.assertTrue(r.ok(), r)
                if dialect == "j21":
                    self.assertIsInstance(r.data, dict, "J21 (drn) must get one Token object: %r" % r)
                else:
                    self.assertIsInstance(r.data, list, "J24 (decoder_reference_number) must get an array: %r" % r)
                tokens = c.tokens_of(r)
                self.assertEqual(len(tokens), 1, r)
                gen = harness.engine_generate(cfg_path, drn, engine_flags)
                self.check_engine(cfg_path, drn, tokens, [t["token_no"] for t in gen["tokens"]], [expect])
                # Reprint: GET /v1/tokens?ref= returns the same token.
                g = c.get("/v1/tokens?ref=" + tokens[0]["ref"])
                self.assertTrue(g.ok(), g)
                got = g.data if isinstance(g.data, dict) else g.data[0]
                self.assertEqual(got["token_no"], tokens[0]["token_no"])

    def kct(self, dialect, cfg_name, drn, new_vk):
        ref, cfg_path, _ = self.configs[cfg_name]
        c = self.server.client(self.cred, dialect=dialect)
        change = {"new_vending_key": new_vk, "new_supply_group_code": "123456", "new_tariff_index": "02",
                  "new_key_revision_no": "2", "new_key_type": "2", "new_key_expiry_no": "255", "new_drn": drn,
                  "new_issuer_identification_no": "600727", "ro": "0"}
        flags = ["--class", "2", "--subclass", "3", "--new-vending-key", new_vk, "--new-supply-group-code",
                 "123456", "--new-tariff-index", "02", "--new-key-revision-no", "2", "--new-key-type", "2",
                 "--new-key-expiry-no", "255", "--new-drn", drn, "--new-issuer-identification-no", "600727",
                 "--ro", "0"]
        engine = [t["token_no"] for t in harness.engine_generate(cfg_path, drn, flags)["tokens"]]
        self.assertEqual(len(engine), 4 if cfg_name == "misty" else 2)
        subs = [3, 4, 8, 9][:len(engine)]
        base = {"class": "2", "drn": drn, "config_ref": ref, "is_stid": False, "debug": False}
        base.update(change)
        if dialect == "j24":
            r = c.vend(dict(base, subclass="3"))
            self.assertTrue(r.ok(), r)
            self.assertIsInstance(r.data, list, r)
            tokens = r.data
            expect = [{"class": 2, "subclass": s, "accepted": k == len(subs) - 1} for k, s in enumerate(subs)]
            self.check_engine(cfg_path, drn, tokens, engine, expect)
        else:
            # J21: subclass 3 and 4 are separate calls with the same inputs, each answered with one object.
            got = []
            for sub in ("3", "4"):
                r = c.vend(dict(base, subclass=sub))
                self.assertTrue(r.ok(), (sub, r))
                self.assertIsInstance(r.data, dict, r)
                got.append(r.data)
            self.assertEqual([t["token_no"] for t in got], engine[:2])
            decoded = harness.engine_decode(cfg_path, drn, [t["token_no"] for t in got])
            self.assertEqual([(int(d["class"]), int(d["subclass"])) for d in decoded], [(2, 3), (2, 4)])
            self.assertEqual([t["token_type"] for t in got], [TOKEN_TYPES[(2, 3)], TOKEN_TYPES[(2, 4)]])
            if cfg_name != "misty":
                self.assertEqual(decoded[1]["result"], "accepted", decoded)
            type(self).received.extend(got)

    # --- the walkthrough -----------------------------------------------------------------------------
    def test_1_seed_config_as_written_is_refused(self):
        """The seed's own file: DKGA 04 with a 16-hex key. The server must name the vending key, store nothing."""
        d = os.path.join(self.work, "literal")
        os.makedirs(d, exist_ok=True)
        if not os.path.exists(os.path.join(d, "key.pem")):
            os.symlink(os.path.join(self.work, "key.pem"), os.path.join(d, "key.pem"))
        parts = harness.openssl_upload_parts(d, SEED_CONFIG, self.server.server_key_pem())
        r = self.client.post("/v1/configurations", parts)
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.code, 200, r)
        self.assertIn("vending_key", r.message, r)
        self.assertNotIn("0123456789abcdef", r.raw.decode(errors="replace"), "the key must never be echoed")

    def test_2_upload_response(self):
        for name, (ref, _, r) in self.configs.items():
            self.assertRegex(ref, r"^[0-9a-fA-F-]{8,}$")
            self.assertEqual(r.data["name"], "example_config")
            self.assertEqual(r.data["user_ref"], self.user)
            self.assertIs(r.data["activated"], True)
            body = r.raw.decode()
            self.assertNotIn("vending_key", body)
            self.assertNotIn("0123456789abcdef", body.lower())
            self.assertNotIn(MISTY_VK, body.lower())
            g = self.client.get("/v1/configurations?ref=%s&detailed=true" % ref)
            self.assertTrue(g.ok(), g)
            self.assertEqual(g.data["ref"], ref)
            self.assertNotIn("vending_key", g.raw.decode())

    def test_3_every_type_dkga02_j21(self):
        self.vend_all_types("j21", "dkga02", "47500150231")

    def test_3_every_type_dkga02_j24(self):
        self.vend_all_types("j24", "dkga02", harness.luhn_drn("4750015024"))

    def test_3_every_type_misty_j21(self):
        self.vend_all_types("j21", "misty", harness.luhn_drn("4750015025"))

    def test_3_every_type_misty_j24(self):
        self.vend_all_types("j24", "misty", harness.luhn_drn("4750015026"))

    def test_4_key_change_dkga02_j24(self):
        self.kct("j24", "dkga02", harness.luhn_drn("5800000001"), "fedcba9876543210")

    def test_4_key_change_dkga02_j21(self):
        self.kct("j21", "dkga02", harness.luhn_drn("5800000002"), "fedcba9876543210")

    def test_4_key_change_misty_j24(self):
        self.kct("j24", "misty", harness.luhn_drn("5800000003"), "0123456789abcdef0123456789abcdef01234567")

    def test_4_key_change_misty_j21(self):
        self.kct("j21", "misty", harness.luhn_drn("5800000004"), "0123456789abcdef0123456789abcdef01234567")

    def test_5_electricity_currency_0_4(self):
        """Class 0 subclass 4 exists in STS; the server either vends it (checked) or refuses it naming subclass."""
        ref, cfg_path, _ = self.configs["dkga02"]
        drn = harness.luhn_drn("5900000001")
        token_id = self.next_token_id()
        r = self.client.vend({"class": "0", "subclass": "4", "drn": drn, "config_ref": ref, "token_id": token_id,
                              "random_no": 3, "amount": 12})
        self.assertEqual(r.status, 200, r)
        if r.code != 200:
            self.assertIn("subclass", r.message, r)
            return
        gen = harness.engine_generate(cfg_path, drn, ["--class", "0", "--subclass", "4", "--amount", "12",
                                                      "--token-id", token_id, "--random-no", "3"])
        self.check_engine(cfg_path, drn, r.data, [t["token_no"] for t in gen["tokens"]],
                          [{"class": 0, "subclass": 4, "accepted": False,
                            "tid": harness.parse_instant_minutes(token_id, BASE_YEAR)}])

    def test_6_server_allocated_tid(self):
        """token_id omitted: the server picks the TID, strictly increasing per meter, near now."""
        ref, cfg_path, _ = self.configs["dkga02"]
        drn = harness.luhn_drn("6100000001")
        tids = []
        for _ in range(3):
            now_tid = harness.parse_instant_minutes(iso_minute(int(time.time() // 60)), BASE_YEAR)
            r = self.client.vend({"class": "0", "subclass": "0", "drn": drn, "config_ref": ref, "amount": 1})
            self.assertTrue(r.ok(), r)
            d = harness.engine_decode(cfg_path, drn, [r.data[0]["token_no"]])[0]
            self.assertEqual(d["result"], "accepted", d)
            tids.append(int(d["tid"]))
            self.assertGreaterEqual(tids[-1], now_tid - 1)
            type(self).received.extend(r.data)
        self.assertEqual(tids, sorted(set(tids)), "TIDs must strictly increase: %r" % tids)
        lst = self.client.get("/v1/tokens?meter=" + drn)
        self.assertTrue(lst.ok(), lst)
        self.assertEqual(len(lst.data), 3, lst)

    def test_7_decode_endpoint(self):
        ref, _, _ = self.configs["dkga02"]
        tok = next(t for t in self.received if t["token_type"] == "Electricity_00" and t["meter_no"] == "47500150231")
        r = self.client.post("/v1/tokens/" + tok["token_no"],
                             {"decoder_reference_number": "47500150231", "config_ref": ref, "debug": False})
        self.assertTrue(r.ok(), r)
        self.assertEqual(str(r.data["class"]), "0", r)
        self.assertEqual(str(r.data["subclass"]), "0", r)
        self.assertAlmostEqual(float(r.data["amount"]), 25.5, places=1)

    def test_8_unauthenticated_endpoints(self):
        """/health, /metrics, /v1/openapi.json and the server public key need no signature and leak nothing."""
        c = self.client
        h = c.get("/health", sign=False)
        self.assertEqual(h.status, 200, h)
        m = c.get("/metrics", sign=False)
        self.assertEqual(m.status, 200, m)
        text = m.raw.decode(errors="replace")
        for secret in (self.cred["key"], self.cred["secret"], self.user):
            self.assertNotIn(secret, text, "metrics labels must not carry refs or keys")
        o = c.get("/v1/openapi.json", sign=False)
        self.assertEqual(o.status, 200, o)
        self.assertIn("openapi", o.json)
        self.assertIn("/v1/tokens", o.json.get("paths", {}))
        p = c.get("/resources/nectar_public.pub", sign=False)
        self.assertEqual(p.status, 200, p)
        self.assertEqual(harness.bare_spki(p.raw.decode()), harness.bare_spki(self.server.server_key_pem()))

    def test_9_credits_and_transactions(self):
        """Decimals on the wire; one consumption per token; every consumption points at a stored token."""
        self.assertGreater(len(self.received), 40)
        r = self.client.get("/v1/credits?")
        self.assertTrue(r.ok(), r)
        body = r.raw.decode()
        self.assertRegex(body, r'"credits"\s*:\s*-?\d+\.\d+', "credits must carry a decimal point")
        t = self.client.get("/v1/transactions")
        self.assertTrue(t.ok(), t)
        tb = t.raw.decode()
        for field in ("units", "value"):
            for m in re.finditer(r'"%s"\s*:\s*([^,}\]]+)' % field, tb):
                self.assertRegex(m.group(1).strip(), r"^-?\d+\.\d+$", "%s written without a decimal point" % field)
        data = t.data
        self.assertEqual(len(data["purchases"]), 1, data["purchases"])
        self.assertEqual(float(data["purchases"][0]["units"]), 1000.0)
        cons = data["consumptions"]
        received_refs = {x["ref"] for x in self.received}
        cons_refs = [c["token_ref"] for c in cons]
        self.assertEqual(len(cons_refs), len(set(cons_refs)), "a token charged twice")
        self.assertTrue(received_refs <= set(cons_refs),
                        "tokens handed out without a consumption: %r" % (received_refs - set(cons_refs)))
        for c in cons:
            g = self.client.get("/v1/tokens?ref=" + c["token_ref"])
            self.assertTrue(g.ok(), ("consumption for a token that is not stored", c, g))
        price = float(cons[0]["units"])
        self.assertGreater(price, 0)
        for c in cons:
            self.assertAlmostEqual(float(c["units"]), price)
        self.assertAlmostEqual(float(r.data["credits"]), 1000.0 - price * len(cons), places=4)
        self.assertAlmostEqual(float(data["credits"]), float(r.data["credits"]), places=4)


if __name__ == "__main__":
    harness.main()
