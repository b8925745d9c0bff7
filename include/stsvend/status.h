// Status: success or an error that names the input field and the rule it broke.
// Shaped like LevelDB's Status; docs/api.md ("Envelope and errors") maps codes to HTTP and Nectar.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace stsvend {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kInvalidArgument,    // bad input: field + rule say which
    kNotFound,           // a ref the caller named does not exist (or is not theirs)
    kAlreadyExists,
    kFailedPrecondition, // valid input, wrong state (insufficient credit, key change needed, ...)
    kUnauthenticated,
    kPermissionDenied,
    kCorruption,         // stored data does not decode or authenticate
    kUnavailable,        // transient: disk full, database busy
    kInternal,           // a bug
  };

  Status() noexcept = default;  // OK; allocates nothing
  Status(const Status& other) : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}
  Status& operator=(const Status& other) {
    if (this != &other) rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status Ok() noexcept { return Status(); }
  // field: the input as the caller named it ("amount", "vending_key"); rule: what it must satisfy.
  static Status InvalidArgument(std::string_view field, std::string_view rule) {
    return Status(Code::kInvalidArgument, field, rule);
  }
  static Status NotFound(std::string_view field, std::string_view rule) {
    return Status(Code::kNotFound, field, rule);
  }
  static Status AlreadyExists(std::string_view field, std::string_view rule) {
    return Status(Code::kAlreadyExists, field, rule);
  }
  static Status FailedPrecondition(std::string_view field, std::string_view rule) {
    return Status(Code::kFailedPrecondition, field, rule);
  }
  static Status Unauthenticated(std::string_view rule) { return Status(Code::kUnauthenticated, "", rule); }
  static Status PermissionDenied(std::string_view rule) { return Status(Code::kPermissionDenied, "", rule); }
  static Status Corruption(std::string_view field, std::string_view rule) {
    return Status(Code::kCorruption, field, rule);
  }
  static Status Unavailable(std::string_view rule) { return Status(Code::kUnavailable, "", rule); }
  static Status Internal(std::string_view rule) { return Status(Code::kInternal, "", rule); }

  bool ok() const noexcept { return rep_ == nullptr; }
  Code code() const noexcept { return rep_ ? rep_->code : Code::kOk; }
  // The input field that broke a rule; empty when the error is not about one field.
  std::string_view field() const noexcept { return rep_ ? std::string_view(rep_->field) : std::string_view(); }
  // The rule, in words a user can act on. Never contains key material.
  std::string_view rule() const noexcept { return rep_ ? std::string_view(rep_->rule) : std::string_view(); }
  // Detail for the log only (never shown to API clients, never key material).
  std::string_view detail() const noexcept { return rep_ ? std::string_view(rep_->detail) : std::string_view(); }
  Status&& with_detail(std::string detail) && {
    if (rep_) rep_->detail = std::move(detail);
    return std::move(*this);
  }

  // "field: rule" (or just the rule); "OK" for success.
  std::string message() const;
  static std::string_view code_name(Code code) noexcept;

 private:
  struct Rep {
    Code code;
    std::string field;
    std::string rule;
    std::string detail;
  };
  Status(Code code, std::string_view field, std::string_view rule)
      : rep_(std::make_unique<Rep>(Rep{code, std::string(field), std::string(rule), {}})) {}
  std::unique_ptr<Rep> rep_;
};

}  // namespace stsvend
