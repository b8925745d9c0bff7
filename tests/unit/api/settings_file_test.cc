// Settings files for `stsvend serve` (src/api/settings_file.h).
#include "api/settings_file.h"

#include <gtest/gtest.h>

namespace stsvend::api {
namespace {

const std::set<std::string, std::less<>> kKnown = {"listen", "tls-cert", "log-level", "threads"};

TEST(SettingsFile, ReadsBareQuotedAndCommentedValues) {
  auto s = parse_settings(
      "# stsvend\n"
      "\n"
      "listen = 0.0.0.0:8443   # all interfaces\n"
      "  tls-cert=\"/etc/stsvend/my cert.pem\"\n"
      "log-level = 'warn' # quiet\r\n"
      "--threads = 2\n",
      "stsvend.conf", kKnown);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->at("listen"), "0.0.0.0:8443");
  EXPECT_EQ(s->at("tls-cert"), "/etc/stsvend/my cert.pem");
  EXPECT_EQ(s->at("log-level"), "warn");
  EXPECT_EQ(s->at("threads"), "2");
}

TEST(SettingsFile, DoubleQuotesTakeEscapesAndHashes) {
  auto s = parse_settings("tls-cert = \"/a \\\"b\\\" #c\\\\d\"\n", "f", kKnown);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->at("tls-cert"), "/a \"b\" #c\\d");
}

TEST(SettingsFile, ErrorsNameTheFileLineAndSetting) {
  struct Case {
    const char* text;
    const char* expect;
  };
  for (const Case& c : {Case{"listen = a\ntls_cert = /x\n", "f.conf:2: unknown setting 'tls_cert'"},
                        Case{"listen\n", "f.conf:1: expected `name = value`"},
                        Case{"listen = a\nlisten = b\n", "f.conf:2: 'listen' is set twice"},
                        Case{"tls-cert = \"/x\n", "f.conf:1: the value of 'tls-cert' is not closed"},
                        Case{"tls-cert = '/x' trailing\n", "f.conf:1: the value of 'tls-cert'"},
                        Case{"tls-cert = \"\\n\"\n", "f.conf:1: the value of 'tls-cert'"}}) {
    auto s = parse_settings(c.text, "f.conf", kKnown);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.status().field(), "--config");
    EXPECT_NE(s.status().rule().find(c.expect), std::string_view::npos) << s.status().message();
  }
}

TEST(SettingsFile, UnreadableFileIsAnError) {
  auto s = read_settings_file("/nonexistent/stsvend.conf", kKnown);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().rule().find("cannot read /nonexistent/stsvend.conf"), std::string_view::npos);
}

TEST(SettingsFile, EnvironmentNamesFollowTheFlags) {
  EXPECT_EQ(setting_env_name("tls-cert"), "STSVEND_TLS_CERT");
  EXPECT_EQ(setting_env_name("data-dir"), "STSVEND_DATA_DIR");
  EXPECT_EQ(setting_env_name("pkcs11-pin-env"), "STSVEND_PKCS11_PIN_ENV");
}

}  // namespace
}  // namespace stsvend::api
