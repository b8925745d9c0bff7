// Generate -> decode round trips over random valid requests for every class and subclass, under
// every algorithm combination: 100 000 requests in total (seeded, so every run is the same).
#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "stsvend/secret.h"
#include "stsvend/sts/amount.h"
#include "stsvend/sts/cipher.h"
#include "stsvend/sts/config.h"
#include "stsvend/sts/decode.h"
#include "stsvend/sts/decoder_key.h"
#include "stsvend/sts/tid.h"
#include "stsvend/sts/token.h"
#include "stsvend/sts/types.h"

namespace stsvend::sts {
namespace {

constexpr std::size_t kTotalRequests = 100'000;  // never fewer, sanitizers or not

SecretBytes hex_bytes(std::string_view h) {
  SecretBytes b;
  EXPECT_TRUE(parse_hex(h, &b));
  return b;
}

struct AlgorithmSetup {
  const char* name;
  EncryptionAlgorithm ea;
  Dkga dkga;
  const char* vending_key;
  const char* iin;
  const char* drn;
};

// One configuration per algorithm combination the engine supports.
const AlgorithmSetup kSetups[] = {
    {"sta_dkga02", EncryptionAlgorithm::kSta, Dkga::k02, "abababababababab", "600727", "47500150231"},
    {"sta_dkga03", EncryptionAlgorithm::kSta, Dkga::k03, "5533d4be14220f3b4c6c7560450789df", "0000", "2766141889034"},
    {"sta_dkga04", EncryptionAlgorithm::kSta, Dkga::k04, "b177ddb69efbaf85d54d9d31485e6f28215e1436", "600727", "03971556638"},
    {"misty1_dkga04", EncryptionAlgorithm::kMisty1, Dkga::k04, "abababababababab949494949494949401234567", "600727", "00000000000"},
    {"dea_dkga02", EncryptionAlgorithm::kDea, Dkga::k02, "0123456789abcdef", "0000", "7802212716858"},
};

// Names the parameter in test output instead of dumping its bytes.
void PrintTo(const AlgorithmSetup& s, std::ostream* os) { *os << s.name; }

Config make_config(const AlgorithmSetup& s) {
  Config c;
  c.name = s.name;
  c.encryption_algorithm = s.ea;
  c.decoder_key_generation_algorithm = s.dkga;
  c.vending_key = hex_bytes(s.vending_key);
  c.issuer_identification_no = s.iin;
  c.supply_group_code = 123456;
  c.tariff_index = 7;
  c.key_revision_no = 2;
  c.key_type = KeyType::kDutk;
  c.key_expiry_no = 255;
  return c;
}

// Every defined (class, subclass).
std::vector<std::pair<unsigned, unsigned>> token_types() {
  std::vector<std::pair<unsigned, unsigned>> out;
  for (unsigned cls = 0; cls <= 2; ++cls) {
    for (unsigned sub = 0; sub < 16; ++sub) {
      if (!token_type_name(cls, sub).empty()) out.emplace_back(cls, sub);
    }
  }
  return out;
}

bool is_key_change(unsigned cls, unsigned sub) { return cls == 2 && (sub == 3 || sub == 4 || sub == 8 || sub == 9); }

class RoundTrip : public ::testing::TestWithParam<AlgorithmSetup> {};

TEST_P(RoundTrip, RandomRequestsDecodeToWhatWasAsked) {
  const AlgorithmSetup& s = GetParam();
  const Config config = make_config(s);
  ASSERT_TRUE(validate_config(config).ok()) << validate_config(config).message();
  auto key = derive_decoder_key(config, s.drn);
  ASSERT_TRUE(key.ok()) << key.status().message();
  auto cipher = TokenCipher::create(*key, config.encryption_algorithm);
  ASSERT_TRUE(cipher.ok());

  const auto types = token_types();
  ASSERT_GE(types.size(), 14u);
  std::mt19937_64 rng(0x5757'0062'0554'0001ULL + static_cast<std::uint64_t>(s.ea) * 31 + static_cast<std::uint64_t>(s.dkga));
  auto uniform = [&rng](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };
  const std::size_t n = kTotalRequests / std::size(kSetups);
  std::size_t tokens_checked = 0;
  std::vector<std::size_t> per_type(types.size(), 0);

  for (std::size_t i = 0; i < n; ++i) {
    // Key changes derive two keys each, so they are drawn less often; every type still appears.
    std::size_t t = i < types.size() ? i : uniform(0, types.size() - 1);
    if (i >= types.size() && is_key_change(types[t].first, types[t].second) && uniform(0, 15) != 0) {
      t = 0;  // Electricity_00
    }
    const auto [cls, sub] = types[t];
    ++per_type[t];
    TokenRequest req;
    req.token_class = cls;
    req.subclass = sub;
    req.tid = static_cast<std::uint32_t>(uniform(0, kMaxTid));
    req.random_no = static_cast<std::uint8_t>(uniform(0, 15));
    req.amount_tenths = static_cast<std::uint32_t>(uniform(0, 3) == 0 ? uniform(0, 20000) : uniform(0, kMaxAmountTenths));
    req.control = cls == 1 ? uniform(0, sub == 0 ? (1ULL << 36) - 1 : (1ULL << 28) - 1) : 0;
    req.manufacturer_code = static_cast<std::uint32_t>(uniform(0, sub == 0 ? 99 : 9999));
    req.maximum_power_limit = static_cast<std::uint32_t>(uniform(0, kMaxAmountTenths));
    req.register_no = static_cast<std::uint32_t>(uniform(0, 0xFFFF));
    req.tariff_rate = static_cast<std::uint32_t>(uniform(0, 0xFFFF));
    req.pad = static_cast<std::uint32_t>(uniform(0, 0xFFFF));
    req.mppul = static_cast<std::uint32_t>(uniform(0, kMaxAmountTenths));
    req.wm_factor = static_cast<std::uint32_t>(uniform(0, 0xFFFF));
    std::optional<DecoderKey> new_key;
    if (is_key_change(cls, sub)) {
      KeyChange kc;
      kc.new_vending_key = SecretBytes(config.vending_key.size());
      for (std::size_t b = 0; b < kc.new_vending_key.size(); ++b) kc.new_vending_key[b] = static_cast<std::uint8_t>(uniform(0, 255));
      kc.new_supply_group_code = static_cast<std::uint32_t>(uniform(0, 999999));
      kc.new_tariff_index = static_cast<std::uint8_t>(uniform(0, 99));
      kc.new_key_revision_no = static_cast<std::uint8_t>(uniform(1, 9));
      kc.new_key_type = static_cast<KeyType>(uniform(1, 3));
      kc.new_key_expiry_no = static_cast<std::uint8_t>(uniform(0, 255));
      kc.ro = uniform(0, 1) == 1;
      auto nk = derive_new_decoder_key(config, s.drn, kc);
      ASSERT_TRUE(nk.ok()) << nk.status().message();
      new_key = std::move(nk).value();
      req.key_change = std::move(kc);
    }

    auto tokens = generate_tokens(config, *cipher, s.drn, req);
    ASSERT_TRUE(tokens.ok()) << s.name << " request " << i << " (" << cls << "/" << sub << "): " << tokens.status().message();
    const std::size_t expected_count = !is_key_change(cls, sub) ? 1 : (key->size() == 16 ? 4 : 2);
    ASSERT_EQ(tokens->size(), expected_count);

    for (const Token& tok : *tokens) {
      ++tokens_checked;
      ASSERT_EQ(tok.number.size(), 20u);
      const DecodeOutcome out = decode_token(tok.number, *cipher);
      ASSERT_EQ(out.result, TokenResult::kAccepted) << s.name << " " << tok.number;
      const DecodedToken& d = out.token;
      ASSERT_EQ(d.token_class, cls);
      ASSERT_EQ(d.plain_block, tok.plain_block);
      ASSERT_EQ(d.token_type, tok.token_type);
      // The keyed path and the prepared-cipher path agree.
      if (i % 97 == 0) {
        ASSERT_EQ(decode_token(tok.number, *key, config.encryption_algorithm).token.plain_block, tok.plain_block);
      }
      if (carries_tid(cls, d.subclass)) {
        ASSERT_EQ(d.tid, req.tid);
        ASSERT_EQ(d.random_no, req.random_no);
        ASSERT_EQ(tok.tid, req.tid);
      }
      if (cls == 0) {
        ASSERT_EQ(d.subclass, sub);
        ASSERT_TRUE(d.amount_tenths.has_value());
        ASSERT_GE(*d.amount_tenths, req.amount_tenths);  // never less than paid for
        ASSERT_EQ(*d.amount_tenths, decode_amount(*encode_amount(req.amount_tenths)));
      } else if (cls == 1) {
        ASSERT_EQ(d.control, req.control);
        ASSERT_EQ(d.manufacturer_code, req.manufacturer_code);
      } else if (!req.key_change) {
        switch (sub) {
          case 0: ASSERT_EQ(d.maximum_power_limit, decode_amount(*encode_amount(req.maximum_power_limit))); break;
          case 1: ASSERT_EQ(d.register_no, req.register_no); break;
          case 2: ASSERT_EQ(d.tariff_rate, req.tariff_rate); break;
          case 5: ASSERT_EQ(d.pad, req.pad); break;
          case 6: ASSERT_EQ(d.mppul, decode_amount(*encode_amount(req.mppul))); break;
          case 7: ASSERT_EQ(d.wm_factor, req.wm_factor); break;
          default: FAIL() << "subclass " << sub;
        }
      } else {
        const KeyChange& kc = *req.key_change;
        const auto nk = new_key->stored_bytes();
        auto be32 = [&nk](std::size_t at) {
          return std::uint32_t{nk[at]} << 24 | std::uint32_t{nk[at + 1]} << 16 | std::uint32_t{nk[at + 2]} << 8 | nk[at + 3];
        };
        const std::uint64_t k64 = nk.size() == 8 ? new_key->sta_integer() : 0;
        switch (d.subclass) {
          case 3:
            ASSERT_EQ(d.key_expiry_nibble, kc.new_key_expiry_no >> 4);
            ASSERT_EQ(d.key_revision_no, kc.new_key_revision_no);
            ASSERT_EQ(d.ro, kc.ro);
            ASSERT_EQ(d.key_type, static_cast<std::uint8_t>(kc.new_key_type));
            ASSERT_EQ(d.key_part, nk.size() == 8 ? static_cast<std::uint32_t>(k64 >> 32) : be32(0));
            break;
          case 4:
            ASSERT_EQ(d.key_expiry_nibble, kc.new_key_expiry_no & 0xF);
            ASSERT_EQ(d.tariff_index, kc.new_tariff_index);
            ASSERT_EQ(d.key_part, nk.size() == 8 ? static_cast<std::uint32_t>(k64) : be32(12));
            break;
          case 8:
            ASSERT_EQ(d.sgc_part, kc.new_supply_group_code & 0xFFF);
            ASSERT_EQ(d.key_part, be32(4));
            break;
          case 9:
            ASSERT_EQ(d.sgc_part, (kc.new_supply_group_code >> 12) & 0xFFF);
            ASSERT_EQ(d.key_part, be32(8));
            break;
          default: FAIL() << "key change subclass " << d.subclass;
        }
      }
    }
  }
  for (std::size_t t = 0; t < types.size(); ++t) {
    EXPECT_GT(per_type[t], 0u) << "never drew " << types[t].first << "/" << types[t].second;
  }
  EXPECT_GE(tokens_checked, n);
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, RoundTrip, ::testing::ValuesIn(kSetups),
                         [](const ::testing::TestParamInfo<AlgorithmSetup>& p) { return std::string(p.param.name); });

}  // namespace
}  // namespace stsvend::sts
