// DRN, IIN, Luhn and meter PAN (see meter_id.h).
#include "stsvend/sts/meter_id.h"

#include <algorithm>

namespace stsvend::sts {

unsigned luhn_check_digit(std::string_view digits) noexcept {
  unsigned sum = 0;
  bool twice = true;  // the rightmost payload digit is doubled
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    unsigned d = static_cast<unsigned>(*it - '0');
    if (twice) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    twice = !twice;
  }
  return (10 - sum % 10) % 10;
}

Status validate_drn(std::string_view iin, std::string_view drn, bool require_check_digit) {
  if (drn.empty() || !std::all_of(drn.begin(), drn.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Status::InvalidArgument("drn", "must be 11 or 13 decimal digits");
  }
  // A 6-digit IIN (600727, the legacy STS IIN, or another) goes with an 11-digit DRN, a 4-digit
  // IIN (0000) with a 13-digit DRN: the meter PAN is 18 digits either way.
  const bool iin_digits = !iin.empty() && std::all_of(iin.begin(), iin.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!iin_digits || (iin.size() != 6 && iin.size() != 4)) {
    return Status::InvalidArgument("issuer_identification_no", "must be 600727 or 0000 (6 or 4 digits)");
  }
  if (iin.size() == 6 && drn.size() != 11) {
    return Status::InvalidArgument("drn", "must be 11 digits with a 6-digit issuer_identification_no (" + std::string(iin) + ")");
  }
  if (iin.size() == 4 && drn.size() != 13) {
    return Status::InvalidArgument("drn", "must be 13 digits with issuer_identification_no " + std::string(iin));
  }
  if (require_check_digit && luhn_check_digit(drn.substr(0, drn.size() - 1)) != static_cast<unsigned>(drn.back() - '0')) {
    return Status::InvalidArgument("drn", "last digit must be the Luhn check digit of the others");
  }
  return Status::Ok();
}

std::string meter_pan(std::string_view iin, std::string_view drn) {
  std::string pan;
  pan.reserve(18);
  pan.append(iin);
  pan.append(drn);
  pan.push_back(static_cast<char>('0' + luhn_check_digit(pan)));
  return pan;
}

}  // namespace stsvend::sts
