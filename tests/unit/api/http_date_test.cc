// Date header parsing and the ±15 min skew rule (NECTAR-V1 §2.6).
#include "api/http_date.h"

#include <gtest/gtest.h>

namespace stsvend::api {
namespace {

constexpr std::int64_t kSunNov22 = 1795389003;  // 2026-11-22T23:10:03Z

TEST(HttpDate, JavaDateToString) {
  auto d = parse_sdk_date("Sun Nov 22 23:10:03 UTC 2026");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->has_zone);
  EXPECT_EQ(d->unix_seconds, kSunNov22);
  auto eat = parse_sdk_date("Mon Nov 23 02:10:03 EAT 2026");  // UTC+3
  ASSERT_TRUE(eat);
  EXPECT_EQ(eat->unix_seconds, kSunNov22);
  auto custom = parse_sdk_date("Sun Nov 22 20:10:03 GMT-03:00 2026");
  ASSERT_TRUE(custom);
  EXPECT_EQ(custom->unix_seconds, kSunNov22);
}

TEST(HttpDate, PhpFormatWithoutLeadingZeros) {
  auto d = parse_sdk_date("Sun, 22 Nov 2026 23:10:03 UTC");
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->has_zone);
  EXPECT_EQ(d->unix_seconds, kSunNov22);
  auto early = parse_sdk_date("Mon, 2 Nov 2026 3:04:05 UTC");
  ASSERT_TRUE(early);
  EXPECT_EQ(early->unix_seconds, 1793588645);
  auto offset = parse_sdk_date("Mon, 23 Nov 2026 2:10:03 +03");
  ASSERT_TRUE(offset);
  EXPECT_EQ(offset->unix_seconds, kSunNov22);
  auto rfc = parse_sdk_date("Sun, 22 Nov 2026 23:10:03 GMT");
  ASSERT_TRUE(rfc);
  EXPECT_EQ(rfc->unix_seconds, kSunNov22);
}

TEST(HttpDate, PythonFormatHasNoZone) {
  auto d = parse_sdk_date("Sun, 22 Nov 2026 23:10:03");
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->has_zone);
  EXPECT_EQ(d->unix_seconds, kSunNov22);
}

TEST(HttpDate, Unparseable) {
  EXPECT_FALSE(parse_sdk_date(""));
  EXPECT_FALSE(parse_sdk_date("yesterday"));
  EXPECT_FALSE(parse_sdk_date("Sun Foo 22 23:10:03 UTC 2026"));
  EXPECT_FALSE(parse_sdk_date("Sun Nov 22 25:10:03 UTC 2026"));
  EXPECT_FALSE(parse_sdk_date("Sun, 22 Nov 26 23:10:03 UTC"));
  EXPECT_FALSE(parse_sdk_date("2026-11-22T23:10:03Z"));
}

TEST(HttpDate, UnknownZoneReadsAsZoneless) {
  // The wall clock of some zone we cannot map: local time somewhere, checked like Python's (was skipped).
  const std::string xyz = "Sun Nov 22 23:10:03 XYZ 2026";
  auto d = parse_sdk_date(xyz);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->has_zone);
  EXPECT_EQ(d->unix_seconds, kSunNov22);
  EXPECT_TRUE(check_date_skew(xyz, kSunNov22 - 5 * 3600).ok());
  EXPECT_FALSE(check_date_skew(xyz, kSunNov22 + 3 * 86400).ok());
}

TEST(HttpDate, SkewRule) {
  const std::string java = "Sun Nov 22 23:10:03 UTC 2026";
  EXPECT_TRUE(check_date_skew(java, kSunNov22).ok());
  EXPECT_TRUE(check_date_skew(java, kSunNov22 + 15 * 60).ok());       // edge: exactly 15 min
  EXPECT_TRUE(check_date_skew(java, kSunNov22 - 15 * 60).ok());
  EXPECT_FALSE(check_date_skew(java, kSunNov22 + 15 * 60 + 1).ok());  // 15 min + 1 s
  EXPECT_FALSE(check_date_skew(java, kSunNov22 - 15 * 60 - 1).ok());
  EXPECT_EQ(check_date_skew(java, kSunNov22 + 3600).code(), Status::Code::kUnauthenticated);
  // Zoneless (Python local time): anywhere on Earth is fine, a day off is not.
  const std::string py = "Sun, 22 Nov 2026 23:10:03";
  EXPECT_TRUE(check_date_skew(py, kSunNov22 + 3 * 3600).ok());
  EXPECT_TRUE(check_date_skew(py, kSunNov22 - 12 * 3600).ok());
  EXPECT_FALSE(check_date_skew(py, kSunNov22 + 24 * 3600).ok());
  // Unparseable: never rejected on skew alone.
  EXPECT_TRUE(check_date_skew("whenever", kSunNov22).ok());
}

}  // namespace
}  // namespace stsvend::api
