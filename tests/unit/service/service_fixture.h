// A Service on a fresh data directory per test, with a controllable clock.
#pragma once

#include <atomic>
#include <filesystem>
#include <cstdio>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "service/service.h"
#include "temp_dir.h"

namespace stsvend::service::testing_support {

// 2026-11-23T12:00:00Z
inline constexpr Millis kNow = 1'795'435'200'000;
inline constexpr std::int64_t kBase2014 = 1'388'534'400;

inline constexpr const char* kConfig2014 =
    "---\n"
    "name: test_config\n"
    "key_expiry_no: 255\n"
    "encryption_algorithm: sta\n"
    "token_carrier_type: numeric\n"
    "decoder_key_generation_algorithm: 02\n"
    "tariff_index: 01\n"
    "key_revision_no: 1\n"
    "vending_key: abababababababab\n"
    "supply_group_code: 123456\n"
    "key_type: 2\n"
    "base_date: 2014\n"
    "issuer_identification_no: 600727\n";

// The configuration of the peer's test-Nectar_1 vector (vectors.json, first case).
inline constexpr const char* kConfigNectar1 =
    "name: nectar1\n"
    "key_expiry_no: 255\n"
    "encryption_algorithm: sta\n"
    "token_carrier_type: numeric\n"
    "decoder_key_generation_algorithm: 02\n"
    "tariff_index: 01\n"
    "key_revision_no: 1\n"
    "vending_key: abababababababab\n"
    "supply_group_code: 123456\n"
    "key_type: 2\n"
    "base_date: 1993\n"
    "issuer_identification_no: 600727\n";

// The whole file, or "" when it cannot be read. (stdio: g++ 12 -O2 warns falsely on
// istreambuf_iterator under -Wnull-dereference.)
inline std::string read_file(const std::filesystem::path& path) {
  std::string out;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

class ServiceTest : public ::testing::Test {
 protected:
  // A test-only RSA-2048 server key (tests/unit/service/data/test_server_key.pem, generated for
  // these tests with openssl) is imported, so each test skips the RSA-4096 generation.
  // A path joined with `/`: `std::string + "…"` here trips g++ 12's -Warray-bounds false positive
  // (GCC PR 105329) once SetUp is inlined into a test.
  static std::string server_key_pem() {
    return read_file(std::filesystem::path(STSVEND_SERVICE_TEST_DATA) / "test_server_key.pem");
  }

  void SetUp() override {
    data_dir_ = dir_.path() / "data";
    const std::string pem = server_key_pem();
    ASSERT_FALSE(pem.empty());
    Status imported = Service::import_server_key(
        data_dir_, std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(pem.data()), pem.size()));
    ASSERT_TRUE(imported.ok()) << imported.message() << " " << imported.detail();
    open();
  }

  Options options() {
    Options o;
    o.data_dir = data_dir_;
    o.clock = [this] { return clock_.load(); };
    return o;
  }

  void open() {
    auto svc = Service::open(options());
    ASSERT_TRUE(svc.ok()) << svc.status().message() << " " << svc.status().detail();
    svc_ = std::move(svc).value();
  }
  void reopen() {
    svc_.reset();
    open();
  }

  // A user with `credits` units of credit.
  std::string make_user(const std::string& username, Units credits = 100 * kUnitScale) {
    NewUser u;
    u.first_name = "First";
    u.last_name = "Last";
    u.username = username;
    u.password = "correct horse";
    u.email = username + "@example.org";
    u.phone_no = "0700100100";
    auto ref = svc_->create_user(u);
    EXPECT_TRUE(ref.ok()) << ref.status().message();
    if (credits > 0) {
      EXPECT_TRUE(svc_->add_credits(*ref, credits, credits, "KES").ok());
    }
    return *ref;
  }

  std::string add_config(const std::string& user_ref, const char* text = kConfig2014) {
    auto c = svc_->add_configuration_text(user_ref, text);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? c->ref : std::string();
  }

  static VendRequest credit(const std::string& user_ref, const std::string& config_ref, const std::string& drn,
                            std::uint32_t amount_tenths = 100) {
    VendRequest r;
    r.user_ref = user_ref;
    r.config_ref = config_ref;
    r.drn = drn;
    r.token.token_class = 0;
    r.token.subclass = 0;
    r.token.amount_tenths = amount_tenths;
    r.request_id = "req";
    return r;
  }

  Units balance(const std::string& user_ref) {
    auto c = svc_->credits(user_ref);
    EXPECT_TRUE(c.ok());
    return c.ok() ? c->credits : -1;
  }

  stsvend::testing::TempDir dir_;
  std::filesystem::path data_dir_;
  std::atomic<Millis> clock_{kNow};
  std::unique_ptr<Service> svc_;
};

}  // namespace stsvend::service::testing_support
