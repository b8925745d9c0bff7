// PANBlock and CONTROLBlock shared by DKGA-02 and DKGA-03 (REFERENCE.md §6.2).
#include <cstdio>
#include <string>

#include "sts/kdf/dkga.h"

namespace stsvend::sts::kdf {

namespace {
// 16 decimal digits (or 'F') as 16 nibbles, first digit in the high nibble of byte 0.
std::array<std::uint8_t, 8> nibbles(const std::string& digits) {
  std::array<std::uint8_t, 8> out{};
  for (std::size_t i = 0; i < 16; ++i) {
    const char c = digits[i];
    const unsigned v = (c == 'F') ? 15u : static_cast<unsigned>(c - '0');
    out[i / 2] = static_cast<std::uint8_t>(out[i / 2] | (i % 2 == 0 ? v << 4 : v));
  }
  return out;
}
}  // namespace

std::array<std::uint8_t, 8> pan_block(const KeyDerivationInput& in) {
  // IIN 600727 -> its last 5 digits + 11-digit DRN; IIN 0000 -> its last 3 digits + 13-digit DRN.
  // A common key (KT 3) is not bound to one meter: the DRN digits become zeros.
  const std::size_t iin_digits = 16 - in.drn.size();
  std::string digits(in.issuer_identification_no.substr(in.issuer_identification_no.size() - iin_digits));
  if (in.key_type == KeyType::kDctk) {
    digits.append(in.drn.size(), '0');
  } else {
    digits.append(in.drn);
  }
  return nibbles(digits);
}

std::array<std::uint8_t, 8> control_block(const KeyDerivationInput& in) {
  // KT(1) | SGC(6) | TI(2) | KRN(1) | FFFFFF; REQUIRES: values already range-checked.
  char buf[32];
  std::snprintf(buf, sizeof buf, "%u%06u%02u%uFFFFFF", static_cast<unsigned>(in.key_type) % 10,
                static_cast<unsigned>(in.supply_group_code) % 1000000, static_cast<unsigned>(in.tariff_index) % 100,
                static_cast<unsigned>(in.key_revision_no) % 10);
  return nibbles(std::string(buf, 16));
}

}  // namespace stsvend::sts::kdf
