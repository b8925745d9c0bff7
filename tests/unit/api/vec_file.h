// A reader for our .vec known-answer files: `[section]` headers, blank-line separated blocks of
// `Key = value` lines, `#` comments. Each block is one case named `file:section:line`; unknown keys
// fail the load so a typo cannot silently skip a check.
#pragma once

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace stsvend::testing {

struct VecCase {
  std::string name;  // file:section:line
  std::map<std::string, std::string> fields;
  const std::string& at(const std::string& key) const { return fields.at(key); }
};

inline std::string source_path(const std::string& relative) {
  const char* root = std::getenv("STSVEND_SOURCE_DIR");
  return std::string(root != nullptr ? root : STSVEND_SOURCE_DIR_FALLBACK) + "/" + relative;
}

inline std::vector<VecCase> load_vec(const std::string& relative, const std::set<std::string>& required,
                                     const std::set<std::string>& optional = {}) {
  std::ifstream in(source_path(relative));
  if (!in) throw std::runtime_error("cannot open " + relative);
  std::vector<VecCase> out;
  std::string section;
  std::string line;
  int lineno = 0;
  VecCase current;
  auto flush = [&] {
    if (current.fields.empty()) return;
    for (const auto& k : required) {
      if (current.fields.count(k) == 0) throw std::runtime_error(current.name + ": missing key " + k);
    }
    out.push_back(current);
    current = VecCase{};
  };
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] == '#') continue;
    if (line.empty()) {
      flush();
      continue;
    }
    if (line.front() == '[' && line.back() == ']') {
      flush();
      section = line.substr(1, line.size() - 2);
      continue;
    }
    const auto eq = line.find(" =");
    if (eq == std::string::npos) throw std::runtime_error(relative + ":" + std::to_string(lineno) + ": not Key = value");
    const std::string key = line.substr(0, eq);
    std::string value = line.substr(eq + 2);
    if (!value.empty() && value.front() == ' ') value.erase(0, 1);
    if (required.count(key) == 0 && optional.count(key) == 0) {
      throw std::runtime_error(relative + ":" + std::to_string(lineno) + ": unknown key " + key);
    }
    if (current.fields.empty()) current.name = relative + ":" + section + ":" + std::to_string(lineno);
    current.fields[key] = value;
  }
  flush();
  return out;
}

}  // namespace stsvend::testing
