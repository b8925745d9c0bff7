// The one generic runner for our known-answer files (tests/data/*.vec): `[section]` headers,
// blank-line separated `Key = value` blocks, '#' comments. Each family declares its required and
// optional keys; an unknown key fails; every failure names file:section:line.
// Cipher families run through Botan directly AND through the engine (TokenCipher); the STS
// families run through the engine's public API.
#include <botan/block_cipher.h>
#include <botan/mac.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "stsvend/secret.h"
#include "stsvend/sts/amount.h"
#include "stsvend/sts/cipher.h"
#include "stsvend/sts/decode.h"
#include "stsvend/sts/decoder_key.h"
#include "stsvend/sts/token.h"
#include "stsvend/sts/types.h"
#include "sts/crc16.h"

namespace stsvend::sts {
namespace {

struct VecCase {
  std::string where;  // file:section:line of the block's first line
  std::string section;
  std::map<std::string, std::string> values;
  const std::string& operator[](const std::string& k) const { return values.at(k); }
  bool has(const std::string& k) const { return values.count(k) != 0; }
};

std::string data_dir() {
  const char* root = std::getenv("STSVEND_SOURCE_DIR");
  return std::string(root ? root : STSVEND_DEFAULT_SOURCE_DIR) + "/tests/data/";
}

// Parses one .vec file; a malformed line is reported as a test failure and skipped.
std::vector<VecCase> read_vec(const std::string& name) {
  std::vector<VecCase> cases;
  std::ifstream in(data_dir() + name);
  EXPECT_TRUE(in.good()) << "cannot open " << data_dir() + name;
  std::string line, section;
  VecCase current;
  int line_no = 0;
  auto flush = [&] {
    if (!current.values.empty()) cases.push_back(std::move(current));
    current = VecCase{};
  };
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      flush();
      continue;
    }
    if (line[0] == '#') continue;
    if (line[0] == '[') {
      flush();
      const auto close = line.find(']');
      EXPECT_NE(close, std::string::npos) << name << ":" << line_no << ": bad section header";
      section = line.substr(1, close == std::string::npos ? std::string::npos : close - 1);
      continue;
    }
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) {
      ADD_FAILURE() << name << ":" << section << ":" << line_no << ": expected 'Key = value'";
      continue;
    }
    if (current.values.empty()) {
      current.where = name + ":" + section + ":" + std::to_string(line_no);
      current.section = section;
    }
    const std::string key = line.substr(0, eq);
    if (!current.values.emplace(key, line.substr(eq + 3)).second) {
      ADD_FAILURE() << name << ":" << section << ":" << line_no << ": duplicate key " << key;
    }
  }
  flush();
  return cases;
}

using Runner = std::function<void(const VecCase&)>;

// Runs every case of `file`, checking keys against the family's declaration first.
void run_family(const std::string& file, const std::set<std::string>& required, const std::set<std::string>& optional,
                const Runner& run) {
  const std::vector<VecCase> cases = read_vec(file);
  ASSERT_FALSE(cases.empty()) << file << ": no cases";
  for (const VecCase& c : cases) {
    SCOPED_TRACE(c.where);
    bool keys_ok = true;
    for (const auto& k : required) {
      if (!c.has(k)) {
        ADD_FAILURE() << c.where << ": missing required key " << k;
        keys_ok = false;
      }
    }
    for (const auto& [k, v] : c.values) {
      if (!required.count(k) && !optional.count(k)) {
        ADD_FAILURE() << c.where << ": unknown key " << k;
        keys_ok = false;
      }
    }
    if (keys_ok) run(c);
  }
}

std::vector<std::uint8_t> hex(const std::string& h) {
  SecretBytes b;
  EXPECT_TRUE(parse_hex(h, &b)) << "bad hex " << h;
  return {b.span().begin(), b.span().end()};
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string to_hex(const std::vector<std::uint8_t>& b) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (auto x : b) {
    out += d[x >> 4];
    out += d[x & 15];
  }
  return out;
}

std::uint64_t u64(const std::string& h) { return std::stoull(h, nullptr, 16); }

DecoderKey key_of(const std::vector<std::uint8_t>& bytes) { return DecoderKey(SecretBytes(bytes)); }

// Botan single block, both directions.
void botan_block(const VecCase& c, const char* algo) {
  auto cipher = Botan::BlockCipher::create_or_throw(algo);
  const auto key = hex(c["Key"]);
  cipher->set_key(key.data(), key.size());
  auto block = hex(c["In"]);
  cipher->encrypt(block.data());
  EXPECT_EQ(to_hex(block), lower(c["Out"])) << c.where << " Botan " << algo << " encrypt";
  cipher->decrypt(block.data());
  EXPECT_EQ(to_hex(block), lower(c["In"])) << c.where << " Botan " << algo << " decrypt";
}

// The engine's cipher on the same block (64-bit integers, big-endian).
void engine_block(const VecCase& c, EncryptionAlgorithm ea, bool reverse_key) {
  auto key = hex(c["Key"]);
  // EA09's DecoderKey is stored reversed relative to the DES key bytes (REFERENCE.md §7.2).
  if (reverse_key) std::reverse(key.begin(), key.end());
  auto cipher = TokenCipher::create(key_of(key), ea);
  ASSERT_TRUE(cipher.ok()) << c.where << ": " << cipher.status().message();
  EXPECT_EQ(cipher->encrypt(u64(c["In"])), u64(c["Out"])) << c.where << " engine encrypt";
  EXPECT_EQ(cipher->decrypt(u64(c["Out"])), u64(c["In"])) << c.where << " engine decrypt";
}

TEST(KnownAnswers, Des) {
  run_family("des.vec", {"Key", "In", "Out"}, {}, [](const VecCase& c) {
    botan_block(c, "DES");
    engine_block(c, EncryptionAlgorithm::kDea, /*reverse_key=*/true);
  });
}

TEST(KnownAnswers, TripleDes2Key) {
  run_family("tdes.vec", {"Key", "In", "Out"}, {}, [](const VecCase& c) { botan_block(c, "TripleDES"); });
}

TEST(KnownAnswers, Misty1) {
  run_family("misty1.vec", {"Key", "In", "Out"}, {}, [](const VecCase& c) {
    botan_block(c, "MISTY1");
    engine_block(c, EncryptionAlgorithm::kMisty1, /*reverse_key=*/false);
  });
}

TEST(KnownAnswers, HmacSha256) {
  run_family("hmac_sha256.vec", {"Key", "In", "Out"}, {}, [](const VecCase& c) {
    auto mac = Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-256)");
    const auto key = hex(c["Key"]);
    mac->set_key(key.data(), key.size());
    const auto msg = hex(c["In"]);
    mac->update(msg.data(), msg.size());
    const auto out = mac->final();
    EXPECT_EQ(to_hex({out.begin(), out.end()}), lower(c["Out"])) << c.where;
  });
}

// A plain bitwise CRC-16/MODBUS, written from the catalogue definition, to check the engine's.
std::uint16_t reference_modbus(const std::vector<std::uint8_t>& bytes) {
  std::uint16_t r = 0xFFFF;
  for (const auto b : bytes) {
    r ^= b;
    for (int i = 0; i < 8; ++i) r = (r & 1) ? static_cast<std::uint16_t>((r >> 1) ^ 0xA001) : static_cast<std::uint16_t>(r >> 1);
  }
  return r;
}

TEST(KnownAnswers, Crc16) {
  run_family("crc16.vec", {}, {"Top50", "Crc", "In", "Register"}, [](const VecCase& c) {
    if (c.section == "token") {
      ASSERT_TRUE(c.has("Top50") && c.has("Crc")) << c.where << ": [token] needs Top50 and Crc";
      const std::uint64_t top = u64(c["Top50"]);
      EXPECT_EQ(token_crc(top), u64(c["Crc"])) << c.where << " engine";
      std::vector<std::uint8_t> bytes;
      for (int i = 0; i < 7; ++i) bytes.push_back(static_cast<std::uint8_t>(top >> (8 * (6 - i))));
      const std::uint16_t reg = reference_modbus(bytes);
      EXPECT_EQ(static_cast<std::uint16_t>((reg & 0xFF) << 8 | reg >> 8), u64(c["Crc"])) << c.where << " reference";
    } else if (c.section == "modbus") {
      ASSERT_TRUE(c.has("In") && c.has("Register")) << c.where << ": [modbus] needs In and Register";
      const auto bytes = hex(c["In"]);
      EXPECT_EQ(crc16_modbus(bytes.data(), bytes.size()), u64(c["Register"])) << c.where << " engine";
      EXPECT_EQ(reference_modbus(bytes), u64(c["Register"])) << c.where << " reference";
    } else {
      ADD_FAILURE() << c.where << ": unknown section";
    }
  });
}

TEST(KnownAnswers, Sta) {
  run_family("sta.vec", {"Key", "Plain"}, {"Cipher", "Class", "Token"}, [](const VecCase& c) {
    const DecoderKey key = key_of(hex(c["Key"]));
    auto cipher = TokenCipher::create(key, EncryptionAlgorithm::kSta);
    ASSERT_TRUE(cipher.ok()) << c.where;
    const std::uint64_t plain = u64(c["Plain"]);
    EXPECT_EQ(cipher->decrypt(cipher->encrypt(plain)), plain) << c.where << " round trip";
    if (c.has("Cipher")) {
      EXPECT_EQ(cipher->encrypt(plain), u64(c["Cipher"])) << c.where << " encrypt";
      EXPECT_EQ(cipher->decrypt(u64(c["Cipher"])), plain) << c.where << " decrypt";
    }
    if (c.has("Token")) {
      ASSERT_TRUE(c.has("Class")) << c.where << ": Token needs Class";
      const unsigned cls = static_cast<unsigned>(std::stoul(c["Class"]));
      EXPECT_EQ(encrypt_and_format(plain, cls, *cipher), c["Token"]) << c.where << " token";
      EXPECT_EQ(encrypt_and_format(plain, cls, key, EncryptionAlgorithm::kSta), c["Token"]) << c.where;
      const DecodeOutcome out = decode_token(c["Token"], key, EncryptionAlgorithm::kSta);
      EXPECT_EQ(out.result, TokenResult::kAccepted) << c.where << " decode";
      EXPECT_EQ(out.token.plain_block, plain) << c.where << " decode";
      EXPECT_EQ(out.token.token_class, cls) << c.where << " decode";
    }
  });
}

TEST(KnownAnswers, DecoderKeyGeneration) {
  run_family("dkga.vec",
             {"VendingKey", "EncryptionAlgorithm", "BaseDate", "SupplyGroupCode", "TariffIndex", "KeyRevisionNo",
              "KeyType", "IIN", "DRN", "DecoderKey"},
             {}, [](const VecCase& c) {
               const auto vk = hex(c["VendingKey"]);
               KeyDerivationInput in;
               const auto dkga = parse_dkga(c.section.substr(c.section.size() - 2));
               ASSERT_TRUE(dkga.has_value()) << c.where << ": section must be DKGA-0n";
               in.dkga = *dkga;
               const auto ea = parse_encryption_algorithm(c["EncryptionAlgorithm"]);
               ASSERT_TRUE(ea.has_value()) << c.where;
               in.encryption_algorithm = *ea;
               const auto bd = base_date_from_year(std::stoi(c["BaseDate"]));
               ASSERT_TRUE(bd.has_value()) << c.where;
               in.base_date = *bd;
               in.vending_key = vk;
               in.supply_group_code = static_cast<std::uint32_t>(std::stoul(c["SupplyGroupCode"]));
               in.tariff_index = static_cast<std::uint8_t>(std::stoul(c["TariffIndex"]));
               in.key_revision_no = static_cast<std::uint8_t>(std::stoul(c["KeyRevisionNo"]));
               in.key_type = static_cast<KeyType>(std::stoul(c["KeyType"]));
               in.issuer_identification_no = c["IIN"];
               in.drn = c["DRN"];
               auto key = derive_decoder_key(in);
               ASSERT_TRUE(key.ok()) << c.where << ": " << key.status().message();
               EXPECT_EQ(key->hex_for_test(), lower(c["DecoderKey"])) << c.where;
             });
}

TEST(KnownAnswers, Amount) {
  run_family("amount.vec", {}, {"Tenths", "Field", "Decoded", "Text"}, [](const VecCase& c) {
    if (c.section == "encode") {
      ASSERT_TRUE(c.has("Tenths") && c.has("Field") && c.has("Decoded")) << c.where;
      auto field = encode_amount(static_cast<std::uint32_t>(std::stoul(c["Tenths"])));
      ASSERT_TRUE(field.ok()) << c.where << ": " << field.status().message();
      EXPECT_EQ(*field, u64(c["Field"])) << c.where << " encode";
      EXPECT_EQ(decode_amount(*field), std::stoul(c["Decoded"])) << c.where << " decode";
      // The meter is never given less than was paid for, and the value re-encodes to itself.
      EXPECT_GE(decode_amount(*field), std::stoul(c["Tenths"])) << c.where;
      auto again = encode_amount(decode_amount(*field));
      ASSERT_TRUE(again.ok()) << c.where;
      EXPECT_EQ(decode_amount(*again), decode_amount(*field)) << c.where;
    } else if (c.section == "encode_error") {
      ASSERT_TRUE(c.has("Tenths") && c.has("Field")) << c.where;
      auto field = encode_amount(static_cast<std::uint32_t>(std::stoul(c["Tenths"])));
      ASSERT_FALSE(field.ok()) << c.where;
      EXPECT_EQ(field.status().field(), c["Field"]) << c.where;
    } else if (c.section == "parse") {
      ASSERT_TRUE(c.has("Text") && c.has("Tenths")) << c.where;
      auto tenths = parse_amount_units(c["Text"]);
      ASSERT_TRUE(tenths.ok()) << c.where << ": " << tenths.status().message();
      EXPECT_EQ(*tenths, std::stoul(c["Tenths"])) << c.where;
    } else if (c.section == "parse_error") {
      ASSERT_TRUE(c.has("Text") && c.has("Field")) << c.where;
      auto tenths = parse_amount_units(c["Text"]);
      ASSERT_FALSE(tenths.ok()) << c.where << ": accepted " << c["Text"];
      EXPECT_EQ(tenths.status().field(), c["Field"]) << c.where;
    } else {
      ADD_FAILURE() << c.where << ": unknown section";
    }
  });
}

// Every decoded value of the amount field is an exact, stable point: decode(encode(decode(f))) == decode(f).
TEST(KnownAnswers, AmountEveryFieldRoundTrips) {
  for (std::uint32_t f = 0; f <= 0xFFFF; ++f) {
    const std::uint32_t v = decode_amount(static_cast<std::uint16_t>(f));
    auto again = encode_amount(v);
    ASSERT_TRUE(again.ok()) << f;
    ASSERT_EQ(decode_amount(*again), v) << "field " << f;
  }
}

}  // namespace
}  // namespace stsvend::sts
