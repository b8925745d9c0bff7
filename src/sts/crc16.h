// CRC-16 of an STS token: reflected polynomial 0xA001 (x^16+x^15+x^2+1), initial 0xFFFF,
// over the 50 bits class|subclass|payload as 7 big-endian bytes; the field is the register with
// its bytes swapped. REFERENCE.md §1.1; docs/token-format.md ("CRC").
#pragma once

#include <cstdint>

namespace stsvend::sts {

// top50: class(2) | subclass(4) | the 44 bits above the CRC, right-aligned.
std::uint16_t token_crc(std::uint64_t top50) noexcept;

// Plain CRC-16/MODBUS register over bytes (check value of "123456789" is 0x4B37).
std::uint16_t crc16_modbus(const std::uint8_t* data, std::size_t n) noexcept;

}  // namespace stsvend::sts
