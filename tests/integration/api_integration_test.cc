// The real server (HttpServer + NectarApi + Service on a temp data dir) on 127.0.0.1:0, driven by a
// signing client: every route, every auth rejection, and bad input that must change nothing.
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <botan/auto_rng.h>
#include <botan/base64.h>
#include <botan/cipher_mode.h>
#include <botan/data_src.h>
#include <botan/hash.h>
#include <botan/pubkey.h>
#include <botan/rsa.h>
#include <botan/x509_key.h>
#include <gtest/gtest.h>

#include "api/http_server.h"
#include "api/log.h"
#include "api/nectar_api.h"
#include "nectar_test_client.h"
#include "service/service.h"
#include "stsvend/sts/meter_id.h"
#include "stsvend/sts/tid.h"

namespace stsvend {
namespace {

using testing::CallOptions;
using testing::Creds;
using testing::NectarClient;
using testing::Response;

constexpr const char* kConfigText =
    "---\n"
    "name: integration_config\n"
    "type: native\n"
    "key_expiry_no: 255\n"
    "encryption_algorithm: sta\n"
    "token_carrier_type: numeric\n"
    "decoder_key_generation_algorithm: 02\n"
    "tariff_index: 01\n"
    "key_revision_no: 1\n"
    "vending_key: 0123456789abcdef\n"
    "supply_group_code: 123456\n"
    "key_type: 2\n"
    "base_date: 2014\n"
    "issuer_identification_no: 600727";

struct Tenant {
  std::string user_ref;
  Creds creds;
  std::string credential_ref;
  std::string config_ref;
};

class ApiIntegration : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    api::set_log_level(api::LogLevel::kWarn);
    char tmpl[] = "/tmp/stsvend-api-it-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = new std::string(tmpl);
    service::Options options;
    options.data_dir = std::filesystem::path(*dir_) / "data";
    auto svc = service::Service::open(options);
    ASSERT_TRUE(svc.ok()) << svc.status().message();
    service_ = svc->release();
    auto boot = service_->bootstrap_if_new();
    ASSERT_TRUE(boot.has_value());
    admin_ = new Creds{boot->credential_key, boot->credential_secret};
    a_ = new Tenant(make_tenant("alice"));
    b_ = new Tenant(make_tenant("bob"));
    api_ = new api::NectarApi(*service_);
    api::HttpServerOptions http;
    http.host = "127.0.0.1";
    http.port = 0;
    http.io_threads = 2;
    http.worker_threads = 8;
    auto server = api::HttpServer::start(http, [](api::HttpRequest& r, const std::string& remote,
                                                  api::Responder responder) {
      api_->handle(r, remote, std::move(responder));
    });
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = server->release();
    client_ = new NectarClient(server_->port());
  }

  static void TearDownTestSuite() {
    delete client_;
    if (server_ != nullptr) server_->stop();
    delete server_;
    delete api_;
    delete service_;
    delete a_;
    delete b_;
    delete admin_;
    if (dir_ != nullptr) std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  static Tenant make_tenant(const std::string& name) {
    Tenant t;
    service::NewUser u;
    u.first_name = name;
    u.last_name = "Tester";
    u.username = name;
    u.password = "correct horse battery";
    u.email = name + "@example.com";
    u.phone_no = "254700000000";
    auto ref = service_->create_user(u);
    EXPECT_TRUE(ref.ok()) << ref.status().message();
    t.user_ref = *ref;
    auto cred = service_->create_credential(t.user_ref, service::PermissionSelection::All());
    EXPECT_TRUE(cred.ok()) << cred.status().message();
    t.creds = Creds{cred->key, cred->secret};
    t.credential_ref = cred->ref;
    EXPECT_TRUE(service_->add_credits(t.user_ref, 1000 * service::kUnitScale, 1000 * service::kUnitScale, "KES").ok());
    auto cfg = service_->add_configuration_text(t.user_ref, kConfigText);
    EXPECT_TRUE(cfg.ok()) << cfg.status().message();
    t.config_ref = cfg->ref;
    return t;
  }

  static service::Units balance(const Tenant& t) {
    auto s = service_->credits(t.user_ref);
    EXPECT_TRUE(s.ok());
    return s->credits;
  }

  static std::size_t token_count(const Tenant& t, const std::string& drn) {
    auto l = service_->list_tokens_by_meter(t.user_ref, drn);
    return l.ok() ? l->size() : 0;
  }

  static Response call(const std::string& method, const std::string& target, const std::string& body,
                       const Tenant& t, const CallOptions& o = {}) {
    return client_->call(method, target, body, t.creds, o);
  }

  static std::string credit_body(const Tenant& t, const std::string& drn, const std::string& amount, bool j24) {
    return std::string("{\"class\":\"0\",\"subclass\":\"0\",\"") + (j24 ? "decoder_reference_number" : "drn") +
           "\":\"" + drn + "\",\"config_ref\":\"" + t.config_ref + "\",\"amount\":" + amount + "}";
  }

  static std::string kct_body(const Tenant& t, const std::string& drn, int subclass, bool j24) {
    return std::string("{\"class\":\"2\",\"subclass\":\"") + std::to_string(subclass) + "\",\"" +
           (j24 ? "decoder_reference_number" : "drn") + "\":\"" + drn + "\",\"config_ref\":\"" + t.config_ref +
           "\",\"new_vending_key\":\"fedcba9876543210\",\"new_supply_group_code\":\"123456\","
           "\"new_tariff_index\":\"01\",\"new_key_revision_no\":\"2\",\"new_key_type\":\"2\","
           "\"new_key_expiry_no\":\"255\",\"ro\":\"0\"" +
           (j24 ? ",\"type\":\"native\"" : "") + "}";
  }

  static inline std::string* dir_ = nullptr;
  static inline service::Service* service_ = nullptr;
  static inline api::NectarApi* api_ = nullptr;
  static inline api::HttpServer* server_ = nullptr;
  static inline NectarClient* client_ = nullptr;
  static inline Creds* admin_ = nullptr;
  static inline Tenant* a_ = nullptr;
  static inline Tenant* b_ = nullptr;
};

TEST_F(ApiIntegration, PublicRoutes) {
  auto health = client_->call("GET", "/health", "", std::nullopt);
  EXPECT_EQ(health.status, 200u);
  auto openapi = client_->call("GET", "/v1/openapi.json", "", std::nullopt);
  ASSERT_EQ(openapi.status, 200u);
  ASSERT_TRUE(openapi.json.is_object());
  EXPECT_TRUE(openapi.json.at("paths").as_object().contains("/v1/tokens/{token_no}"));
  auto docs = client_->call("GET", "/docs", "", std::nullopt);
  EXPECT_EQ(docs.status, 200u);
  EXPECT_NE(docs.body.find("/v1/openapi.json"), std::string::npos);
  auto pub = client_->call("GET", "/resources/nectar_public.pub", "", std::nullopt);
  EXPECT_EQ(pub.status, 200u);
  EXPECT_EQ(pub.body.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  auto missing = client_->call("GET", "/v1/nothing", "", std::nullopt);
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.json.at("status").as_int64(), 404);
  auto wrong_method = client_->call("PATCH", "/v1/tokens", "", a_->creds);
  EXPECT_EQ(wrong_method.status, 405u);
  auto metrics = client_->call("GET", "/metrics", "", std::nullopt);
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_NE(metrics.body.find("stsvend_http_requests_total{route=\"/health\",code=\"200\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("\nstsvend_nonces_remembered "), std::string::npos);
  EXPECT_NE(metrics.body.find("\nstsvend_nonce_index_bytes "), std::string::npos);
}

// A request line may carry bytes that are not UTF-8; the answers that repeat it stay valid JSON (the client's
// parser, like Jackson or json.loads, refuses invalid UTF-8), with U+FFFD in their place.
TEST_F(ApiIntegration, AnswersAreValidJsonWhateverBytesThePathHolds) {
  for (const char* target : {"/v1/nothing\xff\xc3", "/v1/users\xff"}) {
    auto r = client_->call("GET", target, "", std::nullopt);
    ASSERT_TRUE(r.json.is_object()) << r.status << " " << r.body;
    EXPECT_NE(r.json.at("path").as_string().find("\xef\xbf\xbd"), boost::json::string::npos) << r.body;
  }
}

TEST_F(ApiIntegration, GenerateInBothDialectsAndDecode) {
  const std::string drn = "47500150231";
  const auto before = balance(*a_);
  auto j21 = call("POST", "/v1/tokens", credit_body(*a_, drn, "10", false), *a_);
  ASSERT_EQ(j21.status, 200u) << j21.body;
  ASSERT_EQ(j21.code(), 200) << j21.body;
  ASSERT_TRUE(j21.data().is_object()) << j21.body;
  const auto& tok = j21.data().as_object();
  EXPECT_EQ(tok.at("token_no").as_string().size(), 20u);
  EXPECT_EQ(tok.at("token_type").as_string(), "Electricity_00");
  EXPECT_EQ(tok.at("meter_no").as_string(), drn);
  EXPECT_EQ(tok.at("user_ref").as_string(), a_->user_ref);
  auto j24 = call("POST", "/v1/tokens", credit_body(*a_, drn, "12.5", true), *a_);
  ASSERT_EQ(j24.code(), 200) << j24.body;
  ASSERT_TRUE(j24.data().is_array());
  ASSERT_EQ(j24.data().as_array().size(), 1u);
  EXPECT_EQ(before - balance(*a_), 2 * service::kUnitScale);

  const std::string token_no(j24.data().as_array()[0].at("token_no").as_string());
  auto decoded = call("POST", "/v1/tokens/" + token_no,
                      "{\"decoder_reference_number\":\"" + drn + "\",\"config_ref\":\"" + a_->config_ref +
                          "\",\"debug\":false}",
                      *a_);
  ASSERT_EQ(decoded.code(), 200) << decoded.body;
  EXPECT_EQ(decoded.data().at("class").as_string(), "0");
  EXPECT_DOUBLE_EQ(decoded.data().at("amount").as_double(), 12.5);
  EXPECT_EQ(decoded.data().at("ref").as_string(), j24.data().as_array()[0].at("ref").as_string());
  EXPECT_EQ(decoded.data().at("result").as_string(), "accepted");

  // Reprint and list by meter (stsvend extras).
  const std::string ref(tok.at("ref").as_string());
  auto reprint = call("GET", "/v1/tokens?ref=" + ref, "", *a_);
  ASSERT_EQ(reprint.code(), 200) << reprint.body;
  EXPECT_EQ(reprint.data().at("token_no").as_string(), tok.at("token_no").as_string());
  auto list = call("GET", "/v1/tokens?meter=" + drn, "", *a_);
  ASSERT_EQ(list.code(), 200) << list.body;
  EXPECT_GE(list.data().as_array().size(), 2u);
  auto meter = call("GET", "/v1/meters?drn=" + drn, "", *a_);
  ASSERT_EQ(meter.code(), 200) << meter.body;
  EXPECT_EQ(meter.data().at("config_ref").as_string(), a_->config_ref);
  EXPECT_FALSE(meter.data().at("last_tid").is_null());
}

TEST_F(ApiIntegration, ServerOwnedTidsAreStrictlyIncreasing) {
  const std::string drn = "47500150249";
  std::vector<std::string> refs;
  for (int i = 0; i < 3; ++i) {
    auto r = call("POST", "/v1/tokens", credit_body(*a_, drn, "1", true), *a_);
    ASSERT_EQ(r.code(), 200) << r.body;
    refs.emplace_back(r.data().as_array()[0].at("ref").as_string());
  }
  std::vector<std::uint32_t> tids;
  for (const auto& ref : refs) {
    auto t = service_->get_token(a_->user_ref, ref);
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(t->tid.has_value());
    tids.push_back(*t->tid);
  }
  EXPECT_LT(tids[0], tids[1]);
  EXPECT_LT(tids[1], tids[2]);
  // A caller's token_id at or before the meter's last TID is refused and charges nothing.
  const auto before = balance(*a_);
  std::string old = credit_body(*a_, drn, "1", true);
  old.insert(old.size() - 1, ",\"token_id\":\"2020-01-01T00:00\"");
  auto r = call("POST", "/v1/tokens", old, *a_);
  EXPECT_EQ(r.code(), 400) << r.body;
  EXPECT_EQ(r.field(), "token_id");
  EXPECT_EQ(balance(*a_), before);
  // The admin override is for admin credentials only.
  std::string replay = old;
  replay.insert(replay.size() - 1, ",\"allow_tid_replay\":true");
  auto denied = call("POST", "/v1/tokens", replay, *a_);
  EXPECT_EQ(denied.status, 403u) << denied.body;
  EXPECT_EQ(balance(*a_), before);
}

TEST_F(ApiIntegration, J21KeyChangeSectionsComeFromOneSetChargedOnce) {
  const std::string drn = "47500150256";
  const auto before = balance(*a_);
  auto s3 = call("POST", "/v1/tokens", kct_body(*a_, drn, 3, false), *a_);
  ASSERT_EQ(s3.code(), 200) << s3.body;
  auto s4 = call("POST", "/v1/tokens", kct_body(*a_, drn, 4, false), *a_);
  ASSERT_EQ(s4.code(), 200) << s4.body;
  ASSERT_TRUE(s3.data().is_object());
  ASSERT_TRUE(s4.data().is_object());
  EXPECT_EQ(s3.data().at("token_type").as_string(), "Set1stSectionDecoderKey_23");
  EXPECT_EQ(s4.data().at("token_type").as_string(), "Set2ndSectionDecoderKey_24");
  EXPECT_NE(s3.data().at("token_no"), s4.data().at("token_no"));
  EXPECT_EQ(before - balance(*a_), 2 * service::kUnitScale);  // two tokens, one charge
  // Reprinting either section shows the whole set.
  auto reprint = call("GET", "/v1/tokens?ref=" + std::string(s4.data().at("ref").as_string()), "", *a_);
  ASSERT_EQ(reprint.code(), 200) << reprint.body;
  EXPECT_EQ(reprint.data().at("tokens").as_array().size(), 2u);

  // J24: one call, the whole set as an array.
  const std::string drn2 = "47500150264";
  auto set = call("POST", "/v1/tokens", kct_body(*a_, drn2, 3, true), *a_);
  ASSERT_EQ(set.code(), 200) << set.body;
  ASSERT_EQ(set.data().as_array().size(), 2u);
  EXPECT_EQ(set.data().as_array()[1].at("token_type").as_string(), "Set2ndSectionDecoderKey_24");
}

TEST_F(ApiIntegration, IdempotencyKeyReplaysAndChargesOnce) {
  const std::string drn = "47500150272";
  CallOptions o;
  o.headers = {{"Idempotency-Key", "order-42"}};
  const auto before = balance(*a_);
  auto first = call("POST", "/v1/tokens", credit_body(*a_, drn, "5", true), *a_, o);
  ASSERT_EQ(first.code(), 200) << first.body;
  auto again = call("POST", "/v1/tokens", credit_body(*a_, drn, "5", true), *a_, o);
  ASSERT_EQ(again.code(), 200) << again.body;
  EXPECT_EQ(first.data(), again.data());
  EXPECT_EQ(again.headers["Idempotent-Replayed"], "true");
  EXPECT_EQ(before - balance(*a_), 1 * service::kUnitScale);
  auto different = call("POST", "/v1/tokens", credit_body(*a_, drn, "6", true), *a_, o);
  EXPECT_EQ(different.code(), 700) << different.body;
  EXPECT_EQ(different.field(), "Idempotency-Key");
  EXPECT_EQ(before - balance(*a_), 1 * service::kUnitScale);
  EXPECT_EQ(token_count(*a_, drn), 1u);
}

TEST_F(ApiIntegration, EveryAuthRejectionChangesNothing) {
  const std::string drn = "47500150280";
  const std::string body = credit_body(*a_, drn, "1", true);
  const auto before = balance(*a_);
  struct Case {
    const char* name;
    CallOptions o;
    std::optional<Creds> creds;
    unsigned status;
  };
  std::vector<Case> cases;
  {
    CallOptions o;
    o.signature = "bm90IGEgc2lnbmF0dXJl";
    cases.push_back({"bad signature", o, a_->creds, 401});
  }
  cases.push_back({"unknown key", {}, Creds{"00000000-0000-4000-8000-000000000000", a_->creds.secret}, 401});
  cases.push_back({"wrong secret", {}, Creds{a_->creds.key, "not-the-secret"}, 401});
  {
    CallOptions o;
    o.content_md5 = "00000000000000000000000000000000";
    cases.push_back({"Content-MD5 mismatch", o, a_->creds, 401});
  }
  {
    CallOptions o;
    o.date = testing::java_date_now(-3600);
    cases.push_back({"Date an hour old", o, a_->creds, 401});
  }
  for (const char* h : {"Authorization", "Content-MD5", "Date", "nonce", "Content-Type"}) {
    CallOptions o;
    o.omit = {h};
    cases.push_back({h, o, a_->creds, 401});
  }
  {
    CallOptions o;
    o.signed_path = "/v1/credits";
    cases.push_back({"signed another path", o, a_->creds, 401});
  }
  cases.push_back({"no credentials at all", {}, std::nullopt, 401});
  for (auto& c : cases) {
    auto r = client_->call("POST", "/v1/tokens", body, c.creds, c.o);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    ASSERT_TRUE(r.json.is_object()) << c.name;
    EXPECT_EQ(r.json.at("status").as_int64(), static_cast<long long>(c.status)) << c.name;
    EXPECT_EQ(r.json.at("path").as_string(), "/v1/tokens") << c.name;
    EXPECT_FALSE(r.json.at("message").as_string().empty()) << c.name;
  }
  // Replayed nonce: the first use works, the second is refused.
  CallOptions fixed;
  fixed.nonce = testing::random_nonce();
  EXPECT_EQ(call("GET", "/v1/credits", "", *a_, fixed).code(), 200);
  EXPECT_EQ(call("GET", "/v1/credits", "", *a_, fixed).status, 401u);
  // Missing permission → 403.
  auto limited = service_->create_credential(a_->user_ref, service::PermissionSelection{false, {14}});
  ASSERT_TRUE(limited.ok()) << limited.status().message();
  auto forbidden = client_->call("POST", "/v1/tokens", body, Creds{limited->key, limited->secret});
  EXPECT_EQ(forbidden.status, 403u) << forbidden.body;
  // Deactivated credential → 401.
  auto other = service_->create_credential(a_->user_ref, service::PermissionSelection::All());
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(call("DELETE", "/v1/credentials?ref=" + other->ref, "", *a_).code(), 200);
  EXPECT_EQ(client_->call("GET", "/v1/credits", "", Creds{other->key, other->secret}).status, 401u);
  EXPECT_EQ(call("PUT", "/v1/credentials?ref=" + other->ref, "", *a_).code(), 200);
  EXPECT_EQ(client_->call("GET", "/v1/credits", "", Creds{other->key, other->secret}).code(), 200);

  EXPECT_EQ(balance(*a_), before);
  EXPECT_EQ(token_count(*a_, drn), 0u);
}

// A credential that may read credentials (16) but not vend sees no secret it could vend with; its own, and
// those of credentials with no more permissions than it holds, it does see (Nectar's GET shape).
TEST_F(ApiIntegration, ReadingACredentialShowsNoSecretThatGrantsMore) {
  auto reader = service_->create_credential(a_->user_ref, service::PermissionSelection{false, {14, 16}});
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  auto all = service_->create_credential(a_->user_ref, service::PermissionSelection::All());
  ASSERT_TRUE(all.ok());
  const Creds as_reader{reader->key, reader->secret};
  auto other = client_->call("GET", "/v1/credentials?ref=" + all->ref, "", as_reader);
  ASSERT_EQ(other.code(), 200) << other.body;
  EXPECT_FALSE(other.data().as_object().contains("secret")) << other.body;
  EXPECT_EQ(other.body.find(all->secret), std::string::npos);
  EXPECT_EQ(other.data().at("key").as_string(), all->key);
  auto own = client_->call("GET", "/v1/credentials?ref=" + reader->ref, "", as_reader);
  ASSERT_EQ(own.code(), 200) << own.body;
  EXPECT_EQ(own.data().at("secret").as_string(), reader->secret);
  auto by_all = call("GET", "/v1/credentials?ref=" + reader->ref, "", *a_);
  EXPECT_EQ(by_all.data().at("secret").as_string(), reader->secret);
}

TEST_F(ApiIntegration, SdkVariantsAuthenticate) {
  CallOptions upper;
  upper.scheme = "NECTAR";
  {
    // Python: `%a, %d %b %Y %H:%M:%S` of local time, no zone → only the ±14 h window applies.
    const std::time_t t = std::time(nullptr) + 3 * 3600;  // a client three hours east of UTC
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S", &tm);
    upper.date = buf;
  }
  EXPECT_EQ(call("GET", "/v1/credits?", "", *a_, upper).code(), 200);  // trailing '?' as J21/PHP send
  // Java's leading-zero-stripped hex and the full form, each on a nonce whose HMAC starts with 0.
  int found = 0;
  for (int i = 0; i < 2000 && found < 2; ++i) {
    CallOptions o;
    o.nonce = testing::random_nonce();
    o.date = testing::java_date_now();
    const std::string md5 = api::content_md5_hex("");
    const std::string sts = api::string_to_sign("GET", "/v1/credits", md5, o.content_type, *o.date, *o.nonce);
    const auto* s = reinterpret_cast<const std::uint8_t*>(a_->creds.secret.data());
    if (api::hmac_sha256_hex({s, a_->creds.secret.size()}, sts)[0] != '0') continue;
    o.java_form = found == 0;
    auto r = call("GET", "/v1/credits", "", *a_, o);
    EXPECT_EQ(r.code(), 200) << "java_form=" << o.java_form << " " << r.body;
    ++found;
  }
  EXPECT_EQ(found, 2);
}

TEST_F(ApiIntegration, BadInputIsNamedAndChangesNothing) {
  const std::string drn = "47500150298";
  const auto before = balance(*a_);
  struct Case {
    std::string body;
    long long code;
    std::string field;
  };
  const std::string cfg = a_->config_ref;
  const std::vector<Case> cases = {
      {R"({"class":"0","subclass":"0","decoder_reference_number":")" + drn + R"(","config_ref":")" + cfg + R"("})", 400, "amount"},
      {R"({"class":"0","subclass":"0","decoder_reference_number":")" + drn + R"(","config_ref":")" + cfg + R"(","amount":[1]})", 400, "amount"},
      {R"({"class":"0","subclass":"0","decoder_reference_number":")" + drn + R"(","config_ref":")" + cfg + R"(","amount":"1","random_no":99})", 400, "random_no"},
      {R"({"class":"7","subclass":"0","decoder_reference_number":")" + drn + R"(","config_ref":")" + cfg + R"(","amount":"1"})", 400, "class"},
      {R"({"class":"0","subclass":"0","decoder_reference_number":"12","config_ref":")" + cfg + R"(","amount":"1"})", 400, "decoder_reference_number"},
      {R"({"class":"0","subclass":"0","decoder_reference_number":")" + drn + R"(","config_ref":"no-such-config","amount":"1"})", 500, "config_ref"},
      {R"({"class":"0","subclass":"0","decoder_reference_number":")" + drn + R"(","config_ref":")" + b_->config_ref + R"(","amount":"1"})", 500, "config_ref"},
  };
  for (const auto& c : cases) {
    auto r = call("POST", "/v1/tokens", c.body, *a_);
    EXPECT_EQ(r.status, 200u) << c.body;
    EXPECT_EQ(r.code(), c.code) << c.body << " → " << r.body;
    EXPECT_EQ(r.field(), c.field) << c.body << " → " << r.body;
  }
  // A body that does not parse, or is no object: Spring's HTTP 400 in GW (NECTAR-V1 §1).
  for (const std::string body : {"{not json", "[1,2]"}) {
    auto r = call("POST", "/v1/tokens", body, *a_);
    EXPECT_EQ(r.status, 400u) << body << " → " << r.body;
    EXPECT_NE(r.body.find("body: must be"), std::string::npos) << r.body;
  }
  // Oversized body: 413 before anything is read or charged.
  std::string big(1024 * 1024 + 16, ' ');
  big[0] = '{';
  big.back() = '}';
  auto r = call("POST", "/v1/tokens", big, *a_);
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(balance(*a_), before);
  EXPECT_EQ(token_count(*a_, drn), 0u);
  // Missing required query parameter.
  EXPECT_EQ(call("GET", "/v1/credentials", "", *a_).status, 400u);
}

TEST_F(ApiIntegration, TenantsSeeOnlyTheirOwnRefs) {
  const std::string drn = "47500150306";
  auto vend = call("POST", "/v1/tokens", credit_body(*a_, drn, "1", true), *a_);
  ASSERT_EQ(vend.code(), 200) << vend.body;
  const std::string token_ref(vend.data().as_array()[0].at("ref").as_string());
  const auto before_a = balance(*a_);
  EXPECT_EQ(call("GET", "/v1/tokens?ref=" + token_ref, "", *b_).code(), 405);
  EXPECT_EQ(call("GET", "/v1/credentials?ref=" + a_->credential_ref, "", *b_).code(), 405);
  EXPECT_EQ(call("DELETE", "/v1/credentials?ref=" + a_->credential_ref, "", *b_).code(), 405);
  EXPECT_EQ(call("GET", "/v1/configurations?ref=" + a_->config_ref, "", *b_).code(), 405);
  EXPECT_EQ(call("DELETE", "/v1/configurations?ref=" + a_->config_ref, "", *b_).code(), 405);
  auto listed = call("GET", "/v1/tokens?meter=" + drn, "", *b_);
  EXPECT_TRUE(listed.code() == 405 || (listed.code() == 200 && listed.data().as_array().empty())) << listed.body;
  // A's credential still works and nothing of A's changed.
  EXPECT_EQ(call("GET", "/v1/credits", "", *a_).code(), 200);
  EXPECT_EQ(balance(*a_), before_a);
  auto cfg = call("GET", "/v1/configurations?ref=" + a_->config_ref + "&detailed=true", "", *a_);
  ASSERT_EQ(cfg.code(), 200) << cfg.body;
  EXPECT_TRUE(cfg.data().at("activated").as_bool());
  EXPECT_FALSE(cfg.data().as_object().contains("vending_key"));
  EXPECT_EQ(cfg.body.find("0123456789abcdef"), std::string::npos);
}

TEST_F(ApiIntegration, AccountResources) {
  auto user = call("GET", "/v1/users", "", *a_);
  ASSERT_EQ(user.code(), 200) << user.body;
  EXPECT_EQ(user.data().at("username").as_string(), "alice");
  EXPECT_EQ(user.data().at("password").as_string(), "");
  EXPECT_EQ(call("PUT", "/v1/users", R"({"first_name":"Alicia","password":""})", *a_).code(), 200);
  EXPECT_EQ(call("GET", "/v1/users", "", *a_).data().at("first_name").as_string(), "Alicia");
  auto bad_user = call("POST", "/v1/users", R"({"first_name":"X","last_name":"Y","username":"x1","password":"short","email":"x@example.com"})", *a_);
  EXPECT_EQ(bad_user.code(), 400) << bad_user.body;
  EXPECT_EQ(bad_user.field(), "password");
  // Control characters (here a NUL and an escape sequence) are refused in every typed-in text field.
  auto nul_email = call("POST", "/v1/users", R"({"first_name":"X","last_name":"Y","username":"x2","password":"long enough 1","email":"a\u0000b@example.com"})", *a_);
  EXPECT_EQ(nul_email.field(), "email") << nul_email.body;
  auto escape = call("PUT", "/v1/users", R"({"first_name":"\u001b[31mred"})", *a_);
  EXPECT_EQ(escape.field(), "first_name") << escape.body;
  EXPECT_EQ(call("GET", "/v1/users", "", *a_).data().at("first_name").as_string(), "Alicia");

  auto cred = call("GET", "/v1/credentials?ref=" + a_->credential_ref, "", *a_);
  ASSERT_EQ(cred.code(), 200) << cred.body;
  EXPECT_EQ(cred.data().at("key").as_string(), a_->creds.key);
  EXPECT_FALSE(cred.data().at("permissions").as_array().empty());
  EXPECT_EQ(cred.data().at("user").at("ref").as_string(), a_->user_ref);

  auto credits = call("GET", "/v1/credits?", "", *a_);
  ASSERT_EQ(credits.code(), 200) << credits.body;
  EXPECT_TRUE(std::regex_search(credits.body, std::regex(R"("credits":[0-9]+\.[0-9])"))) << credits.body;
  auto tx = call("GET", "/v1/transactions", "", *a_);
  ASSERT_EQ(tx.code(), 200) << tx.body;
  EXPECT_FALSE(tx.data().at("purchases").as_array().empty());
  EXPECT_TRUE(std::regex_search(tx.body, std::regex(R"("value":[0-9]+\.[0-9])"))) << tx.body;

  auto notes = call("GET", "/v1/notifications", "", *a_);
  ASSERT_EQ(notes.code(), 200) << notes.body;
  ASSERT_FALSE(notes.data().as_array().empty());
  const std::string nref(notes.data().as_array()[0].at("ref").as_string());
  auto mark = call("PUT", "/v1/notifications",
                   R"({"notification_ref":")" + nref + R"(","status":true,"timestamp":1732316400000.0})", *a_);
  EXPECT_EQ(mark.code(), 200) << mark.body;
  EXPECT_EQ(call("PUT", "/v1/notifications", R"({"notification_ref":")" + nref + R"(","status":true})", *b_).code(), 405);

  auto configs = call("GET", "/v1/configurations", "", *a_);
  ASSERT_EQ(configs.code(), 200) << configs.body;
  EXPECT_FALSE(configs.data().as_array().empty());
  auto meters = call("GET", "/v1/meters", "", *a_);
  EXPECT_EQ(meters.code(), 200) << meters.body;
}

// stsvend extension: GET /v1/transactions?from=&to= narrows both lists to a half-open window; a bound
// that does not parse, or an empty window, is refused naming the parameter. GET /v1/notifications takes
// the same window and `limit`, the newest N.
TEST_F(ApiIntegration, ListingWindows) {
  auto vend = call("POST", "/v1/tokens", credit_body(*a_, "47500150330", "2", true), *a_);
  ASSERT_EQ(vend.code(), 200) << vend.body;
  const std::string token_ref(vend.data().as_array()[0].at("ref").as_string());
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  const auto listed = [&](const std::string& query) {
    auto tx = call("GET", "/v1/transactions?" + query, "", *a_);
    EXPECT_EQ(tx.code(), 200) << query << ": " << tx.body;
    std::string refs;
    if (tx.code() != 200) return refs;
    for (const auto& p : tx.data().at("purchases").as_array()) refs += "p:" + std::string(p.at("ref").as_string());
    for (const auto& x : tx.data().at("consumptions").as_array()) refs += "c:" + std::string(x.at("ref").as_string());
    return refs;
  };
  const std::string all = listed("");
  ASSERT_NE(all.find("c:" + token_ref), std::string::npos) << all;
  ASSERT_NE(all.find("p:"), std::string::npos) << "the fixture tops A up: " << all;
  EXPECT_EQ(listed("from=" + sts::format_instant(now - 3600)), all) << "everything A did is from this hour";
  EXPECT_EQ(listed("to=" + sts::format_instant(now - 3600)), "");
  EXPECT_EQ(listed("from=" + sts::format_instant(now + 3600)), "");
  EXPECT_EQ(listed("from=1970-01-01&to=" + sts::format_instant(now + 3600).substr(0, 16)), all)
      << "a date and an instant without seconds or zone are bounds too";
  EXPECT_EQ(listed("from=" + sts::format_instant(now + 1800).substr(0, 19) + "%2B01:00"), all)
      << "an offset moves the bound: half an hour from now at +01:00 is half an hour ago";
  for (const auto& [query, field] : std::vector<std::pair<std::string, std::string>>{
           {"from=yesterday", "from"},
           {"to=2026-13-01", "to"},
           {"from=2026-11-24T10:00:00+01:00", "from"},  // an unencoded '+' is a space in a query
           {"from=2026-11-24&to=2026-11-24", "to"},
           {"from=2026-11-25&to=2026-11-24", "to"}}) {
    auto bad = call("GET", "/v1/transactions?" + query, "", *a_);
    EXPECT_EQ(bad.code(), 400) << query << ": " << bad.body;
    EXPECT_EQ(bad.field(), field) << query << ": " << bad.body;
  }
  EXPECT_EQ(call("GET", "/v1/transactions?from=2000-01-01", "", *b_).body.find(token_ref), std::string::npos)
      << "B's window holds none of A's rows";

  const auto notes = [&](const std::string& query) {
    auto n = call("GET", "/v1/notifications?" + query, "", *a_);
    EXPECT_EQ(n.code(), 200) << query << ": " << n.body;
    return n.code() == 200 ? n.data().as_array() : boost::json::array();
  };
  const auto every = notes("");
  ASSERT_GE(every.size(), 2u) << "the vend above and the fixture's configuration";
  const auto newest = notes("limit=1");
  ASSERT_EQ(newest.size(), 1u);
  EXPECT_EQ(newest[0], every[0]);
  EXPECT_EQ(newest[0].at("type").as_string(), "GENERATE_TOKEN");
  EXPECT_EQ(notes("limit=100000&from=" + sts::format_instant(now - 3600)), every);
  EXPECT_TRUE(notes("from=" + sts::format_instant(now + 3600)).empty());
  for (const auto& [query, field] : std::vector<std::pair<std::string, std::string>>{
           {"limit=0", "limit"}, {"limit=100001", "limit"}, {"limit=-1", "limit"}, {"limit=1.5", "limit"},
           {"limit=", "limit"}, {"from=soon", "from"}, {"from=2026-11-24&to=2026-11-23", "to"}}) {
    auto bad = call("GET", "/v1/notifications?" + query, "", *a_);
    EXPECT_EQ(bad.code(), 400) << query << ": " << bad.body;
    EXPECT_EQ(bad.field(), field) << query << ": " << bad.body;
  }
}

// The NECTAR-V1 §3.5.1 upload, made the way the SDK/openssl recipe makes it, then a vend with it.
TEST_F(ApiIntegration, PublicKeyAndEncryptedConfigurationUpload) {
  Botan::AutoSeeded_RNG rng;
  Botan::RSA_PrivateKey user_key(rng, 2048);
  const std::string spki = Botan::base64_encode(Botan::X509::BER_encode(user_key));
  auto added = call("POST", "/v1/public_keys", R"({"name":"laptop","key":")" + spki + R"(","activated":true})", *b_);
  ASSERT_EQ(added.code(), 200) << added.body;
  const std::string key_ref(added.data().at("ref").as_string());
  auto only = call("GET", "/v1/public_keys?activated=1", "", *b_);
  ASSERT_EQ(only.code(), 200);
  EXPECT_EQ(only.data().as_array().size(), 1u);
  EXPECT_EQ(call("PUT", "/v1/public_keys?ref=" + key_ref, "", *a_).code(), 405);  // not A's key
  EXPECT_EQ(call("DELETE", "/v1/public_keys?ref=" + key_ref, "", *b_).code(), 200);
  EXPECT_TRUE(call("GET", "/v1/public_keys?activated=true", "", *b_).data().as_array().empty());
  auto maybe = call("GET", "/v1/public_keys?activated=maybe", "", *b_);  // not silently read as false
  EXPECT_EQ(maybe.code(), 400) << maybe.body;
  EXPECT_EQ(maybe.field(), "activated");
  EXPECT_EQ(call("PUT", "/v1/public_keys?ref=" + key_ref, "", *b_).code(), 200);
  EXPECT_EQ(call("POST", "/v1/public_keys", R"({"name":"junk","key":"bm90IGEga2V5"})", *b_).code(), 400);

  const std::string text = kConfigText;
  const std::string sym = "v8y/B?E(H+MbQeTh";
  std::vector<std::uint8_t> iv(16);
  rng.randomize(iv.data(), iv.size());
  auto aes = Botan::Cipher_Mode::create_or_throw("AES-128/CBC/PKCS7", Botan::ENCRYPTION);
  aes->set_key(reinterpret_cast<const std::uint8_t*>(sym.data()), sym.size());
  aes->start(iv);
  Botan::secure_vector<std::uint8_t> ct(text.begin(), text.end());
  aes->finish(ct);
  std::vector<std::uint8_t> data(iv.begin(), iv.end());
  data.insert(data.end(), ct.begin(), ct.end());
  auto sha = Botan::HashFunction::create_or_throw("SHA-256");
  sha->update(text);
  const auto hash = sha->final();
  Botan::PK_Signer signer(user_key, rng, "EMSA_PKCS1(Raw)");  // type-1 block over the bare hash
  const auto digest = signer.sign_message(hash, rng);
  auto pub_pem = client_->call("GET", "/resources/nectar_public.pub", "", std::nullopt).body;
  Botan::DataSource_Memory src(pub_pem);
  std::unique_ptr<Botan::Public_Key> server_pub(Botan::X509::load_key(src));
  Botan::PK_Encryptor_EME enc(*server_pub, rng, "PKCS1v15");
  const auto wrapped = enc.encrypt(reinterpret_cast<const std::uint8_t*>(sym.data()), sym.size(), rng);
  const std::string body = R"({"data":")" + Botan::base64_encode(data) + R"(","digest":")" +
                           Botan::base64_encode(digest) + R"(","key":")" + Botan::base64_encode(wrapped) + R"("})";
  auto up = call("POST", "/v1/configurations", body, *b_);
  ASSERT_EQ(up.code(), 200) << up.body;
  EXPECT_EQ(up.data().at("name").as_string(), "integration_config");
  EXPECT_EQ(up.body.find("0123456789abcdef"), std::string::npos);
  Tenant b_uploaded = *b_;
  b_uploaded.config_ref = std::string(up.data().at("ref").as_string());
  auto vend = call("POST", "/v1/tokens", credit_body(b_uploaded, "47500150314", "3", true), *b_);
  EXPECT_EQ(vend.code(), 200) << vend.body;

  // A digest from another key is refused with the Nectar message.
  Botan::RSA_PrivateKey stranger(rng, 2048);
  Botan::PK_Signer wrong(stranger, rng, "EMSA_PKCS1(Raw)");
  const std::string forged = R"({"data":")" + Botan::base64_encode(data) + R"(","digest":")" +
                             Botan::base64_encode(wrong.sign_message(hash, rng)) + R"(","key":")" +
                             Botan::base64_encode(wrapped) + R"("})";
  auto refused = call("POST", "/v1/configurations", forged, *b_);
  EXPECT_EQ(refused.code(), 500);  // NECTAR-V1 §3.5.1 step 5
  EXPECT_NE(refused.message().find("Calculated and payload digests do not match!"), std::string::npos) << refused.body;
}

TEST_F(ApiIntegration, PipelinedRequestsAreAnsweredInOrder) {
  namespace http = boost::beast::http;
  boost::asio::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), client_->port()));
  const std::string raw =
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  boost::asio::write(stream.socket(), boost::asio::buffer(raw));
  boost::beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    EXPECT_EQ(res.result_int(), 200u);
    const bool is_doc = res.body().find("openapi") != std::string::npos;
    EXPECT_EQ(is_doc, i == 1) << "response " << i << " out of order";
  }
}

// Writes `requests` back to back on one connection, then reads as many responses.
std::vector<Response> pipeline(unsigned short port,
                               const std::vector<boost::beast::http::request<boost::beast::http::string_body>>& requests) {
  namespace http = boost::beast::http;
  boost::asio::io_context ioc;
  boost::beast::tcp_stream stream(ioc);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  std::ostringstream raw;
  for (const auto& r : requests) raw << r;
  boost::asio::write(stream.socket(), boost::asio::buffer(raw.str()));
  boost::beast::flat_buffer buffer;
  std::vector<Response> out;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    boost::beast::error_code ec;
    http::read(stream, buffer, parser, ec);
    if (ec) break;
    out.push_back(NectarClient::parse(parser.get()));
  }
  return out;
}

// An 11-digit DRN (IIN 600727 meters) with a valid Luhn check digit.
std::string drn_with_check_digit(std::string first10) {
  return first10 + static_cast<char>('0' + sts::luhn_check_digit(first10));
}

// Vends (answered from the storage writer's completion), inline routes, worker routes, errors that
// burn a nonce asynchronously and unknown paths, pipelined on several keep-alive connections at once:
// every connection gets its answers in request order, and every vend charges exactly once.
TEST_F(ApiIntegration, PipelinedVendsOnManyConnectionsAreAnsweredInOrder) {
  namespace http = boost::beast::http;
  constexpr int kConnections = 6;
  constexpr int kRounds = 4;
  enum class Kind { kVend, kHealth, kCredits, kBadVend, kMissing };
  const Kind kCycle[] = {Kind::kVend, Kind::kHealth, Kind::kVend, Kind::kCredits, Kind::kBadVend, Kind::kMissing};
  const auto before = balance(*a_);
  std::vector<std::vector<Response>> answers(kConnections);
  std::vector<std::vector<std::pair<Kind, std::string>>> expected(kConnections);
  std::vector<std::vector<http::request<http::string_body>>> requests(kConnections);
  int vends = 0;
  for (int c = 0; c < kConnections; ++c) {
    for (int r = 0; r < kRounds; ++r) {
      for (const Kind k : kCycle) {
        std::string drn;
        switch (k) {
          case Kind::kVend: {
            const std::string n = std::to_string(1000 + requests[c].size());  // < 2000: "1ddd"
            drn = drn_with_check_digit("475010" + std::to_string(c) + n.substr(1));
            requests[c].push_back(NectarClient::build("POST", "/v1/tokens", credit_body(*a_, drn, "1", true), a_->creds));
            ++vends;
            break;
          }
          case Kind::kHealth:
            requests[c].push_back(NectarClient::build("GET", "/health", "", std::nullopt));
            break;
          case Kind::kCredits:
            requests[c].push_back(NectarClient::build("GET", "/v1/credits", "", a_->creds));
            break;
          case Kind::kBadVend:
            requests[c].push_back(NectarClient::build("POST", "/v1/tokens", "{not json", a_->creds));
            break;
          case Kind::kMissing:
            requests[c].push_back(NectarClient::build("GET", "/v1/nothing", "", std::nullopt));
            break;
        }
        expected[c].emplace_back(k, drn);
      }
    }
  }
  std::vector<std::thread> clients;
  for (int c = 0; c < kConnections; ++c) {
    clients.emplace_back([&, c] { answers[c] = pipeline(client_->port(), requests[c]); });
  }
  for (auto& t : clients) t.join();
  for (int c = 0; c < kConnections; ++c) {
    ASSERT_EQ(answers[c].size(), expected[c].size()) << "connection " << c;
    for (std::size_t i = 0; i < expected[c].size(); ++i) {
      const Response& got = answers[c][i];
      const auto& [kind, drn] = expected[c][i];
      const std::string where = "connection " + std::to_string(c) + " response " + std::to_string(i) + ": " + got.body;
      switch (kind) {
        case Kind::kVend:
          ASSERT_EQ(got.code(), 200) << where;
          EXPECT_EQ(got.data().as_array()[0].at("meter_no").as_string(), drn) << where;
          break;
        case Kind::kHealth:
          EXPECT_EQ(got.body, R"({"status":"UP"})") << where;
          break;
        case Kind::kCredits:
          ASSERT_EQ(got.code(), 200) << where;
          EXPECT_TRUE(got.data().as_object().contains("credits")) << where;
          break;
        case Kind::kBadVend:
          EXPECT_EQ(got.status, 400u) << where;
          EXPECT_NE(got.body.find("body: must be valid JSON"), std::string::npos) << where;
          break;
        case Kind::kMissing:
          EXPECT_EQ(got.status, 404u) << where;
          break;
      }
      EXPECT_EQ(got.headers.count("X-Request-Id"), 1u) << where;
    }
  }
  EXPECT_EQ(before - balance(*a_), vends * service::kUnitScale);
}

// A vend refused before it reaches the service still records its nonce, so it cannot be replayed;
// a nonce already used turns any vend answer into the 401.
TEST_F(ApiIntegration, RefusedVendStillBurnsItsNonce) {
  const std::string drn = "47500150322";
  const std::string good = credit_body(*a_, drn, "1", true);
  std::string tid_replay = good;
  tid_replay.insert(tid_replay.size() - 1, R"(,"token_id":"2020-01-01T00:00","allow_tid_replay":true)");
  struct Case {
    const char* name;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    unsigned status;
    long long code;
  };
  const std::vector<Case> cases = {
      {"malformed JSON", "{not json", {}, 400, 0},
      {"invalid field", R"({"class":"0","subclass":"0","decoder_reference_number":")" + drn + R"(","config_ref":")" +
                            a_->config_ref + R"("})", {}, 200, 400},
      {"allow_tid_replay without admin", tid_replay, {}, 403, 0},
      {"bad Idempotency-Key", good, {{"Idempotency-Key", "has space"}}, 200, 400},
      {"unknown configuration", credit_body(Tenant{"", {}, "", "no-such-config"}, drn, "1", true), {}, 200, 500},
  };
  const auto before = balance(*a_);
  for (const auto& c : cases) {
    CallOptions o;
    o.nonce = testing::random_nonce();
    o.headers = c.headers;
    auto first = call("POST", "/v1/tokens", c.body, *a_, o);
    EXPECT_EQ(first.status, c.status) << c.name << ": " << first.body;
    if (c.code != 0) {
      EXPECT_EQ(first.code(), c.code) << c.name << ": " << first.body;
    }
    // The same nonce again: refused as a replay, on the same route with a good body or on another route.
    o.headers.clear();
    auto replay = call("POST", "/v1/tokens", good, *a_, o);
    EXPECT_EQ(replay.status, 401u) << c.name << ": " << replay.body;
    EXPECT_EQ(call("GET", "/v1/credits", "", *a_, o).status, 401u) << c.name;
    // And a bad body with a used nonce is a 401 too, not the body's error.
    auto bad_replay = call("POST", "/v1/tokens", c.body, *a_, o);
    EXPECT_EQ(bad_replay.status, 401u) << c.name << ": " << bad_replay.body;
  }
  // A nonce first used on another route cannot vend either.
  CallOptions used;
  used.nonce = testing::random_nonce();
  EXPECT_EQ(call("GET", "/v1/credits", "", *a_, used).code(), 200);
  EXPECT_EQ(call("POST", "/v1/tokens", good, *a_, used).status, 401u);
  EXPECT_EQ(balance(*a_), before);
  EXPECT_EQ(token_count(*a_, drn), 0u);
}

// HttpServer's contract with an asynchronous handler, on a handler made for the purpose.
class HttpServerAsync : public ::testing::Test {
 protected:
  void SetUp() override { api::set_log_level(api::LogLevel::kOff); }  // the failures below are logged
  void TearDown() override {
    if (server_) server_->stop();
    for (auto& t : threads_) t.join();
    api::set_log_level(api::LogLevel::kWarn);
  }

  void start() {
    api::HttpServerOptions http;
    http.port = 0;
    http.io_threads = 2;
    http.worker_threads = 2;
    auto server = api::HttpServer::start(http, [this](api::HttpRequest& req, const std::string&,
                                                      api::Responder responder) {
      handle(req, std::move(responder));
    });
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
  }

  static api::HttpResponse text(std::string body) {
    api::HttpResponse res{boost::beast::http::status::ok, 11};
    res.set(boost::beast::http::field::content_type, "text/plain");
    res.body() = std::move(body);
    return res;
  }

  void handle(api::HttpRequest& req, api::Responder responder) {
    const std::string target(req.target());
    if (target == "/now") return std::move(responder).send(text("now"));
    if (target == "/throw") throw std::runtime_error("handler bug");
    if (target == "/drop") return;  // never answers: the responder's destructor does
    if (target == "/blocking") {
      return std::move(responder).run_blocking([](api::Responder r) { std::move(r).send(text("blocking")); });
    }
    if (target == "/blocking-throw") {
      return std::move(responder).run_blocking([](api::Responder) { throw std::runtime_error("worker bug"); });
    }
    if (target == "/post-throw") {
      return std::move(responder).post([](api::Responder) { throw std::runtime_error("continuation bug"); });
    }
    if (target == "/later" || target == "/slow") {
      // Answered from a thread the server does not own, after the handler returned, through a hop
      // back to the connection's strand (as a storage completion is).
      const auto delay = std::chrono::milliseconds(target == "/slow" ? 300 : 20);
      if (target == "/slow") slow_started_.set_value();
      std::lock_guard<std::mutex> lock(mu_);
      threads_.emplace_back([r = std::move(responder), delay, target]() mutable {
        std::this_thread::sleep_for(delay);
        std::move(r).post([target](api::Responder back) { std::move(back).send(text(target)); });
      });
      return;
    }
    std::move(responder).send(text("unknown"));
  }

  std::unique_ptr<api::HttpServer> server_;
  std::mutex mu_;
  std::vector<std::thread> threads_;
  std::promise<void> slow_started_;
};

TEST_F(HttpServerAsync, EveryRequestIsAnsweredOnceAndInOrder) {
  start();
  const std::vector<std::string> targets = {"/later", "/now", "/throw", "/blocking", "/drop", "/later",
                                            "/blocking-throw", "/post-throw", "/now"};
  std::vector<boost::beast::http::request<boost::beast::http::string_body>> reqs;
  for (const auto& t : targets) {
    boost::beast::http::request<boost::beast::http::string_body> r{boost::beast::http::verb::get, t, 11};
    r.set(boost::beast::http::field::host, "x");
    reqs.push_back(std::move(r));
  }
  const auto answers = pipeline(server_->port(), reqs);
  ASSERT_EQ(answers.size(), targets.size());
  const std::string internal_error = R"({"status":{"code":500,"message":"Internal server error"}})";
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const std::string& t = targets[i];
    EXPECT_EQ(answers[i].status, 200u) << t;
    if (t == "/now") {
      EXPECT_EQ(answers[i].body, "now") << i;
    } else if (t == "/later") {
      EXPECT_EQ(answers[i].body, "/later") << i;
    } else if (t == "/blocking") {
      EXPECT_EQ(answers[i].body, "blocking") << i;
    } else {
      EXPECT_EQ(answers[i].body, internal_error) << t;  // a bug in the handler still gets its answer
    }
  }
}

TEST_F(HttpServerAsync, StopWaitsForAnAnswerOwedByAnotherThread) {
  start();
  std::promise<Response> got;
  std::thread client([&] {
    boost::beast::http::request<boost::beast::http::string_body> r{boost::beast::http::verb::get, "/slow", 11};
    r.set(boost::beast::http::field::host, "x");
    auto answers = pipeline(server_->port(), {r});
    got.set_value(answers.empty() ? Response{} : answers.front());
  });
  slow_started_.get_future().wait();
  const auto t0 = std::chrono::steady_clock::now();
  server_->stop(std::chrono::milliseconds(5'000));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(200));
  client.join();
  const Response r = got.get_future().get();
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "/slow");
  EXPECT_EQ(r.headers.count("Connection") ? r.headers.at("Connection") : "", "close");
}

}  // namespace
}  // namespace stsvend
