// EA07, the Standard Transfer Algorithm: a 16-round substitution-permutation cipher on a 64-bit
// block with a 64-bit key. REFERENCE.md §7.1; tables and key schedule in docs/token-format.md ("STA").
#pragma once

#include <cstdint>

namespace stsvend::sts::crypto {

// One key's rounds, prepared once: for every round and byte position, the lookup table that applies
// that round's key-selected substitution boxes and the bit permutation to that byte. Holds key-derived
// data: wipe() it when done (TokenCipher does).
struct StaSchedule {
  const std::uint64_t* encrypt_round[16][8] = {};
  const std::uint64_t* decrypt_round[15][8] = {};  // inverse substitution of round r, then P^-1
  std::uint8_t decrypt_last[8] = {};               // box selection of the final inverse substitution
  void wipe() noexcept;
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
