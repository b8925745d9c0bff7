// `stsvend serve`: the Nectar v1 compatible HTTP API over the vending service. Flags and the
// first-start bootstrap output: docs/api.md ("Running the server").
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "api/http_server.h"
#include "api/log.h"
#include "api/nectar_api.h"
#include "api/service_options.h"
#include "cli/commands.h"
#include "cli/operator_message.h"
#include "cli/settings.h"
#include "service/data_dir_lock.h"
#include "service/service.h"
#include "vault/process_hardening.h"

namespace stsvend::cli {

namespace {

// Every client connection holds a file descriptor, and the soft limit a shell hands down (1,024 on
// Debian) is far below what a vending server with many keep-alive clients needs. The hard limit is
// what the administrator allows; a server may raise its own soft limit that far. Returns the limit
// in force afterwards.
rlim_t raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur;
}

struct ServeFlags {
  api::VaultFlags vault;
  std::string listen;
  std::string tls_cert;
  std::string tls_key;
  std::string path_prefix;
  std::string log_level = "info";
  std::string price_per_token = "1.0";
  std::string nonce_ttl = "900";
  unsigned threads = 0;
  unsigned workers = 64;
};

// Seconds, from the floor of 15 minutes to a week.
Result<std::int64_t> parse_nonce_ttl(const std::string& text) {
  bool digits = !text.empty() && text.size() <= 6;
  for (char c : text) digits = digits && c >= '0' && c <= '9';
  const std::int64_t n = digits ? std::stoll(text) : 0;
  if (!digits || n < 900 || n > 604'800) {
    return Status::InvalidArgument("--nonce-ttl", "must be a whole number of seconds from 900 to 604800");
  }
  return n;
}

// "HOST:PORT", "[v6]:PORT".
Status parse_listen(const std::string& text, std::string* host, std::uint16_t* port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return Status::InvalidArgument("--listen", "must be HOST:PORT");
  }
  std::string h = text.substr(0, colon);
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  const std::string p = text.substr(colon + 1);
  unsigned long v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return Status::InvalidArgument("--listen", "port must be a number from 0 to 65535");
    v = v * 10 + static_cast<unsigned long>(c - '0');
    if (v > 65535) return Status::InvalidArgument("--listen", "port must be a number from 0 to 65535");
  }
  *host = h;
  *port = static_cast<std::uint16_t>(v);
  return Status::Ok();
}

int run_serve(const ServeFlags& f) {
  vault::disable_core_dumps();
  // glibc returns the top of each thread arena to the kernel whenever it is free past a dynamic
  // threshold and grows it again on the next request: an mprotect pair per burst that showed as
  // 2-3% of a vend. A fixed threshold keeps up to 16 MiB free at the top of each arena instead.
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
  if (!api::set_log_level(f.log_level)) {
    std::fprintf(stderr, "stsvend: --log-level: must be debug, info, warn, error or off\n");
    return 2;
  }
  const std::string listen = f.listen.empty() ? "127.0.0.1:8080" : f.listen;
  api::HttpServerOptions http;
  if (Status s = parse_listen(listen, &http.host, &http.port); !s.ok()) {
    std::fprintf(stderr, "stsvend: %s\n", s.message().c_str());
    return 2;
  }
  if (f.tls_cert.empty() != f.tls_key.empty()) {
    std::fprintf(stderr, "stsvend: --tls-cert and --tls-key must be given together\n");
    return 2;
  }
  if (!f.tls_cert.empty()) {
    http.tls_cert_file = f.tls_cert;
    http.tls_key_file = f.tls_key;
  }
  http.io_threads = f.threads;
  http.worker_threads = f.workers;
  if (Status s = api::validate_path_prefix(f.path_prefix); !s.ok()) {
    std::fprintf(stderr, "stsvend: %s\n", s.message().c_str());
    return 2;
  }
  http.path_prefix = f.path_prefix;

  auto options = api::make_service_options(f.vault);
  if (!options.ok()) {
    std::fprintf(stderr, "stsvend: %s\n", options.status().message().c_str());
    return 2;
  }
  auto price = service::parse_units(f.price_per_token, "--price-per-token");
  if (!price.ok()) {
    std::fprintf(stderr, "stsvend: %s\n", price.status().message().c_str());
    return 2;
  }
  options->price_per_token = *price;
  auto nonce_ttl = parse_nonce_ttl(f.nonce_ttl);
  if (!nonce_ttl.ok()) {
    std::fprintf(stderr, "stsvend: %s\n", nonce_ttl.status().message().c_str());
    return 2;
  }
  options->nonce_ttl_seconds = *nonce_ttl;

  // A server must outlive its log reader: when the pipe or socket behind stdout/stderr closes
  // (`stsvend serve 2>&1 | logger`, a restarted log collector), the write fails with EPIPE and the
  // line is lost instead of SIGPIPE killing the server. (Sockets to clients never raise it: Asio
  // sends with MSG_NOSIGNAL.)
  ::signal(SIGPIPE, SIG_IGN);
  const rlim_t open_files = raise_open_files_limit();

  // Block the stop signals before any thread starts so only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // Before anything else touches the directory: a second server must not even bootstrap it.
  auto dir_lock = service::DataDirLock::acquire(options->data_dir);
  if (!dir_lock.ok()) {
    const Status& st = dir_lock.status();
    std::fprintf(stderr, "stsvend: cannot start on the data directory %s: %.*s%s%.*s\n", options->data_dir.c_str(),
                 static_cast<int>(st.rule().size()), st.rule().data(), st.detail().empty() ? "" : ": ",
                 static_cast<int>(st.detail().size()), st.detail().data());
    return 1;
  }

  auto service = service::Service::open(*options);
  if (!service.ok()) {
    const Status& st = service.status();
    const bool corrupt = st.code() == Status::Code::kCorruption;
    std::fprintf(stderr, "stsvend: cannot open the data directory %s: %s%s\n", options->data_dir.c_str(),
                 operator_message(st).c_str(),
                 corrupt ? "; restore the data directory from a backup (docs/operations.md, \"Backups\")" : "");
    return st.code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  if (Status warm = (*service)->warm_up(); !warm.ok()) {
    std::fprintf(stderr, "stsvend: cannot read the data directory %s: %s\n", options->data_dir.c_str(),
                 operator_message(warm).c_str());
    return 1;
  }
  api::NectarApi nectar(**service);
  auto server = api::HttpServer::start(http, [&nectar](api::HttpRequest& req, const std::string& remote,
                                                       api::Responder responder) {
    nectar.handle(req, remote, std::move(responder));
  });
  if (!server.ok()) {
    // A host that does not resolve or a TLS file that does not load is bad input; a taken port is not.
    std::fprintf(stderr, "stsvend: %s\n", server.status().message().c_str());
    return server.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  // Only once the port is ours: a start that fails to listen (the port is taken) must not print the
  // one-time admin password and secret for a server that never ran. Until the bootstrap commits there
  // is no credential, so a request arriving meanwhile is refused like any unknown key.
  if (auto boot = (*service)->bootstrap_if_new()) {
    // Shown once, on the first start of a data directory; nothing here is ever logged again.
    std::printf(
        "stsvend: initialised a new data directory at %s\n"
        "  admin user:        %s (username %s, ref %s)\n"
        "  admin password:    %s\n"
        "  API credential:    ref %s\n"
        "    key:             %s\n"
        "    secret:          %s\n"
        "  server public key: GET /resources/nectar_public.pub or `stsvend admin server-key --data-dir %s`\n"
        "  Store the password and secret now; they are not shown again.\n",
        options->data_dir.c_str(), boot->email.c_str(), boot->username.c_str(), boot->user_ref.c_str(),
        boot->password.c_str(), boot->credential_ref.c_str(), boot->credential_key.c_str(),
        boot->credential_secret.c_str(), options->data_dir.c_str());
    std::fflush(stdout);
  }

  const std::string shown_host = http.host.find(':') != std::string::npos ? "[" + http.host + "]" : http.host;
  std::printf("stsvend listening on %s://%s:%u\n", (*server)->tls() ? "https" : "http", shown_host.c_str(),
              static_cast<unsigned>((*server)->port()));
  std::fflush(stdout);
  api::log_line(api::LogLevel::kInfo, "serving data directory " + options->data_dir.string() +
                                          "; open files limit " + std::to_string(open_files));

  int sig = 0;
  sigwait(&stop_signals, &sig);
  api::log_line(api::LogLevel::kInfo, std::string("received ") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                                          ", stopping");
  (*server)->stop();  // returns once every request handed to `nectar` is answered
  server->reset();
  service->reset();  // drains the writer: every acknowledged token is committed
  api::log_line(api::LogLevel::kInfo, "stopped");
  return 0;
}

// The serve flags that the environment or a settings file may also set.
std::vector<Setting> serve_settings(ServeFlags& f) {
  std::vector<Setting> settings = vault_settings(f.vault);
  settings.insert(settings.end(), {{"listen", &f.listen},
                                   {"tls-cert", &f.tls_cert},
                                   {"tls-key", &f.tls_key},
                                   {"path-prefix", &f.path_prefix},
                                   {"log-level", &f.log_level},
                                   {"price-per-token", &f.price_per_token},
                                   {"nonce-ttl", &f.nonce_ttl},
                                   {"threads", nullptr, &f.threads},
                                   {"workers", nullptr, &f.workers}});
  return settings;
}

}  // namespace

void add_serve_command(CLI::App& app, Context& ctx) {
  auto f = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Run the Nectar v1 compatible HTTP API. A flag not on the command line is taken from STSVEND_<FLAG> "
      "(e.g. STSVEND_TLS_CERT), then from the --config file (`tls-cert = /path`), then its default");
  add_vault_flags(serve, f->vault);
  serve->add_option("--listen", f->listen, "HOST:PORT (default $STSVEND_LISTEN or 127.0.0.1:8080; port 0 = any)");
  serve->add_option("--tls-cert", f->tls_cert, "PEM certificate chain; enables HTTPS with --tls-key");
  serve->add_option("--tls-key", f->tls_key, "PEM private key for --tls-cert");
  serve->add_option("--path-prefix", f->path_prefix,
                    "Behind a reverse proxy that keeps its prefix: strip PREFIX (e.g. /nectar) from request paths");
  serve->add_option("--log-level", f->log_level, "debug|info|warn|error|off (default info)");
  serve->add_option("--price-per-token", f->price_per_token, "Credits charged per token (default 1.0)");
  serve->add_option("--nonce-ttl", f->nonce_ttl,
                    "Seconds a request nonce is remembered, 900 to 604800 (default 900); longer also refuses "
                    "late replays of requests whose Date has no zone, at ~36 bytes of memory per request");
  serve->add_option("--threads", f->threads, "I/O threads (default: hardware threads)");
  serve->add_option("--workers", f->workers, "Worker threads running the requests that block (default 64)");
  serve->footer(
      "The first start of a data directory prints, once, an admin account and an API credential.\n"
      "SIGINT/SIGTERM finish the requests under way and exit 0; exit 1 when the server cannot start, 2 on bad\n"
      "input (one line on stderr naming the setting).\n"
      "\n"
      "Examples:\n"
      "  stsvend serve                                          # ./data, http://127.0.0.1:8080\n"
      "  stsvend serve --data-dir /var/lib/stsvend --listen 0.0.0.0:8443 --tls-cert cert.pem --tls-key key.pem\n"
      "  stsvend serve --config /etc/stsvend/stsvend.conf");
  serve->callback([f, serve, &ctx] {
    if (Status s = apply_settings(*serve, f->vault.config_file, serve_settings(*f)); !s.ok()) {
      std::fprintf(stderr, "stsvend: %s\n", s.message().c_str());
      ctx.exit_code = 2;
      return;
    }
    ctx.exit_code = run_serve(*f);
  });
}

}  // namespace stsvend::cli
