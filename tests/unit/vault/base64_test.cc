// Lenient base64: RFC 4648 known answers, whitespace and line wraps anywhere, malformed input.
#include "vault/base64.h"

#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace stsvend::vault {
namespace {

std::string decoded(std::string_view text) {
  auto r = decode_base64_lenient(text, "data");
  EXPECT_TRUE(r.ok()) << text;
  return r.ok() ? testing::as_string(*r) : std::string();
}

TEST(Base64, Rfc4648KnownAnswers) {
  // RFC 4648 §10.
  EXPECT_EQ(decoded("Zg=="), "f");
  EXPECT_EQ(decoded("Zm8="), "fo");
  EXPECT_EQ(decoded("Zm9v"), "foo");
  EXPECT_EQ(decoded("Zm9vYg=="), "foob");
  EXPECT_EQ(decoded("Zm9vYmE="), "fooba");
  EXPECT_EQ(decoded("Zm9vYmFy"), "foobar");
  EXPECT_EQ(encode_base64(testing::bytes_of("foobar")), "Zm9vYmFy");
  EXPECT_EQ(encode_base64(testing::bytes_of("fo")), "Zm8=");
}

TEST(Base64, IgnoresWhitespaceAndLineWraps) {
  EXPECT_EQ(decoded("  Zm9v\nYmFy\n"), "foobar");
  EXPECT_EQ(decoded("Zm9v\r\nYmE=\r\n"), "fooba");
  EXPECT_EQ(decoded("\tZm 9v Ym Fy "), "foobar");
}

TEST(Base64, MalformedInputNamesTheField) {
  for (const char* bad : {"", " \n ", "Zm9", "Zm9vY", "Zm9v!mFy", "Zm=v", "====", "Zg==Zg=="}) {
    auto r = decode_base64_lenient(bad, "digest");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(r.status().field(), "digest");
  }
}

}  // namespace
}  // namespace stsvend::vault
