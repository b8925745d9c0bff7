// Token requests and generation: every class and subclass, including key change sets.
// IEC 62055-41 clause 6; field layouts in docs/token-format.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "stsvend/result.h"
#include "stsvend/secret.h"
#include "stsvend/sts/cipher.h"
#include "stsvend/sts/config.h"
#include "stsvend/sts/decoder_key.h"
#include "stsvend/sts/types.h"

namespace stsvend::sts {

// The new key a key change token set (class 2 subclasses 3/4, and 8/9 for 128-bit keys) carries.
// The new decoder key is derived with the configuration's DKGA, EA and base date and these values.
struct KeyChange {
  SecretBytes new_vending_key;                   // length by DKGA (DKGA-03: VK1 ‖ VK2)
  std::uint32_t new_supply_group_code = 0;
  std::uint8_t new_tariff_index = 0;
  std::uint8_t new_key_revision_no = 1;
  KeyType new_key_type = KeyType::kDutk;
  std::uint8_t new_key_expiry_no = 255;
  std::string new_drn;                           // empty: the meter's current DRN
  std::string new_issuer_identification_no;      // empty: the configuration's IIN
  bool ro = false;                               // roll-over: the meter clears its TID store

  KeyChange() = default;
  KeyChange(KeyChange&&) noexcept = default;
  KeyChange& operator=(KeyChange&&) noexcept = default;
  KeyChange clone() const;
};

// One token request; field names follow the Nectar API. Only the fields of the requested
// (class, subclass) are read.
struct TokenRequest {
  unsigned token_class = 0;
  unsigned subclass = 0;
  std::uint32_t tid = 0;            // minutes from the configuration's base date (tid.h)
  std::uint8_t random_no = 0;       // RND, 0..15
  std::uint32_t amount_tenths = 0;  // class 0: tenths of a unit (amount.h parses decimals)
  std::uint64_t control = 0;        // class 1: 36 bits (subclass 0) or 28 bits (subclass 1)
  std::uint32_t manufacturer_code = 0;  // class 1: 0..99 (subclass 0) or 0..9999 (subclass 1)
  std::uint32_t maximum_power_limit = 0;  // 2/0, watts (amount formula)
  std::uint32_t register_no = 0;    // 2/1 "register", 16 bits
  std::uint32_t tariff_rate = 0;    // 2/2, 16 bits
  std::uint32_t pad = 0;            // 2/5, 16 bits
  std::uint32_t mppul = 0;          // 2/6, watts (amount formula)
  std::uint32_t wm_factor = 0;      // 2/7, 16 bits
  std::optional<KeyChange> key_change;  // 2/3 (and 2/4, 2/8, 2/9: the whole set is produced)
};

// A generated token. For a key change request, generate_tokens returns the whole set in entry
// order: 1st (2/3), 2nd (2/4), then 3rd (2/8) and 4th (2/9) for 128-bit keys.
struct Token {
  unsigned token_class = 0;
  unsigned subclass = 0;
  std::string_view token_type;       // Nectar name, static storage
  std::string number;                // exactly 20 decimal digits
  std::uint64_t plain_block = 0;     // the 64-bit data block before encryption (bits 63..0)
  std::optional<std::uint32_t> tid;  // for TID-bearing tokens

  // The 66-bit plaintext block as 17 hex digits (class digit first), as vectors.json prints it.
  std::string data_block_hex() const;
};

// Generates the token(s) for one meter. Pure: the caller supplies TID and RND.
// REQUIRES: key was derived from config for drn.
// Errors name the request field ("amount", "control", "random_no", "token_id", ...); a TID beyond
// the key's expiry gives field "key_expiry_no" rule "key expired ..." (category key_expired).
Result<std::vector<Token>> generate_tokens(const Config& config, const DecoderKey& key,
                                           std::string_view drn, const TokenRequest& request);
// The same with a prepared cipher (the fast path: prepare once per meter, vend many times).
// REQUIRES: cipher was created from the meter's decoder key and config.encryption_algorithm.
Result<std::vector<Token>> generate_tokens(const Config& config, const TokenCipher& cipher,
                                           std::string_view drn, const TokenRequest& request);

// The decoder key a key change moves the meter to.
Result<DecoderKey> derive_new_decoder_key(const Config& config, std::string_view drn,
                                          const KeyChange& change);

// Low-level: the 64-bit data block of a request (CRC included) and the token number of a block.
Result<std::uint64_t> build_data_block(const TokenRequest& request);
std::string encrypt_and_format(std::uint64_t plain_block, unsigned token_class,
                               const DecoderKey& key, EncryptionAlgorithm ea);
std::string encrypt_and_format(std::uint64_t plain_block, unsigned token_class, const TokenCipher& cipher);

}  // namespace stsvend::sts
