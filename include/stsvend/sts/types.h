// Enumerations shared by the STS engine: algorithms, base dates, key types, token classes.
// IEC 62055-41; see docs/token-format.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace stsvend::sts {

// Encryption algorithm codes as the standard numbers them (EA07, EA09, EA11).
enum class EncryptionAlgorithm : std::uint8_t { kSta = 7, kDea = 9, kMisty1 = 11 };

// Decoder key generation algorithm (DKGA-01 .. DKGA-04).
enum class Dkga : std::uint8_t { k01 = 1, k02 = 2, k03 = 3, k04 = 4 };

// Base date from which TIDs are counted: 00:00 UTC on 1 January of the year.
enum class BaseDate : std::uint16_t { k1993 = 1993, k2014 = 2014, k2035 = 2035 };

// Key type (KT): 0 DITK (initialisation), 1 DDTK (default), 2 DUTK (unique), 3 DCTK (common).
enum class KeyType : std::uint8_t { kDitk = 0, kDdtk = 1, kDutk = 2, kDctk = 3 };

enum class TokenClass : std::uint8_t { kCredit = 0, kTest = 1, kManagement = 2 };

// "sta" | "dea" | "misty" (alias "misty1"), as the configuration files spell them.
std::optional<EncryptionAlgorithm> parse_encryption_algorithm(std::string_view s) noexcept;
std::string_view encryption_algorithm_name(EncryptionAlgorithm ea) noexcept;  // "sta", "dea", "misty"
// "01".."04"
std::optional<Dkga> parse_dkga(std::string_view s) noexcept;
std::string_view dkga_name(Dkga d) noexcept;  // "01".."04"
std::optional<BaseDate> base_date_from_year(int year) noexcept;
// Unix seconds of the base date (UTC midnight, 1 January).
std::int64_t base_date_unix_seconds(BaseDate bd) noexcept;

// Decoder key length in bytes the algorithm needs: 8 for STA and DEA, 16 for MISTY1.
constexpr std::size_t decoder_key_bytes(EncryptionAlgorithm ea) noexcept {
  return ea == EncryptionAlgorithm::kMisty1 ? 16 : 8;
}

// The Nectar token type name, e.g. "Electricity_00", "SetWaterMeterFactor_27".
// Empty when the (class, subclass) pair is not a defined token type.
std::string_view token_type_name(unsigned token_class, unsigned subclass) noexcept;

// Class/subclass pairs that carry RND and TID (class 0; class 2 subclasses 0, 1, 2, 5, 6, 7).
bool carries_tid(unsigned token_class, unsigned subclass) noexcept;

}  // namespace stsvend::sts
