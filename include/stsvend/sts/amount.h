// The 16-bit transfer amount (exponent e in bits 15..14, mantissa m in 13..0) and decimal input.
// IEC 62055-41 clause 6.3.x; worked values in docs/token-format.md ("Amount").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stsvend/result.h"

namespace stsvend::sts {

// Largest encodable value, in tenths of a unit (field 0xFFFF): 1 820 162.4 units.
inline constexpr std::uint32_t kMaxAmountTenths = 18'201'624;

// Encodes a value (tenths of a unit, or whole watts for power limits), rounding the mantissa up
// in the customer's favour. Errors (field `field`) when value > kMaxAmountTenths.
Result<std::uint16_t> encode_amount(std::uint32_t value, std::string_view field = "amount");
// Exact inverse: the value the meter will credit.
std::uint32_t decode_amount(std::uint16_t field) noexcept;

// Parses a non-negative decimal number of units ("10", "10.5", "0.04", "1e3" is refused) into
// tenths the way the deployed generators do: below 1 unit round up to the next tenth, from 1 unit
// on truncate to tenths. Errors name `field` (negative, not a number, above 1 820 162.4).
Result<std::uint32_t> parse_amount_units(std::string_view text, std::string_view field = "amount");

// "1234.5" for 12345 tenths (always one decimal).
std::string format_tenths(std::uint32_t tenths);

}  // namespace stsvend::sts
