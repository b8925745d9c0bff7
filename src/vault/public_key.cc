// RSA public key parsing and normalisation; see public_key.h and server_key.h.
#include "vault/public_key.h"

#include <exception>
#include <string>

#include <botan/data_src.h>
#include <botan/exceptn.h>
#include <botan/pem.h>
#include <botan/pk_keys.h>
#include <botan/rsa.h>
#include <botan/system_rng.h>
#include <botan/x509_key.h>

#include "vault/base64.h"
#include "vault/server_key.h"

namespace stsvend::vault {
namespace {

constexpr std::string_view kSpkiLabel = "PUBLIC KEY";
constexpr std::string_view kPkcs1Label = "RSA PUBLIC KEY";
constexpr std::string_view kNotAKey = "must be an RSA public key: base64 SubjectPublicKeyInfo or PEM";

std::string_view trim(std::string_view s) {
  const auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

// Throws Botan exceptions on malformed DER; the caller catches.
std::unique_ptr<Botan::RSA_PublicKey> rsa_from_spki(const std::uint8_t* der, std::size_t len) {
  Botan::DataSource_Memory src(der, len);
  std::unique_ptr<Botan::Public_Key> key(Botan::X509::load_key(src));
  // load_key reads one SubjectPublicKeyInfo and leaves what follows: bytes after it are not a key.
  if (!src.end_of_data()) throw Botan::Decoding_Error("data after the SubjectPublicKeyInfo");
  const auto* rsa = dynamic_cast<const Botan::RSA_PublicKey*>(key.get());
  if (rsa == nullptr) return nullptr;
  return std::make_unique<Botan::RSA_PublicKey>(rsa->get_n(), rsa->get_e());
}

std::unique_ptr<Botan::RSA_PublicKey> rsa_from_pkcs1(const std::uint8_t* der, std::size_t len) {
  return std::make_unique<Botan::RSA_PublicKey>(Botan::AlgorithmIdentifier(),
                                                std::vector<std::uint8_t>(der, der + len));
}

}  // namespace

Result<std::unique_ptr<Botan::RSA_PublicKey>> load_rsa_public_key(std::string_view text) {
  text = trim(text);
  if (text.empty()) return Status::InvalidArgument("key", kNotAKey);
  std::unique_ptr<Botan::RSA_PublicKey> rsa;
  bool parsed_as_other_algorithm = false;
  try {
    if (text.substr(0, 10) == "-----BEGIN") {
      Botan::DataSource_Memory src{std::string(text)};
      std::string label;
      const auto der = Botan::PEM_Code::decode(src, label);
      if (label == kSpkiLabel) {
        rsa = rsa_from_spki(der.data(), der.size());
        parsed_as_other_algorithm = rsa == nullptr;
      } else if (label == kPkcs1Label) {
        rsa = rsa_from_pkcs1(der.data(), der.size());
      } else {
        return Status::InvalidArgument("key", "PEM must be a PUBLIC KEY or RSA PUBLIC KEY block");
      }
    } else {
      auto der = decode_base64_lenient(text, "key");
      if (!der.ok()) return Status::InvalidArgument("key", kNotAKey);
      try {
        rsa = rsa_from_spki(der->data(), der->size());
        parsed_as_other_algorithm = rsa == nullptr;
      } catch (const std::exception&) {
        // Some tools print the bare PKCS#1 RSAPublicKey; accept it too.
        rsa = rsa_from_pkcs1(der->data(), der->size());
      }
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument("key", kNotAKey).with_detail(e.what());
  }
  if (parsed_as_other_algorithm) return Status::InvalidArgument("key", "must be an RSA key");
  if (rsa == nullptr) return Status::InvalidArgument("key", kNotAKey);
  const std::size_t bits = rsa->key_length();
  if (bits < kMinRsaBits) return Status::InvalidArgument("key", "RSA key must have at least 2048 bits");
  if (bits > kMaxRsaBits) return Status::InvalidArgument("key", "RSA key must have at most 16384 bits");
  try {
    // The weak check (odd modulus, odd exponent > 1) needs no randomness from the RNG.
    if (!rsa->check_key(Botan::system_rng(), false)) {
      return Status::InvalidArgument("key", "RSA key has an invalid modulus or exponent");
    }
  } catch (const std::exception& e) {
    return Status::InvalidArgument("key", "RSA key has an invalid modulus or exponent").with_detail(e.what());
  }
  return rsa;
}

Result<std::string> normalize_public_key(std::string_view text) {
  STSVEND_ASSIGN_OR_RETURN(const auto rsa, load_rsa_public_key(text));
  try {
    return encode_base64(Botan::X509::BER_encode(*rsa));
  } catch (const std::exception& e) {
    return Status::Internal("cannot encode the public key").with_detail(e.what());
  }
}

}  // namespace stsvend::vault
