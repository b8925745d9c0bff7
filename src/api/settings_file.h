// Where `stsvend serve` takes a setting that is not on its command line: the environment
// (STSVEND_<FLAG>, e.g. STSVEND_TLS_CERT for --tls-cert), then a settings file (--config FILE or
// $STSVEND_CONFIG), then the built-in default. docs/api.md ("Running the server").
//
// The file is one `name = value` per line, names being the long flags without their dashes
// (`listen = 0.0.0.0:8443`, `tls-cert = /etc/stsvend/cert.pem`); `#` starts a comment; a value may be
// bare, "double-quoted" (with \" and \\ escapes) or 'single-quoted'. Unknown names, a name given
// twice and malformed lines are errors naming the file and line: a typo must not silently leave a
// default (plain HTTP instead of TLS, say) in force.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "stsvend/result.h"

namespace stsvend::api {

using Settings = std::map<std::string, std::string, std::less<>>;

// `source` names the text in error messages (the file's path). Errors: InvalidArgument, field "--config".
Result<Settings> parse_settings(std::string_view text, std::string_view source,
                                const std::set<std::string, std::less<>>& known_names);
Result<Settings> read_settings_file(const std::filesystem::path& path,
                                    const std::set<std::string, std::less<>>& known_names);

// "tls-cert" -> "STSVEND_TLS_CERT".
std::string setting_env_name(std::string_view name);

}  // namespace stsvend::api
