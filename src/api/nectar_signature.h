// The Nectar v1 request signature: string to sign, HMAC-SHA256 → hex → base64, and the
// compatible verifier that accepts both hex forms. NECTAR-V1.md §2.2–2.3; docs/api.md ("Auth").
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "stsvend/result.h"

namespace stsvend::api {

// Uppercase hex MD5 of the raw body bytes, as the SDKs put it in Content-MD5.
std::string content_md5_hex(std::string_view body);

// METHOD + PATH + CONTENT_MD5 + CONTENT_TYPE + DATE + NONCE, no separators; every part is used
// byte for byte as received (Date and Content-Type are opaque).
std::string string_to_sign(std::string_view method, std::string_view path, std::string_view content_md5,
                           std::string_view content_type, std::string_view date, std::string_view nonce);

// Lowercase 64-digit hex of HMAC-SHA256(secret, message).
std::string hmac_sha256_hex(std::span<const std::uint8_t> secret, std::string_view message);

// Base64 of the hex text: `strip_leading_zeros` gives Java's BigInteger form (J21/J24, GW), otherwise
// the full 64-digit form (Python, PHP).
std::string signature_for(std::span<const std::uint8_t> secret, std::string_view message,
                          bool strip_leading_zeros);

// True when `received` equals either encoding. Both candidates are compared in constant time and
// both comparisons always run, so timing does not reveal which form (if any) matched.
bool verify_signature(std::span<const std::uint8_t> secret, std::string_view message,
                      std::string_view received);

// `Authorization: nectar KEY:SIGNATURE`; the scheme is case-insensitive and the credentials split at
// the first ':'. Errors are Unauthenticated with a rule naming what is wrong.
struct AuthorizationHeader {
  std::string key;
  std::string signature;
};
Result<AuthorizationHeader> parse_authorization(std::string_view header);

// Constant-time equality of two byte strings (length is not secret).
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace stsvend::api
