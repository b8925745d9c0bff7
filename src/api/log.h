// A minimal thread-safe logger for the server: one line per event on stderr. Callers never pass key
// material (secrets, vending keys, signatures); refs and route names are fine.
#pragma once

#include <string_view>

namespace stsvend::api {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

// "debug" | "info" | "warn" | "error" | "off"; false for anything else.
bool set_log_level(std::string_view name);
void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view message);

}  // namespace stsvend::api
