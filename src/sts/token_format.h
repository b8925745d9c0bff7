// Bit positions of the STS token fields, shared by the encoder and the decoder.
// IEC 62055-41 clause 6; the 64-bit data block is numbered bit 63 (MSB) .. bit 0.
#pragma once

#include <cstdint>

namespace stsvend::sts::format {

inline constexpr unsigned kSubclassShift = 60;   // bits 63..60
inline constexpr unsigned kRndShift = 56;        // bits 59..56
inline constexpr unsigned kTidShift = 32;        // bits 55..32
inline constexpr unsigned kValueShift = 16;      // bits 31..16: amount or 16-bit class 2 value
inline constexpr std::uint64_t kTidMask = 0xFFFFFF;

// Class 1 (test/display, not encrypted).
inline constexpr unsigned kControl36Shift = 24;  // subclass 0: control bits 59..24
inline constexpr unsigned kMfr8Shift = 16;       // subclass 0: manufacturer code bits 23..16
inline constexpr unsigned kControl28Shift = 32;  // subclass 1: control bits 59..32
inline constexpr unsigned kMfr16Shift = 16;      // subclass 1: manufacturer code bits 31..16
inline constexpr std::uint64_t kControl36Max = (std::uint64_t{1} << 36) - 1;
inline constexpr std::uint64_t kControl28Max = (std::uint64_t{1} << 28) - 1;

// Key change sections (class 2 subclasses 3, 4, 8, 9).
inline constexpr unsigned kKenNibbleShift = 56;  // 2/3 KENHO, 2/4 KENLO: bits 59..56
inline constexpr unsigned kKrnShift = 52;        // 2/3: bits 55..52
inline constexpr unsigned kRoBit = 51;           // 2/3
inline constexpr unsigned kRes3KctBit = 50;      // 2/3 (always 0 here)
inline constexpr unsigned kKtShift = 48;         // 2/3: bits 49..48
inline constexpr unsigned kTiShift = 48;         // 2/4: bits 55..48
inline constexpr unsigned kSgcPartShift = 48;    // 2/8, 2/9: bits 59..48
inline constexpr unsigned kKeyPartShift = 16;    // all sections: bits 47..16

// Class-bit transposition: the class travels in the clear at bits 28/27 of the cipher block;
// the displaced cipher bits move to bits 65/64 of the token.
inline constexpr unsigned kClassHighBit = 28;
inline constexpr unsigned kClassLowBit = 27;

}  // namespace stsvend::sts::format
