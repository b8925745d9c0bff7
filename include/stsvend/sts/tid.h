// Token identifier (TID): whole minutes from the base date, 24 bits, never wrapped.
// IEC 62055-41 clause 6.3.x; see docs/token-format.md ("TID").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "stsvend/result.h"
#include "stsvend/sts/types.h"

namespace stsvend::sts {

inline constexpr std::uint32_t kMaxTid = 0xFFFFFF;

// floor((unix_seconds - base) / 60). Error (field `field`) when before the base date or past
// kMaxTid minutes: the caller needs a base-date roll-over key change, never a wrapped TID.
Result<std::uint32_t> tid_from_unix(std::int64_t unix_seconds, BaseDate base_date,
                                    std::string_view field = "token_id");
std::int64_t unix_from_tid(std::uint32_t tid, BaseDate base_date) noexcept;

// Parses "yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss[.fff]" optionally followed by "Z" or "+hh:mm"
// (no zone = UTC) into Unix seconds. Errors name `field`.
Result<std::int64_t> parse_instant(std::string_view text, std::string_view field = "token_id");
// "yyyy-MM-ddTHH:mm:ssZ"
std::string format_instant(std::int64_t unix_seconds);

// Key expiry as the meter applies it: expired iff the TID's top 8 bits exceed KEN.
constexpr bool key_expired(std::uint32_t tid, std::uint8_t key_expiry_no) noexcept {
  return (tid >> 16) > key_expiry_no;
}

}  // namespace stsvend::sts
