#!/usr/bin/env python3
"""The crash test: concurrent vends (token_id omitted, each with its own Idempotency-Key) while the server is
killed with SIGKILL several times mid-flight and restarted on the same data dir.

A client retries a request whose response was lost, with the same Idempotency-Key, until it gets an answer.
At the end (after one more kill -9 and restart):
  * every token a client received is stored (GET /v1/tokens?ref= returns it, same number);
  * the stored tokens are exactly the tokens the clients finally hold: nothing vended that nobody received;
  * credits debited == stored tokens x price, one consumption per stored token, none without a token;
  * no TID is repeated on any meter (every token decoded by the engine CLI), class/amount as requested;
  * replaying every Idempotency-Key after the restarts returns the original tokens and charges nothing.
"""

import http.client
import os
import random
import socket
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import nectar_client as nc  # noqa: E402

ROUNDS = 5
THREADS = 8
METERS = [harness.luhn_drn("81000000%02d" % i) for i in range(6)]
INITIAL_CREDITS = 1000000
LOST = (ConnectionError, http.client.HTTPException, socket.timeout, OSError)


class CrashTest(harness.ServerTestCase):
    server_may_be_down = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.user, cls.cred, cls.client = srv.tenant("crash@example.org", credits=INITIAL_CREDITS)
        cls.cfg_text = harness.config_text("crash", vending_key="0f1e2d3c4b5a6978")
        cls.cfg_ref = harness.upload_config(srv, cls.client, os.path.join(cls.work, "cfg"), cls.cfg_text)
        cls.cfg_path = os.path.join(cls.work, "cfg", "sts_config.yml")

    def fresh_client(self):
        return nc.NectarClient(self.server.url, self.cred["key"], self.cred["secret"], timeout=20 * harness.SLOW)

    def vend_until_answered(self, rec, stop_retrying_after=600):
        """Sends rec's request until the server answers (lost responses are retried with the same key)."""
        deadline = time.time() + stop_retrying_after
        while time.time() < deadline:
            rec["attempts"] += 1
            try:
                r = self.fresh_client().vend(rec["params"], idempotency_key=rec["key"])
            except LOST:
                rec["lost"] += 1
                time.sleep(0.05)
                continue
            if r.status >= 500 and rec["errors_5xx"] < 20:
                rec["errors_5xx"] += 1   # a server still starting or shutting down: try again, a few times
                time.sleep(0.05)
                continue
            return r
        raise AssertionError("no answer for %s within %ss" % (rec["key"], stop_retrying_after))

    def worker(self, stop, records, lock, failures):
        rnd = random.Random()
        while not stop.is_set():
            rec = {"key": str(uuid.uuid4()), "attempts": 0, "lost": 0, "errors_5xx": 0,
                   "params": {"class": "0", "subclass": "0", "drn": rnd.choice(METERS), "config_ref": self.cfg_ref,
                              "amount": 1}}
            try:
                r = self.vend_until_answered(rec)
            except AssertionError as e:
                failures.append(str(e))
                return
            rec["response"] = r
            rec["tokens"] = r.data if r.ok() else None
            with lock:
                records.append(rec)

    def test_kill_9_under_load(self):
        srv = self.server
        records, lock, failures = [], threading.Lock(), []
        stop = threading.Event()
        threads = [threading.Thread(target=self.worker, args=(stop, records, lock, failures), daemon=True)
                   for _ in range(THREADS)]
        for t in threads:
            t.start()
        kills = 0
        try:
            for rnd in range(ROUNDS):
                time.sleep(random.uniform(0.8, 2.0) * harness.SLOW)
                with lock:
                    before = len(records)
                srv.kill()
                kills += 1
                time.sleep(0.2)
                srv.start()
                print("round %d: killed with %d answered requests so far; restarted on port %d"
                      % (rnd + 1, before, srv.port), flush=True)
            time.sleep(1.0 * harness.SLOW)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=300)
        self.assertEqual(failures, [])
        self.assertEqual(kills, ROUNDS)
        # One more crash with nothing in flight, so everything below is read back from disk.
        srv.kill()
        srv.start()

        ok = [r for r in records if r["tokens"] is not None]
        bad = [r for r in records if r["tokens"] is None]
        lost = [r for r in records if r["lost"]]
        print("requests answered=%d ok=%d refused=%d with a lost response=%d" % (len(records), len(ok), len(bad),
                                                                                 len(lost)), flush=True)
        self.assertEqual(bad, [], "vends refused: %r" % [r["response"] for r in bad[:3]])
        self.assertGreater(len(ok), 50, "too little load reached the server")
        self.assertGreater(len(lost), 0, "no request was in flight at a kill; the test proved nothing")

        client = self.fresh_client()
        # 1. Every token a client holds is stored.
        held = {}
        for rec in ok:
            self.assertEqual(len(rec["tokens"]), 1, rec["tokens"])
            t = rec["tokens"][0]
            self.assertEqual(t["meter_no"], rec["params"]["drn"])
            self.assertNotIn(t["ref"], held, "two requests got the same token")
            held[t["ref"]] = t
        for ref, t in held.items():
            g = client.get("/v1/tokens?ref=" + ref)
            self.assertTrue(g.ok(), ("a token the client received is not stored", t, g))
            got = g.data if isinstance(g.data, dict) else g.data[0]
            self.assertEqual(got["token_no"], t["token_no"])

        # 2. Stored == held: no token vended (and charged) that no client ended up with.
        stored = {}
        for drn in METERS:
            lst = client.get("/v1/tokens?meter=" + drn)
            self.assertTrue(lst.ok(), lst)
            for t in lst.data:
                stored[t["ref"]] = t
        self.assertEqual(set(stored), set(held),
                         "stored but never received: %d, received but not stored: %d"
                         % (len(set(stored) - set(held)), len(set(held) - set(stored))))

        # 3. Money: one consumption per stored token, debit == tokens x price.
        tx = client.get("/v1/transactions")
        self.assertTrue(tx.ok(), tx)
        cons = tx.data["consumptions"]
        refs = [c["token_ref"] for c in cons]
        self.assertEqual(len(refs), len(set(refs)), "a token charged twice")
        self.assertEqual(set(refs), set(stored), "consumptions and stored tokens differ")
        price = float(cons[0]["units"])
        credits_after_crashes = float(tx.data["credits"])
        self.assertAlmostEqual(INITIAL_CREDITS - credits_after_crashes, price * len(stored), places=3)

        # 4. TIDs: every token decoded independently by the engine; no TID repeated on a meter.
        for drn in METERS:
            toks = [t for t in stored.values() if t["meter_no"] == drn]
            if not toks:
                continue
            decoded = []
            for i in range(0, len(toks), 200):
                decoded += harness.engine_decode(self.cfg_path, drn, [t["token_no"] for t in toks[i:i + 200]])
            for k, d in enumerate(decoded):
                if "tid" not in d:   # a meter may report a refused token without its fields: decode it alone
                    decoded[k] = harness.engine_decode(self.cfg_path, drn, [toks[k]["token_no"]])[0]
            tids = [int(d["tid"]) for d in decoded]
            self.assertEqual(len(tids), len(set(tids)), "TID repeated on meter %s" % drn)
            for d in decoded:
                self.assertEqual((int(d["class"]), int(d["subclass"])), (0, 0), d)
                self.assertAlmostEqual(float(d["amount"]), 1.0, places=1)

        # 5. Idempotent retries after the restarts: same tokens, no charge.
        sample = ok if len(ok) <= 400 else lost + random.sample(ok, 400)
        for rec in sample:
            r = client.vend(rec["params"], idempotency_key=rec["key"])
            self.assertTrue(r.ok(), r)
            self.assertEqual([(t["ref"], t["token_no"]) for t in r.data],
                             [(t["ref"], t["token_no"]) for t in rec["tokens"]], "retry returned other tokens")
        cr = client.get("/v1/credits")
        self.assertTrue(cr.ok(), cr)
        self.assertAlmostEqual(float(cr.data["credits"]), credits_after_crashes, places=4,
                               msg="an idempotent retry was charged")
        # Same key with a different request: refused, nothing charged.
        rec = ok[0]
        other = dict(rec["params"], amount=2)
        r = client.vend(other, idempotency_key=rec["key"])
        self.assertEqual(r.status, 200, r)
        self.assertNotEqual(r.code, 200, r)
        self.assertIn("Idempotency-Key", r.message, r)
        cr = client.get("/v1/credits")
        self.assertAlmostEqual(float(cr.data["credits"]), credits_after_crashes, places=4)


if __name__ == "__main__":
    harness.main()
