// Meter identity: DRN (the meter number), IIN, Luhn check digits and the 18-digit meter PAN.
// IEC 62055-41 clause 6.1; see docs/token-format.md.
#pragma once

#include <string>
#include <string_view>

#include "stsvend/status.h"

namespace stsvend::sts {

// Luhn check digit (0..9) over a string of decimal digits. REQUIRES: digits only, non-empty.
unsigned luhn_check_digit(std::string_view digits) noexcept;

// A DRN must be all digits: 11 digits with a 6-digit IIN (600727), 13 with a 4-digit IIN (0000) (field "drn",
// refusal category invalid_drn). With require_check_digit the last digit must be the Luhn digit of the
// others; the engine itself does not require it (published CTSA vectors use DRNs that fail Luhn).
Status validate_drn(std::string_view iin, std::string_view drn, bool require_check_digit = false);

// IIN ‖ DRN ‖ Luhn(IIN ‖ DRN): the 18-digit meter PAN. REQUIRES: validate_drn(iin, drn).ok().
std::string meter_pan(std::string_view iin, std::string_view drn);

}  // namespace stsvend::sts
