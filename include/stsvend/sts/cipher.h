// TokenCipher: a decoder key with its key schedule prepared for one encryption algorithm
// (EA07 STA, EA09 DEA, EA11 MISTY1). Immutable after creation, so one instance may be shared by
// any number of threads. Vending code caches these per meter; see docs/token-format.md.
#pragma once

#include <cstdint>
#include <memory>

#include "stsvend/result.h"
#include "stsvend/sts/decoder_key.h"
#include "stsvend/sts/types.h"

namespace stsvend::sts {

class TokenCipher {
 public:
  // Errors: field "encryption_algorithm" when the key length does not suit the algorithm
  // (MISTY1 needs 16 bytes; STA and DEA need 8) -> incompatible_algorithms.
  static Result<TokenCipher> create(const DecoderKey& key, EncryptionAlgorithm ea);

  TokenCipher(TokenCipher&&) noexcept;
  TokenCipher& operator=(TokenCipher&&) noexcept;
  ~TokenCipher();

  EncryptionAlgorithm algorithm() const noexcept { return ea_; }
  // The 64-bit data block in, the 64-bit cipher block out (both as integers, bit 63 = MSB).
  std::uint64_t encrypt(std::uint64_t block) const noexcept;
  std::uint64_t decrypt(std::uint64_t block) const noexcept;

  class Impl;

 private:
  TokenCipher(EncryptionAlgorithm ea, std::unique_ptr<Impl> impl);
  EncryptionAlgorithm ea_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stsvend::sts
