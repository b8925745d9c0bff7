// JSON mapping helpers for the Nectar wire; NECTAR-V1.md §1.
#include "api/json_io.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace stsvend::api {

namespace {

void write_double(double d, std::string& out) {
  if (!std::isfinite(d)) {  // JSON has no NaN/Inf; never produced by our mappings
    out += "null";
    return;
  }
  // Fixed notation, never an exponent: the shortest form of 0.0005 is "5e-04", which has no decimal
  // point (NECTAR-V1 §1). The shortest fixed text of any double fits: DBL_MAX has 309 integer digits,
  // the smallest subnormal 324 fractional ones.
  char buf[400];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::fixed);
  std::string_view text(buf, static_cast<std::size_t>(res.ptr - buf));
  out.append(text);
  if (text.find('.') == std::string_view::npos) out += ".0";
}

// Length of the well-formed UTF-8 sequence (RFC 3629 table 3.7: no overlong forms, no surrogates,
// nothing above U+10FFFF) that starts at s[i], or 0 when there is none.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char lead = byte(i);
  std::size_t n = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // UTF-16 surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() - i < n || byte(i + 1) < second_min || byte(i + 1) > second_max) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  return n;
}

// A JSON string as Boost.JSON's serializer escapes it (", \\, \b \f \n \r \t, other control
// characters as \u00xx, UTF-8 as is), without its allocations, and always valid JSON: a byte that
// is not part of well-formed UTF-8 (a percent-decoded query value or a request path the answer
// repeats can hold any byte) becomes U+FFFD, where Boost.JSON would copy it and strict parsers on
// the client side would refuse the whole answer.
void write_string(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t plain = 0;  // start of the run not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') continue;
    if (c >= 0x80) {
      if (const std::size_t n = utf8_sequence_length(s, i); n != 0) {
        i += n - 1;
        continue;
      }
    }
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        if (c >= 0x80) {
          out += "\\ufffd";
          break;
        }
        const char u[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out.append(u, sizeof(u));
        break;
      }
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

template <typename Int>
void write_integer(Int value, std::string& out) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof(buf), value);
  out.append(buf, static_cast<std::size_t>(res.ptr - buf));
}

void write_value(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        write_string(std::string_view(kv.key().data(), kv.key().size()), out);
        out += ':';
        write_value(kv.value(), out);
      }
      out += '}';
      break;
    }
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write_value(e, out);
      }
      out += ']';
      break;
    }
    case boost::json::kind::double_:
      write_double(v.get_double(), out);
      break;
    case boost::json::kind::string:
      write_string(std::string_view(v.get_string().data(), v.get_string().size()), out);
      break;
    case boost::json::kind::int64:
      write_integer(v.get_int64(), out);
      break;
    case boost::json::kind::uint64:
      write_integer(v.get_uint64(), out);
      break;
    case boost::json::kind::bool_:
      out += v.get_bool() ? "true" : "false";
      break;
    case boost::json::kind::null:
      out += "null";
      break;
  }
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string write_json(const boost::json::value& v) {
  std::string out;
  out.reserve(512);  // a vend's envelope fits
  write_value(v, out);
  return out;
}

void append_json(const boost::json::value& v, std::string& out) { write_value(v, out); }

Result<boost::json::object> parse_json_object(std::string_view body, const boost::json::storage_ptr& sp) {
  std::size_t i = 0;
  while (i < body.size() && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t')) ++i;
  if (i == body.size()) return boost::json::object(sp);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec, sp);
  if (ec) return Status::InvalidArgument(kBodyField, "must be valid JSON");
  if (!v.is_object()) return Status::InvalidArgument(kBodyField, "must be a JSON object");
  return std::move(v.as_object());
}

Result<std::optional<std::string>> scalar_text(const boost::json::object& o, std::string_view field) {
  const auto* v = o.if_contains(field);
  if (v == nullptr || v->is_null()) return std::optional<std::string>();
  switch (v->kind()) {
    case boost::json::kind::string:
      return std::optional<std::string>(std::string(v->get_string()));
    case boost::json::kind::int64:
      return std::optional<std::string>(std::to_string(v->get_int64()));
    case boost::json::kind::uint64:
      return std::optional<std::string>(std::to_string(v->get_uint64()));
    case boost::json::kind::double_: {
      char buf[64];
      auto res = std::to_chars(buf, buf + sizeof(buf), v->get_double(), std::chars_format::fixed);
      if (res.ec != std::errc()) return Status::InvalidArgument(field, "must be a number in range");
      return std::optional<std::string>(std::string(buf, res.ptr));
    }
    case boost::json::kind::bool_:
      return std::optional<std::string>(v->get_bool() ? "true" : "false");
    default:
      return Status::InvalidArgument(field, "must be a string, number or boolean");
  }
}

Result<std::optional<std::uint64_t>> uint_field(const boost::json::object& o, std::string_view field,
                                                std::uint64_t min, std::uint64_t max) {
  STSVEND_ASSIGN_OR_RETURN(auto text, scalar_text(o, field));
  if (!text) return std::optional<std::uint64_t>();
  std::string_view s = *text;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  // A native 7.0 or "7.0" is the integer 7 (J21 writes whole doubles either way).
  if (const auto dot = s.find('.'); dot != std::string_view::npos) {
    const std::string_view frac = s.substr(dot + 1);
    if (!frac.empty() && frac.find_first_not_of('0') != std::string_view::npos) {
      return Status::InvalidArgument(field, "must be a whole number from " + std::to_string(min) + " to " +
                                                std::to_string(max));
    }
    s = s.substr(0, dot);
  }
  std::uint64_t value = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), value);
  if (!all_digits(s) || res.ec != std::errc() || res.ptr != s.data() + s.size() || value < min || value > max) {
    return Status::InvalidArgument(field, "must be a whole number from " + std::to_string(min) + " to " +
                                              std::to_string(max));
  }
  return std::optional<std::uint64_t>(value);
}

std::optional<bool> parse_bool_text(std::string_view s) {
  auto lower = [](std::string_view in) {
    std::string r(in);
    for (char& c : r) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return r;
  };
  const std::string l = lower(s);
  if (l == "true" || l == "1") return true;
  if (l == "false" || l == "0") return false;
  return std::nullopt;
}

Result<bool> query_flag(const std::string* value, std::string_view name) {
  if (value == nullptr || value->empty()) return false;
  const auto parsed = parse_bool_text(*value);
  if (!parsed) return Status::InvalidArgument(name, "must be true, false, 1 or 0");
  return *parsed;
}

Result<std::optional<bool>> bool_field(const boost::json::object& o, std::string_view field) {
  STSVEND_ASSIGN_OR_RETURN(auto text, scalar_text(o, field));
  if (!text) return std::optional<bool>();
  const auto b = parse_bool_text(*text);
  if (!b) return Status::InvalidArgument(field, "must be true or false");
  return std::optional<bool>(*b);
}

Result<std::optional<std::string>> digits_field(const boost::json::object& o, std::string_view field,
                                                std::size_t min_len, std::size_t max_len) {
  const auto* v = o.if_contains(field);
  if (v != nullptr && v->is_double()) {
    return Status::InvalidArgument(field, "must be a string of " + std::to_string(min_len) + " to " +
                                              std::to_string(max_len) + " digits");
  }
  STSVEND_ASSIGN_OR_RETURN(auto text, scalar_text(o, field));
  if (!text) return std::optional<std::string>();
  if (!all_digits(*text) || text->size() < min_len || text->size() > max_len) {
    if (min_len == max_len) {
      return Status::InvalidArgument(field, "must be a string of " + std::to_string(min_len) + " digits");
    }
    return Status::InvalidArgument(field, "must be a string of " + std::to_string(min_len) + " to " +
                                              std::to_string(max_len) + " digits");
  }
  return text;
}

Result<std::optional<std::string>> text_field(const boost::json::object& o, std::string_view field) {
  STSVEND_ASSIGN_OR_RETURN(auto text, scalar_text(o, field));
  if (!text) return std::optional<std::string>();
  if (text->empty()) return Status::InvalidArgument(field, "must not be empty");
  return text;
}

std::string iso_millis(std::int64_t unix_millis) {
  std::int64_t secs = unix_millis / 1000;
  std::int64_t ms = unix_millis % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

}  // namespace stsvend::api
