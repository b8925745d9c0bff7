// The Nectar HMAC authentication middleware: headers, credential lookup, signature (both hex forms,
// constant time), Content-MD5, Date skew, permission, nonce. NECTAR-V1.md §2.5–2.6; docs/api.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "api/http_server.h"
#include "service/service.h"
#include "stsvend/result.h"

namespace stsvend::api {

// The acting user of an authenticated request.
struct Caller {
  std::string user_ref;
  std::string credential_ref;
  std::string key;
  service::PermissionSet permissions;
  // Set when authenticate was asked to defer the nonce: the handler must see it recorded before it
  // answers (Service::vend_async does, whatever the outcome) or record it itself
  // (Service::consume_nonce_async; NectarApi::answer_burning_nonce).
  std::string pending_nonce;
  std::int64_t nonce_dated = 0;  // ms: the request's zoned Date, for Service::consume_nonce
  bool has(std::string_view permission) const { return permissions.contains(permission); }
};

// Unauthenticated (→ 401) for missing/blank headers, a malformed Authorization, an unknown or
// deactivated key, a bad signature, a Content-MD5 mismatch, a Date off by more than the skew limit,
// or a replayed nonce; PermissionDenied (→ 403) when the credential lacks `permission`.
// `path` is the raw request path without the query (what the SDKs sign).
// The order matters: nothing about a credential (its permissions) is revealed before its signature
// verifies, and a nonce is only consumed by a request that passed every other check.
// With defer_nonce the nonce is not consumed here but returned in Caller::pending_nonce.
Result<Caller> authenticate(service::Service& service, const HttpRequest& request, std::string_view path,
                            std::string_view permission, std::int64_t now_unix_seconds, bool defer_nonce = false);

}  // namespace stsvend::api
