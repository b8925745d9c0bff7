// Transposition and decimal conversion of 66-bit token values (see token_number.h).
#include "sts/token_number.h"

#include "sts/token_format.h"

namespace stsvend::sts {

namespace {
constexpr std::uint64_t kTen10 = 10'000'000'000ULL;
// 2^64 = kPow64Quot * 10^10 + kPow64Rem
constexpr std::uint64_t kPow64Quot = 1'844'674'407ULL;
constexpr std::uint64_t kPow64Rem = 3'709'551'616ULL;

void write_10_digits(std::uint64_t v, char* out) noexcept {
  for (int i = 9; i >= 0; --i) {
    out[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}
}  // namespace

Token66 transpose_class(std::uint64_t cipher_block, unsigned token_class) noexcept {
  using namespace format;
  const unsigned b28 = static_cast<unsigned>(cipher_block >> kClassHighBit) & 1;
  const unsigned b27 = static_cast<unsigned>(cipher_block >> kClassLowBit) & 1;
  std::uint64_t low = cipher_block & ~((std::uint64_t{1} << kClassHighBit) | (std::uint64_t{1} << kClassLowBit));
  low |= static_cast<std::uint64_t>((token_class >> 1) & 1) << kClassHighBit;
  low |= static_cast<std::uint64_t>(token_class & 1) << kClassLowBit;
  return Token66{low, (b28 << 1) | b27};
}

std::uint64_t untranspose_class(Token66 t, unsigned* token_class) noexcept {
  using namespace format;
  *token_class = static_cast<unsigned>(((t.low >> kClassHighBit) & 1) << 1 | ((t.low >> kClassLowBit) & 1));
  std::uint64_t block = t.low & ~((std::uint64_t{1} << kClassHighBit) | (std::uint64_t{1} << kClassLowBit));
  block |= static_cast<std::uint64_t>((t.high >> 1) & 1) << kClassHighBit;
  block |= static_cast<std::uint64_t>(t.high & 1) << kClassLowBit;
  return block;
}

void format_token_number(Token66 t, char out[20]) noexcept {
  // value = high * 2^64 + low, split at 10^10 without 128-bit division; high <= 3 keeps it in range.
  const std::uint64_t low_hi = t.low / kTen10;
  const std::uint64_t low_lo = t.low % kTen10;
  const std::uint64_t mid = t.high * kPow64Rem + low_lo;  // < 4 * 10^10
  const std::uint64_t upper = t.high * kPow64Quot + low_hi + mid / kTen10;
  write_10_digits(upper, out);
  write_10_digits(mid % kTen10, out + 10);
}

std::string format_token_number(Token66 t) {
  std::string s(20, '0');
  format_token_number(t, s.data());
  return s;
}

bool parse_token_number(std::string_view text, Token66* out) noexcept {
  char digits[20];
  std::size_t n = 0;
  bool last_was_separator = true;  // no leading separator
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      if (n == 20) return false;
      digits[n++] = c;
      last_was_separator = false;
    } else if ((c == ' ' || c == '-') && !last_was_separator) {
      last_was_separator = true;
    } else {
      return false;
    }
  }
  if (n != 20 || last_was_separator) return false;
  std::uint64_t upper = 0, lower = 0;
  for (int i = 0; i < 10; ++i) upper = upper * 10 + static_cast<std::uint64_t>(digits[i] - '0');
  for (int i = 10; i < 20; ++i) lower = lower * 10 + static_cast<std::uint64_t>(digits[i] - '0');
  // value = upper * 10^10 + lower must be below 2^66 = 73786976294838206464.
  __extension__ using u128 = unsigned __int128;
  const u128 value = static_cast<u128>(upper) * kTen10 + lower;
  if ((value >> 66) != 0) return false;
  out->low = static_cast<std::uint64_t>(value);
  out->high = static_cast<unsigned>(value >> 64);
  return true;
}

}  // namespace stsvend::sts
