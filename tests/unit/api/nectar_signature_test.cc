// The Nectar HMAC signature against the NECTAR-V1 §2.9 worked example (tests/data/api/nectar_auth.vec).
#include "api/nectar_signature.h"

#include <gtest/gtest.h>

#include "vec_file.h"

namespace stsvend::api {
namespace {

std::span<const std::uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::vector<testing::VecCase> cases() {
  return testing::load_vec("tests/data/api/nectar_auth.vec",
                           {"Method", "Path", "Body", "ContentType", "Date", "Nonce", "Secret", "ContentMD5",
                            "StringToSign", "HmacHex", "SignatureFull", "SignatureJava"});
}

TEST(NectarSignature, KnownAnswers) {
  const auto all = cases();
  ASSERT_EQ(all.size(), 3u);
  for (const auto& c : all) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(content_md5_hex(c.at("Body")), c.at("ContentMD5"));
    const std::string sts =
        string_to_sign(c.at("Method"), c.at("Path"), c.at("ContentMD5"), c.at("ContentType"), c.at("Date"), c.at("Nonce"));
    EXPECT_EQ(sts, c.at("StringToSign"));
    EXPECT_EQ(hmac_sha256_hex(bytes(c.at("Secret")), sts), c.at("HmacHex"));
    EXPECT_EQ(signature_for(bytes(c.at("Secret")), sts, false), c.at("SignatureFull"));
    EXPECT_EQ(signature_for(bytes(c.at("Secret")), sts, true), c.at("SignatureJava"));
    EXPECT_TRUE(verify_signature(bytes(c.at("Secret")), sts, c.at("SignatureFull")));
    EXPECT_TRUE(verify_signature(bytes(c.at("Secret")), sts, c.at("SignatureJava")));
  }
}

TEST(NectarSignature, LeadingZeroCaseHasTwoDistinctForms) {
  for (const auto& c : cases()) {
    if (c.at("HmacHex")[0] != '0') continue;
    EXPECT_NE(c.at("SignatureFull"), c.at("SignatureJava")) << c.name;
    EXPECT_EQ(c.at("SignatureJava").size(), 84u) << "63 hex digits → 84 base64 chars, no padding";
  }
}

TEST(NectarSignature, RejectsTamperedInputs) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    const std::string sts = c.at("StringToSign");
    std::string sig = c.at("SignatureFull");
    sig[5] = sig[5] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verify_signature(bytes(c.at("Secret")), sts, sig));
    EXPECT_FALSE(verify_signature(bytes(c.at("Secret")), sts + "x", c.at("SignatureFull")));
    EXPECT_FALSE(verify_signature(bytes(std::string("other-secret")), sts, c.at("SignatureFull")));
    EXPECT_FALSE(verify_signature(bytes(c.at("Secret")), sts, ""));
    // The raw hex (not base64) is not a valid signature.
    EXPECT_FALSE(verify_signature(bytes(c.at("Secret")), sts, c.at("HmacHex")));
  }
}

TEST(NectarSignature, ParseAuthorization) {
  auto a = parse_authorization("nectar 8c4b2f0e-5d3a:NjNk==");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->key, "8c4b2f0e-5d3a");
  EXPECT_EQ(a->signature, "NjNk==");
  auto upper = parse_authorization("NECTAR key:sig:with:colons");
  ASSERT_TRUE(upper.ok());
  EXPECT_EQ(upper->key, "key");
  EXPECT_EQ(upper->signature, "sig:with:colons");  // split at the FIRST ':'
  EXPECT_FALSE(parse_authorization("Bearer abc").ok());
  EXPECT_FALSE(parse_authorization("nectar").ok());
  EXPECT_FALSE(parse_authorization("nectar keyonly").ok());
  EXPECT_FALSE(parse_authorization("nectar :sig").ok());
  EXPECT_FALSE(parse_authorization("nectar key:").ok());
  EXPECT_FALSE(parse_authorization("nectarkey:sig").ok());
  EXPECT_EQ(parse_authorization("Bearer abc").status().code(), Status::Code::kUnauthenticated);
}

TEST(NectarSignature, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

}  // namespace
}  // namespace stsvend::api
