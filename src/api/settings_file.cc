// Settings files for `stsvend serve`; see settings_file.h.
#include "api/settings_file.h"

#include <fstream>
#include <sstream>

namespace stsvend::api {
namespace {

constexpr std::string_view kSpace = " \t\r";

std::string_view trim(std::string_view s) {
  const std::size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

// The value after '=' up to an unquoted '#'. False when a quote is not closed or text follows it.
bool parse_value(std::string_view rest, std::string& out) {
  rest = trim(rest);
  out.clear();
  if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) {
    const char quote = rest.front();
    std::size_t i = 1;
    for (; i < rest.size() && rest[i] != quote; ++i) {
      if (quote == '"' && rest[i] == '\\') {
        if (i + 1 == rest.size() || (rest[i + 1] != '"' && rest[i + 1] != '\\')) return false;
        ++i;
      }
      out += rest[i];
    }
    if (i == rest.size()) return false;  // not closed
    const std::string_view after = trim(rest.substr(i + 1));
    return after.empty() || after.front() == '#';
  }
  out = std::string(trim(rest.substr(0, rest.find('#'))));
  return true;
}

}  // namespace

Result<Settings> parse_settings(std::string_view text, std::string_view source,
                                const std::set<std::string, std::less<>>& known_names) {
  Settings settings;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view raw = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_no;
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') continue;
    const auto where = [&] { return std::string(source) + ":" + std::to_string(line_no) + ": "; };
    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("--config", where() + "expected `name = value`");
    }
    std::string name(trim(line.substr(0, eq)));
    if (name.starts_with("--")) name.erase(0, 2);  // `--listen = …` reads as meant
    if (!valid_name(name) || !known_names.contains(name)) {
      std::string known;
      for (const std::string& k : known_names) known += (known.empty() ? "" : ", ") + k;
      return Status::InvalidArgument("--config", where() + "unknown setting '" + name.substr(0, 64) +
                                                     "' (known: " + known + ")");
    }
    std::string value;
    if (!parse_value(line.substr(eq + 1), value)) {
      return Status::InvalidArgument("--config", where() + "the value of '" + name +
                                                     "' is not closed by its quote or has text after it");
    }
    if (!settings.emplace(name, std::move(value)).second) {
      return Status::InvalidArgument("--config", where() + "'" + name + "' is set twice");
    }
  }
  return settings;
}

Result<Settings> read_settings_file(const std::filesystem::path& path,
                                    const std::set<std::string, std::less<>>& known_names) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("--config", "cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::InvalidArgument("--config", "cannot read " + path.string());
  return parse_settings(text.str(), path.string(), known_names);
}

std::string setting_env_name(std::string_view name) {
  std::string env = "STSVEND_";
  for (char c : name) env += c == '-' ? '_' : static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return env;
}

}  // namespace stsvend::api
