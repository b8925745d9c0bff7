// PKCS#11 vault against a real SoftHSM2 token initialised in a temporary directory.
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"
#include "vault/record_format.h"
#include "vault/vault.h"

namespace stsvend::vault {
namespace {

using testing::bytes_of;
using testing::as_string;

constexpr const char* kModule = "/usr/lib/softhsm/libsofthsm2.so";

// A SoftHSM2 token labelled "T" (user PIN 1234) living in a temp dir for the test's duration.
class Pkcs11VaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::have_program("softhsm2-util") || !std::filesystem::exists(kModule)) {
      GTEST_SKIP() << "SoftHSM2 is not installed (softhsm2-util / " << kModule
                   << "); apt-get install softhsm2 to run the PKCS#11 vault tests";
    }
    const auto tokens = dir_.path() / "tokens";
    std::filesystem::create_directories(tokens);
    const auto conf = dir_.path() / "softhsm2.conf";
    testing::write_bytes(conf, "directories.tokendir = " + tokens.string() +
                                   "\nobjectstore.backend = file\nlog.level = ERROR\n");
    ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    ASSERT_TRUE(testing::run_in(dir_.path(),
                                "softhsm2-util --init-token --free --label T --pin 1234 --so-pin 5678 >/dev/null"));
  }

  static Pkcs11Options options() {
    Pkcs11Options o;
    o.module_path = kModule;
    o.token_label = "T";
    o.pin = "1234";
    return o;
  }

  static std::unique_ptr<Vault> must_open(const Pkcs11Options& o) {
    auto v = open_pkcs11_vault(o);
    EXPECT_TRUE(v.ok()) << v.status().message() << " | " << v.status().detail();
    return v.ok() ? std::move(v).value() : nullptr;
  }

  testing::TempDir dir_;
};

TEST_F(Pkcs11VaultTest, SealOpenRoundTrip) {
  auto vault = must_open(options());
  ASSERT_NE(vault, nullptr);
  EXPECT_EQ(vault->backend_name(), "pkcs11");
  for (const std::string& plain : {std::string("v"), std::string("vending_key: 0123456789abcdef"), std::string(5000, 'z')}) {
    auto sealed = vault->seal(bytes_of(plain), "config:1");
    ASSERT_TRUE(sealed.ok()) << sealed.status().message() << " | " << sealed.status().detail();
    EXPECT_EQ(sealed->size(), plain.size() + kRecordOverhead);
    EXPECT_EQ((*sealed)[0], kRecordVersion);
    auto opened = vault->open(*sealed, "config:1");
    ASSERT_TRUE(opened.ok()) << opened.status().message() << " | " << opened.status().detail();
    EXPECT_EQ(as_string(opened->span()), plain);
  }
}

TEST_F(Pkcs11VaultTest, TamperWrongAadAndTruncationAreCorruption) {
  auto vault = must_open(options());
  ASSERT_NE(vault, nullptr);
  auto sealed = vault->seal(bytes_of("secret"), "aad");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(vault->open(*sealed, "other").status().code(), Status::Code::kCorruption);
  for (const std::size_t pos : {std::size_t{0}, std::size_t{1}, kNonceOffset, kCiphertextOffset, sealed->size() - 1}) {
    auto tampered = *sealed;
    tampered[pos] ^= 0x80;
    auto opened = vault->open(tampered, "aad");
    ASSERT_FALSE(opened.ok()) << pos;
    EXPECT_EQ(opened.status().code(), Status::Code::kCorruption) << pos << " " << opened.status().detail();
  }
  for (const std::size_t n : {std::size_t{0}, kRecordOverhead - 1, sealed->size() - 1}) {
    auto opened = vault->open(std::span<const std::uint8_t>(sealed->data(), n), "aad");
    ASSERT_FALSE(opened.ok()) << n;
    EXPECT_EQ(opened.status().code(), Status::Code::kCorruption) << n;
  }
  // The session that saw the failures is still usable.
  EXPECT_TRUE(vault->open(*sealed, "aad").ok());
}

TEST_F(Pkcs11VaultTest, KeyPersistsInTokenAcrossReopen) {
  std::vector<std::uint8_t> sealed;
  {
    auto vault = must_open(options());
    ASSERT_NE(vault, nullptr);
    auto s = vault->seal(bytes_of("kept in the token"), "x");
    ASSERT_TRUE(s.ok());
    sealed = *s;
  }
  auto vault = must_open(options());
  ASSERT_NE(vault, nullptr);
  auto opened = vault->open(sealed, "x");
  ASSERT_TRUE(opened.ok()) << opened.status().message() << " | " << opened.status().detail();
  EXPECT_EQ(as_string(opened->span()), "kept in the token");
}

TEST_F(Pkcs11VaultTest, DifferentKeyLabelIsADifferentKey) {
  auto a = must_open(options());
  auto o = options();
  o.key_label = "another-key";
  auto b = must_open(o);  // both vaults share one module initialisation
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto sealed = a->seal(bytes_of("x"), "aad");
  ASSERT_TRUE(sealed.ok());
  auto opened = b->open(*sealed, "aad");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Status::Code::kCorruption);
  EXPECT_TRUE(a->open(*sealed, "aad").ok());
}

TEST_F(Pkcs11VaultTest, WrongPinUnknownTokenBadModule) {
  auto o = options();
  o.pin = "9999";
  auto v = open_pkcs11_vault(o);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(v.status().message().find("9999"), std::string::npos);

  o = options();
  o.token_label = "NoSuchToken";
  v = open_pkcs11_vault(o);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(v.status().field(), "token_label");

  o = options();
  o.module_path = (dir_.path() / "missing.so").string();
  v = open_pkcs11_vault(o);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(v.status().field(), "module_path");
}

TEST_F(Pkcs11VaultTest, ConcurrentSealOpen) {
  auto vault = must_open(options());
  ASSERT_NE(vault, nullptr);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string plain = std::to_string(t) + "/" + std::to_string(i);
        auto sealed = vault->seal(bytes_of(plain), plain);
        if (!sealed.ok()) { ++failures; continue; }
        auto opened = vault->open(*sealed, plain);
        if (!opened.ok() || as_string(opened->span()) != plain) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace stsvend::vault
