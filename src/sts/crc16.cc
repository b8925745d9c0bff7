// CRC-16 for STS tokens (see crc16.h).
#include "sts/crc16.h"

#include <array>

namespace stsvend::sts {

namespace {
constexpr std::array<std::uint16_t, 256> make_table() {
  std::array<std::uint16_t, 256> t{};
  for (unsigned i = 0; i < 256; ++i) {
    std::uint16_t r = static_cast<std::uint16_t>(i);
    for (int b = 0; b < 8; ++b) r = static_cast<std::uint16_t>((r & 1) ? (r >> 1) ^ 0xA001 : r >> 1);
    t[i] = r;
  }
  return t;
}
constexpr auto kTable = make_table();
}  // namespace

std::uint16_t crc16_modbus(const std::uint8_t* data, std::size_t n) noexcept {
  std::uint16_t reg = 0xFFFF;
  for (std::size_t i = 0; i < n; ++i) reg = static_cast<std::uint16_t>((reg >> 8) ^ kTable[(reg ^ data[i]) & 0xFF]);
  return reg;
}

std::uint16_t token_crc(std::uint64_t top50) noexcept {
  std::uint8_t bytes[7];
  for (int i = 0; i < 7; ++i) bytes[i] = static_cast<std::uint8_t>(top50 >> (8 * (6 - i)));
  const std::uint16_t reg = crc16_modbus(bytes, sizeof bytes);
  return static_cast<std::uint16_t>((reg << 8) | (reg >> 8));
}

}  // namespace stsvend::sts
