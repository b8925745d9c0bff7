// stsvend_load: HTTP load generator for durable class-0 vends (POST /v1/tokens, token_id omitted) or the
// unauthenticated GET /health baseline. Keep-alive connections, one thread each; every vend request is signed
// (unique nonce) before the timed phase so the client spends its CPU on I/O only. See docs/benchmarks-api.md.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include "latency_stats.h"
#include "nectar_signer.h"

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace stsvend::load {
namespace {

struct Options {
  std::string url = "http://127.0.0.1:8080";
  std::string key, secret, config_ref;
  int connections = 32;
  double duration_s = 10;
  bool health = false;
  long drns = 1000;
  double rate = 0;  // 0: closed loop, as fast as the server answers
  std::string amount = "1";
  long max_requests = 0;  // pre-signed supply; 0: sized from duration and rate
};

struct Target {
  std::string host, port;
};

bool parse_url(const std::string& url, Target& t) {
  constexpr std::string_view kScheme = "http://";
  if (url.rfind(kScheme, 0) != 0) return false;
  std::string rest = url.substr(kScheme.size());
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  const auto colon = rest.rfind(':');
  t.host = colon == std::string::npos ? rest : rest.substr(0, colon);
  t.port = colon == std::string::npos ? "80" : rest.substr(colon + 1);
  return !t.host.empty() && !t.port.empty();
}

// An 11-digit DRN (IIN 600727 form) for meter index i: "7" + 9 digits + Luhn check digit.
std::string drn_for(long i) {
  char digits[16];
  std::snprintf(digits, sizeof digits, "7%09ld", i % 1000000000L);
  int sum = 0;
  for (int k = 9, pos = 0; k >= 0; --k, ++pos) {
    int d = digits[k] - '0';
    if (pos % 2 == 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  std::string out(digits, 10);
  out.push_back(static_cast<char>('0' + (10 - sum % 10) % 10));
  return out;
}

std::string health_request(const Target& t) {
  return "GET /health HTTP/1.1\r\nHost: " + t.host + ":" + t.port + "\r\nConnection: keep-alive\r\n\r\n";
}

// One fully signed POST /v1/tokens (J24 dialect, class 0/0, token_id omitted: the server allocates the TID).
std::string vend_request(const Options& o, const Target& t, NectarSigner& signer, const std::string& drn,
                         const std::string& date, const std::string& nonce) {
  const std::string body = R"({"class":"0","subclass":"0","type":"native","decoder_reference_number":")" + drn +
                           R"(","config_ref":")" + o.config_ref + R"(","amount":)" + o.amount + "}";
  const std::string md5 = signer.content_md5(body);
  const std::string ctype = "application/json";
  const std::string sig = signer.signature("POST", "/v1/tokens", md5, ctype, date, nonce);
  std::string r;
  r.reserve(512 + body.size());
  r += "POST /v1/tokens HTTP/1.1\r\nHost: " + t.host + ":" + t.port + "\r\n";
  r += "Content-Type: " + ctype + "\r\nContent-MD5: " + md5 + "\r\nDate: " + date + "\r\nnonce: " + nonce + "\r\n";
  r += "Authorization: nectar " + o.key + ":" + sig + "\r\n";
  r += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: keep-alive\r\n\r\n";
  r += body;
  return r;
}

// A vend succeeded when HTTP is 200 and the envelope's status.code is 200.
bool envelope_ok(const std::string& body) {
  const auto at = body.find("\"code\"");
  if (at == std::string::npos) return false;
  std::size_t i = at + 6;
  while (i < body.size() && (body[i] == ' ' || body[i] == ':')) ++i;
  return body.compare(i, 3, "200") == 0 &&
         (i + 3 >= body.size() || !std::isdigit(static_cast<unsigned char>(body[i + 3])));
}

struct WorkerResult {
  std::vector<std::uint32_t> latencies_us;
  long ok = 0;
  long errors = 0;
  bool exhausted = false;
  Clock::time_point last_done{};
  std::string first_error;
};

class Worker {
 public:
  Worker(const Options& o, const Target& t, int index, std::vector<std::string> requests)
      : o_(o), t_(t), index_(index), requests_(std::move(requests)) {}

  void run(Clock::time_point start, Clock::time_point end, WorkerResult& out) {
    asio::io_context ioc;
    tcp::socket socket(ioc);
    boost::beast::flat_buffer buffer;
    bool connected = false;
    const double interval_s = o_.rate > 0 ? static_cast<double>(o_.connections) / o_.rate : 0;
    const double offset_s = interval_s * index_ / std::max(1, o_.connections);
    out.latencies_us.reserve(o_.health ? 1 << 16 : requests_.size());
    for (std::size_t i = 0;; ++i) {
      Clock::time_point issue = Clock::now();
      if (interval_s > 0) {
        // Open loop: request i is due at a fixed time; latency counts from then, so a slow server is
        // charged for the queueing it causes (no coordinated omission).
        issue = start + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(offset_s + interval_s * static_cast<double>(i)));
        if (issue >= end) break;
        std::this_thread::sleep_until(issue);
      } else if (issue >= end) {
        break;
      }
      const std::string* req = nullptr;
      if (o_.health) {
        req = &requests_[0];
      } else if (i < requests_.size()) {
        req = &requests_[i];
      } else {
        out.exhausted = true;
        break;
      }
      boost::system::error_code ec;
      if (!connected) {
        tcp::resolver resolver(ioc);
        auto eps = resolver.resolve(t_.host, t_.port, ec);
        if (!ec) asio::connect(socket, eps, ec);
        if (!ec) socket.set_option(tcp::no_delay(true), ec);
        if (ec) {
          note_error(out, "connect: " + ec.message());
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        connected = true;
      }
      asio::write(socket, asio::buffer(*req), ec);
      http::response<http::string_body> res;
      if (!ec) http::read(socket, buffer, res, ec);
      const Clock::time_point done = Clock::now();
      if (ec) {
        note_error(out, "io: " + ec.message());
        socket.close(ec);
        buffer.clear();
        connected = false;
        continue;
      }
      const bool good = res.result_int() == 200 && (o_.health || envelope_ok(res.body()));
      if (good) {
        ++out.ok;
        out.latencies_us.push_back(static_cast<std::uint32_t>(
            std::min<long long>(std::chrono::duration_cast<std::chrono::microseconds>(done - issue).count(),
                                UINT32_MAX)));
      } else {
        note_error(out, "HTTP " + std::to_string(res.result_int()) + ": " + res.body().substr(0, 300));
      }
      out.last_done = done;
      if (res.need_eof()) {
        socket.close(ec);
        connected = false;
      }
    }
    boost::system::error_code ignored;
    socket.close(ignored);
  }

 private:
  static void note_error(WorkerResult& out, std::string what) {
    if (out.errors++ == 0) out.first_error = std::move(what);
  }

  const Options& o_;
  const Target& t_;
  int index_;
  std::vector<std::string> requests_;
};

int run(const Options& o) {
  Target t;
  if (!parse_url(o.url, t)) {
    std::fprintf(stderr, "stsvend_load: --url: must be http://HOST:PORT\n");
    return 2;
  }
  if (!o.health && (o.key.empty() || o.secret.empty() || o.config_ref.empty())) {
    std::fprintf(stderr, "stsvend_load: --key, --secret and --config-ref are required for vends\n");
    return 2;
  }
  if (o.connections < 1 || o.duration_s <= 0 || o.drns < 1 || o.rate < 0) {
    std::fprintf(stderr, "stsvend_load: --connections, --duration and --drns must be positive, --rate >= 0\n");
    return 2;
  }
  // Supply of pre-signed requests: enough for the duration at the given rate, or at 40k/s closed loop
  // (twice the target rate).
  long supply = o.max_requests;
  if (supply <= 0) {
    const double per_s = o.rate > 0 ? o.rate * 1.05 : 40000.0;
    supply = static_cast<long>(std::ceil(per_s * o.duration_s)) + 2L * o.connections;
  }
  const long per_conn = (supply + o.connections - 1) / o.connections;

  std::vector<std::vector<std::string>> requests(static_cast<std::size_t>(o.connections));
  const auto sign_start = Clock::now();
  if (o.health) {
    for (auto& r : requests) r.push_back(health_request(t));
  } else {
    // Nonces: a random 64-bit run prefix plus a counter, so every request of every run is unique.
    std::random_device rd;
    const std::uint64_t run_id = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    const std::string date = java_date_utc(static_cast<long long>(std::time(nullptr)));
    std::vector<std::string> drn_names(static_cast<std::size_t>(o.drns));
    for (long m = 0; m < o.drns; ++m) drn_names[static_cast<std::size_t>(m)] = drn_for(m);
    // Signing is spread over the machine's cores; connection c's requests get counters c, c+N, c+2N, ...
    // and meters round-robin over the whole run, so each meter sees an even share of the load.
    const unsigned signers = std::max(1u, std::min(std::thread::hardware_concurrency(), 16u));
    std::vector<std::thread> pool;
    for (unsigned w = 0; w < signers; ++w) {
      pool.emplace_back([&, w] {
        NectarSigner signer(o.secret);
        for (int c = static_cast<int>(w); c < o.connections; c += static_cast<int>(signers)) {
          auto& list = requests[static_cast<std::size_t>(c)];
          list.reserve(static_cast<std::size_t>(per_conn));
          for (long i = 0; i < per_conn; ++i) {
            const auto counter = static_cast<std::uint64_t>(i) * static_cast<std::uint64_t>(o.connections) +
                                 static_cast<std::uint64_t>(c);
            char nonce[40];
            std::snprintf(nonce, sizeof nonce, "%016llx%016llx", static_cast<unsigned long long>(run_id),
                          static_cast<unsigned long long>(counter));
            const auto& drn = drn_names[static_cast<std::size_t>(counter % static_cast<std::uint64_t>(o.drns))];
            list.push_back(vend_request(o, t, signer, drn, date, nonce));
          }
        }
      });
    }
    for (auto& th : pool) th.join();
  }
  const double sign_s = std::chrono::duration<double>(Clock::now() - sign_start).count();
  std::printf("stsvend_load: %s %s connections=%d duration_s=%.1f rate=%s drns=%ld presigned=%ld (%.2fs)\n",
              o.health ? "GET /health" : "POST /v1/tokens class 0", o.url.c_str(), o.connections, o.duration_s,
              o.rate > 0 ? std::to_string(static_cast<long>(o.rate)).c_str() : "max", o.drns,
              o.health ? 0L : per_conn * o.connections, sign_s);
  std::fflush(stdout);

  std::vector<Worker> workers;
  workers.reserve(requests.size());
  for (int c = 0; c < o.connections; ++c) {
    workers.emplace_back(o, t, c, std::move(requests[static_cast<std::size_t>(c)]));
  }
  std::vector<WorkerResult> results(workers.size());
  const auto start = Clock::now() + std::chrono::milliseconds(50);
  const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < workers.size(); ++c) {
    threads.emplace_back([&, c] {
      try {
        workers[c].run(start, end, results[c]);
      } catch (const std::exception& e) {
        ++results[c].errors;
        results[c].first_error = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();

  std::vector<std::uint32_t> all;
  long ok = 0, errors = 0;
  bool exhausted = false;
  Clock::time_point last = start;
  std::string first_error;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
    ok += r.ok;
    errors += r.errors;
    exhausted = exhausted || r.exhausted;
    last = std::max(last, r.last_done);
    if (first_error.empty()) first_error = r.first_error;
  }
  const double elapsed = std::max(std::chrono::duration<double>(last - start).count(), 1e-9);
  const LatencySummary s = summarize(all);
  if (!first_error.empty()) std::printf("first error: %s\n", first_error.c_str());
  if (exhausted) std::printf("warning: pre-signed supply ran out before the duration ended; raise --max-requests\n");
  std::printf("requests_ok=%ld errors=%ld elapsed_s=%.3f max_ms=%.3f\n", ok, errors, elapsed, s.max_ms);
  std::printf("vends/s=%ld p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f errors=%ld\n",
              std::lround(static_cast<double>(ok) / elapsed), s.p50_ms, s.p90_ms, s.p99_ms, errors);
  return 0;
}

}  // namespace
}  // namespace stsvend::load

int main(int argc, char** argv) {
  stsvend::load::Options o;
  CLI::App app{"stsvend_load - HTTP load generator for stsvend (durable class-0 vends or GET /health)",
               "stsvend_load"};
  app.add_option("--url", o.url, "server base URL, http://HOST:PORT")->capture_default_str();
  app.add_option("--key", o.key, "credential key");
  app.add_option("--secret", o.secret, "credential secret");
  app.add_option("--config-ref", o.config_ref, "configuration ref to vend under");
  app.add_option("--connections", o.connections, "keep-alive connections, one thread each")->capture_default_str();
  app.add_option("--duration", o.duration_s, "seconds of timed load")->capture_default_str();
  app.add_flag("--health", o.health, "load the unauthenticated GET /health instead (framework baseline)");
  app.add_option("--drns", o.drns, "spread vends over this many meters")->capture_default_str();
  app.add_option("--rate", o.rate, "open loop: total requests per second (0 = closed loop, max rate)")
      ->capture_default_str();
  app.add_option("--amount", o.amount, "credit per token (units, decimal)")->capture_default_str();
  app.add_option("--max-requests", o.max_requests, "pre-signed request supply (0 = sized automatically)");
  app.footer(
      "Last line: vends/s=N p50_ms=N p90_ms=N p99_ms=N errors=N\n"
      "Examples:\n"
      "  stsvend_load --url http://127.0.0.1:8080 --health --connections 32 --duration 10\n"
      "  stsvend_load --url http://127.0.0.1:8080 --key K --secret S --config-ref REF --connections 64 --duration 10\n"
      "  stsvend_load ... --rate 10000   # open loop, p99 at a fixed rate");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return stsvend::load::run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stsvend_load: %s\n", e.what());
    return 1;
  }
}
