#!/usr/bin/env python3
"""The admin CLI's machine-readable contract (docs/api.md, "Admin CLI"), black box, beside a running server:

  * `user create --json` prints {"ref"}, `user list --json` the documented objects; `credential create --json`
    prints {"ref","key","secret"}, and that credential signs requests the running server accepts, with exactly the
    permissions asked for; `credits add --json` prints {"user_ref","added","credits"} and the API sees the balance;
    `config add --json` prints {"ref","name"} and the configuration vends; `server-key` prints the PEM the server
    serves, and `server-key import` replaces it (warning that a published key must never serve production);
  * bad input exits 2 with one stderr line `stsvend: <field>: <rule>` naming the flag or field, prints nothing on
    stdout and changes nothing (users, balance, configurations, the server key);
  * a refusal about a file names the file (a vault key with a loose mode);
  * every admin command has --help with examples.
"""

import json
import os
import subprocess
import sys
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

PASSWORD = "long passphrase"


class AdminCli(harness.ServerTestCase):

    def cli(self, *args, data_dir=None):
        """Runs `stsvend admin ARGS --data-dir DIR`; returns (exit code, stdout, stderr)."""
        argv = [harness.STSVEND, "admin"] + list(args)
        if data_dir != "":
            argv += ["--data-dir", data_dir or self.server.data_dir]
        # In the work directory, where a default ./data would show up if an empty --data-dir fell back to it.
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120 * harness.SLOW, cwd=self.work)
        return p.returncode, p.stdout, p.stderr

    def ok_json(self, *args):
        code, out, err = self.cli(*args)
        self.assertEqual(code, 0, err)
        return json.loads(out)

    def state(self, client):
        """Everything a refused command must leave as it was."""
        credits = client.get("/v1/credits")
        self.assertTrue(credits.ok(), credits)
        configs = client.get("/v1/configurations")
        self.assertTrue(configs.ok(), configs)
        return (self.ok_json("user", "list", "--json"), credits.data["credits"],
                sorted(c["ref"] for c in configs.data), self.server.server_key_pem())

    def test_commands_print_the_documented_shapes_and_work_against_the_running_server(self):
        created = self.ok_json("user", "create", "--email", "shapes@example.com", "--password", PASSWORD, "--json")
        self.assertEqual(set(created), {"ref"})
        user = created["ref"]
        listed = [u for u in self.ok_json("user", "list", "--json") if u["ref"] == user]
        self.assertEqual(len(listed), 1)
        self.assertLessEqual({"ref", "username", "email", "activated", "is_admin", "created_at"}, set(listed[0]))
        self.assertEqual(listed[0]["email"], "shapes@example.com")

        cred = self.ok_json("credential", "create", "--user", user, "--permissions", "all", "--json")
        self.assertEqual(set(cred), {"ref", "key", "secret"})
        client = self.server.client(cred)

        added = self.ok_json("credits", "add", "--user", user, "--amount", "100.5", "--json")
        self.assertEqual(added, {"user_ref": user, "added": 100.5, "credits": 100.5})
        credits = client.get("/v1/credits")
        self.assertTrue(credits.ok(), credits)
        self.assertEqual(float(credits.data["credits"]), 100.5)

        cfg_path = os.path.join(self.work, "shapes.cfg")
        with open(cfg_path, "w") as f:
            f.write(harness.config_text(name="shapes_config"))
        cfg = self.ok_json("config", "add", "--user", user, "--file", cfg_path, "--json")
        self.assertEqual(set(cfg), {"ref", "name"})
        self.assertEqual(cfg["name"], "shapes_config")
        vend = client.vend({"class": "0", "subclass": "0", "drn": harness.luhn_drn("4700000001"),
                            "config_ref": cfg["ref"], "amount": 10})
        self.assertTrue(vend.ok(), vend)

        # A credential with one permission can do that and nothing else.
        narrow = self.ok_json("credential", "create", "--user", user, "--permissions", "get_credits", "--json")
        limited = self.server.client(narrow)
        self.assertTrue(limited.get("/v1/credits").ok())
        self.assertEqual(limited.get("/v1/transactions").status, 403)

        # server-key prints the key the server serves to the SDKs.
        pem = self.server.server_key_pem()
        self.assertTrue(pem.startswith("-----BEGIN PUBLIC KEY-----"), pem)
        with urllib.request.urlopen(self.server.url + "/resources/nectar_public.pub", timeout=30) as r:
            served = r.read().decode("ascii")
        self.assertEqual("".join(pem.split("\n")[1:-2]), "".join(
            line for line in served.splitlines() if not line.startswith("-----")))

    def test_server_key_import_replaces_the_pair_and_warns(self):
        key = os.path.join(self.work, "imported.pk8.pem")
        harness.sh("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out %s" % key, self.work)
        pub = harness.sh("openssl pkey -in %s -pubout" % key, self.work)
        # A data directory of its own: the class's server keeps the key it started with.
        data = os.path.join(self.tmp, "import-data")
        code, out, err = self.cli("server-key", "import", key, data_dir=data)
        self.assertEqual(code, 0, err)
        self.assertEqual(out, "")
        self.assertIn("server key imported", err)
        self.assertIn("must NEVER", err)
        self.assertIn("restart a running server", err)
        code, shown, err = self.cli("server-key", data_dir=data)
        self.assertEqual(code, 0, err)
        self.assertEqual(shown.strip(), pub.strip())

    def test_bad_input_exits_2_naming_the_field_and_changes_nothing(self):
        user = self.ok_json("user", "create", "--email", "bad-input@example.com", "--password", PASSWORD,
                            "--json")["ref"]
        client = self.server.client(self.ok_json("credential", "create", "--user", user, "--permissions", "all",
                                                 "--json"))
        self.ok_json("credits", "add", "--user", user, "--amount", "50", "--json")
        not_a_config = os.path.join(self.work, "not-a-config.cfg")
        with open(not_a_config, "w") as f:
            f.write("this is not a configuration\n")
        not_a_key = os.path.join(self.work, "not-a-key.pem")
        with open(not_a_key, "w") as f:
            f.write("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        a_config = os.path.join(self.work, "a-config.cfg")
        with open(a_config, "w") as f:
            f.write(harness.config_text(name="never_added"))
        missing = os.path.join(self.work, "missing")
        cases = [
            ("email", ["user", "create", "--email", "not-an-address", "--password", PASSWORD, "--json"]),
            ("--password", ["user", "create", "--email", "nopass@example.com", "--json"]),
            ("password", ["user", "create", "--email", "short@example.com", "--password", "short", "--json"]),
            ("username", ["user", "create", "--email", "bad-input@example.com", "--password", PASSWORD, "--json"]),
            ("phone_no", ["user", "create", "--email", "p@example.com", "--password", PASSWORD, "--phone", "x1",
                          "--json"]),
            ("user_ref", ["credential", "create", "--user", "no-such-user", "--permissions", "all", "--json"]),
            ("--permissions", ["credential", "create", "--user", user, "--permissions", "bogus", "--json"]),
            ("--permissions", ["credential", "create", "--user", user, "--permissions", ",", "--json"]),
            ("--amount", ["credits", "add", "--user", user, "--amount", "-5", "--json"]),
            ("--amount", ["credits", "add", "--user", user, "--amount", "0", "--json"]),
            ("--amount", ["credits", "add", "--user", user, "--amount", "ten", "--json"]),
            ("--amount", ["credits", "add", "--user", user, "--amount", "1.00001", "--json"]),
            ("--value", ["credits", "add", "--user", user, "--amount", "5", "--value", "-1", "--json"]),
            ("currency", ["credits", "add", "--user", user, "--amount", "5", "--currency", "kes", "--json"]),
            ("user_ref", ["credits", "add", "--user", "no-such-user", "--amount", "5", "--json"]),
            ("--file", ["config", "add", "--user", user, "--file", missing, "--json"]),
            ("--file", ["config", "add", "--user", user, "--file", not_a_config, "--json"]),
            ("user_ref", ["config", "add", "--user", "no-such-user", "--file", a_config, "--json"]),
            ("FILE", ["server-key", "import", missing]),
            ("FILE", ["server-key", "import", self.work]),            # a directory
            ("FILE", ["server-key", "import", "/dev/zero"]),          # no end: refused at 1 MiB
            ("--file", ["config", "add", "--user", user, "--file", self.work, "--json"]),
            ("pkcs8", ["server-key", "import", not_a_key]),
            ("--vault", ["user", "list", "--vault", "bogus", "--json"]),
        ]
        before = self.state(client)
        for field, args in cases:
            with self.subTest(args=" ".join(args)):
                code, out, err = self.cli(*args)
                self.assertEqual(code, 2, "exit %d; stderr %r" % (code, err))
                self.assertEqual(out, "")
                lines = err.splitlines()
                self.assertEqual(len(lines), 1, err)
                self.assertTrue(lines[0].startswith("stsvend: "), err)
                self.assertIn(field, lines[0])
        self.assertEqual(self.state(client), before)

        # An empty --data-dir (a script's unset variable) is refused, not read as the default ./data.
        for args in (["user", "list", "--json", "--data-dir", ""],
                     ["credits", "add", "--user", user, "--amount", "5", "--data-dir", ""]):
            with self.subTest(args=" ".join(args)):
                code, out, err = self.cli(*args, data_dir="")
                self.assertEqual((code, out), (2, ""), err)
                self.assertEqual(err, "stsvend: --data-dir: must not be empty\n")
        self.assertFalse(os.path.exists(os.path.join(self.work, "data")), "a default data directory was made")

    def test_a_refusal_about_a_file_names_the_file(self):
        # A vault key another user could read is refused; the line says which file to chmod.
        data = os.path.join(self.tmp, "loose-data")
        code, _, err = self.cli("user", "list", "--json", data_dir=data)  # creates the data directory
        self.assertEqual(code, 0, err)
        key = os.path.join(data, "vault.key")
        os.chmod(key, 0o644)
        code, out, err = self.cli("user", "list", "--json", data_dir=data)
        self.assertEqual((code, out), (2, ""), err)
        self.assertEqual(err, "stsvend: path: vault file mode must be 0600 or narrower (run chmod 600) - %s\n" % key)

    def test_every_command_has_help_with_examples(self):
        for command in (["user", "create"], ["user", "list"], ["credential", "create"], ["credits", "add"],
                        ["config", "add"], ["server-key"], ["server-key", "import"]):
            with self.subTest(command=" ".join(command)):
                p = subprocess.run([harness.STSVEND, "admin"] + command + ["--help"], capture_output=True, text=True,
                                   timeout=60 * harness.SLOW)
                self.assertEqual(p.returncode, 0, p.stderr)
                examples = p.stdout.split("Examples:", 1)
                self.assertEqual(len(examples), 2, p.stdout)
                self.assertIn("stsvend admin " + " ".join(command), examples[1])


if __name__ == "__main__":
    harness.main()
