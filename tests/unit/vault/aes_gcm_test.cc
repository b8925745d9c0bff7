// AES-GCM primitive: NIST/McGrew-Viega known answers from tests/data/aes_gcm.vec, both directions.
#include "vault/aes_gcm.h"

#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace stsvend::vault {
namespace {

using testing::from_hex;

struct VecCase {
  std::string name;  // file:section:line
  std::map<std::string, std::string> fields;
};

// Parses the `.vec` format (STYLE.md): [section] headers, `Key = value` lines, blank-line separated
// blocks, '#' comments. Unknown keys and missing required keys are parse failures.
std::vector<VecCase> load_vec(const std::string& file, const std::set<std::string>& required,
                              const std::set<std::string>& optional, std::string* error) {
  std::ifstream in(std::string(STSVEND_TEST_DATA_DIR) + "/" + file);
  if (!in) {
    *error = "cannot open " + file;
    return {};
  }
  std::vector<VecCase> cases;
  std::string section;
  VecCase current;
  int line_no = 0;
  auto flush = [&]() -> bool {
    if (current.fields.empty()) return true;
    for (const auto& key : required) {
      if (!current.fields.count(key)) {
        *error = current.name + ": missing " + key;
        return false;
      }
    }
    cases.push_back(current);
    current = VecCase{};
    return true;
  };
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line[0] == '#') continue;
    if (line.empty()) {
      if (!flush()) return {};
      continue;
    }
    if (line.front() == '[' && line.back() == ']') {
      if (!flush()) return {};
      section = line.substr(1, line.size() - 2);
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      *error = file + ":" + std::to_string(line_no) + ": expected Key = value";
      return {};
    }
    auto trim = [](std::string s) {
      while (!s.empty() && s.back() == ' ') s.pop_back();
      while (!s.empty() && s.front() == ' ') s.erase(s.begin());
      return s;
    };
    const std::string key = trim(line.substr(0, eq));
    if (!required.count(key) && !optional.count(key)) {
      *error = file + ":" + std::to_string(line_no) + ": unknown key " + key;
      return {};
    }
    if (current.fields.empty()) current.name = file + ":" + section + ":" + std::to_string(line_no);
    current.fields[key] = trim(line.substr(eq + 1));
  }
  if (!flush()) return {};
  return cases;
}

TEST(AesGcm, KnownAnswersBothDirections) {
  std::string error;
  const auto cases = load_vec("aes_gcm.vec", {"Key", "Nonce", "In", "Out"}, {"AD"}, &error);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_EQ(cases.size(), 8u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto key = from_hex(c.fields.at("Key"));
    const auto nonce = from_hex(c.fields.at("Nonce"));
    const auto in = from_hex(c.fields.at("In"));
    const auto ad = c.fields.count("AD") ? from_hex(c.fields.at("AD")) : std::vector<std::uint8_t>{};
    const auto out = from_hex(c.fields.at("Out"));

    auto sealed = aes_gcm_encrypt(key, nonce, ad, in);
    ASSERT_TRUE(sealed.ok()) << sealed.status().message();
    EXPECT_EQ(*sealed, out);

    auto opened = aes_gcm_decrypt(key, nonce, ad, out);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    EXPECT_EQ(std::vector<std::uint8_t>(opened->span().begin(), opened->span().end()), in);

    // Every single-bit flip of ciphertext or tag must be caught (first and last byte suffice for
    // the tag path; GCM authenticates each bit the same way).
    for (const std::size_t pos : {std::size_t{0}, out.size() - 1}) {
      auto tampered = out;
      tampered[pos] ^= 0x01;
      auto bad = aes_gcm_decrypt(key, nonce, ad, tampered);
      ASSERT_FALSE(bad.ok());
      EXPECT_EQ(bad.status().code(), Status::Code::kCorruption);
    }
  }
}

TEST(AesGcm, RejectsBadKeySizesAndShortInput) {
  const std::vector<std::uint8_t> key15(15), key32(32), nonce(12), empty;
  EXPECT_EQ(aes_gcm_encrypt(key15, nonce, empty, empty).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(aes_gcm_encrypt(key32, empty, empty, empty).status().code(), Status::Code::kInvalidArgument);
  const std::vector<std::uint8_t> short_input(15);
  EXPECT_EQ(aes_gcm_decrypt(key32, nonce, empty, short_input).status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace stsvend::vault
