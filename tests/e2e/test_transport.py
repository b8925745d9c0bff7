#!/usr/bin/env python3
"""The HTTP transport of `stsvend serve`, black box (docs/api.md, "Transport"):

  * HTTPS with --tls-cert/--tls-key: the listening line says https://, /health and a signed vend work over TLS, the
    token checks out, and a plain-HTTP client on the TLS port does not hurt the server;
  * many requests pipelined in one write are all answered, in order (more than the server answers on one stack);
  * `Expect: 100-continue` gets the interim 100 before the body is sent, then the answer;
  * an oversized header gets 431, a request cut off by the client's half-close gets 400, a connection dropped
    mid-request leaves the server serving;
  * --path-prefix: requests under the prefix are routed and verified as the client signed them (without it);
  * settings from a --config file and from STSVEND_<FLAG> variables: the command line wins over the environment,
    the environment over the file; a bad file stops the server with exit 2 naming the file, line and setting;
    admin commands read the data directory from the same file;
  * a second `serve` on a data directory in use is refused, naming the first server's pid;
  * a first start whose port is taken exits 1 before it prints the one-time admin password and secret;
  * --listen localhost:PORT listens on 127.0.0.1; a host name that does not resolve is bad input (exit 2);
  * a data directory whose database is not a database stops the start with exit 1, the cause and the remedy;
  * the server outlives the reader of its log (a closed stderr pipe loses lines, it does not kill the server);
  * more clients than file descriptors: accepting pauses with one log line (it used to spin and log each try),
    the clients wait in the backlog and are served once descriptors come back.
"""

import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def read_responses(sock, count, timeout=30.0):
    """Reads `count` HTTP/1.1 responses with Content-Length bodies; returns [(status, body bytes)]."""
    sock.settimeout(timeout * harness.SLOW)
    buf = b""
    out = []
    while len(out) < count:
        head_end = buf.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buf[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            if len(buf) >= head_end + 4 + length:
                out.append((int(head.split(" ", 2)[1]), buf[head_end + 4:head_end + 4 + length]))
                buf = buf[head_end + 4 + length:]
                continue
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    return out


def self_signed(workdir):
    """A localhost certificate and key made with the openssl CLI; returns (cert path, key path)."""
    cert, key = os.path.join(workdir, "tls-cert.pem"), os.path.join(workdir, "tls-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    return cert, key


class TlsTransport(harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        # The certificate must exist before the server starts: made in a directory of our own.
        cls.cert_dir = tempfile.mkdtemp(prefix="stsvend-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.cert_dir, True)
        cls.cert, cls.key = self_signed(cls.cert_dir)
        cls.server_args = ("--tls-cert", cls.cert, "--tls-key", cls.key)
        super().setUpClass()
        cls.ctx = ssl.create_default_context(cafile=cls.cert)

    def test_listens_with_https_and_answers(self):
        self.assertEqual(self.server.scheme, "https", self.server.first_stdout)
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as raw:
            with self.ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
                answers = read_responses(s, 3)
        self.assertEqual([a[0] for a in answers], [200, 200, 200], answers)
        self.assertIn(b'"UP"', answers[0][1])

    def test_signed_vend_over_tls(self):
        srv = self.server
        user, cred, client = srv.tenant("tls@example.org", credits=10, ssl_context=self.ctx)
        cfg = harness.upload_config(srv, client, os.path.join(self.work, "tls"), harness.config_text("tls"))
        drn = harness.luhn_drn("4400000001")
        r = client.vend({"class": "0", "subclass": "0", "drn": drn, "config_ref": cfg, "amount": 2.5})
        self.assertTrue(r.ok(), r)
        credits = client.get("/v1/credits")
        self.assertEqual(float(credits.data["credits"]), 9.0, credits)

    def test_plain_http_on_the_tls_port_is_refused_and_harmless(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            s.settimeout(30 * harness.SLOW)
            try:
                data = s.recv(4096)
            except (ConnectionResetError, socket.timeout):
                data = b""
            self.assertNotIn(b"HTTP/1.1 200", data)
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as raw:
            with self.ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertEqual(read_responses(s, 1)[0][0], 200)


class PlainTransport(harness.ServerTestCase):
    def connect(self):
        return socket.create_connection(("127.0.0.1", self.server.port), timeout=30)

    def test_many_pipelined_requests_are_answered_in_order(self):
        n = 300  # far more than the server answers on one stack before it posts the next one
        reqs = []
        for i in range(n):
            path = "/v1/openapi.json" if i % 50 == 7 else "/health"
            reqs.append(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        with self.connect() as s:
            s.sendall(b"".join(reqs))
            answers = read_responses(s, n)
        self.assertEqual(len(answers), n)
        for i, (status, body) in enumerate(answers):
            self.assertEqual(status, 200, i)
            self.assertEqual(b"openapi" in body, i % 50 == 7, "answer %d out of order" % i)

    def test_expect_100_continue(self):
        body = b'{"x":' + b'"' + b"a" * 2000 + b'"}'
        with self.connect() as s:
            s.sendall(b"POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
            s.settimeout(10 * harness.SLOW)
            interim = s.recv(4096)
            self.assertTrue(interim.startswith(b"HTTP/1.1 100"), interim)
            s.sendall(body)
            answers = read_responses(s, 1)
        # Unsigned: the Nectar authentication answer, as a JSON envelope.
        self.assertEqual(answers[0][0], 401, answers)

    def test_oversized_header_gets_431(self):
        with self.connect() as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (20 << 10) + b"\r\n\r\n")
            answers = read_responses(s, 1)
        self.assertEqual(answers[0][0], 431, answers)

    def test_truncated_request_gets_400_and_dropped_ones_are_harmless(self):
        with self.connect() as s:
            s.sendall(b"POST /v1/tokens HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":")
            s.shutdown(socket.SHUT_WR)
            answers = read_responses(s, 1)
        self.assertEqual(answers[0][0], 400, answers)
        for partial in (b"GET /hea", b"GET /health HTTP/1.1\r\nHost: x\r\n", b"POST /v1/tokens HTTP/1.1\r\n"
                        b"Content-Length: 10\r\n\r\n12"):
            with self.connect() as s:
                s.sendall(partial)
            time.sleep(0.05)
        with self.connect() as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(read_responses(s, 1)[0][0], 200)


    def test_a_body_of_unknown_length_gets_400_and_nothing_after_it_is_served(self):
        # Transfer-Encoding not ending in chunked, or beside Content-Length (RFC 9112 §6.1, §6.3): what follows
        # would otherwise be served as a request of its own (request smuggling behind a proxy).
        smuggled = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        for head in (b"Transfer-Encoding: gzip\r\n", b"Transfer-Encoding: chunked, identity\r\n",
                     b"Transfer-Encoding: chunked\r\nContent-Length: %d\r\n" % len(smuggled)):
            with self.subTest(head=head), self.connect() as s:
                s.sendall(b"POST /v1/tokens HTTP/1.1\r\nHost: x\r\n" + head + b"\r\n" + smuggled)
                s.settimeout(10 * harness.SLOW)
                answer = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    answer += chunk
                self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:200])
                self.assertEqual(answer.count(b"HTTP/1.1 "), 1, answer)
        with self.connect() as s:
            s.sendall(b"POST /v1/tokens HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
            self.assertEqual(read_responses(s, 1)[0][0], 401)  # chunked alone is fine: unsigned, so 401


class OneServerPerDataDirectory(harness.ServerTestCase):

    def test_a_second_server_on_the_same_data_directory_is_refused_naming_the_first(self):
        r = subprocess.run([harness.STSVEND, "serve", "--data-dir", self.server.data_dir, "--listen", "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=60 * harness.SLOW)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("stsvend: cannot start on the data directory %s: is in use by another stsvend serve (pid %d)"
                      % (self.server.data_dir, self.server.proc.pid), r.stderr)
        self.assertNotIn("listening", r.stdout)
        # Admin commands are meant to run beside the server and take no lock.
        a = subprocess.run([harness.STSVEND, "admin", "user", "list", "--data-dir", self.server.data_dir, "--json"],
                           capture_output=True, text=True, timeout=60 * harness.SLOW)
        self.assertEqual(a.returncode, 0, a.stderr)


class PortInUse(harness.ServerTestCase):
    """A first start whose port is taken fails before it bootstraps the data directory: the one-time admin password
    and credential secret are printed by the start that serves, not by one that exits."""

    def test_a_taken_port_fails_the_start_and_keeps_the_bootstrap_for_the_start_that_serves(self):
        data = os.path.join(self.tmp, "second-data")
        address = "127.0.0.1:%d" % self.server.port
        r = subprocess.run([harness.STSVEND, "serve", "--data-dir", data, "--listen", address],
                           capture_output=True, text=True, timeout=120 * harness.SLOW)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("stsvend: cannot listen on %s: Address already in use" % address, r.stderr)
        self.assertNotIn("admin password", r.stdout)
        self.assertNotIn("secret", r.stdout)
        logs = os.path.join(self.tmp, "second-logs")  # apart from the class server's server-N.stderr
        os.makedirs(logs)
        second = harness.Server(data, logs)
        self.addCleanup(second.stop)
        second.start()
        self.assertTrue(any("admin password:" in line for line in second.first_stdout), second.first_stdout)


class ListenAddress(unittest.TestCase):
    """--listen takes a host name as well as an address: `localhost` listens on 127.0.0.1, which every client tries;
    a name that does not resolve is bad input (exit 2) that names the host."""

    def test_localhost_listens_on_loopback_and_an_unknown_name_is_bad_input(self):
        tmp = tempfile.mkdtemp(prefix="stsvend-e2e-")
        self.addCleanup(shutil.rmtree, tmp, True)
        r = subprocess.run([harness.STSVEND, "serve", "--data-dir", os.path.join(tmp, "data"), "--listen",
                            "no-such-host.invalid:8080"], capture_output=True, text=True, timeout=120 * harness.SLOW)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("stsvend: --listen: host must be an IP address or a name that resolves (no-such-host.invalid",
                      r.stderr)
        self.assertNotIn("admin password", r.stdout)

        port = harness.free_port()
        proc = subprocess.Popen([harness.STSVEND, "serve", "--data-dir", os.path.join(tmp, "data"), "--listen",
                                 "localhost:%d" % port], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL)
        self.addCleanup(proc.wait, 30)
        self.addCleanup(proc.kill)
        listening = None
        for raw in iter(proc.stdout.readline, b""):
            if b"stsvend listening on" in raw:
                listening = raw.decode().strip()
                break
        self.assertEqual(listening, "stsvend listening on http://localhost:%d" % port)
        with socket.create_connection(("127.0.0.1", port), timeout=30 * harness.SLOW) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            self.assertEqual(read_responses(s, 1)[0][0], 200)


class PrefixedTransport(harness.ServerTestCase):
    server_args = ("--path-prefix", "/nectar")

    def get(self, target):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target).encode())
            return read_responses(s, 1)[0]

    def test_prefix_is_stripped_before_routing_and_signing(self):
        self.assertEqual(self.get("/nectar/health")[0], 200)
        self.assertEqual(self.get("/health")[0], 200)  # unprefixed paths still work
        self.assertEqual(self.get("/nectarx/health")[0], 404)
        srv = self.server
        user, cred, _ = srv.tenant("prefix@example.org", credits=5)
        proxied = srv.client(cred)
        proxied.prefix = "/nectar"  # as NectarClient("http://host:port/nectar", ...) sets it
        r = proxied.get("/v1/credits")
        self.assertTrue(r.ok(), r)
        self.assertEqual(float(r.data["credits"]), 5.0, r)
        r = proxied.get("/v1/credits?")  # the SDKs' bare trailing '?'
        self.assertTrue(r.ok(), r)


class SettingsFromFileAndEnvironment(harness.ServerTestCase):
    """TLS and the path prefix come from a settings file; the file's listen and log-level lose to the command line
    (the harness passes --listen) and to STSVEND_LOG_LEVEL: were they used, the server would refuse to start."""

    @classmethod
    def setUpClass(cls):
        cls.conf_dir = tempfile.mkdtemp(prefix="stsvend-conf-")
        cls.addClassCleanup(shutil.rmtree, cls.conf_dir, True)
        cert, key = self_signed(cls.conf_dir)
        cls.conf = os.path.join(cls.conf_dir, "stsvend.conf")
        with open(cls.conf, "w") as f:
            f.write("# stsvend serve settings\n"
                    "listen = not-an-address\n"
                    "tls-cert = \"%s\"\n"
                    "tls-key = '%s'  # the pair enables HTTPS\n"
                    "path-prefix = /nectar\n"
                    "log-level = bogus\n" % (cert, key))
        cls.server_args = ("--config", cls.conf)
        os.environ["STSVEND_LOG_LEVEL"] = "warn"
        try:
            super().setUpClass()
        finally:
            del os.environ["STSVEND_LOG_LEVEL"]
        cls.ctx = ssl.create_default_context(cafile=cert)

    def test_file_settings_apply_and_lose_to_flags_and_environment(self):
        self.assertEqual(self.server.scheme, "https")
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as raw:
            with self.ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"GET /nectar/health HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertEqual(read_responses(s, 1)[0][0], 200)

    def test_admin_commands_find_the_data_directory_in_the_same_file(self):
        conf = os.path.join(self.conf_dir, "admin.conf")
        with open(conf, "w") as f:
            # The serve-only settings are accepted (one file for both) and ignored by admin commands.
            f.write("data-dir = %s\nlisten = not-an-address\nthreads = 2\n" % self.server.data_dir)
        r = subprocess.run([harness.STSVEND, "admin", "user", "list", "--config", conf, "--json"],
                           capture_output=True, text=True, timeout=120 * harness.SLOW, cwd=self.conf_dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("is_admin", r.stdout)  # the bootstrap admin of the server's data directory
        r = subprocess.run([harness.STSVEND, "admin", "server-key"], env=dict(os.environ, STSVEND_CONFIG=conf),
                           capture_output=True, text=True, timeout=120 * harness.SLOW, cwd=self.conf_dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, self.server.server_key_pem())
        self.assertFalse(os.path.exists(os.path.join(self.conf_dir, "data")), "./data was not used")

    def test_bad_settings_stop_the_server_with_exit_2(self):
        bad = os.path.join(self.conf_dir, "bad.conf")
        with open(bad, "w") as f:
            f.write("listen = 127.0.0.1:0\ntls_cert = /x\n")
        data = os.path.join(self.conf_dir, "unused-data")
        r = subprocess.run([harness.STSVEND, "serve", "--data-dir", data, "--config", bad],
                           capture_output=True, text=True, timeout=60 * harness.SLOW)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(bad + ":2: unknown setting 'tls_cert'", r.stderr)
        self.assertFalse(os.path.exists(data), "nothing was created")
        r = subprocess.run([harness.STSVEND, "serve", "--data-dir", data, "--listen", "127.0.0.1:0"],
                           env=dict(os.environ, STSVEND_THREADS="two"), capture_output=True, text=True,
                           timeout=60 * harness.SLOW)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--threads: (from STSVEND_THREADS) must be a whole number", r.stderr)
        r = subprocess.run([harness.STSVEND, "serve", "--data-dir", data, "--listen", "127.0.0.1:0",
                            "--nonce-ttl", "60"], capture_output=True, text=True, timeout=60 * harness.SLOW)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--nonce-ttl: must be a whole number of seconds from 900", r.stderr)
        self.assertFalse(os.path.exists(data), "nothing was created")


class ClosedLogPipe(unittest.TestCase):
    """The reader of the server's log goes away (`stsvend serve 2>&1 | logger`, a restarted collector): the server
    loses the lines it cannot write and goes on serving, instead of dying of SIGPIPE at its next log line."""

    def test_server_outlives_its_log_reader(self):
        tmp = tempfile.mkdtemp(prefix="stsvend-e2e-")
        self.addCleanup(shutil.rmtree, tmp, True)
        port = harness.free_port()
        proc = subprocess.Popen([harness.STSVEND, "serve", "--data-dir", os.path.join(tmp, "data"), "--listen",
                                 "127.0.0.1:%d" % port, "--log-level", "debug"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.addCleanup(proc.wait, 30)
        self.addCleanup(proc.kill)
        # Wait for the listening line, then close both pipes: every later write of the server hits EPIPE.
        deadline = time.time() + 60 * harness.SLOW
        for raw in iter(proc.stdout.readline, b""):
            if b"stsvend listening on" in raw or time.time() > deadline:
                break
        proc.stdout.close()
        proc.stderr.close()
        for _ in range(3):  # each request writes a debug line to the closed stderr
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=30 * harness.SLOW) as s:
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                    status = read_responses(s, 1)[0][0]
            except (OSError, IndexError):
                status = None
                time.sleep(0.5)  # let a dying server finish dying
            self.assertIsNone(proc.poll(), "the server died when its log reader went away")
            self.assertEqual(status, 200)


# The sanitizer runtime needs descriptors of its own: UBSan's vptr check opens a pipe to probe memory, and when that
# fails with EMFILE it reports a valid object as having an invalid vptr (seen under strace: pipe2 = -1 EMFILE, then
# "runtime error: ... invalid vptr" at the server's first `ec.message()`). So this runs on the Release build only.
@unittest.skipIf(harness.SANITIZED, "a sanitized server cannot run out of file descriptors: its runtime needs some")
class DescriptorExhaustion(harness.ServerTestCase):
    """The server runs out of file descriptors (more keep-alive clients than its RLIMIT_NOFILE): every accept fails
    with EMFILE until a connection closes. The accept loop must pause instead of retrying at once, which spun a core
    and wrote about 80,000 log lines a second, and must take the waiting clients once descriptors are free."""

    open_files_limit = 48  # the server needs about 20 of its own

    def log_count(self, text):
        return self.server.stderr_tail(1 << 30).count(text)

    def wait_for_log(self, text):
        deadline = time.time() + 30 * harness.SLOW
        while self.log_count(text) == 0:
            self.assertLess(time.time(), deadline, "no %r in the server's log" % text)
            time.sleep(0.05)

    def test_accepting_pauses_says_so_once_and_resumes(self):
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        for _ in range(2 * self.open_files_limit):  # the kernel completes them all; the server cannot take them
            socks.append(socket.create_connection(("127.0.0.1", self.server.port), timeout=30 * harness.SLOW))
        self.wait_for_log("accept failed")
        time.sleep(1.0)  # ten pauses' worth of retries
        self.assertEqual(self.log_count("accept failed"), 1, self.server.stderr_tail())
        self.assertIn("Too many open files", self.server.stderr_tail())
        # The last client is still in the backlog; it is served once the others hang up.
        last = socks.pop()
        for s in socks:
            s.close()
        last.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(read_responses(last, 1)[0][0], 200)
        self.wait_for_log("accepting connections again after")


class UnreadableDataDirectory(unittest.TestCase):
    """A data directory whose database is not a database: the server refuses to start, says so and where to go."""

    def test_corrupt_database_names_the_problem_and_the_remedy(self):
        tmp = tempfile.mkdtemp(prefix="stsvend-e2e-")
        self.addCleanup(shutil.rmtree, tmp, True)
        data = os.path.join(tmp, "data")
        # A complete data directory (vault key, server key, database), then its database overwritten.
        init = subprocess.run([harness.STSVEND, "admin", "user", "list", "--data-dir", data, "--json"],
                              capture_output=True, text=True, timeout=120 * harness.SLOW)
        self.assertEqual(init.returncode, 0, init.stderr)
        for name in ("stsvend.db-wal", "stsvend.db-shm"):
            if os.path.exists(os.path.join(data, name)):
                os.remove(os.path.join(data, name))
        with open(os.path.join(data, "stsvend.db"), "wb") as f:
            f.write(b"this is not an SQLite database" * 200)
        r = subprocess.run([harness.STSVEND, "serve", "--data-dir", data, "--listen", "127.0.0.1:0"],
                           capture_output=True, text=True, timeout=60 * harness.SLOW)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("stsvend: cannot open the data directory %s: database corrupt" % data, r.stderr)
        self.assertIn("file is not a database", r.stderr)
        self.assertIn("restore the data directory from a backup", r.stderr)
        self.assertNotIn("listening", r.stdout)


if __name__ == "__main__":
    harness.main()
