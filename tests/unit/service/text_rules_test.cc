// check_text: the length range and the characters free-text fields may not hold.
#include "service/text_rules.h"

#include <string>

#include <gtest/gtest.h>

namespace stsvend::service {
namespace {

TEST(TextRules, LengthRange) {
  EXPECT_TRUE(check_text("name", "a", 1, 3).ok());
  EXPECT_TRUE(check_text("name", "abc", 1, 3).ok());
  EXPECT_EQ(check_text("name", "", 1, 3).rule(), "must be 1 to 3 characters");
  EXPECT_EQ(check_text("name", "abcd", 1, 3).field(), "name");
  EXPECT_TRUE(check_text("name", "", 0, 3).ok());
  EXPECT_EQ(check_text("name", "abcd", 0, 3).rule(), "must be at most 3 characters");
}

TEST(TextRules, NoControlCharacters) {
  EXPECT_TRUE(check_text("name", "Jane Wanjiru-Ngũgĩ (Nairobi)", 1, 255).ok());
  for (const std::string& bad : {std::string("a\0b", 3), std::string("tab\tname"), std::string("bell\a"),
                                std::string("\x1b[31mred"), std::string("line\nbreak"), std::string("del\x7f")}) {
    const Status s = check_text("name", bad, 1, 255);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << bad;
    EXPECT_EQ(s.rule(), "must not contain control characters") << bad;
  }
}

TEST(TextRules, NoBidirectionalControls) {
  // U+202E RIGHT-TO-LEFT OVERRIDE and U+2066 LEFT-TO-RIGHT ISOLATE; U+2014 EM DASH (E2 80 94) is fine.
  EXPECT_FALSE(check_text("name", "abc\xE2\x80\xAE" "fed", 1, 255).ok());
  EXPECT_FALSE(check_text("name", "x\xE2\x81\xA6y", 1, 255).ok());
  EXPECT_TRUE(check_text("name", "a\xE2\x80\x94" "b", 1, 255).ok());
}

}  // namespace
}  // namespace stsvend::service
