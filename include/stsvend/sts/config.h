// An STS configuration (the key parameters a utility vends under) and its text format.
// The text format is the seeds' "key: value" file; see docs/configuration.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stsvend/result.h"
#include "stsvend/secret.h"
#include "stsvend/sts/types.h"

namespace stsvend::sts {

struct Config {
  std::string name;
  std::string type = "native";                 // "native" (the only kind this engine vends)
  std::uint8_t key_expiry_no = 255;            // KEN, 0..255
  EncryptionAlgorithm encryption_algorithm = EncryptionAlgorithm::kSta;
  std::string token_carrier_type = "numeric";
  Dkga decoder_key_generation_algorithm = Dkga::k02;
  std::uint8_t tariff_index = 0;               // TI, 0..99 (two decimal digits)
  std::uint8_t key_revision_no = 1;            // KRN, 1..9
  // DKGA-01/02: 8 bytes; DKGA-03: 16 bytes (vending_key_1 || vending_key_2); DKGA-04: 20 bytes.
  SecretBytes vending_key;
  std::uint32_t supply_group_code = 0;         // SGC, six decimal digits
  KeyType key_type = KeyType::kDutk;           // KT
  BaseDate base_date = BaseDate::k1993;
  std::string issuer_identification_no = "600727";  // IIN: "600727" or "0000"

  Config() = default;
  Config(Config&&) noexcept = default;
  Config& operator=(Config&&) noexcept = default;
  Config clone() const;
};

// Checks every field on its own (ranges, lengths, spellings). Errors name the field as the text
// format spells it. The cross-field rules (vending key length for the DKGA, MISTY1 needs DKGA-04) are
// check_key_combination's: the seeds' own example file pairs DKGA-04 with a 64-bit key and must load,
// although it can never vend.
Status validate_config(const Config& config);

// The cross-field rules, checked whenever a decoder key is derived:
//   field "vending_key" (wrong length for the DKGA) -> category invalid_vending_key
//   field "encryption_algorithm" (MISTY1 without DKGA-04) -> category incompatible_algorithms
//   field "decoder_key_generation_algorithm" (DKGA-01 is not supported)
Status check_key_combination(Dkga dkga, EncryptionAlgorithm ea, std::size_t vending_key_bytes);
inline Status check_key_combination(const Config& c) {
  return check_key_combination(c.decoder_key_generation_algorithm, c.encryption_algorithm, c.vending_key.size());
}

// Parses the seeds' text format: optional leading "---", "key: value" lines, blank lines and
// "#" comments skipped, split at the first ':', surrounding quotes stripped. Unknown keys, duplicate
// keys, missing keys and bad values are errors naming the key and the rule. The result is validated.
// DKGA-03 accepts either vending_key (32 hex) or vending_key_1 + vending_key_2 (16 hex each).
Result<Config> parse_config_text(std::string_view text);

// The canonical text form (round-trips through parse_config_text). Contains the vending key:
// only the vault may hold this string.
std::string format_config_text(const Config& config);

}  // namespace stsvend::sts
