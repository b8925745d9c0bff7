// See text_rules.h.
#include "service/text_rules.h"

#include <string>

namespace stsvend::service {

namespace {

// U+202A-U+202E (E2 80 AA-AE) and U+2066-U+2069 (E2 81 A6-A9).
bool bidi_control_at(std::string_view v, std::size_t i) {
  if (i + 2 >= v.size() || static_cast<unsigned char>(v[i]) != 0xE2) return false;
  const auto b1 = static_cast<unsigned char>(v[i + 1]);
  const auto b2 = static_cast<unsigned char>(v[i + 2]);
  return (b1 == 0x80 && b2 >= 0xAA && b2 <= 0xAE) || (b1 == 0x81 && b2 >= 0xA6 && b2 <= 0xA9);
}

}  // namespace

Status check_text(std::string_view field, std::string_view v, std::size_t min_bytes, std::size_t max_bytes) {
  if (v.size() < min_bytes || v.size() > max_bytes) {
    return Status::InvalidArgument(field, min_bytes == 0 ? "must be at most " + std::to_string(max_bytes) + " characters"
                                                         : "must be " + std::to_string(min_bytes) + " to " +
                                                               std::to_string(max_bytes) + " characters");
  }
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x20 || c == 0x7F) return Status::InvalidArgument(field, "must not contain control characters");
    if (bidi_control_at(v, i)) {
      return Status::InvalidArgument(field, "must not contain Unicode bidirectional control characters");
    }
  }
  return Status::Ok();
}

}  // namespace stsvend::service
