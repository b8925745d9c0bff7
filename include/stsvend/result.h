// Result<T>: a value or a non-OK Status, plus the macros that keep call sites flat.
#pragma once

#include <cassert>
#include <optional>
#include <utility>

#include "stsvend/status.h"

namespace stsvend {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!status_.ok() && "Result needs a value or a non-OK status");
  }

  bool ok() const noexcept { return value_.has_value(); }
  const Status& status() const noexcept { return status_; }
  Status take_status() && { return std::move(status_); }

  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace stsvend

#define STSVEND_CONCAT_INNER_(a, b) a##b
#define STSVEND_CONCAT_(a, b) STSVEND_CONCAT_INNER_(a, b)

#define STSVEND_RETURN_IF_ERROR(expr)                 \
  do {                                                \
    ::stsvend::Status stsvend_status_ = (expr);       \
    if (!stsvend_status_.ok()) return stsvend_status_; \
  } while (0)

#define STSVEND_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).take_status();  \
  lhs = std::move(tmp).value()

#define STSVEND_ASSIGN_OR_RETURN(lhs, expr) \
  STSVEND_ASSIGN_OR_RETURN_IMPL_(STSVEND_CONCAT_(stsvend_result_, __LINE__), lhs, expr)
