// Nectar HMAC signature; NECTAR-V1.md §2.2–2.3.
#include "api/nectar_signature.h"

#include <cctype>
#include <memory>

#include <botan/base64.h>
#include <botan/hash.h>
#include <botan/hex.h>
#include <botan/mac.h>

namespace stsvend::api {

// Botan's create() parses the algorithm name and looks it up on every call, which showed in the
// request profile; each thread keeps one object instead (final() resets it for the next message).
std::string content_md5_hex(std::string_view body) {
  thread_local const std::unique_ptr<Botan::HashFunction> md5 = Botan::HashFunction::create_or_throw("MD5");
  md5->update(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
  std::uint8_t digest[16];
  md5->final(digest);
  return Botan::hex_encode(digest, sizeof(digest), /*uppercase=*/true);
}

std::string string_to_sign(std::string_view method, std::string_view path, std::string_view content_md5,
                           std::string_view content_type, std::string_view date, std::string_view nonce) {
  std::string out;
  out.reserve(method.size() + path.size() + content_md5.size() + content_type.size() + date.size() +
              nonce.size());
  out.append(method).append(path).append(content_md5).append(content_type).append(date).append(nonce);
  return out;
}

std::string hmac_sha256_hex(std::span<const std::uint8_t> secret, std::string_view message) {
  thread_local const std::unique_ptr<Botan::MessageAuthenticationCode> mac =
      Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-256)");
  std::uint8_t tag[32];
  mac->set_key(secret.data(), secret.size());
  mac->update(reinterpret_cast<const std::uint8_t*>(message.data()), message.size());
  mac->final(tag);
  mac->clear();  // wipes the keyed state: the secret does not stay in the thread's object
  return Botan::hex_encode(tag, sizeof(tag), /*uppercase=*/false);
}

namespace {

std::string base64_of(std::string_view text) {
  return Botan::base64_encode(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

// Java's BigInteger(1, mac).toString(16): leading zero nibbles dropped, at least one digit kept.
std::string_view strip_zeros(std::string_view hex) {
  std::size_t i = 0;
  while (i + 1 < hex.size() && hex[i] == '0') ++i;
  return hex.substr(i);
}

}  // namespace

std::string signature_for(std::span<const std::uint8_t> secret, std::string_view message,
                          bool strip_leading_zeros) {
  const std::string hex = hmac_sha256_hex(secret, message);
  return base64_of(strip_leading_zeros ? strip_zeros(hex) : std::string_view(hex));
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

bool verify_signature(std::span<const std::uint8_t> secret, std::string_view message,
                      std::string_view received) {
  const std::string hex = hmac_sha256_hex(secret, message);
  const std::string full = base64_of(hex);
  const std::string java = base64_of(strip_zeros(hex));
  const bool a = constant_time_equal(full, received);
  const bool b = constant_time_equal(java, received);
  return a || b;
}

Result<AuthorizationHeader> parse_authorization(std::string_view header) {
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) header.remove_prefix(1);
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t')) header.remove_suffix(1);
  constexpr std::string_view kScheme = "nectar";
  if (header.size() <= kScheme.size()) return Status::Unauthenticated("Authorization header must be 'nectar KEY:SIGNATURE'");
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) {
      return Status::Unauthenticated("Authorization scheme must be 'nectar'");
    }
  }
  std::string_view rest = header.substr(kScheme.size());
  if (rest.front() != ' ') return Status::Unauthenticated("Authorization header must be 'nectar KEY:SIGNATURE'");
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  const std::size_t colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) {
    return Status::Unauthenticated("Authorization header must be 'nectar KEY:SIGNATURE'");
  }
  return AuthorizationHeader{std::string(rest.substr(0, colon)), std::string(rest.substr(colon + 1))};
}

}  // namespace stsvend::api
