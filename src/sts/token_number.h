// The 66-bit token value: class-bit transposition and the 20-digit decimal form.
// REFERENCE.md §1.2-1.3; docs/token-format.md ("Transposition", "Token number").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace stsvend::sts {

// A 66-bit value as two limbs (bits 65..64 in `high`, 0..3).
struct Token66 {
  std::uint64_t low = 0;
  unsigned high = 0;
};

// Stores the class in bits 28/27 of the cipher block and moves the displaced bits to 65/64.
Token66 transpose_class(std::uint64_t cipher_block, unsigned token_class) noexcept;
// Inverse: the class and the cipher block.
std::uint64_t untranspose_class(Token66 t, unsigned* token_class) noexcept;

// Exactly 20 decimal digits, zero-padded.
void format_token_number(Token66 t, char out[20]) noexcept;
std::string format_token_number(Token66 t);
// Accepts 20 digits, optionally grouped with single spaces or dashes; false when malformed or >= 2^66.
bool parse_token_number(std::string_view text, Token66* out) noexcept;

}  // namespace stsvend::sts
