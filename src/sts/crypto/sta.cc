// EA07 STA (see sta.h). A round is 16 lookups in nibble-indexed tables that fold the selected
// substitution box and the bit permutation together (4 KiB, so every lookup hits L1).
#include "sts/crypto/sta.h"

#include <bit>

namespace stsvend::sts::crypto {

namespace {

// Substitution boxes indexed by nibble value.
constexpr std::array<std::uint8_t, 16> kS1 = {14, 10, 7, 9, 12, 3, 2, 5, 13, 0, 15, 1, 4, 8, 6, 11};
constexpr std::array<std::uint8_t, 16> kS2 = {12, 8, 2, 13, 7, 6, 1, 3, 11, 5, 9, 15, 0, 4, 10, 14};
// Permutation: input bit i moves to output bit kP[i].
constexpr std::array<std::uint8_t, 64> kP = {
    55, 42, 10, 18, 24, 21, 44, 35, 2,  22, 56, 43, 27, 58, 9,  50, 6,  36, 12, 61, 37, 38,
    53, 16, 62, 3,  7,  4,  32, 20, 63, 25, 51, 52, 54, 33, 49, 19, 46, 29, 48, 31, 23, 30,
    41, 28, 13, 5,  40, 60, 39, 11, 15, 17, 1,  0,  57, 34, 59, 8,  47, 14, 45, 26};

constexpr std::array<std::uint8_t, 16> invert(const std::array<std::uint8_t, 16>& s) {
  std::array<std::uint8_t, 16> inv{};
  for (std::uint8_t i = 0; i < 16; ++i) inv[s[i]] = i;
  return inv;
}
constexpr std::array<std::uint8_t, 64> invert(const std::array<std::uint8_t, 64>& p) {
  std::array<std::uint8_t, 64> inv{};
  for (std::uint8_t i = 0; i < 64; ++i) inv[p[i]] = i;
  return inv;
}
constexpr auto kS1Inv = invert(kS1);
constexpr auto kS2Inv = invert(kS2);
constexpr auto kPInv = invert(kP);

constexpr std::uint64_t permute(std::uint64_t x, const std::array<std::uint8_t, 64>& perm) {
  std::uint64_t y = 0;
  for (unsigned i = 0; i < 64; ++i)
    if ((x >> i) & 1) y |= std::uint64_t{1} << perm[i];
  return y;
}

struct Tables {
  // enc[n][s][v]: nibble n holding v, substituted with box s (0: S1, 1: S2), then permuted.
  std::array<std::array<std::array<std::uint64_t, 16>, 2>, 16> enc{};
  // pinv[n][v]: nibble n holding v, moved by the inverse permutation.
  std::array<std::array<std::uint64_t, 16>, 16> pinv{};
  // dec[s][v]: inverse substitution, s = 1 -> inv(S1), s = 0 -> inv(S2).
  std::array<std::array<std::uint8_t, 16>, 2> dec{};
};

constexpr Tables make_tables() {
  Tables t;
  for (unsigned n = 0; n < 16; ++n) {
    for (unsigned v = 0; v < 16; ++v) {
      t.enc[n][0][v] = permute(std::uint64_t{kS1[v]} << (4 * n), kP);
      t.enc[n][1][v] = permute(std::uint64_t{kS2[v]} << (4 * n), kP);
      t.pinv[n][v] = permute(std::uint64_t{v} << (4 * n), kPInv);
    }
  }
  t.dec[0] = kS2Inv;
  t.dec[1] = kS1Inv;
  return t;
}

constinit const Tables kTables = make_tables();

// Gathers bit (4n + offset) of k for n = 0..15 into bit n of the result.
constexpr std::uint16_t nibble_bits(std::uint64_t k, unsigned offset) {
  std::uint16_t m = 0;
  for (unsigned n = 0; n < 16; ++n) m = static_cast<std::uint16_t>(m | ((k >> (4 * n + offset)) & 1) << n);
  return m;
}

}  // namespace

StaSchedule sta_schedule(std::uint64_t key) noexcept {
  StaSchedule s;
  // Encryption (the peer's form): round key starts as ~K rotated right by 12 and rotates left by 1
  // per round; bit 4n+3 of the round key = 0 selects S1 for nibble n.
  std::uint64_t k = std::rotr(~key, 12);
  for (unsigned r = 0; r < 16; ++r, k = std::rotl(k, 1)) s.encrypt_select[r] = nibble_bits(k, 3);
  // Decryption walks the schedule backwards: raw K rotated right by 1 per round; bit 4n = 1
  // selects inv(S1), 0 selects inv(S2).
  k = key;
  for (unsigned r = 0; r < 16; ++r, k = std::rotr(k, 1)) s.decrypt_select[r] = nibble_bits(k, 0);
  return s;
}

std::uint64_t sta_encrypt(const StaSchedule& schedule, std::uint64_t x) noexcept {
  for (unsigned r = 0; r < 16; ++r) {
    const unsigned sel = schedule.encrypt_select[r];
    std::uint64_t y = 0;
    for (unsigned n = 0; n < 16; ++n) y |= kTables.enc[n][(sel >> n) & 1][(x >> (4 * n)) & 15];
    x = y;
  }
  return x;
}

std::uint64_t sta_decrypt(const StaSchedule& schedule, std::uint64_t x) noexcept {
  for (unsigned r = 0; r < 16; ++r) {
    std::uint64_t y = 0;
    for (unsigned n = 0; n < 16; ++n) y |= kTables.pinv[n][(x >> (4 * n)) & 15];
    const unsigned sel = schedule.decrypt_select[r];
    std::uint64_t z = 0;
    for (unsigned n = 0; n < 16; ++n) z |= std::uint64_t{kTables.dec[(sel >> n) & 1][(y >> (4 * n)) & 15]} << (4 * n);
    x = z;
  }
  return x;
}

}  // namespace stsvend::sts::crypto
