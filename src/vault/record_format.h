// Layout of a sealed vault record, shared by the file and PKCS#11 backends; see docs/vault.md.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "stsvend/result.h"

namespace stsvend::vault {

// version(1) ‖ key_id(4, big-endian) ‖ nonce(12) ‖ ciphertext ‖ tag(16)
inline constexpr std::uint8_t kRecordVersion = 1;
inline constexpr std::size_t kKeyIdBytes = 4;
inline constexpr std::size_t kNonceBytes = 12;  // 96-bit GCM nonce, fresh and random per record
inline constexpr std::size_t kTagBytes = 16;
inline constexpr std::size_t kHeaderBytes = 1 + kKeyIdBytes;
inline constexpr std::size_t kNonceOffset = kHeaderBytes;
inline constexpr std::size_t kCiphertextOffset = kNonceOffset + kNonceBytes;
inline constexpr std::size_t kRecordOverhead = kCiphertextOffset + kTagBytes;

using KeyId = std::array<std::uint8_t, kKeyIdBytes>;

// The parts of a record, as views into the caller's buffer.
struct RecordView {
  KeyId key_id;
  std::span<const std::uint8_t> nonce;
  std::span<const std::uint8_t> ciphertext_and_tag;
};

// Splits a record and checks its version and that it is sealed under `expected_key_id`.
// Errors: Corruption("sealed", ...).
Result<RecordView> parse_record(std::span<const std::uint8_t> sealed, const KeyId& expected_key_id);

// The bytes GCM authenticates besides the ciphertext: version ‖ key_id ‖ caller's aad. The header is
// fixed-size, so the concatenation is unambiguous; binding it stops a record from being relabelled.
std::vector<std::uint8_t> record_aad(const KeyId& key_id, std::string_view aad);

// A fresh GCM nonce from the system's generator (getrandom); Unavailable when that fails. Random
// 96-bit nonces: a key seals far fewer than 2^32 records, the bound for random GCM nonces.
Result<std::array<std::uint8_t, kNonceBytes>> fresh_nonce();

// Assembles version ‖ key_id ‖ nonce ‖ ciphertext_and_tag.
std::vector<std::uint8_t> assemble_record(const KeyId& key_id, std::span<const std::uint8_t> nonce,
                                          std::span<const std::uint8_t> ciphertext_and_tag);

// First 4 bytes of SHA-256 over `material` (the master key, or a key check value for PKCS#11).
KeyId derive_key_id(std::span<const std::uint8_t> material);

}  // namespace stsvend::vault
