// Helpers shared by the vault tests: scratch directories, files, and running the openssl CLI.
#pragma once

#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "temp_dir.h"

namespace stsvend::vault::testing {

// The scratch directory every test suite uses (tests/support).
using ::stsvend::testing::TempDir;

// Chunked reads: istreambuf_iterator trips g++ 12's -Wnull-dereference inside <streambuf>.
inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string out;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) out.append(buf, static_cast<std::size_t>(in.gcount()));
  return out;
}

inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p) {
  const std::string text = read_text(p);
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

inline void write_bytes(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline unsigned file_mode(const std::filesystem::path& p) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return 0xFFFFFFFFu;
  return st.st_mode & 07777;
}

// Runs `script` with /bin/sh in `dir`; true on exit status 0. Output goes to the test log.
inline bool run_in(const std::filesystem::path& dir, const std::string& script) {
  const std::string cmd = "cd '" + dir.string() + "' && ( " + script + " )";
  const int rc = std::system(cmd.c_str());
  return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

inline bool have_program(const std::string& name) {
  const std::string cmd = "command -v " + name + " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

inline std::vector<std::uint8_t> from_hex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  }
  return out;
}

inline std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

inline std::string as_string(std::span<const std::uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace stsvend::vault::testing
