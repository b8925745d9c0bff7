// How a command tells its operator what went wrong: the Status message, then its detail (which file,
// what the system or SQLite said) after " - ". The operator is the reader a log line has; a detail
// never holds key material (stsvend/status.h).
#pragma once

#include <string>

#include "stsvend/status.h"

namespace stsvend::cli {

inline std::string operator_message(const Status& s) {
  std::string text = s.message();
  if (!s.detail().empty()) text.append(" - ").append(s.detail());
  return text;
}

}  // namespace stsvend::cli
