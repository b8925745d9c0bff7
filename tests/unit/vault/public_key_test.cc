// normalize_public_key: the forms clients send (bare, wrapped, PEM SPKI, PEM PKCS#1) and the keys we
// must refuse (short RSA, EC, garbage). Keys are made with the openssl CLI, as users make them.
#include <string>

#include <gtest/gtest.h>

#include "test_util.h"
#include "vault/server_key.h"

namespace stsvend::vault {
namespace {

using testing::read_text;
using testing::run_in;

// One 2048-bit key, its PEM forms and its DER as base64, shared by the tests in this process.
class NormalizePublicKeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::have_program("openssl")) return;
    dir_ = new testing::TempDir();
    ok_ = run_in(dir_->path(),
                 "openssl genrsa -out key.pem 2048 2>/dev/null"
                 " && openssl rsa -in key.pem -pubout -out pub.pem 2>/dev/null"
                 " && openssl rsa -in key.pem -RSAPublicKey_out -out pkcs1.pem 2>/dev/null"
                 " && openssl rsa -in key.pem -pubout -outform DER -out pub.der 2>/dev/null"
                 " && base64 -w0 pub.der > bare.txt && base64 pub.der > wrapped.txt"
                 " && openssl genrsa -out short.pem 1024 2>/dev/null"
                 " && openssl rsa -in short.pem -pubout -out short_pub.pem 2>/dev/null"
                 " && openssl ecparam -name prime256v1 -genkey -noout -out ec.pem"
                 " && openssl ec -in ec.pem -pubout -out ec_pub.pem 2>/dev/null");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "openssl CLI not installed";
    ASSERT_TRUE(ok_) << "openssl key generation failed";
  }
  static std::string file(const char* name) { return read_text(dir_->path() / name); }
  static std::string bare() {
    std::string s = file("bare.txt");
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }

  static testing::TempDir* dir_;
  static bool ok_;
};
testing::TempDir* NormalizePublicKeyTest::dir_ = nullptr;
bool NormalizePublicKeyTest::ok_ = false;

TEST_F(NormalizePublicKeyTest, BareBase64IsCanonical) {
  auto n = normalize_public_key(bare());
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, bare());
  EXPECT_EQ(n->find('\n'), std::string::npos);
}

TEST_F(NormalizePublicKeyTest, WrappedAndPaddedBase64) {
  const std::string wrapped = file("wrapped.txt");
  ASSERT_NE(wrapped.find('\n'), wrapped.size() - 1) << "base64 should have wrapped a 294-byte DER";
  auto n = normalize_public_key("  \r\n" + wrapped + "\r\n ");
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, bare());
}

TEST_F(NormalizePublicKeyTest, PemSpkiAndPkcs1) {
  for (const char* name : {"pub.pem", "pkcs1.pem"}) {
    SCOPED_TRACE(name);
    const std::string pem = file(name);
    auto n = normalize_public_key(pem);
    ASSERT_TRUE(n.ok()) << n.status().message() << " " << n.status().detail();
    EXPECT_EQ(*n, bare());
  }
  // PEM with CRLF line ends, as a Windows editor saves it.
  std::string crlf;
  for (const char c : file("pub.pem")) {
    if (c == '\n') crlf += '\r';
    crlf += c;
  }
  auto n = normalize_public_key(crlf);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, bare());
}

TEST_F(NormalizePublicKeyTest, Refuses1024BitRsa) {
  auto n = normalize_public_key(file("short_pub.pem"));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(n.status().field(), "key");
  EXPECT_EQ(n.status().rule(), "RSA key must have at least 2048 bits");
}

TEST_F(NormalizePublicKeyTest, RefusesEcKey) {
  auto n = normalize_public_key(file("ec_pub.pem"));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().field(), "key");
  EXPECT_EQ(n.status().rule(), "must be an RSA key");
}

TEST_F(NormalizePublicKeyTest, RefusesGarbage) {
  const std::string pem = file("pub.pem");
  const std::string b = bare();
  for (const std::string& bad :
       {std::string(), std::string("   \n"), std::string("not a key"), std::string("AAAA"), b.substr(0, b.size() - 8),
        "x" + b, std::string("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
        std::string("-----BEGIN CERTIFICATE-----\n") + b + "\n-----END CERTIFICATE-----\n",
        file("key.pem"),
        b + "QUFB"}) {  // a whole key and three bytes more ("AAA"): the bytes after it are not a key
    auto n = normalize_public_key(bad);
    ASSERT_FALSE(n.ok()) << bad;
    EXPECT_EQ(n.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(n.status().field(), "key");
  }
}

}  // namespace
}  // namespace stsvend::vault
