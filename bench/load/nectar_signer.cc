// Nectar v1 request signing; see nectar_signer.h.
#include "nectar_signer.h"

#include <ctime>
#include <memory>

#include <botan/base64.h>
#include <botan/hash.h>
#include <botan/hex.h>
#include <botan/mac.h>

namespace stsvend::load {

NectarSigner::NectarSigner(std::string_view secret)
    : mac_(Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-256)")),
      md5_(Botan::HashFunction::create_or_throw("MD5")) {
  mac_->set_key(reinterpret_cast<const std::uint8_t*>(secret.data()), secret.size());
}

NectarSigner::~NectarSigner() = default;

std::string NectarSigner::content_md5(std::string_view body) {
  md5_->update(reinterpret_cast<const std::uint8_t*>(body.data()), body.size());
  return Botan::hex_encode(md5_->final(), /*uppercase=*/true);
}

std::string NectarSigner::signature(std::string_view method, std::string_view path, std::string_view md5,
                                    std::string_view content_type, std::string_view date, std::string_view nonce) {
  for (std::string_view part : {method, path, md5, content_type, date, nonce}) {
    mac_->update(reinterpret_cast<const std::uint8_t*>(part.data()), part.size());
  }
  // final() also resets the MAC for the next message; the key stays set.
  const std::string hex = Botan::hex_encode(mac_->final(), /*uppercase=*/false);
  return Botan::base64_encode(reinterpret_cast<const std::uint8_t*>(hex.data()), hex.size());
}

std::string java_date_utc(long long unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  // %a/%b are locale-dependent; the program never calls setlocale, so they are the C locale's English names.
  std::strftime(buf, sizeof buf, "%a %b %d %H:%M:%S UTC %Y", &tm);
  return buf;
}

}  // namespace stsvend::load
