// SDK Date header parsing; NECTAR-V1.md §2.1 and §2.6.
#include "api/http_date.h"

#include <array>
#include <cctype>
#include <string>
#include <vector>

namespace stsvend::api {

namespace {

std::vector<std::string_view> split_spaces(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

bool parse_uint(std::string_view s, std::size_t min_digits, std::size_t max_digits, int* out) {
  if (s.size() < min_digits || s.size() > max_digits) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool equals_ci(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

int month_index(std::string_view m) {
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t i = 0; i < kMonths.size(); ++i) {
    if (equals_ci(m, kMonths[i])) return static_cast<int>(i) + 1;
  }
  return 0;
}

bool is_weekday(std::string_view d) {
  static constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  for (auto k : kDays) {
    if (equals_ci(d, k)) return true;
  }
  return false;
}

// Days from 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

// "HH:mm:ss" with one- or two-digit hour (PHP's G).
bool parse_clock(std::string_view s, int* h, int* mi, int* sec) {
  const std::size_t c1 = s.find(':');
  if (c1 == std::string_view::npos) return false;
  const std::size_t c2 = s.find(':', c1 + 1);
  if (c2 == std::string_view::npos) return false;
  return parse_uint(s.substr(0, c1), 1, 2, h) && parse_uint(s.substr(c1 + 1, c2 - c1 - 1), 2, 2, mi) &&
         parse_uint(s.substr(c2 + 1), 2, 2, sec) && *h < 24 && *mi < 60 && *sec < 61;
}

// Zone offsets in seconds east of UTC. Abbreviations Java and PHP print for the zones SDK users
// are likely to run in; ambiguous ones (IST, CST) take the reading most common among STS users
// (India, US Central) — a wrong guess only widens a skew check, it never weakens the nonce guard.
std::optional<std::int64_t> zone_offset(std::string_view z) {
  struct Abbrev {
    std::string_view name;
    int minutes;
  };
  static constexpr std::array<Abbrev, 30> kZones = {{
      {"UTC", 0},     {"GMT", 0},     {"Z", 0},       {"UT", 0},      {"WET", 0},    {"BST", 60},
      {"WAT", 60},    {"CET", 60},    {"CEST", 120},  {"CAT", 120},   {"SAST", 120}, {"EET", 120},
      {"EEST", 180},  {"EAT", 180},   {"MSK", 180},   {"IST", 330},   {"PKT", 300},  {"ICT", 420},
      {"WIB", 420},   {"HKT", 480},   {"SGT", 480},   {"JST", 540},   {"AEST", 600}, {"EST", -300},
      {"EDT", -240},  {"CST", -360},  {"CDT", -300},  {"MST", -420},  {"PST", -480}, {"PDT", -420},
  }};
  for (const auto& a : kZones) {
    if (equals_ci(z, a.name)) return static_cast<std::int64_t>(a.minutes) * 60;
  }
  // Numeric forms: "+03", "+0300", "+03:00", also "GMT+03:00" / "UTC-05:00" (Java custom zones).
  std::string_view s = z;
  if (s.size() > 3 && (equals_ci(s.substr(0, 3), "GMT") || equals_ci(s.substr(0, 3), "UTC"))) s.remove_prefix(3);
  if (s.empty() || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  const int sign = s[0] == '-' ? -1 : 1;
  s.remove_prefix(1);
  int h = 0;
  int m = 0;
  if (s.size() == 2 || s.size() == 1) {
    if (!parse_uint(s, 1, 2, &h)) return std::nullopt;
  } else if (s.size() == 4) {
    if (!parse_uint(s.substr(0, 2), 2, 2, &h) || !parse_uint(s.substr(2), 2, 2, &m)) return std::nullopt;
  } else if (s.size() == 5 && s[2] == ':') {
    if (!parse_uint(s.substr(0, 2), 2, 2, &h) || !parse_uint(s.substr(3), 2, 2, &m)) return std::nullopt;
  } else {
    return std::nullopt;
  }
  if (h > 14 || m > 59) return std::nullopt;
  return sign * (static_cast<std::int64_t>(h) * 3600 + m * 60);
}

std::optional<ParsedDate> assemble(int year, int month, int day, int h, int mi, int sec,
                                   std::optional<std::string_view> zone) {
  if (month < 1 || day < 1 || day > 31 || year < 1970 || year > 9999) return std::nullopt;
  const std::int64_t local = days_from_civil(year, month, day) * 86400 + h * 3600 + mi * 60 + sec;
  if (!zone) return ParsedDate{local, false};
  const auto off = zone_offset(*zone);
  // A zone we cannot map still stamps the client's wall clock: checked as a zoneless date, not skipped.
  if (!off) return ParsedDate{local, false};
  return ParsedDate{local - *off, true};
}

}  // namespace

std::optional<ParsedDate> parse_sdk_date(std::string_view text) {
  const auto parts = split_spaces(text);
  if (parts.size() < 5 || parts.size() > 6) return std::nullopt;
  int year = 0;
  int day = 0;
  int h = 0;
  int mi = 0;
  int sec = 0;
  if (parts[0].size() == 4 && parts[0].back() == ',') {
    // PHP / Python / RFC 7231: "Sun, 22 Nov 2026 23:10:03 [zone]"
    if (!is_weekday(parts[0].substr(0, 3))) return std::nullopt;
    const int month = month_index(parts[2]);
    if (month == 0 || !parse_uint(parts[1], 1, 2, &day) || !parse_uint(parts[3], 4, 4, &year) ||
        !parse_clock(parts[4], &h, &mi, &sec)) {
      return std::nullopt;
    }
    std::optional<std::string_view> zone;
    if (parts.size() == 6) zone = parts[5];
    return assemble(year, month, day, h, mi, sec, zone);
  }
  // Java: "Sun Nov 22 23:10:03 UTC 2026"
  if (parts.size() != 6 || !is_weekday(parts[0])) return std::nullopt;
  const int month = month_index(parts[1]);
  if (month == 0 || !parse_uint(parts[2], 1, 2, &day) || !parse_clock(parts[3], &h, &mi, &sec) ||
      !parse_uint(parts[5], 4, 4, &year)) {
    return std::nullopt;
  }
  return assemble(year, month, day, h, mi, sec, parts[4]);
}

Status check_date_skew(std::string_view date_header, std::int64_t now_unix_seconds) {
  return check_date_skew(parse_sdk_date(date_header), now_unix_seconds);
}

Status check_date_skew(const std::optional<ParsedDate>& parsed, std::int64_t now_unix_seconds) {
  if (!parsed) return Status::Ok();
  const std::int64_t diff = parsed->unix_seconds - now_unix_seconds;
  const std::int64_t limit = parsed->has_zone ? kMaxSkewSeconds : kMaxZonelessSkewSeconds;
  if (diff > limit || diff < -limit) {
    return Status::Unauthenticated(parsed->has_zone
                                       ? "Date header is more than 15 minutes away from the server clock"
                                       : "Date header (no zone) is more than 14 hours away from the server clock");
  }
  return Status::Ok();
}

}  // namespace stsvend::api
