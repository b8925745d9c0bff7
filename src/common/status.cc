// Status rendering.
#include "stsvend/status.h"

namespace stsvend {

std::string Status::message() const {
  if (ok()) return "OK";
  if (rep_->field.empty()) return rep_->rule;
  return rep_->field + ": " + rep_->rule;
}

std::string_view Status::code_name(Code code) noexcept {
  switch (code) {
    case Code::kOk: return "ok";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kNotFound: return "not_found";
    case Code::kAlreadyExists: return "already_exists";
    case Code::kFailedPrecondition: return "failed_precondition";
    case Code::kUnauthenticated: return "unauthenticated";
    case Code::kPermissionDenied: return "permission_denied";
    case Code::kCorruption: return "corruption";
    case Code::kUnavailable: return "unavailable";
    case Code::kInternal: return "internal";
  }
  return "unknown";
}

}  // namespace stsvend
