// Decimal units and timestamps as the API shows them.
#include "store/records.h"

#include <limits>

#include <gtest/gtest.h>

namespace stsvend::store {
namespace {

TEST(FormatUnits, AlwaysHasADecimalPoint) {
  EXPECT_EQ(format_units(0), "0.0");
  EXPECT_EQ(format_units(1), "0.0001");
  EXPECT_EQ(format_units(kUnitScale), "1.0");
  EXPECT_EQ(format_units(100 * kUnitScale), "100.0");
  EXPECT_EQ(format_units(12345), "1.2345");
  EXPECT_EQ(format_units(15000), "1.5");
  EXPECT_EQ(format_units(-15000), "-1.5");
  EXPECT_EQ(format_units(std::numeric_limits<Units>::min()), "-922337203685477.5808");
}

TEST(ParseUnits, AcceptsUpToFourDecimals) {
  EXPECT_EQ(*parse_units("0", "units"), 0);
  EXPECT_EQ(*parse_units("100", "units"), 100 * kUnitScale);
  EXPECT_EQ(*parse_units("100.0", "units"), 100 * kUnitScale);
  EXPECT_EQ(*parse_units("0.0001", "units"), 1);
  EXPECT_EQ(*parse_units("1.5", "units"), 15000);
}

TEST(ParseUnits, RefusesOtherShapes) {
  for (const char* bad : {"", ".", "1.", ".5", "-1", "+1", "1e3", "1.00001", "1,5", "abc", "123456789012345"}) {
    auto r = parse_units(bad, "units");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().field(), "units");
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  }
}

TEST(ParseUnits, ANegativeAmountIsRefusedAsNegative) {
  // "-5" is a decimal number to any reader: the message has to name the sign as the problem.
  auto r = parse_units("-5", "--amount");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("non-negative"), std::string::npos) << r.status().message();
}

TEST(UnitsFromDouble, RoundsToTenThousandths) {
  EXPECT_EQ(*units_from_double(100.0, "value"), 100 * kUnitScale);
  EXPECT_EQ(*units_from_double(0.1, "value"), 1000);
  EXPECT_EQ(*units_from_double(0.00005, "value"), 1);
  EXPECT_FALSE(units_from_double(-1.0, "value").ok());
  EXPECT_FALSE(units_from_double(1e300, "value").ok());
}

TEST(FormatMillis, IsUtcSecondsWithZ) {
  EXPECT_EQ(format_millis(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format_millis(1'795'389'004'512), "2026-11-22T23:10:04Z");
}

}  // namespace
}  // namespace stsvend::store
