// stsvend_load: HTTP load generator for durable class-0 vends (POST /v1/tokens, token_id omitted) or the
// unauthenticated GET /health baseline. Keep-alive connections spread over a few epoll threads (load_worker.h);
// every vend request is signed (unique nonce) before the timed phase so the client spends its CPU on I/O only.
// See docs/benchmarks.md.
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "latency_stats.h"
#include "load_worker.h"
#include "nectar_signer.h"

namespace stsvend::load {
namespace {

struct Options {
  std::string url = "http://127.0.0.1:8080";
  std::string key, secret, config_ref;
  int connections = 32;
  int threads = 1;
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

struct Resolved {
  std::vector<Endpoint> endpoints;  // in getaddrinfo's order
  std::string error;                // set when there is no address
};

Resolved resolve(const Target& t) {
  Resolved r;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  if (const int rc = ::getaddrinfo(t.host.c_str(), t.port.c_str(), &hints, &list); rc != 0) {
    r.error = ::gai_strerror(rc);
    return r;
  }
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    Endpoint ep;
    std::memcpy(&ep.addr, ai->ai_addr, ai->ai_addrlen);
    ep.len = ai->ai_addrlen;
    r.endpoints.push_back(ep);
  }
  ::freeaddrinfo(list);
  if (r.endpoints.empty()) r.error = "no address";
  return r;
}

// User plus system CPU of the whole process, every thread, so far.
double process_cpu_s() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  const auto secs = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + 1e-6 * static_cast<double>(tv.tv_usec);
  };
  return secs(ru.ru_utime) + secs(ru.ru_stime);
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
  if (o.connections < 1 || o.threads < 1 || o.duration_s <= 0 || o.drns < 1 || o.rate < 0) {
    std::fprintf(stderr,
                 "stsvend_load: --connections, --threads, --duration and --drns must be positive, --rate >= 0\n");
    return 2;
  }
  Resolved server = resolve(t);
  if (!server.error.empty()) {
    std::fprintf(stderr, "stsvend_load: --url: cannot resolve %s: %s\n", t.host.c_str(), server.error.c_str());
    return 2;
  }
  const int threads = std::min(o.threads, o.connections);
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
  std::printf("stsvend_load: %s %s connections=%d threads=%d duration_s=%.1f rate=%s drns=%ld presigned=%ld (%.2fs)\n",
              o.health ? "GET /health" : "POST /v1/tokens class 0", o.url.c_str(), o.connections, threads, o.duration_s,
              o.rate > 0 ? std::to_string(static_cast<long>(o.rate)).c_str() : "max", o.drns,
              o.health ? 0L : per_conn * o.connections, sign_s);
  std::fflush(stdout);

  // Connection c goes to thread c % threads, so each thread's open-loop slots interleave over the interval.
  std::vector<std::vector<ConnectionPlan>> shares(static_cast<std::size_t>(threads));
  for (int c = 0; c < o.connections; ++c) {
    ConnectionPlan cp;
    cp.index = c;
    cp.requests = std::move(requests[static_cast<std::size_t>(c)]);
    cp.repeat = o.health;
    shares[static_cast<std::size_t>(c % threads)].push_back(std::move(cp));
  }
  RunPlan plan;
  plan.endpoints = std::move(server.endpoints);
  plan.connections = o.connections;
  plan.interval_s = o.rate > 0 ? static_cast<double>(o.connections) / o.rate : 0;
  plan.health = o.health;
  plan.start = Clock::now() + std::chrono::milliseconds(50);
  plan.end = plan.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration_s));
  const double cpu_before = process_cpu_s();
  std::vector<WorkerResult> results(shares.size());
  std::vector<std::thread> workers;
  for (std::size_t w = 0; w < shares.size(); ++w) {
    workers.emplace_back([&, w] {
      try {
        results[w] = run_worker(plan, std::move(shares[w]));
      } catch (const std::exception& e) {
        ++results[w].errors;
        results[w].first_error = e.what();
      }
    });
  }
  for (auto& th : workers) th.join();
  const double cpu_s = process_cpu_s() - cpu_before;

  std::vector<std::uint32_t> all;
  long ok = 0, errors = 0;
  bool exhausted = false;
  Clock::time_point last = plan.start;
  std::string first_error;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
    ok += r.ok;
    errors += r.errors;
    exhausted = exhausted || r.exhausted;
    last = std::max(last, r.last_done);
    if (first_error.empty()) first_error = r.first_error;
  }
  const double elapsed = std::max(std::chrono::duration<double>(last - plan.start).count(), 1e-9);
  const LatencySummary s = summarize(all);
  if (!first_error.empty()) std::printf("first error: %s\n", first_error.c_str());
  if (exhausted) std::printf("warning: pre-signed supply ran out before the duration ended; raise --max-requests\n");
  std::printf("requests_ok=%ld errors=%ld elapsed_s=%.3f max_ms=%.3f\n", ok, errors, elapsed, s.max_ms);
  // Per finished request, failed ones included: the generator spent its CPU on them too.
  std::printf("client_cpu_s=%.3f client_cpu_per_req_us=%.1f\n", cpu_s,
              ok + errors > 0 ? cpu_s * 1e6 / static_cast<double>(ok + errors) : 0.0);
  std::printf("vends/s=%ld p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f errors=%ld\n",
              std::lround(static_cast<double>(ok) / elapsed), s.p50_ms, s.p90_ms, s.p99_ms, errors);
  return 0;
}

}  // namespace
}  // namespace stsvend::load

int main(int argc, char** argv) {
  stsvend::load::Options o;
  CLI::App app{"stsvend_load - HTTP load generator for stsvend (durable class-0 vends or GET /health)", "stsvend_load"};
  app.add_option("--url", o.url, "server base URL, http://HOST:PORT")->capture_default_str();
  app.add_option("--key", o.key, "credential key");
  app.add_option("--secret", o.secret, "credential secret");
  app.add_option("--config-ref", o.config_ref, "configuration ref to vend under");
  app.add_option("--connections", o.connections, "keep-alive connections, spread over the threads")
      ->capture_default_str();
  app.add_option("--threads", o.threads, "event-loop threads driving the connections")->capture_default_str();
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
