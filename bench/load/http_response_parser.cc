// Minimal HTTP/1.1 response head parser; see http_response_parser.h.
#include "http_response_parser.h"

#include <algorithm>

namespace stsvend::load {
namespace {

constexpr std::string_view kVersionPrefix = "HTTP/1.";
constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kEndOfHead = "\r\n\r\n";
// 18 decimal digits cannot overflow a 64-bit size_t; any real body is far smaller.
constexpr std::size_t kMaxLengthDigits = 18;

ResponseHead fail(const char* why) noexcept {
  ResponseHead h;
  h.state = ResponseHead::State::kError;
  h.error = why;
  return h;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

char to_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// REQUIRES: `lower` is lower case.
bool iequals(std::string_view s, std::string_view lower) noexcept {
  return s.size() == lower.size() &&
         std::equal(s.begin(), s.end(), lower.begin(), [](char a, char b) { return to_lower(a) == b; });
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Connection takes a comma-separated token list ("keep-alive, close"); tokens are case-insensitive.
// REQUIRES: `token` is lower case.
bool has_token(std::string_view list, std::string_view token) noexcept {
  while (!list.empty()) {
    const auto comma = list.find(',');
    if (iequals(trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

ResponseHead parse_response_head(std::string_view in) noexcept {
  // Refuse a stream that cannot be HTTP/1.x from its first bytes rather than wait for an end of head that may
  // never come.
  const std::size_t prefix = std::min(in.size(), kVersionPrefix.size());
  if (in.substr(0, prefix) != kVersionPrefix.substr(0, prefix)) return fail("status line: not HTTP/1.x");

  const auto end = in.find(kEndOfHead);
  if (end == std::string_view::npos) {
    return in.size() >= kMaxResponseHead ? fail("head: longer than 8 KiB") : ResponseHead{};
  }
  ResponseHead h;
  h.head_bytes = end + kEndOfHead.size();
  std::string_view rest = in.substr(0, end + kCrlf.size());  // every line, the status line too, ends in CRLF

  // "HTTP/1.x SSS reason": the reason phrase may be empty, and then servers differ on the space before it.
  auto eol = rest.find(kCrlf);
  const std::string_view status_line = rest.substr(0, eol);
  rest.remove_prefix(eol + kCrlf.size());
  if (status_line.size() < 12 || (status_line[7] != '0' && status_line[7] != '1') || status_line[8] != ' ' ||
      !is_digit(status_line[9]) || !is_digit(status_line[10]) || !is_digit(status_line[11]) ||
      (status_line.size() > 12 && status_line[12] != ' ')) {
    return fail("status line: not HTTP/1.x SSS");
  }
  h.status = (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 + (status_line[11] - '0');
  const bool http10 = status_line[7] == '0';

  bool have_length = false;
  bool keep_alive = false;
  while (!rest.empty()) {
    eol = rest.find(kCrlf);
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(eol + kCrlf.size());
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return fail("header: no name");
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trim(line.substr(colon + 1));
    if (iequals(name, "content-length")) {
      // Two Content-Length headers are a framing ambiguity (RFC 9112 §6.3); refuse rather than pick one.
      if (have_length) return fail("Content-Length: repeated");
      if (value.empty() || value.size() > kMaxLengthDigits || !std::all_of(value.begin(), value.end(), is_digit)) {
        return fail("Content-Length: not a decimal length");
      }
      for (const char c : value) h.body_bytes = h.body_bytes * 10 + static_cast<std::size_t>(c - '0');
      have_length = true;
    } else if (iequals(name, "transfer-encoding")) {
      return fail("Transfer-Encoding: not supported (chunked)");
    } else if (iequals(name, "connection")) {
      h.close = h.close || has_token(value, "close");
      keep_alive = keep_alive || has_token(value, "keep-alive");
    }
  }

  if (h.status < 200) return fail("status: 1xx interim responses not supported");
  if (h.status == 204 || h.status == 304) {
    h.body_bytes = 0;  // no body whatever the headers say (RFC 9112 §6.3 rule 1)
  } else if (!have_length) {
    return fail("Content-Length: missing (read-until-close bodies not supported)");
  }
  // HTTP/1.0 closes after each response unless the server says keep-alive.
  h.close = h.close || (http10 && !keep_alive);
  h.state = ResponseHead::State::kComplete;
  return h;
}

}  // namespace stsvend::load
