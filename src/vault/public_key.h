// Parsing users' RSA public keys as the Nectar API receives them (NECTAR-V1.md §3.4).
#pragma once

#include <memory>
#include <string_view>

#include "stsvend/result.h"

namespace Botan {
class RSA_PublicKey;
}

namespace stsvend::vault {

inline constexpr std::size_t kMinRsaBits = 2048;
// Above this a public operation on attacker-chosen keys gets expensive; no client uses more.
inline constexpr std::size_t kMaxRsaBits = 16384;

// Accepts bare base64 SPKI (whitespace anywhere is ignored), PEM "PUBLIC KEY" (SPKI) or PEM
// "RSA PUBLIC KEY" (PKCS#1). Requires RSA with kMinRsaBits..kMaxRsaBits and a sane modulus and
// exponent. Errors: InvalidArgument("key", ...).
Result<std::unique_ptr<Botan::RSA_PublicKey>> load_rsa_public_key(std::string_view text);

}  // namespace stsvend::vault
