// Sealed record layout; see record_format.h and docs/vault.md.
#include "vault/record_format.h"

#include <algorithm>
#include <cassert>
#include <exception>

#include <botan/hash.h>
#include <botan/system_rng.h>

namespace stsvend::vault {

Result<RecordView> parse_record(std::span<const std::uint8_t> sealed, const KeyId& expected_key_id) {
  if (sealed.size() < kRecordOverhead) {
    return Status::Corruption("sealed", "record is shorter than its fixed overhead");
  }
  if (sealed[0] != kRecordVersion) {
    return Status::Corruption("sealed", "unknown record version");
  }
  RecordView view;
  std::copy_n(sealed.begin() + 1, kKeyIdBytes, view.key_id.begin());
  if (view.key_id != expected_key_id) {
    return Status::Corruption("sealed", "record was sealed under a different master key");
  }
  view.nonce = sealed.subspan(kNonceOffset, kNonceBytes);
  view.ciphertext_and_tag = sealed.subspan(kCiphertextOffset);
  return view;
}

std::vector<std::uint8_t> record_aad(const KeyId& key_id, std::string_view aad) {
  std::vector<std::uint8_t> out;
  out.reserve(kHeaderBytes + aad.size());
  out.push_back(kRecordVersion);
  out.insert(out.end(), key_id.begin(), key_id.end());
  out.insert(out.end(), aad.begin(), aad.end());
  return out;
}

Result<std::array<std::uint8_t, kNonceBytes>> fresh_nonce() {
  std::array<std::uint8_t, kNonceBytes> nonce{};
  try {
    Botan::system_rng().randomize(nonce.data(), nonce.size());
  } catch (const std::exception& e) {
    return Status::Unavailable("system random number generator failed").with_detail(e.what());
  }
  return nonce;
}

std::vector<std::uint8_t> assemble_record(const KeyId& key_id, std::span<const std::uint8_t> nonce,
                                          std::span<const std::uint8_t> ciphertext_and_tag) {
  std::vector<std::uint8_t> out;
  out.reserve(kHeaderBytes + nonce.size() + ciphertext_and_tag.size());
  out.push_back(kRecordVersion);
  out.insert(out.end(), key_id.begin(), key_id.end());
  out.insert(out.end(), nonce.begin(), nonce.end());
  out.insert(out.end(), ciphertext_and_tag.begin(), ciphertext_and_tag.end());
  return out;
}

KeyId derive_key_id(std::span<const std::uint8_t> material) {
  // SHA-256 is part of every Botan build we link against, so a null here is a broken install.
  auto sha = Botan::HashFunction::create("SHA-256");
  assert(sha != nullptr);
  sha->update(material.data(), material.size());
  const auto digest = sha->final();
  KeyId id{};
  std::copy_n(digest.begin(), kKeyIdBytes, id.begin());
  return id;
}

}  // namespace stsvend::vault
