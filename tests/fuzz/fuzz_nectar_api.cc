// Fuzzes the whole Nectar API the way a client reaches it: NectarApi::handle over a real Service
// (SQLite, file vault) in a scratch directory, with requests built from the input. Most requests are
// signed correctly by one of two tenants, so the fuzzed fields reach the handlers and the service
// instead of stopping at authentication; the rest carry fuzzed or missing authentication headers.
// The body is a JSON object of fields the API knows (values fuzzed: strings, numbers, booleans, null,
// nested values, the tenants' refs) or raw bytes. Every answer must be
//   * an answer: a handler that drops its Responder is a bug;
//   * no HTTP 5xx and no internal error in the envelope (a 500 that names no field): nothing a client
//     sends may cause one;
//   * a JSON envelope on every /v1 route;
//   * free of secrets: credential secrets and vending keys never leave the server;
//   * free of the other tenant's refs and token numbers, unless the request itself carried them;
//   * for a refused request (envelope code other than 200): the caller's balance unchanged.
#include <stdlib.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <fuzzer/FuzzedDataProvider.h>

#include "api/http_server.h"
#include "api/log.h"
#include "api/nectar_api.h"
#include "nectar_test_client.h"
#include "service/service.h"

namespace stsvend {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

// Control characters and bytes outside ASCII as \xNN, so that a report shows what was sent.
std::string printable(std::string_view text) {
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 0x20 && c < 0x7f) || c == '\n') {
      out += ch;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

// The scratch directory, removed however the run ends except by a sanitizer report.
std::string& scratch_dir() {
  static std::string dir;
  return dir;
}

[[noreturn]] void fail(const char* what, std::string_view detail) {
  const std::string shown = printable(detail);
  std::fprintf(stderr, "fuzz_nectar_api: %s\n%s\n", what, shown.c_str());
  std::error_code ignored;
  if (!scratch_dir().empty()) std::filesystem::remove_all(scratch_dir(), ignored);
  std::abort();
}

// The connection side of one request: keeps the answer for the fuzzer to check.
class CapturingExchange final : public api::detail::Exchange {
 public:
  CapturingExchange(boost::asio::any_io_executor executor, std::atomic<std::size_t>& posts)
      : executor_(std::move(executor)), posts_(posts) {}
  ~CapturingExchange() = default;

  void respond(api::HttpResponse response) override { finish(std::move(response), false); }
  void abandon() noexcept override { finish({}, true); }
  void run_blocking(api::Responder responder, std::function<void(api::Responder)> fn) override {
    fn(std::move(responder));
  }
  const boost::asio::any_io_executor& executor() const noexcept override { return executor_; }
  std::atomic<std::size_t>& posts_under_way() noexcept override { return posts_; }

  // The answer; fails the run when the responder was dropped unanswered.
  api::HttpResponse wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return done_; });
    if (abandoned_) fail("a handler dropped its responder without answering", "");
    return std::move(response_);
  }

 private:
  void finish(api::HttpResponse response, bool abandoned) {
    const std::lock_guard lock(mu_);
    response_ = std::move(response);
    abandoned_ = abandoned;
    done_ = true;
    cv_.notify_all();
  }

  boost::asio::any_io_executor executor_;
  std::atomic<std::size_t>& posts_;  // the world's: a post's guard outlives the exchange it answered
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool abandoned_ = false;
  api::HttpResponse response_;
};

struct Tenant {
  std::string user_ref;
  std::string key;
  std::string secret;
  std::string credential_ref;
  std::string config_ref;
  std::string vending_key;
  // Refs and numbers of this tenant that must never reach the other one.
  std::vector<std::string> refs;
};

std::string config_text(std::string_view name, std::string_view vending_key) {
  return "name: " + std::string(name) +
         "\nkey_expiry_no: 255\nencryption_algorithm: sta\ntoken_carrier_type: numeric\n"
         "decoder_key_generation_algorithm: 02\ntariff_index: 01\nkey_revision_no: 1\nvending_key: " +
         std::string(vending_key) +
         "\nsupply_group_code: 123456\nkey_type: 2\nbase_date: 2014\nissuer_identification_no: 600727\n";
}

// The world every input runs in: built once, kept for the whole run (state accumulates, as on a
// server that has been up for a while).
class World {
 public:
  static World& get() {
    static World* world = new World();  // never destroyed: threads may still be running at exit
    return *world;
  }

  service::Service& service() { return *service_; }
  const Tenant& tenant(bool second) const { return second ? b_ : a_; }

  // The other tenant's refs that `t` has sent in some request: it may have stored them (as its last
  // name, say), so a later answer that shows them leaks nothing.
  std::set<std::string>& carried_by(const Tenant& t) { return &t == &a_ ? carried_by_a_ : carried_by_b_; }

  api::HttpResponse call(api::HttpRequest& req) {
    auto exchange = std::make_shared<CapturingExchange>(io_.get_executor(), posts_);
    api_->handle(req, "127.0.0.1", api::Responder(exchange));
    return exchange->wait();
  }

  service::Units balance(const Tenant& t) {
    auto c = service_->credits(t.user_ref);
    if (!c.ok()) fail("credits() failed", c.status().message());
    return c->credits;
  }

  // Undoes what a request may have done to the tenant's ability to send the next one (deactivated
  // its user, credential or configuration), so one input cannot lock every later one out.
  void restore(const Tenant& t) {
    service::UserUpdate up;
    up.activated = true;
    if (!service_->update_user(t.user_ref, up).ok() ||
        !service_->set_credential_active(t.user_ref, t.credential_ref, true).ok() ||
        !service_->set_configuration_active(t.user_ref, t.config_ref, true).ok()) {
      fail("cannot reactivate the tenant", t.user_ref);
    }
  }

  // Strings no answer may contain, whoever asks.
  const std::vector<std::string>& secrets() const { return secrets_; }

 private:
  World() {
    api::set_log_level(api::LogLevel::kOff);
    const char* shm = "/dev/shm";  // fsync is free there: more requests per second
    std::string tmpl = std::string(std::filesystem::is_directory(shm) ? shm : "/tmp") + "/stsvend-fuzz-api-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) fail("mkdtemp failed", tmpl);
    scratch_dir() = tmpl;
    service::Options options;
    options.data_dir = std::filesystem::path(scratch_dir()) / "data";
    auto svc = service::Service::open(options);
    if (!svc.ok()) fail("Service::open failed", svc.status().message());
    service_ = std::move(*svc);
    auto boot = service_->bootstrap_if_new();
    if (!boot) fail("no bootstrap account", "");
    secrets_.push_back(boot->credential_secret);
    secrets_.push_back(boot->password);
    api_ = std::make_unique<api::NectarApi>(*service_);
    io_thread_ = std::thread([this] { io_.run(); });
    a_ = make_tenant("alice", "0123456789abcdef", "47500150231");
    b_ = make_tenant("bob", "fedcba9876543210", "01234567897");
    for (const Tenant* t : {&a_, &b_}) {
      secrets_.push_back(t->secret);
      secrets_.push_back(t->vending_key);
    }
    secrets_.push_back("0123456789ABCDEF");
    secrets_.push_back("FEDCBA9876543210");
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_dir(), ignored);
    });
  }

  Tenant make_tenant(const std::string& name, const std::string& vending_key, const std::string& drn) {
    Tenant t;
    service::NewUser u;
    u.first_name = name;
    u.last_name = "Fuzz";
    u.username = name;
    u.password = "correct horse battery " + name;
    u.email = name + "@example.com";
    u.phone_no = "254700000000";
    auto ref = service_->create_user(u);
    if (!ref.ok()) fail("create_user failed", ref.status().message());
    t.user_ref = *ref;
    secrets_.push_back(u.password);
    auto cred = service_->create_credential(t.user_ref, service::PermissionSelection::All());
    if (!cred.ok()) fail("create_credential failed", cred.status().message());
    t.key = cred->key;
    t.secret = cred->secret;
    t.credential_ref = cred->ref;
    if (!service_->add_credits(t.user_ref, 1'000'000'000 * service::kUnitScale, 1'000'000'000 * service::kUnitScale,
                               "KES")
             .ok()) {
      fail("add_credits failed", name);
    }
    auto cfg = service_->add_configuration_text(t.user_ref, config_text(name + "_config", vending_key));
    if (!cfg.ok()) fail("add_configuration_text failed", cfg.status().message());
    t.config_ref = cfg->ref;
    t.vending_key = vending_key;
    t.refs = {t.user_ref, t.key, t.credential_ref, t.config_ref};
    // One vend through the API, so the tenant owns a token ref, a set and a meter.
    const std::string body = "{\"class\":\"0\",\"subclass\":\"0\",\"drn\":\"" + drn + "\",\"config_ref\":\"" +
                             t.config_ref + "\",\"amount\":\"10\"}";
    api::HttpRequest req = testing::NectarClient::build("POST", "/v1/tokens", body, testing::Creds{t.key, t.secret});
    const api::HttpResponse r = call(req);
    const json::value v = json::parse(r.body());
    const json::object& token = v.at("data").at("data").as_object();
    t.refs.push_back(json::value_to<std::string>(token.at("ref")));
    t.refs.push_back(json::value_to<std::string>(token.at("token_no")));
    return t;
  }

  std::unique_ptr<service::Service> service_;
  std::unique_ptr<api::NectarApi> api_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  std::thread io_thread_;
  std::atomic<std::size_t> posts_{0};
  Tenant a_;
  Tenant b_;
  std::vector<std::string> secrets_;
  std::set<std::string> carried_by_a_;
  std::set<std::string> carried_by_b_;
};

struct RouteTemplate {
  const char* method;
  const char* path;  // "{}" is replaced by a ref, a token number or fuzzed text
};

constexpr RouteTemplate kRoutes[] = {
    {"POST", "/v1/tokens"},           {"POST", "/v1/tokens"},          {"POST", "/v1/tokens"},
    {"GET", "/v1/tokens"},            {"POST", "/v1/tokens/{}"},       {"GET", "/v1/users"},
    {"POST", "/v1/users"},            {"PUT", "/v1/users"},            {"DELETE", "/v1/users"},
    {"GET", "/v1/credentials"},       {"POST", "/v1/credentials"},     {"PUT", "/v1/credentials"},
    {"DELETE", "/v1/credentials"},    {"GET", "/v1/public_keys"},      {"POST", "/v1/public_keys"},
    {"PUT", "/v1/public_keys"},       {"DELETE", "/v1/public_keys"},   {"GET", "/v1/configurations"},
    {"POST", "/v1/configurations"},   {"PUT", "/v1/configurations"},   {"DELETE", "/v1/configurations"},
    {"GET", "/v1/credits"},           {"GET", "/v1/transactions"},     {"GET", "/v1/notifications"},
    {"PUT", "/v1/notifications"},     {"GET", "/v1/meters"},           {"POST", "/v1/meters"},
    {"GET", "/v1/meters/types"},      {"PUT", "/v1/meters"},           {"PUT", "/v1/meters/{}"},
    {"DELETE", "/v1/meters/{}"},      {"GET", "/v1/subscribers"},      {"POST", "/v1/subscribers"},
    {"PUT", "/v1/subscribers"},       {"PUT", "/v1/subscribers/{}"},   {"DELETE", "/v1/subscribers/{}"},
    {"GET", "/v1/utilities"},         {"GET", "/v1/utilities/{}/meters"}, {"POST", "/v1/utilities"},
    {"PUT", "/v1/utilities"},         {"PUT", "/v1/utilities/{}"},     {"DELETE", "/v1/utilities/{}"},
    {"GET", "/health"},               {"GET", "/v1/openapi.json"},     {"GET", "/resources/nectar_public.pub"},
};

// Field names the handlers read (request bodies and query strings).
constexpr const char* kFields[] = {
    "class", "subclass", "drn", "decoder_reference_number", "config_ref", "amount", "token_id", "random_no",
    "type", "debug", "allow_tid_replay", "is_stid", "control", "new_drn", "new_decoder_reference_number",
    "new_vending_key", "new_supply_group_code", "new_tariff_index", "new_key_revision_no", "new_key_type",
    "new_key_expiry_no", "new_issuer_identification_no", "ro", "maximum_power_limit", "mppul", "tariff_rate",
    "wm_factor", "pad", "ref", "user_ref", "activated", "detailed", "permissions", "name", "key", "data",
    "digest", "first_name", "last_name", "username", "password", "email", "phone_no", "image_url", "no",
    "meter_type", "manufacturer_code", "utility", "utility_ref", "subscriber", "subscriber_ref", "meter",
    "meter_ref", "unit_charge", "contact_phone_no", "notification_ref", "status", "id", "token_no",
};

class RequestBuilder {
 public:
  RequestBuilder(FuzzedDataProvider& in, const World& world, bool as_second)
      : in_(in), self_(world.tenant(as_second)), other_(world.tenant(!as_second)) {}

  // A value for a field: mostly plausible, sometimes hostile.
  json::value value(int depth = 0) {
    switch (in_.ConsumeIntegralInRange<int>(0, 13)) {
      case 0: return json::value(in_.ConsumeIntegral<std::int64_t>());
      case 1: return json::value(in_.ConsumeIntegralInRange<std::int64_t>(-3, 20));
      case 2: return json::value(in_.ConsumeFloatingPoint<double>());
      case 3: return json::value(in_.ConsumeBool());
      case 4: return json::value(nullptr);
      case 5: return json::value(self_.config_ref);
      case 6: return json::value(other_.config_ref);
      case 7: return json::value(pick_ref());
      case 8: return json::value(in_.PickValueInArray({"0", "1", "2", "3", "4", "9", "10", "47500150231",
                                                        "01234567897", "2026-11-24T10:00", "native", "true"}));
      case 9:
        if (depth < 2) {
          json::array a;
          const int n = in_.ConsumeIntegralInRange<int>(0, 3);
          for (int i = 0; i < n; ++i) a.push_back(value(depth + 1));
          return a;
        }
        [[fallthrough]];
      case 10:
        if (depth < 2) return object(depth + 1);
        [[fallthrough]];
      default: return json::value(in_.ConsumeRandomLengthString(48));
    }
  }

  json::object object(int depth = 0) {
    json::object o;
    const int n = in_.ConsumeIntegralInRange<int>(0, 10);
    for (int i = 0; i < n && in_.remaining_bytes() > 0; ++i) {
      const std::string name = in_.ConsumeBool() ? std::string(in_.PickValueInArray(kFields))
                                                 : in_.ConsumeRandomLengthString(16);
      o[name] = value(depth);
    }
    return o;
  }

  // A ref (or token number) of the caller, of the other tenant, or fuzzed text.
  std::string pick_ref() {
    switch (in_.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: return self_.refs[in_.ConsumeIntegralInRange<std::size_t>(0, self_.refs.size() - 1)];
      case 1: return other_.refs[in_.ConsumeIntegralInRange<std::size_t>(0, other_.refs.size() - 1)];
      case 2: return in_.PickValueInArray({"", "0", "%2F", "..", "x y", "47500150231", "12345678901234567890"});
      default: return in_.ConsumeRandomLengthString(40);
    }
  }

  std::string query() {
    std::string q;
    const int n = in_.ConsumeIntegralInRange<int>(0, 3);
    for (int i = 0; i < n; ++i) {
      q += i == 0 ? "?" : "&";
      q += in_.ConsumeBool() ? std::string(in_.PickValueInArray(kFields)) : in_.ConsumeRandomLengthString(8);
      q += "=";
      q += in_.ConsumeBool() ? pick_ref() : in_.ConsumeRandomLengthString(16);
    }
    if (n == 0 && in_.ConsumeBool()) q = "?";  // the bare trailing '?' some SDKs send
    return q;
  }

  api::HttpRequest build() {
    std::string method;
    std::string target;
    const bool raw_route = in_.ConsumeIntegralInRange<int>(0, 15) == 0;
    if (raw_route) {
      method = in_.PickValueInArray({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"});
      target = "/" + in_.ConsumeRandomLengthString(64);
    } else {
      const RouteTemplate& r = in_.PickValueInArray(kRoutes);
      method = r.method;
      target = r.path;
      if (const auto at = target.find("{}"); at != std::string::npos) target.replace(at, 2, pick_ref());
    }
    target += query();
    const bool raw_body = in_.ConsumeIntegralInRange<int>(0, 7) == 0;
    std::string body = raw_body ? in_.ConsumeRandomLengthString(512) : json::serialize(object());
    if (method == "GET" && in_.ConsumeBool()) body.clear();
    testing::CallOptions options;
    options.content_type = in_.PickValueInArray(
        {"application/json", "application/json", "application/json; charset=UTF-8", "text/plain", ""});
    std::optional<testing::Creds> creds;
    switch (in_.ConsumeIntegralInRange<int>(0, 9)) {
      case 0:  // fuzzed authentication headers
        options.headers = {{"Authorization", in_.ConsumeRandomLengthString(80)},
                           {"Date", in_.ConsumeRandomLengthString(40)},
                           {"nonce", in_.ConsumeRandomLengthString(40)},
                           {"Content-MD5", in_.ConsumeRandomLengthString(40)},
                           {"Content-Type", options.content_type}};
        break;
      case 1:  // none
        break;
      default:
        creds = testing::Creds{self_.key, self_.secret};
        options.java_form = in_.ConsumeBool();
        signed_ = true;
    }
    if (in_.ConsumeIntegralInRange<int>(0, 3) == 0) {
      options.headers.emplace_back("Idempotency-Key", in_.ConsumeBool()
                                                          ? std::string(in_.PickValueInArray({"k1", "k2"}))
                                                          : in_.ConsumeRandomLengthString(80));
    }
    return testing::NectarClient::build(method, target, body, creds, options);
  }

  bool is_signed() const { return signed_; }
  const Tenant& self() const { return self_; }
  const Tenant& other() const { return other_; }

 private:
  FuzzedDataProvider& in_;
  const Tenant& self_;
  const Tenant& other_;
  bool signed_ = false;
};

bool contains(std::string_view haystack, std::string_view needle) {
  return !needle.empty() && haystack.find(needle) != std::string_view::npos;
}

void collect_strings(const json::value& v, std::vector<std::string>& out) {
  if (v.is_string()) {
    out.emplace_back(v.get_string());
  } else if (v.is_array()) {
    for (const json::value& e : v.get_array()) collect_strings(e, out);
  } else if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      out.emplace_back(kv.key());
      collect_strings(kv.value(), out);
    }
  }
}

// An answer may repeat what the caller sent (a name, a rejected value): only text the request did not
// carry counts as leaked.
bool sent_it(const api::HttpRequest& sent, std::string_view text) {
  if (contains(sent.target(), text) || contains(sent.body(), text)) return true;
  for (const auto& field : sent) {
    if (contains(field.value(), text)) return true;
  }
  return false;
}

void check(const api::HttpRequest& sent, const api::HttpResponse& response, const std::string& where,
           const RequestBuilder& request, World& world, service::Units balance_before) {
  const std::string& body = response.body();
  const unsigned status = response.result_int();
  if (status >= 500) fail("HTTP 5xx", where + "\n" + body);
  // The answer's text as a client reads it: header values, and a JSON body's keys and strings decoded
  // (searching the escaped body would find "0123..." in "\u0000123...").
  std::vector<std::string> texts;
  for (const auto& field : response) texts.emplace_back(field.value());
  boost::system::error_code parse_error;
  const json::value parsed = json::parse(body, parse_error);
  if (parse_error) {
    texts.push_back(body);
  } else {
    collect_strings(parsed, texts);
  }
  for (const std::string& text : texts) {
    for (const std::string& secret : world.secrets()) {
      if (contains(text, secret) && !sent_it(sent, secret)) fail("a secret in the answer", where + "\n" + body);
    }
    for (const std::string& ref : request.other().refs) {
      if (contains(text, ref) && !sent_it(sent, ref) && world.carried_by(request.self()).count(ref) == 0) {
        fail("the other tenant's ref in the answer", where + "\nref " + ref + "\n" + body);
      }
    }
  }
  const std::string_view target = sent.target();
  const bool api_route = target.starts_with("/v1/") && !target.starts_with("/v1/openapi.json");
  if (!api_route) return;
  if (parse_error || !parsed.is_object()) fail("a /v1 answer that is not a JSON object", where + "\n" + body);
  const json::value& v = parsed;
  const json::value* st = v.as_object().if_contains("status");
  if (st == nullptr) fail("a /v1 answer without status", where + "\n" + body);
  std::int64_t code = 0;
  if (st->is_int64()) {
    code = st->as_int64();  // the 401/403/404/405 envelope: {"status": N, ...}
  } else if (st->is_object() && st->as_object().contains("code") && st->as_object().at("code").is_int64()) {
    code = st->as_object().at("code").as_int64();
  } else {
    fail("a /v1 answer whose status has no integer code", where + "\n" + body);
  }
  // 500 is also the Nectar code of a refused state change (insufficient credits, key change needed), which
  // always names its field; an internal error or a storage failure names none.
  if (code >= 500 && (!st->is_object() || !st->as_object().contains("field"))) {
    fail("an internal error", where + "\n" + body);
  }
  if (code != 200 && request.is_signed() && world.balance(request.self()) != balance_before) {
    fail("a refused request changed the balance", where + "\n" + body);
  }
}

}  // namespace
}  // namespace stsvend

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace stsvend;
  World& world = World::get();
  FuzzedDataProvider in(data, size);
  RequestBuilder request(in, world, in.ConsumeBool());
  api::HttpRequest sent = request.build();
  const service::Units before = world.balance(request.self());
  const api::HttpResponse response = world.call(sent);
  const std::string where =
      std::string(sent.method_string()) + " " + std::string(sent.target()) + "\n" + sent.body();
  check(sent, response, where, request, world, before);
  for (const std::string& ref : request.other().refs) {
    if (sent_it(sent, ref)) world.carried_by(request.self()).insert(ref);
  }
  const std::string_view target = sent.target();
  const bool may_deactivate = sent.method() != http::verb::get && (target.starts_with("/v1/users") ||
                                                                  target.starts_with("/v1/credentials") ||
                                                                  target.starts_with("/v1/configurations"));
  if (may_deactivate) world.restore(request.self());
  return 0;
}

