// Decimal units and timestamps as the API shows them; see records.h.
#include "store/records.h"

#include <cmath>
#include <ctime>
#include <limits>

namespace stsvend::store {

std::string format_units(Units units) {
  std::string out;
  // Work on the magnitude as unsigned so that INT64_MIN does not overflow.
  bool negative = units < 0;
  std::uint64_t mag = negative ? (~static_cast<std::uint64_t>(units) + 1) : static_cast<std::uint64_t>(units);
  std::uint64_t whole = mag / static_cast<std::uint64_t>(kUnitScale);
  std::uint64_t frac = mag % static_cast<std::uint64_t>(kUnitScale);
  if (negative) out += '-';
  out += std::to_string(whole);
  out += '.';
  std::string f = std::to_string(frac);
  f.insert(0, 4 - f.size(), '0');
  while (f.size() > 1 && f.back() == '0') f.pop_back();
  out += f;
  return out;
}

Result<Units> parse_units(std::string_view text, std::string_view field) {
  // A sign is refused like any other non-digit; say so, since "-5" reads as a decimal number to anyone.
  static constexpr std::string_view kRule = "must be a non-negative decimal number such as 10 or 2.5";
  if (text.empty()) return Status::InvalidArgument(field, kRule);
  std::size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (whole.empty() || (dot != std::string_view::npos && frac.empty())) {
    return Status::InvalidArgument(field, kRule);
  }
  if (frac.size() > 4) return Status::InvalidArgument(field, "at most 4 decimal places");
  if (whole.size() > 14) return Status::InvalidArgument(field, "is too large");
  Units value = 0;
  for (char c : whole) {
    if (c < '0' || c > '9') return Status::InvalidArgument(field, kRule);
    value = value * 10 + (c - '0');
  }
  value *= kUnitScale;
  Units scale = kUnitScale / 10;
  for (char c : frac) {
    if (c < '0' || c > '9') return Status::InvalidArgument(field, kRule);
    value += (c - '0') * scale;
    scale /= 10;
  }
  return value;
}

Result<Units> units_from_double(double value, std::string_view field) {
  if (!std::isfinite(value) || value < 0) return Status::InvalidArgument(field, "must be a non-negative number");
  double scaled = std::round(value * static_cast<double>(kUnitScale));
  if (scaled > 1e18) return Status::InvalidArgument(field, "is too large");
  return static_cast<Units>(scaled);
}

std::string format_millis(Millis ms) {
  std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace stsvend::store
