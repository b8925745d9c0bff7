// The server's RSA key pair, sealed by the vault in <data_dir>/server_key.sealed; see server_key.h.
#include "vault/server_key.h"

#include <exception>
#include <utility>

#include <botan/data_src.h>
#include <botan/pk_keys.h>
#include <botan/pkcs8.h>
#include <botan/pubkey.h>
#include <botan/rsa.h>
#include <botan/system_rng.h>
#include <botan/x509_key.h>

#include "vault/atomic_file.h"
#include "vault/base64.h"
#include "vault/public_key.h"

namespace stsvend::vault {
namespace {

constexpr const char* kSealedFile = "server_key.sealed";
constexpr std::string_view kSealAad = "server_key";
constexpr std::size_t kGeneratedBits = 4096;
// A sealed RSA-16384 PKCS#8 is about 9.5 KB; anything far larger is not ours.
constexpr std::size_t kMaxSealedBytes = 64 * 1024;

// Thread-safety: the key is immutable after construction; each decryption builds its own operation
// (with its own blinding state) and draws from the thread-safe system RNG.
class RsaServerKey final : public ServerKey {
 public:
  RsaServerKey(std::unique_ptr<Botan::RSA_PrivateKey> key, std::string pem, std::string spki_base64)
      : key_(std::move(key)), pem_(std::move(pem)), spki_base64_(std::move(spki_base64)) {}

  std::string public_key_pem() const override { return pem_; }
  std::string public_key_spki_base64() const override { return spki_base64_; }

  Result<SecretBytes> decrypt_pkcs1v15(std::span<const std::uint8_t> ciphertext) const override {
    try {
      Botan::PK_Decryptor_EME decryptor(*key_, Botan::system_rng(), "PKCS1v15");
      const auto plain = decryptor.decrypt(ciphertext.data(), ciphertext.size());
      return SecretBytes(std::span<const std::uint8_t>(plain.data(), plain.size()));
    } catch (const std::exception&) {
      return Status::InvalidArgument("key", "does not decrypt with the server key");
    }
  }

 private:
  std::unique_ptr<Botan::RSA_PrivateKey> key_;
  std::string pem_;
  std::string spki_base64_;
};

// Encodes the public half once, here, so the accessors cannot throw.
Result<std::unique_ptr<ServerKey>> make_server_key(std::unique_ptr<Botan::RSA_PrivateKey> key) {
  try {
    std::string pem = Botan::X509::PEM_encode(*key);
    std::string spki = encode_base64(Botan::X509::BER_encode(*key));
    return std::unique_ptr<ServerKey>(std::make_unique<RsaServerKey>(std::move(key), std::move(pem), std::move(spki)));
  } catch (const std::exception& e) {
    return Status::Internal("cannot encode the server public key").with_detail(e.what());
  }
}

// Parses PKCS#8 (PEM or DER, unencrypted) and requires RSA with at least 2048 bits.
// Throws nothing; Botan's exceptions become InvalidArgument("pkcs8", ...).
Result<std::unique_ptr<Botan::RSA_PrivateKey>> parse_rsa_pkcs8(std::span<const std::uint8_t> pkcs8) {
  std::unique_ptr<Botan::Private_Key> key;
  try {
    Botan::DataSource_Memory src(pkcs8.data(), pkcs8.size());
    key = Botan::PKCS8::load_key(src);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("pkcs8", "must be an unencrypted PKCS#8 private key (PEM or DER)")
        .with_detail(e.what());
  }
  auto* rsa = dynamic_cast<Botan::RSA_PrivateKey*>(key.get());
  if (rsa == nullptr) return Status::InvalidArgument("pkcs8", "must be an RSA private key");
  if (rsa->key_length() < kMinRsaBits) return Status::InvalidArgument("pkcs8", "RSA key must have at least 2048 bits");
  if (rsa->key_length() > kMaxRsaBits) return Status::InvalidArgument("pkcs8", "RSA key must have at most 16384 bits");
  try {
    if (!rsa->check_key(Botan::system_rng(), false)) {
      return Status::InvalidArgument("pkcs8", "RSA private key is inconsistent");
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument("pkcs8", "RSA private key is inconsistent").with_detail(e.what());
  }
  key.release();
  return std::unique_ptr<Botan::RSA_PrivateKey>(rsa);
}

Status seal_and_store(Vault& vault, const std::filesystem::path& path, const Botan::RSA_PrivateKey& key,
                      Overwrite overwrite) {
  Botan::secure_vector<std::uint8_t> der;
  try {
    der = Botan::PKCS8::BER_encode(key);
  } catch (const std::exception& e) {
    return Status::Internal("cannot encode the server key").with_detail(e.what());
  }
  STSVEND_ASSIGN_OR_RETURN(const std::vector<std::uint8_t> sealed,
                           vault.seal(std::span<const std::uint8_t>(der.data(), der.size()), kSealAad));
  return write_private_file(path, sealed, overwrite);
}

Result<std::unique_ptr<Botan::RSA_PrivateKey>> load_sealed(Vault& vault, const std::filesystem::path& path) {
  STSVEND_ASSIGN_OR_RETURN(const SecretBytes sealed, read_private_file(path, 0, kMaxSealedBytes));
  auto plain = vault.open(sealed.span(), kSealAad);
  if (!plain.ok()) {
    return std::move(plain).take_status().with_detail(path.string() + " does not open with this vault");
  }
  auto key = parse_rsa_pkcs8(plain->span());
  if (!key.ok()) return Status::Corruption("server_key", "sealed server key does not parse");
  return key;
}

}  // namespace

Result<std::unique_ptr<ServerKey>> ServerKey::load_or_create(Vault& vault, const std::filesystem::path& data_dir) {
  STSVEND_RETURN_IF_ERROR(ensure_private_dir(data_dir));
  const auto path = data_dir / kSealedFile;
  auto existing = load_sealed(vault, path);
  if (existing.ok()) return make_server_key(std::move(existing).value());
  if (existing.status().code() != Status::Code::kNotFound) return std::move(existing).take_status();

  std::unique_ptr<Botan::RSA_PrivateKey> fresh;
  try {
    fresh = std::make_unique<Botan::RSA_PrivateKey>(Botan::system_rng(), kGeneratedBits);
  } catch (const std::exception& e) {
    return Status::Internal("cannot generate the server key").with_detail(e.what());
  }
  const Status stored = seal_and_store(vault, path, *fresh, Overwrite::kNo);
  if (stored.code() == Status::Code::kAlreadyExists) {
    // Another process stored its key first; every process must serve the same public key.
    STSVEND_ASSIGN_OR_RETURN(auto theirs, load_sealed(vault, path));
    return make_server_key(std::move(theirs));
  }
  STSVEND_RETURN_IF_ERROR(stored);
  return make_server_key(std::move(fresh));
}

Status ServerKey::import_pkcs8(Vault& vault, const std::filesystem::path& data_dir,
                               std::span<const std::uint8_t> pkcs8) {
  STSVEND_ASSIGN_OR_RETURN(const auto key, parse_rsa_pkcs8(pkcs8));
  STSVEND_RETURN_IF_ERROR(ensure_private_dir(data_dir));
  return seal_and_store(vault, data_dir / kSealedFile, *key, Overwrite::kYes);
}

}  // namespace stsvend::vault
