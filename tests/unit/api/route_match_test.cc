// Route patterns: exact paths, and one "{}" segment anywhere (/v1/tokens/{}, /v1/utilities/{}/meters).
#include <gtest/gtest.h>

#include "api/nectar_api.h"

namespace stsvend::api {
namespace {

TEST(MatchPath, ExactPatternsMatchOnlyThemselves) {
  std::string param = "untouched";
  EXPECT_TRUE(match_path("/v1/meters", "/v1/meters", &param));
  EXPECT_EQ(param, "untouched");
  EXPECT_TRUE(match_path("/v1/meters/types", "/v1/meters/types", nullptr));
  EXPECT_FALSE(match_path("/v1/meters", "/v1/meters/", nullptr));
  EXPECT_FALSE(match_path("/v1/meters/types", "/v1/meters/type", nullptr));
}

TEST(MatchPath, TrailingParameterTakesOneNonEmptySegment) {
  std::string param;
  EXPECT_TRUE(match_path("/v1/tokens/{}", "/v1/tokens/12345678901234567890", &param));
  EXPECT_EQ(param, "12345678901234567890");
  EXPECT_FALSE(match_path("/v1/tokens/{}", "/v1/tokens/", nullptr));
  EXPECT_FALSE(match_path("/v1/tokens/{}", "/v1/tokens", nullptr));
  EXPECT_FALSE(match_path("/v1/tokens/{}", "/v1/tokens/a/b", nullptr));
  EXPECT_FALSE(match_path("/v1/tokens/{}", "/v1/tokens/a/", nullptr));
  EXPECT_FALSE(match_path("/v1/tokens/{}", "/v1/tokensx/a", nullptr));
  // "types" is a segment like any other: the route table lists the exact GET route for it.
  EXPECT_TRUE(match_path("/v1/meters/{}", "/v1/meters/types", &param));
  EXPECT_EQ(param, "types");
}

TEST(MatchPath, InnerParameter) {
  std::string param;
  EXPECT_TRUE(match_path("/v1/utilities/{}/meters", "/v1/utilities/u-1/meters", &param));
  EXPECT_EQ(param, "u-1");
  EXPECT_FALSE(match_path("/v1/utilities/{}/meters", "/v1/utilities/u-1", nullptr));
  EXPECT_FALSE(match_path("/v1/utilities/{}/meters", "/v1/utilities//meters", nullptr));
  EXPECT_FALSE(match_path("/v1/utilities/{}/meters", "/v1/utilities/u-1/meters/x", nullptr));
  EXPECT_FALSE(match_path("/v1/utilities/{}/meters", "/v1/utilities/u-1/meter", nullptr));
  EXPECT_FALSE(match_path("/v1/utilities/{}", "/v1/utilities/u-1/meters", nullptr));
}

}  // namespace
}  // namespace stsvend::api
