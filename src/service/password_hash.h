// Salted password hashes for users: PBKDF2-HMAC-SHA256, stored as
// "pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>".
#pragma once

#include <string>
#include <string_view>

#include "stsvend/result.h"

namespace stsvend::service {

inline constexpr std::size_t kPasswordIterations = 120'000;

Result<std::string> hash_password(std::string_view password, std::size_t iterations = kPasswordIterations);
// Constant-time comparison of the derived hash; false for a malformed stored value.
bool verify_password(std::string_view password, std::string_view stored);

}  // namespace stsvend::service
