// PBKDF2-SHA256 password hashes; see password_hash.h.
#include "service/password_hash.h"

#include <exception>
#include <span>
#include <vector>

#include <botan/base64.h>
#include <botan/mem_ops.h>
#include <botan/pwdhash.h>
#include <botan/system_rng.h>

namespace stsvend::service {
namespace {

constexpr std::string_view kScheme = "pbkdf2-sha256";
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;

Result<std::vector<std::uint8_t>> derive(std::string_view password, std::span<const std::uint8_t> salt,
                                         std::size_t iterations) {
  try {
    auto family = Botan::PasswordHashFamily::create_or_throw("PBKDF2(SHA-256)");
    auto pbkdf = family->from_params(iterations);
    std::vector<std::uint8_t> out(kHashBytes);
    pbkdf->derive_key(out.data(), out.size(), password.data(), password.size(), salt.data(), salt.size());
    return out;
  } catch (const std::exception& e) {
    return Status::Internal("password hashing failed").with_detail(e.what());
  }
}

}  // namespace

Result<std::string> hash_password(std::string_view password, std::size_t iterations) {
  std::uint8_t salt[kSaltBytes];
  Botan::system_rng().randomize(salt, sizeof salt);
  STSVEND_ASSIGN_OR_RETURN(std::vector<std::uint8_t> hash, derive(password, salt, iterations));
  return std::string(kScheme) + "$" + std::to_string(iterations) + "$" + Botan::base64_encode(salt, sizeof salt) +
         "$" + Botan::base64_encode(hash.data(), hash.size());
}

bool verify_password(std::string_view password, std::string_view stored) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t dollar = stored.find('$', start);
    parts.push_back(stored.substr(start, dollar == std::string_view::npos ? std::string_view::npos : dollar - start));
    if (dollar == std::string_view::npos) break;
    start = dollar + 1;
  }
  if (parts.size() != 4 || parts[0] != kScheme) return false;
  std::size_t iterations = 0;
  for (char c : parts[1]) {
    if (c < '0' || c > '9' || iterations > 100'000'000) return false;
    iterations = iterations * 10 + static_cast<std::size_t>(c - '0');
  }
  if (iterations == 0) return false;
  try {
    auto salt = Botan::base64_decode(std::string(parts[2]));
    auto expected = Botan::base64_decode(std::string(parts[3]));
    auto got = derive(password, std::span<const std::uint8_t>(salt.data(), salt.size()), iterations);
    if (!got.ok() || got->size() != expected.size()) return false;
    return Botan::constant_time_compare(got->data(), expected.data(), expected.size());
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace stsvend::service
