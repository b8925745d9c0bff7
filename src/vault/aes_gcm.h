// AES-GCM (NIST SP 800-38D) with Botan underneath: the file vault's primitive, exposed so the NIST
// known answers in tests/data/aes_gcm.vec run through exactly the code the vault uses.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "stsvend/result.h"
#include "stsvend/secret.h"

namespace stsvend::vault {

inline constexpr std::size_t kGcmTagBytes = 16;

// REQUIRES: key is 16, 24 or 32 bytes (AES-128/192/256); nonce is not empty. The vault always uses
// 32-byte keys and 12-byte nonces; other sizes exist for the known-answer tests.
// Returns ciphertext ‖ tag(16). Thread-safe: every call builds its own cipher object.
Result<std::vector<std::uint8_t>> aes_gcm_encrypt(std::span<const std::uint8_t> key,
                                                  std::span<const std::uint8_t> nonce,
                                                  std::span<const std::uint8_t> aad,
                                                  std::span<const std::uint8_t> plaintext);

// Input is ciphertext ‖ tag(16). A wrong tag, key, nonce or aad gives Corruption("sealed", ...).
Result<SecretBytes> aes_gcm_decrypt(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                                    std::span<const std::uint8_t> aad,
                                    std::span<const std::uint8_t> ciphertext_and_tag);

}  // namespace stsvend::vault
