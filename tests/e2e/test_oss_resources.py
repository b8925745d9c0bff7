#!/usr/bin/env python3
"""The J24 open-source extras (NECTAR-V1 §3.8) against a real `stsvend serve`: subscribers, utilities and J24
meters, every route as the J24 SDK calls it (MetersFactory, SubscribersFactory, UtilitiesFactory): creates and
updates answer data.ref, reads data.data; `no` is a JSON integer and `unit_charge` a decimal with a point on the
wire; activate/deactivate round trips; validation errors name the field and change nothing; another tenant's
refs read exactly like unknown ones, for every verb. The stsvend meter registry on the same path keeps working.
"""

import os
import re
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

NO_A = 47500150231     # J24 reads `no` as a Long: above 2^31
NO_A2 = 47500150249
DRN = harness.luhn_drn("4100000001")


class OssResources(harness.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.user_a, cls.cred_a, cls.a = srv.tenant("alice@example.org")
        cls.user_b, cls.cred_b, cls.b = srv.tenant("bob@example.org")
        cls.cfg_a = harness.upload_config(srv, cls.a, os.path.join(cls.work, "a"), harness.config_text("a"))

    # --- helpers -----------------------------------------------------------------------------------
    def put_json(self, client, path, body):
        return client.send("PUT", path, body)

    def created_ref(self, r):
        self.assertTrue(r.ok(), r)
        self.assertIsInstance(r.json["data"].get("ref"), str, r)
        self.assertNotIn("data", r.json["data"], "creates answer data.ref, not data.data: %r" % r)
        return r.json["data"]["ref"]

    def assert_field_error(self, r, *fields):
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(r.code, r)
        self.assertNotEqual(r.code, 200, r)
        self.assertTrue(any(f in r.message for f in fields), "message %r names none of %r" % (r.message, fields))
        self.assertNotIn("data", r.json, r)

    def assert_not_found(self, r):
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.code, 200, r)
        self.assertIn("not found", r.message, r)

    def new_subscriber(self, client=None, **over):
        body = {"name": "Sam Subscriber", "phone_no": "254700000001", "activated": True}
        body.update(over)
        return self.created_ref((client or self.a).post("/v1/subscribers", body))

    def new_meter(self, no, client=None, **over):
        body = {"no": no, "activated": True, "meter_type": "Electricity"}
        body.update(over)
        return self.created_ref((client or self.a).post("/v1/meters", body))

    def check_subscriber_shape(self, s):
        for k in ("ref", "name", "phone_no", "activated", "created_at", "updated_at"):
            self.assertIn(k, s)
        self.assertIsInstance(s["activated"], bool)
        self.assertRegex(s["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        self.assertRegex(s["updated_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

    def check_meter_shape(self, m):
        for k in ("ref", "no", "activated", "meter_type", "subscriber", "created_at", "updated_at"):
            self.assertIn(k, m)
        self.assertIsInstance(m["no"], int)
        self.assertNotIsInstance(m["no"], bool)
        self.assertIn(m["meter_type"]["name"], ("Electricity", "Water", "Gas"))
        if m["subscriber"] is not None:
            self.check_subscriber_shape(m["subscriber"])

    # --- subscribers -------------------------------------------------------------------------------
    def test_subscriber_round_trip(self):
        ref = self.new_subscriber()
        r = self.a.get("/v1/subscribers?ref=" + ref)
        self.assertTrue(r.ok(), r)
        self.check_subscriber_shape(r.data)
        self.assertEqual((r.data["ref"], r.data["name"], r.data["phone_no"], r.data["activated"]),
                         (ref, "Sam Subscriber", "254700000001", True))

        r = self.put_json(self.a, "/v1/subscribers?subscriber_ref=" + ref,
                          {"name": "Sam Renamed", "phone_no": "254700000002", "activated": True})
        self.assertTrue(r.ok(), r)
        self.assertEqual(r.json["data"]["ref"], ref, "J24 updateSubscriber reads data.ref")
        got = self.a.get("/v1/subscribers?ref=" + ref).data
        self.assertEqual((got["name"], got["phone_no"]), ("Sam Renamed", "254700000002"))

        r = self.a.delete("/v1/subscribers/" + ref)
        self.assertTrue(r.ok(), r)
        self.assertNotIn("data", r.json)
        self.assertFalse(self.a.get("/v1/subscribers?ref=" + ref).data["activated"])
        r = self.a.put("/v1/subscribers/" + ref)
        self.assertTrue(r.ok(), r)
        self.assertTrue(self.a.get("/v1/subscribers?ref=" + ref).data["activated"])

    def test_subscriber_validation(self):
        self.assert_field_error(self.a.post("/v1/subscribers", {"phone_no": "1"}), "name")
        self.assert_field_error(self.a.post("/v1/subscribers", {"name": ""}), "name")
        self.assert_field_error(self.a.post("/v1/subscribers", {"name": "x" * 256}), "name")
        self.assert_field_error(self.a.post("/v1/subscribers", {"name": "n", "phone_no": "07x"}), "phone_no")
        self.assert_field_error(self.a.post("/v1/subscribers", {"name": "n", "activated": "maybe"}), "activated")
        self.assert_field_error(self.a.post("/v1/subscribers", {"name": ["n"]}), "name")
        ref = self.new_subscriber(name="Stays")
        self.assert_field_error(self.put_json(self.a, "/v1/subscribers?subscriber_ref=" + ref,
                                              {"name": "Changed", "phone_no": "abc"}), "phone_no")
        self.assertEqual(self.a.get("/v1/subscribers?ref=" + ref).data["name"], "Stays",
                         "a rejected update changes nothing")
        self.assert_not_found(self.a.get("/v1/subscribers?ref=" + str(uuid.uuid4())))
        self.assertEqual(self.a.put("/v1/subscribers").status, 400, "PUT without subscriber_ref")

    # --- meters ------------------------------------------------------------------------------------
    def test_meter_types(self):
        r = self.a.get("/v1/meters/types")
        self.assertTrue(r.ok(), r)
        self.assertEqual([t["name"] for t in r.data], ["Electricity", "Water", "Gas"])
        for t in r.data:
            self.assertIsInstance(t["ref"], str)

    def test_meter_round_trip(self):
        types = {t["name"]: t["ref"] for t in self.a.get("/v1/meters/types").data}
        sub = self.new_subscriber(name="Meter Owner")
        ref = self.new_meter(NO_A, meter_type=types["Water"], subscriber_ref=sub)  # J24 sends the type's ref
        r = self.a.get("/v1/meters?ref=" + ref)
        self.assertTrue(r.ok(), r)
        self.check_meter_shape(r.data)
        self.assertEqual((r.data["ref"], r.data["no"], r.data["meter_type"]["name"], r.data["activated"]),
                         (ref, NO_A, "Water", True))
        self.assertEqual(r.data["subscriber"]["ref"], sub)
        self.assertIn(b'"no":%d' % NO_A, r.raw, "no is a JSON integer, not a string")

        r = self.put_json(self.a, "/v1/meters?meter_ref=" + ref,
                          {"no": NO_A2, "activated": True, "meter_type": "Gas"})
        self.assertTrue(r.ok(), r)
        self.assertEqual(r.json["data"]["ref"], ref, "J24 updateMeter reads data.ref")
        got = self.a.get("/v1/meters?ref=" + ref).data
        self.assertEqual((got["no"], got["meter_type"]["name"]), (NO_A2, "Gas"))
        self.assertEqual(got["subscriber"]["ref"], sub, "fields left out of an update are kept")

        self.assertTrue(self.a.delete("/v1/meters/" + ref).ok())
        self.assertFalse(self.a.get("/v1/meters?ref=" + ref).data["activated"])
        self.assertTrue(self.a.put("/v1/meters/" + ref).ok())
        self.assertTrue(self.a.get("/v1/meters?ref=" + ref).data["activated"])

    def test_meter_validation(self):
        self.assert_field_error(self.a.post("/v1/meters", {"no": 12345, "meter_type": "Water"}), "no")
        self.assert_field_error(self.a.post("/v1/meters", {"no": "x", "meter_type": "Water"}), "no")
        self.assert_field_error(self.a.post("/v1/meters", {"no": 47500150256}), "meter_type")
        self.assert_field_error(self.a.post("/v1/meters", {"no": 47500150256, "meter_type": "Steam"}), "meter_type")
        self.assert_field_error(self.a.post("/v1/meters", {"no": 47500150256, "meter_type": "Gas",
                                                           "subscriber_ref": str(uuid.uuid4())}), "subscriber_ref")
        self.assert_field_error(self.a.post("/v1/meters", {"no": 47500150256, "meter_type": "Gas",
                                                           "utility_ref": str(uuid.uuid4())}), "utility_ref")
        self.new_meter(47500150264)
        self.assert_field_error(self.a.post("/v1/meters", {"no": 47500150264, "meter_type": "Gas"}), "no")
        ref = self.new_meter(47500150272)
        self.assert_field_error(self.put_json(self.a, "/v1/meters?meter_ref=" + ref,
                                              {"no": 47500150280, "meter_type": "Plasma"}), "meter_type")
        self.assert_field_error(self.put_json(self.a, "/v1/meters?meter_ref=" + ref, {"no": 47500150264}), "no")
        self.assertEqual(self.a.get("/v1/meters?ref=" + ref).data["no"], 47500150272, "nothing changed")
        self.assert_not_found(self.a.get("/v1/meters?ref=" + str(uuid.uuid4())))

    def test_registry_unchanged(self):
        """stsvend's meter registry shares the path: POST {drn, config_ref}, GET ?drn= and the list."""
        r = self.a.post("/v1/meters", {"decoder_reference_number": DRN, "config_ref": self.cfg_a})
        self.assertTrue(r.ok(), r)
        self.assertEqual(r.data["drn"], DRN)
        r = self.a.get("/v1/meters?drn=" + DRN)
        self.assertTrue(r.ok(), r)
        self.assertEqual(r.data["config_ref"], self.cfg_a)
        r = self.a.get("/v1/meters")
        self.assertTrue(r.ok(), r)
        self.assertIn(DRN, [m["drn"] for m in r.data])
        self.assert_field_error(self.a.post("/v1/meters", {"config_ref": self.cfg_a}), "decoder_reference_number")

    # --- utilities ---------------------------------------------------------------------------------
    def test_utility_round_trip(self):
        sub = self.new_subscriber(name="Utility Customer")
        m1 = self.new_meter(47500150298, meter_type="Water", subscriber_ref=sub)
        m2 = self.new_meter(47500150306, meter_type="Water")
        # J24 sends `meters` as serialised Meter beans; plain refs work too.
        r = self.a.post("/v1/utilities", {"name": "Aqua", "contact_phone_no": "254711000000", "unit_charge": 12.5,
                                          "activated": True, "config_ref": self.cfg_a,
                                          "meters": [{"ref": m1, "no": 47500150298}, m2]})
        ref = self.created_ref(r)
        r = self.a.get("/v1/utilities?utility_ref=" + ref)
        self.assertTrue(r.ok(), r)
        u = r.data
        self.assertEqual((u["ref"], u["name"], u["contact_phone_no"], u["unit_charge"], u["activated"],
                          u["config_ref"]), (ref, "Aqua", "254711000000", 12.5, True, self.cfg_a))
        self.assertIn(b'"unit_charge":12.5', r.raw)
        meters = u["data"]["data"]
        self.assertEqual(sorted(m["ref"] for m in meters), sorted([m1, m2]))
        for m in meters:
            self.check_meter_shape(m)
        self.assertEqual([m["subscriber"]["ref"] for m in meters if m["ref"] == m1], [sub])

        r = self.a.get("/v1/utilities/%s/meters" % ref)
        self.assertTrue(r.ok(), r)
        self.assertEqual(sorted(m["ref"] for m in r.data), sorted([m1, m2]))
        r = self.a.get("/v1/utilities/%s/meters?null" % ref)  # J24 getUtilityMeters sends the literal "?null"
        self.assertTrue(r.ok(), r)

        r = self.a.get("/v1/utilities")
        self.assertTrue(r.ok(), r)
        self.assertIn(ref, [x["ref"] for x in r.data])

        r = self.put_json(self.a, "/v1/utilities?utility_ref=" + ref,
                          {"name": "Aqua Ltd", "unit_charge": 10, "activated": True})
        self.assertTrue(r.ok(), r)
        self.assertEqual(r.json["data"]["ref"], ref, "J24 updateUtility reads data.ref")
        r = self.a.get("/v1/utilities?utility_ref=" + ref)
        self.assertEqual((r.data["name"], r.data["unit_charge"]), ("Aqua Ltd", 10.0))
        self.assertIn(b'"unit_charge":10.0', r.raw, "unit_charge keeps a decimal part")

        self.assertTrue(self.a.delete("/v1/utilities/" + ref).ok())
        self.assertFalse(self.a.get("/v1/utilities?utility_ref=" + ref).data["activated"])
        self.assertTrue(self.a.put("/v1/utilities/" + ref).ok())
        self.assertTrue(self.a.get("/v1/utilities?utility_ref=" + ref).data["activated"])

        # A meter created with utility_ref joins the utility.
        m3 = self.new_meter(47500150314, meter_type="Gas", utility_ref=ref)
        self.assertIn(m3, [m["ref"] for m in self.a.get("/v1/utilities/%s/meters" % ref).data])

    def test_utility_validation(self):
        base = {"name": "U", "contact_phone_no": "254700000000", "unit_charge": 1.5, "activated": True,
                "config_ref": self.cfg_a}

        def post(**over):
            body = dict(base)
            for k, v in over.items():
                if v is None:
                    body.pop(k)
                else:
                    body[k] = v
            return self.a.post("/v1/utilities", body)
        before = len(self.a.get("/v1/utilities").data)
        self.assert_field_error(post(name=None), "name")
        self.assert_field_error(post(unit_charge=None), "unit_charge")
        self.assert_field_error(post(unit_charge=-1), "unit_charge")
        self.assert_field_error(post(unit_charge="cheap"), "unit_charge")
        self.assert_field_error(post(unit_charge=0.00001), "unit_charge")
        self.assert_field_error(post(config_ref=None), "config_ref")
        self.assert_field_error(post(config_ref=str(uuid.uuid4())), "config_ref")
        self.assert_field_error(post(contact_phone_no="call me"), "contact_phone_no")
        self.assert_field_error(post(meters="all"), "meters")
        self.assert_field_error(post(meters=[str(uuid.uuid4())]), "meters")
        self.assertEqual(len(self.a.get("/v1/utilities").data), before, "no rejected create left a row")
        ref = self.created_ref(post())
        self.assert_field_error(self.put_json(self.a, "/v1/utilities?utility_ref=" + ref,
                                              {"name": "New", "config_ref": str(uuid.uuid4())}), "config_ref")
        self.assertEqual(self.a.get("/v1/utilities?utility_ref=" + ref).data["name"], "U")
        self.assert_not_found(self.a.get("/v1/utilities?utility_ref=" + str(uuid.uuid4())))
        self.assert_not_found(self.a.get("/v1/utilities/%s/meters" % uuid.uuid4()))

    # --- tenants and permissions -------------------------------------------------------------------
    def test_tenant_isolation(self):
        sub = self.new_subscriber(name="Private")
        meter = self.new_meter(47500150322, meter_type="Electricity", subscriber_ref=sub)
        util = self.created_ref(self.a.post("/v1/utilities", {
            "name": "Private Co", "contact_phone_no": "", "unit_charge": 2.0, "activated": True,
            "config_ref": self.cfg_a, "meters": [meter]}))
        b = self.b
        self.assert_not_found(b.get("/v1/subscribers?ref=" + sub))
        self.assert_not_found(b.get("/v1/meters?ref=" + meter))
        self.assert_not_found(b.get("/v1/utilities?utility_ref=" + util))
        self.assert_not_found(b.get("/v1/utilities/%s/meters" % util))
        self.assertNotIn(util, [u["ref"] for u in b.get("/v1/utilities").data])
        self.assert_not_found(self.put_json(b, "/v1/subscribers?subscriber_ref=" + sub, {"name": "Mallory"}))
        self.assert_not_found(self.put_json(b, "/v1/meters?meter_ref=" + meter, {"activated": False}))
        self.assert_not_found(self.put_json(b, "/v1/utilities?utility_ref=" + util, {"name": "Mallory"}))
        for path in ("/v1/subscribers/" + sub, "/v1/meters/" + meter, "/v1/utilities/" + util):
            self.assert_not_found(b.delete(path))
            self.assert_not_found(b.put(path))
        # B cannot point its own rows at A's.
        self.assert_field_error(b.post("/v1/meters", {"no": 47500150330, "meter_type": "Gas",
                                                      "subscriber_ref": sub}), "subscriber_ref")
        self.assert_field_error(b.post("/v1/meters", {"no": 47500150330, "meter_type": "Gas",
                                                      "utility_ref": util}), "utility_ref")
        self.assert_field_error(b.post("/v1/utilities", {"name": "B", "unit_charge": 1.0,
                                                         "config_ref": self.cfg_a}), "config_ref")
        # The same meter number is free in another tenant.
        self.new_meter(47500150322, client=b)
        # Nothing of A's changed.
        self.assertEqual(self.a.get("/v1/subscribers?ref=" + sub).data["name"], "Private")
        m = self.a.get("/v1/meters?ref=" + meter).data
        self.assertTrue(m["activated"])
        u = self.a.get("/v1/utilities?utility_ref=" + util).data
        self.assertEqual((u["name"], u["activated"], [x["ref"] for x in u["data"]["data"]]),
                         ("Private Co", True, [meter]))

    def test_permissions(self):
        _, _, reader = self.server.tenant("carol@example.org", permissions="get_meters,get_subscriber")
        # get_meters (registry) does not grant the J24 read of one meter (get_meter), nor creates.
        r = reader.get("/v1/meters?ref=" + str(uuid.uuid4()))
        self.assertEqual(r.status, 403, r)
        self.assertTrue(reader.get("/v1/meters").ok())
        self.assertEqual(reader.post("/v1/subscribers", {"name": "x"}).status, 403)
        self.assert_not_found(reader.get("/v1/subscribers?ref=" + str(uuid.uuid4())))
        self.assertEqual(reader.get("/v1/utilities").status, 403)
        _, _, util_admin = self.server.tenant("dave@example.org", permissions="get_utility,activate_utility")
        self.assertEqual(util_admin.get("/v1/utilities").status, 403, "the list needs get_utilities")
        self.assert_not_found(util_admin.get("/v1/utilities?utility_ref=" + str(uuid.uuid4())))
        self.assert_not_found(util_admin.delete("/v1/utilities/" + str(uuid.uuid4())))

    def test_notifications_for_creates(self):
        sub = self.new_subscriber(name="Noted")
        r = self.a.get("/v1/notifications")
        self.assertTrue(r.ok(), r)
        self.assertIn(("ADD_SUBSCRIBER", sub), [(n["type"], n["affected"]) for n in r.data])

    def test_openapi_lists_routes(self):
        o = self.a.get("/v1/openapi.json", sign=False)
        self.assertEqual(o.status, 200)
        for p in ("/v1/subscribers", "/v1/subscribers/{ref}", "/v1/utilities", "/v1/utilities/{ref}",
                  "/v1/utilities/{ref}/meters", "/v1/meters/types", "/v1/meters/{ref}"):
            self.assertIn(p, o.json["paths"])


if __name__ == "__main__":
    harness.main()
