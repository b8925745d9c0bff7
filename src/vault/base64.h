// Base64 as clients actually send it: `base64` and `openssl base64` wrap lines, PEM bodies too.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stsvend/result.h"

namespace stsvend::vault {

// Decodes standard base64 (RFC 4648 §4, '=' padding), skipping whitespace anywhere (surrounding
// spaces, CR/LF line wraps). Empty or malformed input is InvalidArgument(field, ...).
Result<std::vector<std::uint8_t>> decode_base64_lenient(std::string_view text, std::string_view field);

// Standard base64 on one line, no whitespace.
std::string encode_base64(std::span<const std::uint8_t> bytes);

}  // namespace stsvend::vault
