// AES-GCM over Botan's AEAD_Mode; Botan exceptions stop here and become Status values.
#include "vault/aes_gcm.h"

#include <exception>
#include <memory>
#include <string>

#include <botan/aead.h>
#include <botan/exceptn.h>
#include <botan/secmem.h>

namespace stsvend::vault {
namespace {

bool valid_key_size(std::size_t n) { return n == 16 || n == 24 || n == 32; }

std::unique_ptr<Botan::AEAD_Mode> make_gcm(std::size_t key_bytes, Botan::Cipher_Dir dir) {
  const std::string name = "AES-" + std::to_string(key_bytes * 8) + "/GCM";
  return Botan::AEAD_Mode::create(name, dir);
}

}  // namespace

Result<std::vector<std::uint8_t>> aes_gcm_encrypt(std::span<const std::uint8_t> key,
                                                  std::span<const std::uint8_t> nonce,
                                                  std::span<const std::uint8_t> aad,
                                                  std::span<const std::uint8_t> plaintext) {
  if (!valid_key_size(key.size())) return Status::InvalidArgument("key", "AES key must be 16, 24 or 32 bytes");
  if (nonce.empty()) return Status::InvalidArgument("nonce", "GCM nonce must not be empty");
  try {
    auto gcm = make_gcm(key.size(), Botan::ENCRYPTION);
    if (!gcm) return Status::Internal("AES-GCM is not available in this Botan build");
    gcm->set_key(key.data(), key.size());
    gcm->set_associated_data(aad.data(), aad.size());
    gcm->start(nonce.data(), nonce.size());
    Botan::secure_vector<std::uint8_t> buf(plaintext.begin(), plaintext.end());
    gcm->finish(buf);
    return std::vector<std::uint8_t>(buf.begin(), buf.end());
  } catch (const std::exception& e) {
    return Status::Internal("AES-GCM encryption failed").with_detail(e.what());
  }
}

Result<SecretBytes> aes_gcm_decrypt(std::span<const std::uint8_t> key, std::span<const std::uint8_t> nonce,
                                    std::span<const std::uint8_t> aad,
                                    std::span<const std::uint8_t> ciphertext_and_tag) {
  if (!valid_key_size(key.size())) return Status::InvalidArgument("key", "AES key must be 16, 24 or 32 bytes");
  if (nonce.empty()) return Status::InvalidArgument("nonce", "GCM nonce must not be empty");
  if (ciphertext_and_tag.size() < kGcmTagBytes) {
    return Status::Corruption("sealed", "ciphertext is shorter than the GCM tag");
  }
  try {
    auto gcm = make_gcm(key.size(), Botan::DECRYPTION);
    if (!gcm) return Status::Internal("AES-GCM is not available in this Botan build");
    gcm->set_key(key.data(), key.size());
    gcm->set_associated_data(aad.data(), aad.size());
    gcm->start(nonce.data(), nonce.size());
    Botan::secure_vector<std::uint8_t> buf(ciphertext_and_tag.begin(), ciphertext_and_tag.end());
    gcm->finish(buf);
    return SecretBytes(std::span<const std::uint8_t>(buf.data(), buf.size()));
  } catch (const Botan::Invalid_Authentication_Tag&) {
    return Status::Corruption("sealed", "authentication failed (wrong key, wrong aad, or tampered)");
  } catch (const std::exception& e) {
    return Status::Internal("AES-GCM decryption failed").with_detail(e.what());
  }
}

}  // namespace stsvend::vault
