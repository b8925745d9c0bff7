// Rules shared by the free-text fields people type (names, usernames, e-mail addresses): a length range and
// no control characters. A NUL or an escape sequence in a stored name ends strings early or rewrites the
// terminal of whoever lists it (`stsvend admin user list`); a bidirectional override makes a name read
// otherwise than it sorts and compares.
#pragma once

#include <cstddef>
#include <string_view>

#include "stsvend/status.h"

namespace stsvend::service {

// InvalidArgument(field, ...) unless `v` is min_bytes to max_bytes long and holds no C0 control character,
// DEL, or Unicode bidirectional control (U+202A-U+202E, U+2066-U+2069). `v` is UTF-8 (Boost.JSON and the
// CLI's arguments deliver it so; other bytes are not judged here).
Status check_text(std::string_view field, std::string_view v, std::size_t min_bytes, std::size_t max_bytes);

}  // namespace stsvend::service
