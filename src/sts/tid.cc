// TID and instants (see tid.h). Calendar arithmetic is done on days since the epoch so no time
// zone database or process-global state is involved.
#include "stsvend/sts/tid.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace stsvend::sts {

namespace {
// Days from 1970-01-01 to y-m-d (proleptic Gregorian); H. Hinnant's days_from_civil algorithm.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int* y, unsigned* m, unsigned* d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t yy = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int>(yy + (*m <= 2));
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, unsigned* out) {
  if (pos + n > s.size()) return false;
  unsigned v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<unsigned>(s[i] - '0');
  }
  *out = v;
  return true;
}

unsigned days_in_month(unsigned y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}
}  // namespace

Result<std::uint32_t> tid_from_unix(std::int64_t unix_seconds, BaseDate base_date, std::string_view field) {
  const std::int64_t since = unix_seconds - base_date_unix_seconds(base_date);
  if (since < 0) {
    return Status::InvalidArgument(field, "is before the configuration's base date " +
                                              std::to_string(static_cast<int>(base_date)) + "-01-01T00:00Z");
  }
  const std::int64_t minutes = since / 60;
  if (minutes > kMaxTid) {
    return Status::InvalidArgument(field, "is past the last minute the base date " +
                                              std::to_string(static_cast<int>(base_date)) +
                                              " can express in 24 bits; a base-date roll-over key change is needed");
  }
  return static_cast<std::uint32_t>(minutes);
}

std::int64_t unix_from_tid(std::uint32_t tid, BaseDate base_date) noexcept {
  return base_date_unix_seconds(base_date) + std::int64_t{tid} * 60;
}

Result<std::int64_t> parse_instant(std::string_view s, std::string_view field) {
  const auto bad = [&] {
    return Status::InvalidArgument(field, "must be an instant like 2026-11-22T23:10 or 2026-11-22T23:10:00Z (UTC)");
  };
  unsigned y, mo, d, h, mi, sec = 0;
  if (!digits(s, 0, 4, &y) || s.size() < 16 || s[4] != '-' || !digits(s, 5, 2, &mo) || s[7] != '-' ||
      !digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, &h) ||
      s[13] != ':' || !digits(s, 14, 2, &mi)) {
    return bad();
  }
  std::size_t pos = 16;
  if (pos < s.size() && s[pos] == ':') {
    if (!digits(s, pos + 1, 2, &sec)) return bad();
    pos += 3;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      const std::size_t start = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
      if (pos == start) return bad();
    }
  }
  std::int64_t offset_seconds = 0;
  if (pos < s.size()) {
    if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
      pos += 1;
    } else if (s[pos] == '+' || s[pos] == '-') {
      unsigned oh, om;
      if (!digits(s, pos + 1, 2, &oh)) return bad();
      std::size_t next = pos + 3;
      if (next < s.size() && s[next] == ':') ++next;
      if (!digits(s, next, 2, &om) || next + 2 != s.size() || oh > 23 || om > 59) return bad();
      offset_seconds = (s[pos] == '+' ? 1 : -1) * static_cast<std::int64_t>(oh * 3600 + om * 60);
      pos = s.size();
    } else {
      return bad();
    }
  }
  if (pos != s.size()) return bad();
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60) return bad();
  const std::int64_t days = days_from_civil(y, mo, d);
  return days * 86400 + h * 3600 + mi * 60 + std::min(sec, 59u) - offset_seconds;
}

std::string format_instant(std::int64_t unix_seconds) {
  std::int64_t days = unix_seconds / 86400;
  std::int64_t rem = unix_seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  int y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02uZ", y, m, d, static_cast<unsigned>(rem / 3600),
                static_cast<unsigned>(rem % 3600 / 60), static_cast<unsigned>(rem % 60));
  return buf;
}

}  // namespace stsvend::sts
