// Parsing the `Date` header the Nectar SDKs send, for the clock-skew check. NECTAR-V1.md §2.6.
// Java `Date.toString()` ("Sun Nov 22 23:10:03 UTC 2026"), PHP ("Sun, 22 Nov 2026 23:10:03 UTC",
// day and hour without leading zero) and Python ("Sun, 22 Nov 2026 23:10:03", local time, no zone).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "stsvend/status.h"

namespace stsvend::api {

struct ParsedDate {
  std::int64_t unix_seconds = 0;  // UTC when has_zone; the wall clock read as UTC otherwise
  bool has_zone = false;          // a zone abbreviation we know, or a numeric offset
};

// nullopt when the text matches none of the formats; the caller then does not reject on skew alone
// (the nonce store is the replay guard). A zone name we cannot map reads as a zoneless date.
std::optional<ParsedDate> parse_sdk_date(std::string_view text);

inline constexpr std::int64_t kMaxSkewSeconds = 15 * 60;
// Zoneless dates are local time anywhere on Earth: UTC-12 .. UTC+14, plus the skew allowance.
inline constexpr std::int64_t kMaxZonelessSkewSeconds = 14 * 3600 + kMaxSkewSeconds;

// OK when the date does not parse, or is within ±15 min (zoned) / ±14 h 15 min (zoneless) of now.
Status check_date_skew(std::string_view date_header, std::int64_t now_unix_seconds);
// The same for a date already parsed (parse_sdk_date's answer).
Status check_date_skew(const std::optional<ParsedDate>& parsed, std::int64_t now_unix_seconds);

}  // namespace stsvend::api
