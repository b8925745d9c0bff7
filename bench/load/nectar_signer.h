// Nectar v1 request signing (HMAC-SHA256 over METHOD+PATH+MD5+TYPE+DATE+NONCE); docs/api.md and
// /work/shared/api/NECTAR-V1.md §2. The load generator signs every request before the timed phase.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace Botan {
class HashFunction;
class MessageAuthenticationCode;
}  // namespace Botan

namespace stsvend::load {

// Signs requests for one credential. Holds its MAC and hash objects, so signing many requests costs
// only the hashing. Not thread-safe: one per thread.
class NectarSigner {
 public:
  explicit NectarSigner(std::string_view secret);
  ~NectarSigner();
  NectarSigner(const NectarSigner&) = delete;
  NectarSigner& operator=(const NectarSigner&) = delete;

  // Uppercase hex MD5 of the body, as the SDKs put it in Content-MD5.
  std::string content_md5(std::string_view body);

  // Base64 of the lowercase 64-digit hex HMAC-SHA256 of METHOD+PATH+MD5+TYPE+DATE+NONCE (Python/PHP form).
  std::string signature(std::string_view method, std::string_view path, std::string_view md5,
                        std::string_view content_type, std::string_view date, std::string_view nonce);

 private:
  std::unique_ptr<Botan::MessageAuthenticationCode> mac_;
  std::unique_ptr<Botan::HashFunction> md5_;
};

// "Sun Nov 22 23:10:03 UTC 2026": Java Date.toString() in UTC, a zone the server's skew check reads.
std::string java_date_utc(long long unix_seconds);

}  // namespace stsvend::load
