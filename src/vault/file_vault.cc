// The file-backed vault: a 32-byte master key in <data_dir>/vault.key (mode 0600) and AES-256-GCM
// records (record_format.h). See docs/vault.md for the threat model.
#include <exception>
#include <memory>
#include <utility>

#include <botan/system_rng.h>

#include "vault/aes_gcm.h"
#include "vault/atomic_file.h"
#include "vault/record_format.h"
#include "vault/vault.h"

namespace stsvend::vault {
namespace {

constexpr std::size_t kMasterKeyBytes = 32;
constexpr const char* kMasterKeyFile = "vault.key";

// Thread-safety: the key and its id are immutable after construction and every seal/open builds
// its own cipher object, so concurrent calls share no mutable state.
class FileVault final : public Vault {
 public:
  explicit FileVault(SecretBytes key) : key_(std::move(key)), key_id_(derive_key_id(key_.span())) {}

  Result<std::vector<std::uint8_t>> seal(std::span<const std::uint8_t> plaintext, std::string_view aad) override {
    STSVEND_ASSIGN_OR_RETURN(const auto nonce, fresh_nonce());
    const auto gcm_aad = record_aad(key_id_, aad);
    STSVEND_ASSIGN_OR_RETURN(auto body, aes_gcm_encrypt(key_.span(), nonce, gcm_aad, plaintext));
    return assemble_record(key_id_, nonce, body);
  }

  Result<SecretBytes> open(std::span<const std::uint8_t> sealed, std::string_view aad) override {
    STSVEND_ASSIGN_OR_RETURN(const RecordView record, parse_record(sealed, key_id_));
    const auto gcm_aad = record_aad(key_id_, aad);
    return aes_gcm_decrypt(key_.span(), record.nonce, gcm_aad, record.ciphertext_and_tag);
  }

  std::string backend_name() const override { return "file"; }

 private:
  const SecretBytes key_;
  const KeyId key_id_;
};

}  // namespace

Result<std::unique_ptr<Vault>> open_file_vault(const std::filesystem::path& data_dir) {
  STSVEND_RETURN_IF_ERROR(ensure_private_dir(data_dir));
  const auto path = data_dir / kMasterKeyFile;
  auto existing = read_private_file(path, kMasterKeyBytes, kMasterKeyBytes);
  if (existing.ok()) return std::unique_ptr<Vault>(std::make_unique<FileVault>(std::move(existing).value()));
  if (existing.status().code() != Status::Code::kNotFound) return std::move(existing).take_status();

  SecretBytes fresh(kMasterKeyBytes);
  try {
    Botan::system_rng().randomize(fresh.data(), fresh.size());
  } catch (const std::exception& e) {
    return Status::Unavailable("system random number generator failed").with_detail(e.what());
  }
  const Status written = write_private_file(path, fresh.span(), Overwrite::kNo);
  if (written.code() == Status::Code::kAlreadyExists) {
    // Another process created the key between our read and our link(); use theirs.
    STSVEND_ASSIGN_OR_RETURN(SecretBytes theirs, read_private_file(path, kMasterKeyBytes, kMasterKeyBytes));
    return std::unique_ptr<Vault>(std::make_unique<FileVault>(std::move(theirs)));
  }
  STSVEND_RETURN_IF_ERROR(written);
  return std::unique_ptr<Vault>(std::make_unique<FileVault>(std::move(fresh)));
}

}  // namespace stsvend::vault
