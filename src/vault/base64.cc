// Lenient base64 decoding; see base64.h.
#include "vault/base64.h"

#include <exception>

#include <botan/base64.h>

namespace stsvend::vault {

Result<std::vector<std::uint8_t>> decode_base64_lenient(std::string_view text, std::string_view field) {
  std::string compact;
  compact.reserve(text.size());
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') continue;
    compact.push_back(c);
  }
  if (compact.empty()) return Status::InvalidArgument(field, "must be non-empty base64");
  // Botan accepts unpadded input; standard base64 is always a multiple of 4 characters.
  if (compact.size() % 4 != 0) return Status::InvalidArgument(field, "must be valid base64");
  // Botan tolerates '=' followed by more data ("Zm=v"); padding may only end the text.
  const auto pad = compact.find('=');
  if (pad != std::string::npos && (compact.size() - pad > 2 || compact.find_first_not_of('=', pad) != std::string::npos)) {
    return Status::InvalidArgument(field, "must be valid base64");
  }
  try {
    const auto decoded = Botan::base64_decode(compact.data(), compact.size(), false);
    return std::vector<std::uint8_t>(decoded.begin(), decoded.end());
  } catch (const std::exception&) {
    return Status::InvalidArgument(field, "must be valid base64");
  }
}

std::string encode_base64(std::span<const std::uint8_t> bytes) {
  return Botan::base64_encode(bytes.data(), bytes.size());
}

}  // namespace stsvend::vault
