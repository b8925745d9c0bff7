// EA09 (DEA: single DES) and EA11 (MISTY1) over Botan's vetted implementations, on the STS 64-bit
// data block as a big-endian integer. Byte orders: REFERENCE.md §7.2-7.3, docs/token-format.md.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

namespace Botan {
class BlockCipher;
}

namespace stsvend::sts::crypto {

// A Botan 64-bit block cipher with its key schedule set. Thread-safe for concurrent encrypt/decrypt
// (Botan's encrypt_n/decrypt_n are const).
class BlockCipher64 {
 public:
  // "DES" with an 8-byte key, "MISTY1" with a 16-byte key; nullptr on failure (never throws).
  static std::unique_ptr<BlockCipher64> create(const char* botan_name, std::span<const std::uint8_t> key) noexcept;
  ~BlockCipher64();
  std::uint64_t encrypt(std::uint64_t block) const noexcept;
  std::uint64_t decrypt(std::uint64_t block) const noexcept;

 private:
  explicit BlockCipher64(std::unique_ptr<Botan::BlockCipher> cipher);
  std::unique_ptr<Botan::BlockCipher> cipher_;
};

}  // namespace stsvend::sts::crypto
