// open_configuration_upload end to end with the real openssl CLI, running the commands of the
// Nectar walkthrough (NECTAR-V1.md §3.5.1, /work/shared/seeds) in a temp dir: line-wrapped base64,
// `rsautl -sign` over the bare SHA-256, `rsautl -encrypt` to the server's public key.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"
#include "vault/server_key.h"

namespace stsvend::vault {
namespace {

using testing::read_text;
using testing::run_in;
using testing::TempDir;

// The worked example of NECTAR-V1.md §3.5.3: 300 bytes, no trailing newline. (The spec calls it
// "the native example above", but the bytes it encrypted say `name: example_config`.)
constexpr const char* kConfigText =
    "---\n"
    "name: example_config\n"
    "type: native\n"
    "key_expiry_no: 255\n"
    "encryption_algorithm: sta\n"
    "token_carrier_type: numeric\n"
    "decoder_key_generation_algorithm: 04\n"
    "tariff_index: 01\n"
    "key_revision_no: 1\n"
    "vending_key: 0123456789abcdef\n"
    "supply_group_code: 123456\n"
    "key_type: 3\n"
    "base_date: 2035\n"
    "issuer_identification_no: 600727";
constexpr const char* kSpecData =
    "MTIzNDU2NzgxMjM0NTY3OEDhTi/ovC/g58wK+7zhJVd6VkIvmZsGMvfj7hkCtc/xt7FlXzVmF52JACSNkWiIcSgUmUCaVaa59FGdgI00oC"
    "HreMgcQJw0QsB+NZwlCSajkrsAkOSoawIdyRG4mSxiqCfCflKifPD8cde2v3g9l2NT+/wR6OAQ757D0EKEGsspkeTG7b/xQ0FZWlKqEr4Z"
    "oa1t0pJ5mBwJQFDvNLpULPH693FFEDYviyL0MfvGgzk6p8GZSG44TDzJH62rVY5Sf+HLvrfdbpYEzBpV490E068AhJsy+aLd4pFs/xZHq53e"
    "1mxbX/d4yM+tOQUDoD/p4fGK6Q/ttT1IhHq20k1LwlFYbC2Wbk09YJMsfo98ZHRIzABAoIC9OmWmB480RU5mutMxdflYjpeG67EN78YcFzM=";

// The seed's Step 5 to Step 7, verbatim apart from the file names the walkthrough left blank.
// $1: user private key file, $2: server public key file.
constexpr const char* kSeedRecipe =
    "openssl enc -aes-128-cbc -in sts_config.yml -out encrypted_sts_config_no_iv.bin"
    " -K 7638792f423f4528482b4d6251655468 -iv 31323334353637383132333435363738"
    " && cp iv.txt encrypted_sts_config_with_iv.bin"
    " && cat encrypted_sts_config_no_iv.bin >> encrypted_sts_config_with_iv.bin"
    " && cat encrypted_sts_config_with_iv.bin | base64 > encrypted_sts_config_with_iv_base64.txt"
    " && cat sts_config.yml | openssl dgst -binary -sha256"
    "    | openssl rsautl -sign -inkey USER_KEY -in - -out - 2>/dev/null | openssl base64 > encrypted_digest.txt"
    " && openssl rsautl -encrypt -pubin -inkey server_pub.pem -in sym.txt -out encrypted_symmetric.bin 2>/dev/null"
    " && base64 encrypted_symmetric.bin > encrypted_symmetric.txt";

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

std::string strip_whitespace(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c != '\n' && c != '\r' && c != ' ') out += c;
  }
  return out;
}

// Shared per process: a server key (openssl 2048-bit, imported into the vault). User keys (2048 and
// 4096 bits), a stranger's key and a second server key are generated on first use.
class ConfigurationUploadTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!testing::have_program("openssl") || !testing::have_program("base64")) return;
    dir_ = new TempDir();
    const auto& d = dir_->path();
    testing::write_bytes(d / "sts_config.yml", kConfigText);
    setup_ok_ = run_in(d,
                       "printf '%s' 'v8y/B?E(H+MbQeTh' > sym.txt && printf '%s' '1234567812345678' > iv.txt"
                       " && openssl genrsa -out server.pem 2048 2>/dev/null");
    if (!setup_ok_) return;
    auto vault = open_file_vault(d / "data");
    setup_ok_ = vault.ok() && ServerKey::import_pkcs8(**vault, d / "data", testing::read_bytes(d / "server.pem")).ok();
    if (!setup_ok_) return;
    auto key = ServerKey::load_or_create(**vault, d / "data");
    setup_ok_ = key.ok();
    if (!setup_ok_) return;
    server_ = std::move(key).value().release();
    // The server public key as the server publishes it.
    testing::write_bytes(d / "server_pub.pem", server_->public_key_pem());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (dir_ == nullptr) GTEST_SKIP() << "openssl or base64 CLI not installed";
    ASSERT_TRUE(setup_ok_) << "openssl setup failed";
  }

  static const std::filesystem::path& dir() { return dir_->path(); }

  // Generates `<name>.pem` and `<name>_pub.pem` (openssl genrsa, as the walkthrough does) on first
  // use, so each test process pays only for the keys its test needs.
  static void need_key(const std::string& name, int bits) {
    if (std::filesystem::exists(dir() / (name + "_pub.pem"))) return;
    ASSERT_TRUE(run_in(dir(), "openssl genrsa -out " + name + ".pem " + std::to_string(bits) +
                                  " 2>/dev/null && openssl rsa -in " + name + ".pem -pubout > " + name +
                                  "_pub.pem 2>/dev/null"));
  }
  static std::string file(const std::string& name) { return read_text(dir() / name); }

  // Runs the seed recipe signing with `user_key`; writes the three upload files.
  static void run_seed_recipe(const std::string& user_key) {
    need_key(user_key.substr(0, user_key.size() - 4), user_key == "key4096.pem" ? 4096 : 2048);
    ASSERT_TRUE(run_in(dir(), replace_all(kSeedRecipe, "USER_KEY", user_key)));
  }

  static Result<SecretBytes> upload(const std::vector<std::string>& user_keys) {
    return open_configuration_upload(*server_, file("encrypted_sts_config_with_iv_base64.txt"),
                                     file("encrypted_digest.txt"), file("encrypted_symmetric.txt"), user_keys);
  }

  static std::string normalized(const std::string& pem_file) {
    const std::string name = pem_file.substr(0, pem_file.size() - 8);  // strip "_pub.pem"
    need_key(name, name == "key4096" ? 4096 : 2048);
    auto n = normalize_public_key(file(pem_file));
    EXPECT_TRUE(n.ok()) << pem_file;
    return n.ok() ? *n : std::string();
  }

  static void expect_digest_error(const Result<SecretBytes>& r) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition);  // status.code 500, as GW answers
    EXPECT_EQ(r.status().field(), "digest");
    EXPECT_EQ(r.status().rule(), "Calculated and payload digests do not match!");
  }

  static TempDir* dir_;
  static bool setup_ok_;
  static ServerKey* server_;
};
TempDir* ConfigurationUploadTest::dir_ = nullptr;
bool ConfigurationUploadTest::setup_ok_ = false;
ServerKey* ConfigurationUploadTest::server_ = nullptr;

TEST_F(ConfigurationUploadTest, SeedRecipeWith2048BitUserKey) {
  run_seed_recipe("key.pem");
  // The walkthrough's inputs reproduce the spec's worked example, and base64 wrapped the lines.
  const std::string data = file("encrypted_sts_config_with_iv_base64.txt");
  ASSERT_NE(data.find('\n'), data.size() - 1);
  EXPECT_EQ(strip_whitespace(data), kSpecData);
  ASSERT_NE(file("encrypted_digest.txt").find('\n'), file("encrypted_digest.txt").size() - 1);

  auto text = upload({normalized("key_pub.pem")});
  ASSERT_TRUE(text.ok()) << text.status().message() << " | " << text.status().detail();
  EXPECT_EQ(testing::as_string(text->span()), kConfigText);
}

TEST_F(ConfigurationUploadTest, SeedRecipeWith4096BitUserKey) {
  run_seed_recipe("key4096.pem");
  EXPECT_EQ(strip_whitespace(file("encrypted_digest.txt")).size(), 684u);  // as in §3.5.3
  auto text = upload({normalized("key4096_pub.pem")});
  ASSERT_TRUE(text.ok()) << text.status().message() << " | " << text.status().detail();
  EXPECT_EQ(testing::as_string(text->span()), kConfigText);
}

TEST_F(ConfigurationUploadTest, DigestInfoSignatureVariant) {
  run_seed_recipe("key.pem");
  ASSERT_TRUE(run_in(dir(), "openssl dgst -sha256 -sign key.pem sts_config.yml | openssl base64 > encrypted_digest.txt"));
  auto text = upload({normalized("key_pub.pem")});
  ASSERT_TRUE(text.ok()) << text.status().message() << " | " << text.status().detail();
  EXPECT_EQ(testing::as_string(text->span()), kConfigText);
}

TEST_F(ConfigurationUploadTest, EveryActivatedKeyIsTried) {
  run_seed_recipe("key4096.pem");
  // PEM as stored by a lenient client is accepted too.
  const std::vector<std::string> keys{normalized("stranger_pub.pem"), normalized("key_pub.pem"),
                                      file("key4096_pub.pem")};
  auto text = upload(keys);
  ASSERT_TRUE(text.ok()) << text.status().message() << " | " << text.status().detail();
  EXPECT_EQ(testing::as_string(text->span()), kConfigText);
}

TEST_F(ConfigurationUploadTest, WrongUserKeyIsDigestMismatch) {
  run_seed_recipe("key.pem");
  auto r = upload({normalized("stranger_pub.pem"), normalized("other_server_pub.pem")});
  expect_digest_error(r);
  EXPECT_NE(r.status().detail().find("none of the user's activated keys"), std::string_view::npos);
}

TEST_F(ConfigurationUploadTest, SignatureOverOtherTextIsDigestMismatch) {
  run_seed_recipe("key.pem");
  ASSERT_TRUE(run_in(dir(), "printf 'other text' | openssl dgst -binary -sha256"
                            " | openssl rsautl -sign -inkey key.pem 2>/dev/null | openssl base64 > encrypted_digest.txt"));
  expect_digest_error(upload({normalized("key_pub.pem")}));
}

TEST_F(ConfigurationUploadTest, KeyWrappedForAnotherServerLooksLikeDigestMismatch) {
  run_seed_recipe("key.pem");
  need_key("other_server", 2048);
  ASSERT_TRUE(run_in(dir(), "openssl rsautl -encrypt -pubin -inkey other_server_pub.pem -in sym.txt 2>/dev/null"
                            " | base64 > encrypted_symmetric.txt"));
  auto r = upload({normalized("key_pub.pem")});
  expect_digest_error(r);
  EXPECT_NE(r.status().detail().find("key did not unwrap"), std::string_view::npos);
}

TEST_F(ConfigurationUploadTest, LongerAesKeysAreUsedExactly) {
  need_key("key", 2048);
  for (const auto& [cipher, sym] : std::vector<std::pair<std::string, std::string>>{
           {"aes-192-cbc", "0123456789abcdefghijklm!"}, {"aes-256-cbc", "0123456789abcdefghijklmnopqrstu!"}}) {
    SCOPED_TRACE(cipher);
    testing::write_bytes(dir() / "sym_long.txt", sym);
    ASSERT_TRUE(run_in(dir(), "openssl enc -" + cipher + " -in sts_config.yml -out body.bin -K $(xxd -p -c 64 sym_long.txt 2>/dev/null || od -An -tx1 sym_long.txt | tr -d ' \\n')"
                              " -iv 31323334353637383132333435363738"
                              " && cat iv.txt body.bin | base64 > encrypted_sts_config_with_iv_base64.txt"
                              " && openssl dgst -binary -sha256 sts_config.yml | openssl rsautl -sign -inkey key.pem 2>/dev/null"
                              "    | openssl base64 > encrypted_digest.txt"
                              " && openssl rsautl -encrypt -pubin -inkey server_pub.pem -in sym_long.txt 2>/dev/null"
                              "    | base64 > encrypted_symmetric.txt"));
    auto text = upload({normalized("key_pub.pem")});
    ASSERT_TRUE(text.ok()) << text.status().message() << " | " << text.status().detail();
    EXPECT_EQ(testing::as_string(text->span()), kConfigText);
  }
}

TEST_F(ConfigurationUploadTest, TamperedCiphertextIsDigestMismatch) {
  run_seed_recipe("key.pem");
  // Flip a bit in the last ciphertext block (bad padding) and in the first (garbled text).
  for (const char* offset : {"319", "20"}) {
    SCOPED_TRACE(offset);
    ASSERT_TRUE(run_in(dir(), std::string("python3 -c \"import sys;b=bytearray(open('encrypted_sts_config_with_iv.bin','rb').read());"
                                          "b[") + offset + "]^=1;sys.stdout.buffer.write(b)\" | base64 > encrypted_sts_config_with_iv_base64.txt"));
    expect_digest_error(upload({normalized("key_pub.pem")}));
  }
}

TEST_F(ConfigurationUploadTest, MalformedFieldsNameTheField) {
  run_seed_recipe("key.pem");
  const std::string data = file("encrypted_sts_config_with_iv_base64.txt");
  const std::string digest = file("encrypted_digest.txt");
  const std::string key = file("encrypted_symmetric.txt");
  const std::vector<std::string> keys{normalized("key_pub.pem")};

  auto r = open_configuration_upload(*server_, data, digest, "!!not base64!!", keys);
  EXPECT_EQ(r.status().field(), "key");
  r = open_configuration_upload(*server_, "", digest, key, keys);
  EXPECT_EQ(r.status().field(), "data");
  r = open_configuration_upload(*server_, data, "  \n", key, keys);
  EXPECT_EQ(r.status().field(), "digest");
  // 16-byte IV plus 15 bytes: not whole blocks; and an IV alone.
  r = open_configuration_upload(*server_, "MTIzNDU2NzgxMjM0NTY3ODEyMzQ1Njc4MTIzNDU2Nw==", digest, key, keys);
  EXPECT_EQ(r.status().field(), "data");
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  r = open_configuration_upload(*server_, "MTIzNDU2NzgxMjM0NTY3OA==", digest, key, keys);
  EXPECT_EQ(r.status().field(), "data");

  r = open_configuration_upload(*server_, data, digest, key, {});
  EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition);
  const std::vector<std::string> junk{"garbage"};
  r = open_configuration_upload(*server_, data, digest, key, junk);
  EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition);

  // Sanity: the unmodified upload opens.
  EXPECT_TRUE(open_configuration_upload(*server_, data, digest, key, keys).ok());
}

}  // namespace
}  // namespace stsvend::vault
