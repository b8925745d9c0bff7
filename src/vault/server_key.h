// The server's RSA key pair: clients wrap configuration keys to its public half (the "Nectar
// server public key"). The private half is stored sealed by the vault. See docs/vault.md.
#pragma once

#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "stsvend/result.h"
#include "stsvend/secret.h"
#include "vault/vault.h"

namespace stsvend::vault {

class ServerKey {
 public:
  virtual ~ServerKey() = default;
  // Loads `<data_dir>/server_key.sealed` (a vault record, AAD "server_key", holding PKCS#8 DER), or
  // creates an RSA-4096 pair there when absent (atomic write, mode 0600). A sealed file the vault
  // cannot open is Corruption; a file with a wider mode is FailedPrecondition.
  static Result<std::unique_ptr<ServerKey>> load_or_create(Vault& vault,
                                                           const std::filesystem::path& data_dir);
  // Replaces the stored pair with a PKCS#8 private key (PEM or DER, unencrypted, RSA >= 2048 bits;
  // errors name field "pkcs8"). For interoperability tests with the published Nectar pair, and for
  // migrating an existing server key.
  static Status import_pkcs8(Vault& vault, const std::filesystem::path& data_dir,
                             std::span<const std::uint8_t> pkcs8);

  virtual std::string public_key_pem() const = 0;
  virtual std::string public_key_spki_base64() const = 0;  // no armour, no line breaks
  // RSA PKCS#1 v1.5 (type 2) decryption; Botan's unpadding runs in constant time. The result still
  // says whether the padding was valid, so callers must not pass that on to a client
  // (open_configuration_upload uses implicit rejection). Errors: InvalidArgument("key", ...).
  // Thread-safe.
  virtual Result<SecretBytes> decrypt_pkcs1v15(std::span<const std::uint8_t> ciphertext) const = 0;
};

// Accepts a public key as bare base64 SPKI (whitespace and line wraps ignored), PEM "PUBLIC KEY" or
// PEM "RSA PUBLIC KEY" (PKCS#1); checks it is RSA with 2048..16384 bits (NECTAR-V1.md §3.4).
// Returns the canonical bare base64 SPKI (one line). Errors: InvalidArgument("key", ...).
Result<std::string> normalize_public_key(std::string_view text);

// Opens a Nectar configuration upload ({data, digest, key}, NECTAR-V1.md §3.5.1): unwraps the AES
// key with the server key, decrypts IV‖AES-CBC data, and checks the digest (raw PKCS#1 type-1 block
// over the bare SHA-256, or a standard PKCS#1 v1.5 SHA-256 signature) against each of the user's
// activated public keys (bare base64 SPKI). Returns the configuration text.
// Errors: field "key" / "data" / "digest" for malformed base64 or a `data` that is not IV plus whole
// blocks; FailedPrecondition("public_keys", ...) when the user has no usable key. A key that does not
// unwrap, bad CBC padding and a signature that verifies under none of the keys all give the same
// FailedPrecondition("digest", "Calculated and payload digests do not match!"), status.code 500 as in
// GW (no padding oracle; the log detail says which). The returned text contains the vending key.
Result<SecretBytes> open_configuration_upload(const ServerKey& server_key, std::string_view data_b64,
                                              std::string_view digest_b64, std::string_view key_b64,
                                              std::span<const std::string> user_public_keys);

}  // namespace stsvend::vault
