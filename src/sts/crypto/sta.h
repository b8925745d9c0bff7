// EA07, the Standard Transfer Algorithm: a 16-round substitution-permutation cipher on a 64-bit
// block with a 64-bit key. REFERENCE.md §7.1; tables and key schedule in docs/token-format.md ("STA").
#pragma once

#include <array>
#include <cstdint>

namespace stsvend::sts::crypto {

// The per-round substitution selectors of one key, computed once (16 bits per round: bit n
// selects the box of nibble n).
struct StaSchedule {
  std::array<std::uint16_t, 16> encrypt_select{};
  std::array<std::uint16_t, 16> decrypt_select{};
};

// key: the STA key integer (DecoderKey::sta_integer(), i.e. the little-endian load of the stored
// decoder key bytes).
StaSchedule sta_schedule(std::uint64_t key) noexcept;

// block: the 64-bit data block, bit 63 = MSB.
std::uint64_t sta_encrypt(const StaSchedule& schedule, std::uint64_t block) noexcept;
std::uint64_t sta_decrypt(const StaSchedule& schedule, std::uint64_t block) noexcept;

inline std::uint64_t sta_encrypt(std::uint64_t key, std::uint64_t block) noexcept {
  return sta_encrypt(sta_schedule(key), block);
}
inline std::uint64_t sta_decrypt(std::uint64_t key, std::uint64_t block) noexcept {
  return sta_decrypt(sta_schedule(key), block);
}

}  // namespace stsvend::sts::crypto
