// Key custody: every secret stsvend stores (vending keys inside configuration text, credential
// secrets, the server's RSA private key) is sealed here with AES-256-GCM under a master key that
// lives in a 0600 file or in a PKCS#11 token. See docs/vault.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stsvend/result.h"
#include "stsvend/secret.h"

namespace stsvend::vault {

class Vault {
 public:
  virtual ~Vault() = default;

  // Sealed record layout: version(1) ‖ key_id(4, big-endian) ‖ nonce(12) ‖ ciphertext ‖ tag(16)
  // (constants in vault/record_format.h). AES-256-GCM with a fresh random 96-bit nonce per record;
  // GCM authenticates version ‖ key_id ‖ aad. key_id = first 4 bytes of SHA-256 of the master key
  // (PKCS#11: of a key check value), so rotation can be added later.
  // `aad` binds the record to its place (e.g. "config:<ref>"), so a sealed blob cannot be moved to
  // another row. Thread-safe.
  virtual Result<std::vector<std::uint8_t>> seal(std::span<const std::uint8_t> plaintext,
                                                 std::string_view aad) = 0;
  // A truncated, tampered, foreign (other master key) or wrongly labelled (other aad) record is
  // Corruption("sealed", ...); it never opens to different bytes.
  virtual Result<SecretBytes> open(std::span<const std::uint8_t> sealed, std::string_view aad) = 0;
  virtual std::string backend_name() const = 0;  // "file" or "pkcs11"
};

// The master key in `<data_dir>/vault.key` (32 random bytes, mode 0600), created when absent
// (atomically; `data_dir` is created 0700 if missing). Refuses (FailedPrecondition, field "path") a
// key file that is wider than 0600, a symlink, owned by another user or not exactly 32 bytes.
Result<std::unique_ptr<Vault>> open_file_vault(const std::filesystem::path& data_dir);

struct Pkcs11Options {
  std::string module_path;   // e.g. /usr/lib/softhsm/libsofthsm2.so
  std::string token_label;
  std::string pin;
  std::string key_label = "stsvend-master";  // AES-256 secret key object, created when absent
};
// The master key never leaves the token: seal/open run C_Encrypt/C_Decrypt (CKM_AES_GCM) inside it.
// Setup with SoftHSM2 in docs/vault.md. Errors: FailedPrecondition("module_path") for a module that
// does not load, NotFound("token_label"), Unauthenticated for a rejected PIN, Unavailable for
// other token failures (CKR code in the detail).
Result<std::unique_ptr<Vault>> open_pkcs11_vault(const Pkcs11Options& options);

}  // namespace stsvend::vault
