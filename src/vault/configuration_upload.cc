// Opening a Nectar configuration upload ({data, digest, key}); NECTAR-V1.md §3.5.1, worked example
// in §3.5.3. Failure handling is uniform on purpose, see the comment on open_configuration_upload.
#include <array>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include <botan/bigint.h>
#include <botan/cipher_mode.h>
#include <botan/hash.h>
#include <botan/mem_ops.h>
#include <botan/numthry.h>
#include <botan/pubkey.h>
#include <botan/rsa.h>
#include <botan/system_rng.h>

#include "vault/base64.h"
#include "vault/public_key.h"
#include "vault/server_key.h"

namespace stsvend::vault {
namespace {

constexpr std::size_t kIvBytes = 16;
constexpr std::size_t kBlockBytes = 16;
constexpr std::size_t kSha256Bytes = 32;
constexpr std::string_view kDigestMismatch = "Calculated and payload digests do not match!";

bool valid_aes_key_size(std::size_t n) { return n == 16 || n == 24 || n == 32; }

// AES-CBC without padding removal; the caller unpads in constant time. Returns false only if Botan
// fails, which with a valid key size and whole blocks it does not.
bool cbc_decrypt(std::span<const std::uint8_t> key, std::span<const std::uint8_t> iv,
                 std::span<const std::uint8_t> ciphertext, SecretBytes* out) {
  try {
    auto cbc = Botan::Cipher_Mode::create("AES-" + std::to_string(key.size() * 8) + "/CBC/NoPadding",
                                          Botan::DECRYPTION);
    if (!cbc) return false;
    cbc->set_key(key.data(), key.size());
    cbc->start(iv.data(), iv.size());
    Botan::secure_vector<std::uint8_t> buf(ciphertext.begin(), ciphertext.end());
    cbc->finish(buf);
    *out = SecretBytes(std::span<const std::uint8_t>(buf.data(), buf.size()));
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// PKCS#7 padding length of `padded` (whole blocks), checked in constant time over the last block.
// Returns 0 when the padding is invalid.
std::size_t pkcs7_pad_length(std::span<const std::uint8_t> padded) {
  const std::uint8_t pad = padded.back();
  unsigned bad = static_cast<unsigned>(pad == 0) | static_cast<unsigned>(pad > kBlockBytes);
  const std::size_t block_start = padded.size() - kBlockBytes;
  for (std::size_t i = 0; i < kBlockBytes; ++i) {
    // Byte i of the last block is padding iff i >= 16 - pad; each padding byte must equal pad.
    const unsigned in_pad = static_cast<unsigned>(i + pad >= kBlockBytes);
    bad |= in_pad & static_cast<unsigned>(padded[block_start + i] != pad);
  }
  return bad ? 0 : pad;
}

std::array<std::uint8_t, kSha256Bytes> sha256(std::span<const std::uint8_t> bytes) {
  std::array<std::uint8_t, kSha256Bytes> out{};
  auto sha = Botan::HashFunction::create("SHA-256");
  if (sha) {
    sha->update(bytes.data(), bytes.size());
    sha->final(out.data());
  }
  return out;
}

// `digest`^e mod n must be exactly 00 01 FF…FF 00 ‖ h (the block `openssl rsautl -sign` makes from
// a bare digest; k - 35 ≥ 221 FF bytes for k ≥ 256). Compared in full, in constant time.
bool raw_type1_matches(const Botan::RSA_PublicKey& key, std::span<const std::uint8_t> sig,
                       std::span<const std::uint8_t> h) {
  const Botan::BigInt& n = key.get_n();
  const std::size_t k = n.bytes();
  if (sig.empty() || sig.size() > k) return false;
  const Botan::BigInt s(sig.data(), sig.size());
  if (s >= n) return false;
  const Botan::BigInt m = Botan::power_mod(s, key.get_e(), n);
  const auto em = Botan::BigInt::encode_1363(m, k);
  std::vector<std::uint8_t> expected(k, 0xFF);
  expected[0] = 0x00;
  expected[1] = 0x01;
  expected[k - kSha256Bytes - 1] = 0x00;
  std::copy(h.begin(), h.end(), expected.end() - static_cast<std::ptrdiff_t>(kSha256Bytes));
  return Botan::constant_time_compare(em.data(), expected.data(), k);
}

// A standard EMSA-PKCS1-v1_5 SHA-256 signature (DigestInfo inside), as `openssl dgst -sha256 -sign`.
bool pkcs1_sha256_signature_matches(const Botan::RSA_PublicKey& key, std::span<const std::uint8_t> message,
                                    std::span<const std::uint8_t> sig) {
  try {
    Botan::PK_Verifier verifier(key, "EMSA3(SHA-256)");
    return verifier.verify_message(message.data(), message.size(), sig.data(), sig.size());
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

// A failed key unwrap, bad CBC padding and a digest mismatch all give the same Status (the Nectar
// digest message), and the work after each failure continues as if it had succeeded: a random key
// replaces a key that did not unwrap (implicit rejection, as TLS does against Bleichenbacher), and
// a plaintext with bad padding is hashed and checked whole. Otherwise any authenticated client could
// replay someone's captured upload with altered `key` or `data` and use the answers as an RSA or CBC
// padding oracle to recover the configuration, vending key included. The log detail says which step
// failed.
Result<SecretBytes> open_configuration_upload(const ServerKey& server_key, std::string_view data_b64,
                                              std::string_view digest_b64, std::string_view key_b64,
                                              std::span<const std::string> user_public_keys) {
  // Step 1 (trim, ignore line wraps) is decode_base64_lenient's whitespace skipping.
  STSVEND_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> wrapped_key, decode_base64_lenient(key_b64, "key"));
  STSVEND_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> data, decode_base64_lenient(data_b64, "data"));
  STSVEND_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> signature,
                           decode_base64_lenient(digest_b64, "digest"));
  if (data.size() < kIvBytes + kBlockBytes || (data.size() - kIvBytes) % kBlockBytes != 0) {
    return Status::InvalidArgument("data", "must be a 16-byte IV followed by AES-CBC ciphertext in whole 16-byte blocks");
  }
  if (user_public_keys.empty()) {
    return Status::FailedPrecondition("public_keys", "upload and activate a public key before uploading a configuration");
  }

  std::vector<std::unique_ptr<Botan::RSA_PublicKey>> verifiers;
  for (const std::string& text : user_public_keys) {
    auto key = load_rsa_public_key(text);
    if (key.ok()) verifiers.push_back(std::move(key).value());
  }
  if (verifiers.empty()) {
    return Status::FailedPrecondition("public_keys", "none of the activated public keys is a usable RSA key");
  }

  std::string failure;  // log detail only
  auto unwrapped = server_key.decrypt_pkcs1v15(wrapped_key);
  SecretBytes aes_key;
  if (unwrapped.ok() && valid_aes_key_size(unwrapped->size())) {
    aes_key = std::move(unwrapped).value();
  } else {
    failure = "key did not unwrap to a 16/24/32-byte AES key";
    aes_key = SecretBytes(16);
    try {
      Botan::system_rng().randomize(aes_key.data(), aes_key.size());
    } catch (const std::exception& e) {
      return Status::Unavailable("system random number generator failed").with_detail(e.what());
    }
  }

  const std::span<const std::uint8_t> all(data);
  SecretBytes padded;
  if (!cbc_decrypt(aes_key.span(), all.first(kIvBytes), all.subspan(kIvBytes), &padded)) {
    return Status::Internal("AES-CBC decryption failed");
  }
  const std::size_t pad = pkcs7_pad_length(padded.span());
  if (pad == 0 && failure.empty()) failure = "data has invalid PKCS#7 padding";
  const std::span<const std::uint8_t> plaintext = padded.span().first(padded.size() - pad);
  const auto h = sha256(plaintext);

  bool matched = false;
  for (const auto& key : verifiers) {
    // Both forms are checked for every key so the time taken does not say which one matched.
    const bool raw = raw_type1_matches(*key, signature, h);
    const bool wrapped = pkcs1_sha256_signature_matches(*key, plaintext, signature);
    matched = matched || raw || wrapped;
  }
  if (!matched && failure.empty()) failure = "digest verifies under none of the user's activated keys";
  if (!failure.empty()) return Status::FailedPrecondition("digest", kDigestMismatch).with_detail(failure);
  return SecretBytes(plaintext);
}

}  // namespace stsvend::vault
