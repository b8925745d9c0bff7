// Minimal HTTP/1.1 response head parser for stsvend_load: status line, Content-Length and Connection only
// (RFC 9112 §4 status line, §6.3 message body length). Bodies framed any other way are refused, not guessed.
#pragma once

#include <cstddef>
#include <string_view>

namespace stsvend::load {

// A head that has not ended after this many bytes is refused (stsvend's heads are a few hundred bytes).
inline constexpr std::size_t kMaxResponseHead = 8192;

struct ResponseHead {
  enum class State { kIncomplete, kComplete, kError };

  State state = State::kIncomplete;
  int status = 0;
  bool close = false;          // the server closes the connection after this response
  std::size_t head_bytes = 0;  // status line, header lines and the empty line
  std::size_t body_bytes = 0;  // Content-Length; 0 for 204 and 304
  const char* error = "";      // static text naming the broken rule, set when state is kError
};

// Parses the head of the response that starts at in[0]; `in` may hold only part of it, or more than it (the
// body). Keeps no state and allocates nothing: on kIncomplete call again with more bytes. kError covers
// malformed heads, heads longer than kMaxResponseHead and bodies this parser does not frame: Transfer-Encoding
// (chunked), no Content-Length (read until close) and 1xx interim responses.
ResponseHead parse_response_head(std::string_view in) noexcept;

}  // namespace stsvend::load
