// Transfer amount encoding (see amount.h). Integer arithmetic throughout.
#include "stsvend/sts/amount.h"

#include <array>
#include <cstdio>

namespace stsvend::sts {

namespace {
// offset(e) = sum_{i=1..e} 2^14 * 10^(i-1): the first value each exponent represents.
constexpr std::array<std::uint32_t, 4> kOffset = {0, 16384, 180224, 1818624};
constexpr std::array<std::uint32_t, 4> kPow10 = {1, 10, 100, 1000};
}  // namespace

Result<std::uint16_t> encode_amount(std::uint32_t value, std::string_view field) {
  if (value > kMaxAmountTenths) {
    return Status::InvalidArgument(field, "must not exceed 1820162.4 units (18201624 in the 16-bit transfer amount format)");
  }
  // The exponent is the range the value falls in; the mantissa rounds up, in the customer's
  // favour. A carry to m = 16384 spills into the exponent and decodes to the next range's start.
  unsigned e = 3;
  while (value < kOffset[e]) --e;
  const std::uint32_t m = (value - kOffset[e] + kPow10[e] - 1) / kPow10[e];
  return static_cast<std::uint16_t>((e << 14) + m);
}

std::uint32_t decode_amount(std::uint16_t field) noexcept {
  const unsigned e = field >> 14;
  const std::uint32_t m = field & 0x3FFF;
  return m * kPow10[e] + kOffset[e];
}

Result<std::uint32_t> parse_amount_units(std::string_view text, std::string_view field) {
  const auto bad = [&] { return Status::InvalidArgument(field, "must be a non-negative decimal number of units, at most 1820162.4"); };
  while (!text.empty() && (text.front() == ' ')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ')) text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return bad();
  if (text.front() == '-') return Status::InvalidArgument(field, "must not be negative");
  std::uint64_t whole = 0;
  std::size_t i = 0;
  bool any_digit = false;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
    any_digit = true;
    if (whole > 100'000'000) return bad();
  }
  unsigned first_decimal = 0;
  bool rest_nonzero = false;
  if (i < text.size() && text[i] == '.') {
    ++i;
    bool first = true;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      if (first) first_decimal = static_cast<unsigned>(text[i] - '0');
      else if (text[i] != '0') rest_nonzero = true;
      first = false;
      any_digit = true;
    }
  }
  if (i != text.size() || !any_digit) return bad();
  std::uint64_t tenths = whole * 10 + first_decimal;
  // Below one unit round up to the next tenth (never sell nothing); from one unit on, truncate to
  // tenths. This is what deployed generators do and what the published vectors pin.
  if (whole == 0 && rest_nonzero) tenths += 1;
  if (tenths > kMaxAmountTenths) return bad();
  return static_cast<std::uint32_t>(tenths);
}

std::string format_tenths(std::uint32_t tenths) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%u.%u", tenths / 10, tenths % 10);
  return buf;
}

}  // namespace stsvend::sts
