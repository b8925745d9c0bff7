// EA07 STA (see sta.h). A round is 8 lookups, one per byte, in tables that fold the key-selected
// substitution boxes of the byte's two nibbles together with the bit permutation. Decryption uses
// the same shape: the inverse substitution of one round folded with the inverse permutation that
// starts the next.
#include "sts/crypto/sta.h"

#include <array>
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

// A byte's box selection `c`: bit 0 for its low nibble, bit 1 for its high nibble.
// Encryption: selector 0 -> S1, 1 -> S2. Decryption: selector 1 -> inv(S1), 0 -> inv(S2).
constexpr unsigned substitute_enc(unsigned c, unsigned b) {
  const auto& lo = (c & 1) ? kS2 : kS1;
  const auto& hi = (c & 2) ? kS2 : kS1;
  return static_cast<unsigned>(hi[b >> 4] << 4 | lo[b & 15]);
}
constexpr unsigned substitute_dec(unsigned c, unsigned b) {
  const auto& lo = (c & 1) ? kS1Inv : kS2Inv;
  const auto& hi = (c & 2) ? kS1Inv : kS2Inv;
  return static_cast<unsigned>(hi[b >> 4] << 4 | lo[b & 15]);
}

struct Tables {
  std::uint64_t enc[8][4][256];      // P(S_c(b) << 8j)
  std::uint64_t dec_fold[8][4][256]; // P^-1(S^-1_c(b) << 8j)
  std::uint64_t pinv[8][256];        // P^-1(b << 8j)
  std::uint8_t dec_sub[4][256];      // S^-1_c(b)
};

Tables make_tables() {
  Tables t{};
  for (unsigned c = 0; c < 4; ++c) {
    for (unsigned b = 0; b < 256; ++b) {
      t.dec_sub[c][b] = static_cast<std::uint8_t>(substitute_dec(c, b));
      for (unsigned j = 0; j < 8; ++j) {
        t.enc[j][c][b] = permute(std::uint64_t{substitute_enc(c, b)} << (8 * j), kP);
        t.dec_fold[j][c][b] = permute(std::uint64_t{substitute_dec(c, b)} << (8 * j), kPInv);
      }
    }
  }
  for (unsigned j = 0; j < 8; ++j)
    for (unsigned b = 0; b < 256; ++b) t.pinv[j][b] = permute(std::uint64_t{b} << (8 * j), kPInv);
  return t;
}

// Built once at start-up; read-only afterwards.
const Tables kTables = make_tables();

// Box selection of byte j: key bits (8j + offset) and (8j + 4 + offset).
constexpr unsigned byte_selection(std::uint64_t k, unsigned j, unsigned offset) {
  return static_cast<unsigned>(((k >> (8 * j + offset)) & 1) | (((k >> (8 * j + 4 + offset)) & 1) << 1));
}

inline std::uint64_t round8(const std::uint64_t* const t[8], std::uint64_t x) {
  return t[0][x & 0xFF] | t[1][(x >> 8) & 0xFF] | t[2][(x >> 16) & 0xFF] | t[3][(x >> 24) & 0xFF] |
         t[4][(x >> 32) & 0xFF] | t[5][(x >> 40) & 0xFF] | t[6][(x >> 48) & 0xFF] | t[7][x >> 56];
}

}  // namespace

void StaSchedule::wipe() noexcept {
  volatile const std::uint64_t** p = const_cast<volatile const std::uint64_t**>(&encrypt_round[0][0]);
  for (std::size_t i = 0; i < 16 * 8; ++i) p[i] = nullptr;
  p = const_cast<volatile const std::uint64_t**>(&decrypt_round[0][0]);
  for (std::size_t i = 0; i < 15 * 8; ++i) p[i] = nullptr;
  volatile std::uint8_t* q = decrypt_last;
  for (std::size_t i = 0; i < 8; ++i) q[i] = 0;
}

StaSchedule sta_schedule(std::uint64_t key) noexcept {
  StaSchedule s;
  // Encryption (the peer's form): the round key starts as ~K rotated right by 12 and rotates left
  // by 1 per round; bit 4n+3 of the round key selects the box of nibble n.
  std::uint64_t k = std::rotr(~key, 12);
  for (unsigned r = 0; r < 16; ++r, k = std::rotl(k, 1))
    for (unsigned j = 0; j < 8; ++j) s.encrypt_round[r][j] = kTables.enc[j][byte_selection(k, j, 3)];
  // Decryption walks the schedule backwards: raw K rotated right by 1 per round; bit 4n selects.
  k = key;
  for (unsigned r = 0; r < 16; ++r, k = std::rotr(k, 1)) {
    for (unsigned j = 0; j < 8; ++j) {
      const unsigned c = byte_selection(k, j, 0);
      if (r < 15) s.decrypt_round[r][j] = kTables.dec_fold[j][c];
      else s.decrypt_last[j] = static_cast<std::uint8_t>(c);
    }
  }
  return s;
}

std::uint64_t sta_encrypt(const StaSchedule& s, std::uint64_t x) noexcept {
  for (unsigned r = 0; r < 16; ++r) x = round8(s.encrypt_round[r], x);
  return x;
}

std::uint64_t sta_decrypt(const StaSchedule& s, std::uint64_t x) noexcept {
  // Round r is P^-1 then S^-1_r; P^-1 of round r+1 is folded into S^-1_r's tables.
  static const std::uint64_t* const kPinv[8] = {kTables.pinv[0], kTables.pinv[1], kTables.pinv[2], kTables.pinv[3],
                                                kTables.pinv[4], kTables.pinv[5], kTables.pinv[6], kTables.pinv[7]};
  x = round8(kPinv, x);
  for (unsigned r = 0; r < 15; ++r) x = round8(s.decrypt_round[r], x);
  std::uint64_t out = 0;
  for (unsigned j = 0; j < 8; ++j) out |= std::uint64_t{kTables.dec_sub[s.decrypt_last[j]][(x >> (8 * j)) & 0xFF]} << (8 * j);
  return out;
}

}  // namespace stsvend::sts::crypto
