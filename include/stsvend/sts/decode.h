// Meter-side decoding of one 20-digit token without meter state: format, class, decryption,
// CRC, subclass dispatch and field extraction. IEC 62055-41 clause 8; docs/token-format.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "stsvend/sts/cipher.h"
#include "stsvend/sts/decoder_key.h"
#include "stsvend/sts/types.h"

namespace stsvend::sts {

// Outcomes named like the standard's display states.
enum class TokenResult : std::uint8_t {
  kAccepted = 0,
  kFormat,          // not 20 digits, value >= 2^66, class 3
  kCrc,             // CRC mismatch: wrong key or mistyped token
  kFunction,        // subclass not defined or not supported
  kOld,             // TID older than every TID in the full store
  kUsed,            // TID already accepted
  kKeyExpired,      // TID's top 8 bits exceed KEN
  kKeyType,         // key change violates key type rules
  kDdtk,            // credit under a default (DDTK) key
  kRange,           // value outside the meter's range
  kOverflow,        // credit register would overflow
  kAuthentication,  // class 1 manufacturer code does not match the meter
  kKeyChangePending,  // a key change section was stored; the set is not complete yet
};
// "accepted", "FORMAT", "CRC", "FUNCTION", "OLD", "USED", "KEY_EXPIRED", "KEY_TYPE", "DDTK",
// "RANGE", "OVERFLOW", "AUTHENTICATION", "KEY_CHANGE_PENDING"
std::string_view token_result_name(TokenResult r) noexcept;

struct DecodedToken {
  unsigned token_class = 0;
  unsigned subclass = 0;
  std::string_view token_type;
  std::uint64_t plain_block = 0;        // decrypted 64-bit data block
  std::uint16_t crc = 0;
  std::optional<std::uint8_t> random_no;
  std::optional<std::uint32_t> tid;
  std::optional<std::uint16_t> value_field;     // the raw 16-bit field of class 0 / class 2 values
  std::optional<std::uint32_t> amount_tenths;   // class 0: decoded amount
  std::optional<std::uint32_t> maximum_power_limit;  // 2/0, watts
  std::optional<std::uint32_t> register_no;     // 2/1
  std::optional<std::uint32_t> tariff_rate;     // 2/2
  std::optional<std::uint32_t> pad;             // 2/5
  std::optional<std::uint32_t> mppul;           // 2/6, watts
  std::optional<std::uint32_t> wm_factor;       // 2/7
  std::optional<std::uint64_t> control;         // class 1
  std::optional<std::uint32_t> manufacturer_code;  // class 1
  // Key change sections.
  std::optional<std::uint8_t> key_expiry_nibble;   // KENHO (2/3) or KENLO (2/4)
  std::optional<std::uint8_t> key_revision_no;     // 2/3
  std::optional<bool> ro;                          // 2/3
  std::optional<bool> res_3kct;                    // 2/3 bit 50
  std::optional<std::uint8_t> key_type;            // 2/3
  std::optional<std::uint8_t> tariff_index;        // 2/4
  std::optional<std::uint16_t> sgc_part;           // 2/8 SGC low 12 bits, 2/9 SGC high 12 bits
  std::optional<std::uint32_t> key_part;           // NKHO, NKLO, NKMO2, NKMO1
};

struct DecodeOutcome {
  TokenResult result = TokenResult::kFormat;
  DecodedToken token;  // fields valid when result is not kFormat/kCrc
};

// Digits may contain spaces or dashes between groups; anything else is FORMAT.
// Only FORMAT, CRC and FUNCTION can come back from this stateless step.
DecodeOutcome decode_token(std::string_view digits, const DecoderKey& key, EncryptionAlgorithm ea);
DecodeOutcome decode_token(std::string_view digits, const TokenCipher& cipher);

}  // namespace stsvend::sts
