// Decoder key generation (DKGA-02, -03, -04) and the DecoderKey type the ciphers consume.
// IEC 62055-41 clause 6.1.x; byte orders in docs/token-format.md ("Decoder keys").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stsvend/result.h"
#include "stsvend/secret.h"
#include "stsvend/sts/config.h"
#include "stsvend/sts/types.h"

namespace stsvend::sts {

// A decoder key: 8 bytes (EA07, EA09) or 16 bytes (EA11), stored in the byte order that
// vectors.json prints ("stored order"): for DKGA-02 and DKGA-04/EA07 that is the natural DES/HMAC
// output reversed, so that the STA key integer is the little-endian load of these bytes.
// DKGA-03 keys are kept in natural order (a peer quirk the vectors pin). MISTY1 keys are natural.
class DecoderKey {
 public:
  DecoderKey() = default;
  explicit DecoderKey(SecretBytes stored) : bytes_(std::move(stored)) {}
  DecoderKey(DecoderKey&&) noexcept = default;
  DecoderKey& operator=(DecoderKey&&) noexcept = default;
  DecoderKey clone() const { return DecoderKey(bytes_.clone()); }

  std::size_t size() const noexcept { return bytes_.size(); }
  std::span<const std::uint8_t> stored_bytes() const noexcept { return bytes_.span(); }
  // 64-bit keys only: the STA key integer (little-endian load of the stored bytes).
  std::uint64_t sta_integer() const noexcept;
  // Lower-case hex of the stored bytes. For tests and `vectors check` only: never log it.
  std::string hex_for_test() const;

 private:
  SecretBytes bytes_;
};

// Every input of a decoder key derivation. `drn` and `iin` identify the meter.
struct KeyDerivationInput {
  Dkga dkga = Dkga::k02;
  EncryptionAlgorithm encryption_algorithm = EncryptionAlgorithm::kSta;
  BaseDate base_date = BaseDate::k1993;
  std::span<const std::uint8_t> vending_key;   // 8, 16 (VK1‖VK2) or 20 bytes by DKGA
  std::uint32_t supply_group_code = 0;
  std::uint8_t tariff_index = 0;
  std::uint8_t key_revision_no = 1;
  KeyType key_type = KeyType::kDutk;
  std::string_view issuer_identification_no;
  std::string_view drn;
};

// Errors: field "vending_key" (wrong length for the DKGA) -> invalid_vending_key;
// field "encryption_algorithm" (MISTY1 needs DKGA-04's 128-bit key) -> incompatible_algorithms;
// field "drn" -> invalid_drn; field "decoder_key_generation_algorithm" (DKGA-01: not specified
// publicly, refused).
Result<DecoderKey> derive_decoder_key(const KeyDerivationInput& input);

// Convenience: the key a configuration gives one meter.
Result<DecoderKey> derive_decoder_key(const Config& config, std::string_view drn);

}  // namespace stsvend::sts
