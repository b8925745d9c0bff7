"""Hermetic harness for the black-box tests: a `stsvend serve` on a temp data dir and an ephemeral loopback
port, the admin CLI, the engine CLI (independent token check) and the openssl upload recipe of the seeds.

Every test script takes `--stsvend PATH`. If that binary has no `serve` subcommand yet, the script exits 77,
which CMake maps to a skipped test (SKIP_RETURN_CODE) rather than a pass.
"""

import argparse
import ctypes
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import nectar_client

SKIP = 77
SANITIZED = os.environ.get("STSVEND_SANITIZED") == "1"
# A server under ASan starts and answers several times slower; scale every wait.
SLOW = 4.0 if SANITIZED else 1.0

STSVEND = None  # path of the binary, set by main()


def _die_with_parent():
    """Runs in the child before exec: the server gets SIGKILL if this test process dies (ctest timeout, ^C)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    """An ephemeral port the kernel just handed out; the server binds it right after."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, check=True, input_bytes=None, timeout=120):
    p = subprocess.run(args, input=input_bytes, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout * SLOW)
    if check and p.returncode != 0:
        raise AssertionError("command failed (%d): %s\nstdout: %s\nstderr: %s" % (
            p.returncode, " ".join(args), p.stdout.decode(errors="replace")[-2000:],
            p.stderr.decode(errors="replace")[-2000:]))
    return p


def last_json(text: str):
    """The JSON document a --json command printed (whole stdout, else its last line that parses)."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{") or line.startswith("["):
            try:
                return json.loads(line)
            except ValueError:
                continue
    raise AssertionError("no JSON in output: " + text[-1000:])


class Server:
    """One `stsvend serve` process. start() waits for the 'listening' line; kill() is SIGKILL."""

    def __init__(self, data_dir: str, log_dir: str, extra_args=()):
        self.data_dir, self.log_dir, self.extra_args = data_dir, log_dir, list(extra_args)
        self.proc = None
        self.port = None
        # RLIMIT_FSIZE of the next start (bytes, None = unlimited): a write past it fails with EFBIG, the
        # way a full disk fails a write with ENOSPC.
        self.file_size_limit = None
        # RLIMIT_NOFILE (soft and hard) of the next start, None = inherited.
        self.open_files_limit = None
        self.scheme = "http"
        self.starts = 0
        self.first_stdout = []

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def start(self, timeout=60.0):
        self.port = free_port()
        self.starts += 1
        log = open(os.path.join(self.log_dir, "server-%d.stderr" % self.starts), "wb")
        self.proc = subprocess.Popen(
            [STSVEND, "serve", "--data-dir", self.data_dir, "--listen", "127.0.0.1:%d" % self.port]
            + self.extra_args, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
            preexec_fn=self._child_setup)
        log.close()
        ready = threading.Event()
        lines = []

        def pump(stream):
            # Drain stdout for the life of the process so a chatty server never blocks on a full pipe.
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\n")
                lines.append(line)
                if "stsvend listening on http" in line:  # http:// or https://
                    ready.set()
            stream.close()

        threading.Thread(target=pump, args=(self.proc.stdout,), daemon=True).start()
        deadline = time.time() + timeout * SLOW
        while not ready.wait(0.05):
            if self.proc.poll() is not None:
                raise AssertionError("server exited with %s before listening; stdout: %s; stderr: %s" % (
                    self.proc.returncode, "\n".join(lines)[-2000:], self.stderr_tail()))
            if time.time() > deadline:
                self.kill()
                raise AssertionError("server did not print 'stsvend listening on' within %.0fs" % (timeout * SLOW))
        if self.starts == 1:
            self.first_stdout = lines
        # The printed address is the truth; it matches the port we asked for.
        for line in lines:
            if "stsvend listening on http" in line:
                self.scheme, addr = line.split("stsvend listening on ", 1)[1].strip().rstrip("/").split("://", 1)
                port = int(addr.rsplit(":", 1)[1])
                if port != 0:
                    self.port = port
        return self

    def _child_setup(self):
        _die_with_parent()
        if self.file_size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (self.file_size_limit, self.file_size_limit))
        if self.open_files_limit is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files_limit, self.open_files_limit))

    def stderr_tail(self, n=3000):
        path = os.path.join(self.log_dir, "server-%d.stderr" % self.starts)
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-n:]
        except OSError:
            return ""

    def check_sanitizer_reports(self):
        """Fails (as a class-cleanup error) if any server run printed an ASan/LSan/UBSan report."""
        for n in range(1, self.starts + 1):
            path = os.path.join(self.log_dir, "server-%d.stderr" % n)
            try:
                with open(path, "rb") as f:
                    text = f.read().decode("utf-8", "replace")
            except OSError:
                continue
            for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
                if marker in text:
                    at = text.index(marker)
                    raise AssertionError("sanitizer report in server run %d:\n%s" % (n, text[max(0, at - 200):at + 4000]))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL: no graceful shutdown, exactly what a crash looks like."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)

    # --- admin CLI (works while the server runs) ---------------------------------------------------
    def admin(self, *args):
        p = run([STSVEND, "admin"] + list(args[:2]) + ["--data-dir", self.data_dir] + list(args[2:]))
        return p.stdout.decode("utf-8", "replace")

    def create_user(self, email, password="correct horse battery"):
        return last_json(self.admin("user", "create", "--email", email, "--password", password, "--json"))["ref"]

    def create_credential(self, user_ref, permissions="all"):
        """`--permissions all|id,id,…`. Identifiers are tried first; if the CLI wants numeric ids, they are
        looked up in the permission list of an all-permission credential of the same user."""
        args = ["credential", "create", "--user", user_ref, "--permissions", permissions, "--json"]
        p = run([STSVEND, "admin"] + args[:2] + ["--data-dir", self.data_dir] + args[2:], check=False)
        if p.returncode == 0 or permissions == "all":
            if p.returncode != 0:
                raise AssertionError("admin credential create failed: " + p.stderr.decode(errors="replace"))
            return last_json(p.stdout.decode())
        full = self.create_credential(user_ref, "all")
        r = self.client(full).get("/v1/credentials?ref=" + full["ref"])
        assert r.ok(), r
        ids = {pm["identifier"]: str(pm["id"]) for pm in r.data["permissions"]}
        mapped = ",".join(ids[x] for x in permissions.split(","))
        return last_json(self.admin("credential", "create", "--user", user_ref, "--permissions", mapped, "--json"))

    def add_credits(self, user_ref, amount):
        return self.admin("credits", "add", "--user", user_ref, "--amount", str(amount), "--json")

    def server_key_pem(self):
        p = run([STSVEND, "admin", "server-key", "--data-dir", self.data_dir])
        return p.stdout.decode("ascii")

    def client(self, cred, **kw):
        return nectar_client.NectarClient(self.url, cred["key"], cred["secret"], **kw)

    def tenant(self, email, credits=None, permissions="all", **kw):
        """A user with one credential (and optionally credits); returns (user_ref, credential, client)."""
        user = self.create_user(email)
        cred = self.create_credential(user, permissions)
        if credits is not None:
            self.add_credits(user, credits)
        return user, cred, self.client(cred, **kw)


class ServerTestCase(unittest.TestCase):
    """Starts one server on a fresh temp dir per test class; always kills it, even when setUp fails."""

    server_args = ()
    open_files_limit = None  # see Server.open_files_limit

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="stsvend-e2e-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.work = os.path.join(cls.tmp, "work")
        os.makedirs(cls.work)
        cls.server = Server(os.path.join(cls.tmp, "data"), cls.tmp, cls.server_args)
        # Cleanups run last-in first-out: graceful stop (so ASan/LSan can report), scan the logs, remove the dir.
        cls.addClassCleanup(cls.server.check_sanitizer_reports)
        cls.addClassCleanup(cls.server.stop)
        cls.server.open_files_limit = cls.open_files_limit
        cls.server.start()

    def tearDown(self):
        # A test that crashed the server must say so loudly, not leave the next test confused.
        if not self.server.alive() and not getattr(self, "server_may_be_down", False):
            self.fail("server died: " + self.server.stderr_tail())


# --- configuration upload, the seeds' openssl recipe (§3.5.1) ---------------------------------------

def sh(cmd: str, cwd: str, timeout=120):
    """Runs a shell pipeline exactly as the seeds write it."""
    p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout * SLOW)
    if p.returncode != 0:
        raise AssertionError("shell failed (%d): %s\n%s" % (p.returncode, cmd, p.stderr.decode(errors="replace")))
    return p.stdout.decode("utf-8", "replace")


def bare_spki(pem: str) -> str:
    """The seeds' instruction: remove the PEM armour; the API wants bare base64 SPKI."""
    return "".join(l.strip() for l in pem.splitlines() if l.strip() and not l.startswith("-----"))


def openssl_upload_parts(workdir: str, config_text: str, server_pub_pem: str, key_pem: str = "key.pem",
                         sym: str = "v8y/B?E(H+MbQeTh", iv: str = "1234567812345678"):
    """Encrypts config_text with the seed's exact commands; returns {data, digest, key} as uploaded."""
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "sts_config.yml"), "w") as f:
        f.write(config_text)
    with open(os.path.join(workdir, "server.pub"), "w") as f:
        f.write(server_pub_pem)
    # The seed's own lines: `echo -n -e 1234567812345678 > iv.txt`, `echo -n -e "v8y/B?E(H+MbQeTh" > sym.txt`.
    sh('echo -n -e %s > iv.txt' % iv, workdir)
    sh('echo -n -e "%s" > sym.txt' % sym, workdir)
    sh("openssl enc -aes-128-cbc -in sts_config.yml -out encrypted_sts_config_no_iv.bin -K %s -iv %s"
       % (sym.encode().hex(), iv.encode().hex()), workdir)
    sh("cp iv.txt encrypted_sts_config_with_iv.bin && "
       "cat encrypted_sts_config_no_iv.bin >> encrypted_sts_config_with_iv.bin && "
       "cat encrypted_sts_config_with_iv.bin | base64 > encrypted_sts_config_with_iv_base64.txt", workdir)
    sh("cat sts_config.yml | openssl dgst -binary -sha256 | openssl rsautl -sign -inkey %s -in - -out - "
       "| openssl base64 > encrypted_digest.txt" % key_pem, workdir)
    sh("openssl rsautl -encrypt -pubin -inkey server.pub -in sym.txt -out encrypted_symmetric.bin && "
       "base64 encrypted_symmetric.bin > encrypted_symmetric.txt", workdir)

    def read(name):
        with open(os.path.join(workdir, name)) as f:
            return f.read()
    return {"data": read("encrypted_sts_config_with_iv_base64.txt"), "digest": read("encrypted_digest.txt"),
            "key": read("encrypted_symmetric.txt")}


def upload_config(server: Server, client, workdir: str, config_text: str, bits: int = 2048):
    """Generates a user key pair, uploads its public key and the config; returns the config ref."""
    os.makedirs(workdir, exist_ok=True)
    if not os.path.exists(os.path.join(workdir, "key.pem")):
        sh("openssl genrsa -out key.pem %d 2>/dev/null && openssl rsa -in key.pem -pubout > public_key.pub 2>/dev/null"
           % bits, workdir)
        with open(os.path.join(workdir, "public_key.pub")) as f:
            r = client.post("/v1/public_keys", {"name": "e2e key", "key": bare_spki(f.read()), "activated": True})
        assert r.ok(), r
    parts = openssl_upload_parts(workdir, config_text, server.server_key_pem())
    r = client.post("/v1/configurations", parts)
    assert r.ok(), r
    return r.data["ref"]


def luhn_drn(prefix10: str) -> str:
    """An 11-digit DRN whose last digit is the Luhn check digit of the first ten."""
    total = 0
    for i, ch in enumerate(reversed(prefix10)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return prefix10 + str((10 - total % 10) % 10)


def config_text(name="e2e_config", dkga="02", ea="sta", vending_key="0123456789abcdef", base_date=2014,
                key_type=2, sgc="123456", ti="01", krn=1, ken=255, iin="600727"):
    """The seeds' key: value format (no leading ---, no type, as the seed writes it)."""
    return ("name: %s\nkey_expiry_no: %d\nencryption_algorithm: %s\ntoken_carrier_type: numeric\n"
            "decoder_key_generation_algorithm: %s\ntariff_index: %s\nkey_revision_no: %d\nvending_key: %s\n"
            "supply_group_code: %s\nkey_type: %d\nbase_date: %d\nissuer_identification_no: %s\n"
            % (name, ken, ea, dkga, ti, krn, vending_key, sgc, key_type, base_date, iin))


# --- the engine CLI: an independent check of every token the server hands out -----------------------

def engine_decode(config_path: str, drn: str, tokens):
    p = run([STSVEND, "token", "decode", "--config", config_path, "--drn", drn] + list(tokens) + ["--json"])
    out = last_json(p.stdout.decode())
    return out if isinstance(out, list) else [out]


def engine_generate(config_path: str, drn: str, args):
    p = run([STSVEND, "token", "generate", "--config", config_path, "--drn", drn] + list(args) + ["--json"])
    return last_json(p.stdout.decode())


def parse_instant_minutes(token_id: str, base_year: int) -> int:
    """TID: whole minutes from base_year-01-01T00:00Z to the yyyy-MM-ddTHH:mm wall-clock minute (UTC)."""
    import calendar
    t = calendar.timegm(time.strptime(token_id[:16], "%Y-%m-%dT%H:%M"))
    return (t - calendar.timegm((base_year, 1, 1, 0, 0, 0))) // 60


def main():
    """Parses --stsvend, skips (77) when the server is not built yet, self-checks the signer, runs unittest."""
    global STSVEND
    ap = argparse.ArgumentParser()
    ap.add_argument("--stsvend", required=True)
    args, rest = ap.parse_known_args()
    STSVEND = os.path.abspath(args.stsvend)
    nectar_client.self_check()
    if subprocess.run([STSVEND, "serve", "--help"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        print("SKIP: %s has no `serve` subcommand (server not built)" % STSVEND)
        sys.exit(SKIP)
    prog = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
