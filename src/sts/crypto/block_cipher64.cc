// Botan-backed DES and MISTY1 on 64-bit integers (see block_cipher64.h).
#include "sts/crypto/block_cipher64.h"

#include <botan/block_cipher.h>

namespace stsvend::sts::crypto {

namespace {
inline void store_be(std::uint64_t v, std::uint8_t out[8]) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
}
inline std::uint64_t load_be(const std::uint8_t in[8]) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | in[i];
  return v;
}
}  // namespace

BlockCipher64::BlockCipher64(std::unique_ptr<Botan::BlockCipher> cipher) : cipher_(std::move(cipher)) {}
BlockCipher64::~BlockCipher64() = default;

std::unique_ptr<BlockCipher64> BlockCipher64::create(const char* botan_name,
                                                     std::span<const std::uint8_t> key) noexcept {
  try {
    auto cipher = Botan::BlockCipher::create(botan_name);
    if (!cipher || cipher->block_size() != 8 || !cipher->valid_keylength(key.size())) return nullptr;
    cipher->set_key(key.data(), key.size());
    return std::unique_ptr<BlockCipher64>(new BlockCipher64(std::move(cipher)));
  } catch (...) {  // Botan reports failures as exceptions; the engine reports them as values.
    return nullptr;
  }
}

std::uint64_t BlockCipher64::encrypt(std::uint64_t block) const noexcept {
  std::uint8_t buf[8];
  store_be(block, buf);
  cipher_->encrypt_n(buf, buf, 1);
  return load_be(buf);
}

std::uint64_t BlockCipher64::decrypt(std::uint64_t block) const noexcept {
  std::uint8_t buf[8];
  store_be(block, buf);
  cipher_->decrypt_n(buf, buf, 1);
  return load_be(buf);
}

}  // namespace stsvend::sts::crypto
