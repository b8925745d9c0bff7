// ServerKey: create (RSA-4096) → reload → same key; PKCS#8 import (PEM and DER, from the openssl
// CLI); refusals; PKCS#1 v1.5 decryption of what `openssl pkeyutl -encrypt` produced.
#include "vault/server_key.h"

#include <string>

#include <gtest/gtest.h>

#include "test_util.h"
#include "vault/base64.h"

namespace stsvend::vault {
namespace {

using testing::bytes_of;
using testing::read_bytes;
using testing::read_text;
using testing::run_in;
using testing::TempDir;

std::string trim_newlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

TEST(ServerKey, CreateThenReloadGivesTheSameKey) {
  TempDir dir;
  auto vault = open_file_vault(dir.path());
  ASSERT_TRUE(vault.ok());
  auto created = ServerKey::load_or_create(**vault, dir.path());
  ASSERT_TRUE(created.ok()) << created.status().message() << " " << created.status().detail();
  const std::string pem = (*created)->public_key_pem();
  const std::string spki = (*created)->public_key_spki_base64();
  EXPECT_EQ(pem.rfind("-----BEGIN PUBLIC KEY-----", 0), 0u);
  EXPECT_EQ(spki.find_first_of(" \r\n"), std::string::npos);
  auto der = decode_base64_lenient(spki, "key");
  ASSERT_TRUE(der.ok());
  EXPECT_EQ(der->size(), 550u);  // SubjectPublicKeyInfo of an RSA-4096 key with e = 65537
  auto normalized = normalize_public_key(pem);
  ASSERT_TRUE(normalized.ok());
  EXPECT_EQ(*normalized, spki);

  const auto sealed_path = dir.path() / "server_key.sealed";
  EXPECT_EQ(testing::file_mode(sealed_path), 0600u);
  // The private key is not stored in clear: no PKCS#8 RSA OID bytes in the sealed file.
  const auto sealed = read_bytes(sealed_path);
  const std::string rsa_oid = "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01";
  EXPECT_EQ(testing::as_string(sealed).find(rsa_oid), std::string::npos);

  auto reloaded = ServerKey::load_or_create(**vault, dir.path());
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().message();
  EXPECT_EQ((*reloaded)->public_key_pem(), pem);
  EXPECT_EQ((*reloaded)->public_key_spki_base64(), spki);

  // A vault with another master key cannot open it.
  TempDir other;
  auto other_vault = open_file_vault(other.path());
  ASSERT_TRUE(other_vault.ok());
  std::filesystem::copy_file(sealed_path, other.path() / "server_key.sealed");
  auto foreign = ServerKey::load_or_create(**other_vault, other.path());
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.status().code(), Status::Code::kCorruption);
}

// Keys made by the openssl CLI, once per test process.
class ServerKeyImportTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::have_program("openssl")) return;
    dir_ = new TempDir();
    ok_ = run_in(dir_->path(),
                 "openssl genrsa -out key.pem 2048 2>/dev/null"
                 " && openssl pkcs8 -topk8 -nocrypt -in key.pem -outform DER -out key.der"
                 " && openssl rsa -in key.pem -pubout -out pub.pem 2>/dev/null"
                 " && openssl rsa -in key.pem -pubout -outform DER 2>/dev/null | base64 -w0 > spki.txt"
                 " && openssl genrsa -out other.pem 2048 2>/dev/null"
                 " && openssl genrsa -out short.pem 1024 2>/dev/null"
                 " && openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null"
                 "    | openssl pkcs8 -topk8 -nocrypt -out ec.pem"
                 " && printf 'v8y/B?E(H+MbQeTh' > sym.txt"
                 " && openssl pkeyutl -encrypt -pubin -inkey pub.pem -in sym.txt -out sym.enc");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "openssl CLI not installed";
    ASSERT_TRUE(ok_) << "openssl key generation failed";
    auto v = open_file_vault(data_.path());
    ASSERT_TRUE(v.ok());
    vault_ = std::move(v).value();
  }
  static std::filesystem::path path(const char* name) { return dir_->path() / name; }

  static TempDir* dir_;
  static bool ok_;
  TempDir data_;
  std::unique_ptr<Vault> vault_;
};
TempDir* ServerKeyImportTest::dir_ = nullptr;
bool ServerKeyImportTest::ok_ = false;

TEST_F(ServerKeyImportTest, ImportPemThenLoad) {
  ASSERT_TRUE(ServerKey::import_pkcs8(*vault_, data_.path(), read_bytes(path("key.pem"))).ok());
  auto key = ServerKey::load_or_create(*vault_, data_.path());
  ASSERT_TRUE(key.ok()) << key.status().message();
  EXPECT_EQ((*key)->public_key_spki_base64(), trim_newlines(read_text(path("spki.txt"))));
  EXPECT_EQ(testing::file_mode(data_.path() / "server_key.sealed"), 0600u);
}

TEST_F(ServerKeyImportTest, ImportDerReplacesExistingKey) {
  ASSERT_TRUE(ServerKey::import_pkcs8(*vault_, data_.path(), read_bytes(path("other.pem"))).ok());
  auto before = ServerKey::load_or_create(*vault_, data_.path());
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(ServerKey::import_pkcs8(*vault_, data_.path(), read_bytes(path("key.der"))).ok());
  auto after = ServerKey::load_or_create(*vault_, data_.path());
  ASSERT_TRUE(after.ok());
  EXPECT_NE((*before)->public_key_spki_base64(), (*after)->public_key_spki_base64());
  EXPECT_EQ((*after)->public_key_spki_base64(), trim_newlines(read_text(path("spki.txt"))));
}

TEST_F(ServerKeyImportTest, ImportRefusesNonRsaShortAndGarbage) {
  for (const char* name : {"ec.pem", "short.pem", "pub.pem", "sym.txt"}) {
    SCOPED_TRACE(name);
    const Status s = ServerKey::import_pkcs8(*vault_, data_.path(), read_bytes(path(name)));
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(s.field(), "pkcs8");
  }
  EXPECT_FALSE(std::filesystem::exists(data_.path() / "server_key.sealed"));
}

TEST_F(ServerKeyImportTest, DecryptsWhatOpensslEncrypted) {
  ASSERT_TRUE(ServerKey::import_pkcs8(*vault_, data_.path(), read_bytes(path("key.pem"))).ok());
  auto key = ServerKey::load_or_create(*vault_, data_.path());
  ASSERT_TRUE(key.ok());
  auto ct = read_bytes(path("sym.enc"));
  ASSERT_EQ(ct.size(), 256u);
  auto plain = (*key)->decrypt_pkcs1v15(ct);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ(testing::as_string(plain->span()), "v8y/B?E(H+MbQeTh");

  // The integer 1 decrypts to 00…01, which is no type-2 block.
  std::vector<std::uint8_t> one(256, 0);
  one.back() = 1;
  auto bad = (*key)->decrypt_pkcs1v15(one);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "key");
  EXPECT_FALSE((*key)->decrypt_pkcs1v15(bytes_of("short")).ok());
}

}  // namespace
}  // namespace stsvend::vault
