// HMAC authentication; NECTAR-V1.md §2.
#include "api/authenticator.h"

#include <cctype>

#include "api/http_date.h"
#include "api/nectar_signature.h"

namespace stsvend::api {

namespace http = boost::beast::http;

namespace {

bool blank(std::string_view s) {
  for (char c : s) {
    if (!std::isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool equal_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

Result<Caller> authenticate(service::Service& service, const HttpRequest& request, std::string_view path,
                            std::string_view permission, std::int64_t now_unix_seconds, bool defer_nonce) {
  const auto header = [&request](std::string_view name) -> std::string_view {
    const auto it = request.find(name);
    return it == request.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
  };
  const std::string_view authorization = header("Authorization");
  const std::string_view content_type = header("Content-Type");
  const std::string_view content_md5 = header("Content-MD5");
  const std::string_view date = header("Date");
  const std::string_view nonce = header("nonce");
  if (blank(authorization)) return Status::Unauthenticated("missing Authorization header");
  if (blank(content_type)) return Status::Unauthenticated("missing Content-Type header");
  if (blank(content_md5)) return Status::Unauthenticated("missing Content-MD5 header");
  if (blank(date)) return Status::Unauthenticated("missing Date header");
  if (blank(nonce)) return Status::Unauthenticated("missing nonce header");
  if (nonce.size() > 128) return Status::Unauthenticated("nonce header longer than 128 characters");
  STSVEND_ASSIGN_OR_RETURN(auto auth, parse_authorization(authorization));

  auto found = service.credential_for_auth(auth.key);
  if (!found.ok()) {
    if (found.status().code() == Status::Code::kNotFound) return Status::Unauthenticated("unknown credentials key");
    return std::move(found).take_status();
  }
  const service::AuthCredential* cred = found->get();
  if (!cred->activated) return Status::Unauthenticated("credentials are deactivated");

  const std::string to_sign =
      string_to_sign(request.method_string(), path, content_md5, content_type, date, nonce);
  if (!verify_signature(cred->secret.span(), to_sign, auth.signature)) {
    return Status::Unauthenticated("signature does not match");
  }
  if (!equal_ignore_case(content_md5_hex(request.body()), content_md5)) {
    return Status::Unauthenticated("Content-MD5 does not match the body");
  }
  const std::optional<ParsedDate> parsed_date = parse_sdk_date(date);
  STSVEND_RETURN_IF_ERROR(check_date_skew(parsed_date, now_unix_seconds));
  const std::int64_t dated = parsed_date && parsed_date->has_zone ? parsed_date->unix_seconds * 1000 : 0;
  if (!permission.empty() && !cred->permissions.contains(permission)) {
    return Status::PermissionDenied("credentials lack the permission " + std::string(permission));
  }
  Caller caller;
  caller.nonce_dated = dated;
  if (defer_nonce) {
    caller.pending_nonce = std::string(nonce);
  } else if (Status s = service.consume_nonce(auth.key, nonce, dated); !s.ok()) {
    if (s.code() == Status::Code::kAlreadyExists) return Status::Unauthenticated("nonce already used");
    return s;
  }
  caller.user_ref = cred->user_ref;
  caller.credential_ref = cred->ref;
  caller.key = cred->key;
  caller.permissions = cred->permissions;
  return caller;
}

}  // namespace stsvend::api
