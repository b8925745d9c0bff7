// Decoder key generation algorithms. Each returns the key in stored byte order (decoder_key.h).
// REFERENCE.md §6; docs/token-format.md ("Decoder keys").
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "stsvend/result.h"
#include "stsvend/secret.h"
#include "stsvend/sts/decoder_key.h"

namespace stsvend::sts::kdf {

// The 8-byte PANBlock and CONTROLBlock of DKGA-02/03 (16 decimal digits read as nibbles).
std::array<std::uint8_t, 8> pan_block(const KeyDerivationInput& in);
std::array<std::uint8_t, 8> control_block(const KeyDerivationInput& in);

// DKGA-02: DES_VK(X) xor X xor VK, X = PANBlock xor CONTROLBlock; stored reversed.
Result<SecretBytes> dkga02(const KeyDerivationInput& in);
// DKGA-03: 2-key 3DES-EDE_{VK1||VK2}(X) xor X; stored in natural order.
Result<SecretBytes> dkga03(const KeyDerivationInput& in);
// DKGA-04: HMAC-SHA-256_VK(label/context message); 16 bytes for EA11, 8 bytes reversed otherwise.
Result<SecretBytes> dkga04(const KeyDerivationInput& in);

}  // namespace stsvend::sts::kdf
