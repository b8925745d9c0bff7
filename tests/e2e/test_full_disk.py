#!/usr/bin/env python3
"""A full disk: vends that cannot be written are refused with a clear error, lose nothing and charge nothing.

The server runs with a file size limit (RLIMIT_FSIZE) a little above its database, so the WAL soon cannot grow:
every write past the limit fails with EFBIG, which the server must treat like ENOSPC (a full disk) and not die of
SIGXFSZ. The test vends until writes fail, then restarts the server without the limit and checks that:
  * the refusals say that storage failed and nothing was committed;
  * every token a client received is stored, and nothing else is: a refused vend left no token behind;
  * credits debited == received tokens x price: a refused vend charged nothing;
  * a refused request retried with its Idempotency-Key once there is room vends exactly once;
  * an admin command run on the full disk fails with a message (exit status > 0) and changes nothing.
"""

import os
import resource
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

INITIAL_CREDITS = 100000
METERS = [harness.luhn_drn("82000000%02d" % i) for i in range(3)]
# Room the WAL gets past the largest file of the data directory: enough for some vends, soon exhausted.
HEADROOM = 512 * 1024


class FullDiskTest(harness.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        srv = cls.server
        cls.user, cls.cred, cls.client = srv.tenant("full-disk@example.org", credits=INITIAL_CREDITS)
        cls.cfg_ref = harness.upload_config(srv, cls.client, os.path.join(cls.work, "cfg"),
                                            harness.config_text("full_disk", vending_key="1a2b3c4d5e6f7a8b"))

    def vend(self, client, n, key):
        params = {"class": "0", "subclass": "0", "drn": METERS[n % len(METERS)], "config_ref": self.cfg_ref,
                  "amount": 1}
        return params, client.vend(params, idempotency_key=key)

    def test_vends_refused_on_a_full_disk_lose_and_charge_nothing(self):
        srv = self.server
        srv.stop()
        largest = max(os.path.getsize(os.path.join(srv.data_dir, f)) for f in os.listdir(srv.data_dir))
        srv.file_size_limit = largest + HEADROOM
        srv.start()
        client = srv.client(self.cred)

        held, refused = [], []
        for n in range(5000):
            key = str(uuid.uuid4())
            params, r = self.vend(client, n, key)
            if r.ok():
                held.append((key, params, r.data))
            else:
                refused.append((key, params, r))
                if len(refused) >= 5:
                    break
        print("vends before the disk was full: %d; refused: %d" % (len(held), len(refused)), flush=True)
        self.assertTrue(srv.alive(), "the server died when the disk filled: " + srv.stderr_tail())
        self.assertGreater(len(held), 0, "the limit left no room for a single vend; the test proved little")
        self.assertEqual(len(refused), 5, "the file size limit was never reached")
        for _, _, r in refused:
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.code, 500, r)
            self.assertIn("storage failed; nothing was committed", r.message, r)

        # An admin command that cannot grow a file reports it (it is not killed by SIGXFSZ) and adds nothing:
        # the credit check below would see the top-up.
        topup = subprocess.run([harness.STSVEND, "admin", "credits", "add", "--data-dir", srv.data_dir, "--user",
                                self.user, "--amount", "500", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0)), timeout=120)
        self.assertEqual(topup.returncode, 1, "admin credits add that cannot write: stderr %r" % topup.stderr)
        self.assertIn(b"stsvend: storage", topup.stderr)

        # Room again (the operator freed the disk): everything is read back from disk after a restart.
        srv.stop()
        srv.file_size_limit = None
        srv.start()
        client = srv.client(self.cred)

        received = {}
        for _, params, tokens in held:
            self.assertEqual(len(tokens), 1, tokens)
            received[tokens[0]["ref"]] = tokens[0]
        stored = {}
        for drn in METERS:
            lst = client.get("/v1/tokens?meter=" + drn)
            if lst.ok():
                for t in lst.data:
                    stored[t["ref"]] = t
        self.assertEqual(set(stored), set(received), "stored tokens differ from the tokens clients received")
        for ref, t in received.items():
            self.assertEqual(stored[ref]["token_no"], t["token_no"])

        tx = client.get("/v1/transactions")
        self.assertTrue(tx.ok(), tx)
        consumptions = tx.data["consumptions"]
        self.assertEqual(sorted(c["token_ref"] for c in consumptions), sorted(received))
        price = float(consumptions[0]["units"])
        credits_before_retries = float(tx.data["credits"])
        self.assertAlmostEqual(INITIAL_CREDITS - credits_before_retries, price * len(received), places=3,
                               msg="a refused vend was charged")

        # A refused request left no trace: its retry vends (once), and retrying that again replays it.
        key, params, _ = refused[0]
        first = client.vend(params, idempotency_key=key)
        self.assertTrue(first.ok(), first)
        again = client.vend(params, idempotency_key=key)
        self.assertTrue(again.ok(), again)
        self.assertEqual([t["token_no"] for t in again.data], [t["token_no"] for t in first.data])
        credits = client.get("/v1/credits")
        self.assertTrue(credits.ok(), credits)
        self.assertAlmostEqual(float(credits.data["credits"]), credits_before_retries - price, places=3)


if __name__ == "__main__":
    harness.main()
