// One negative test per validation rule: configuration fields, DRN, amount, TID range and the
// request fields of each class. Each checks that the error names the field the caller used.
#include <gtest/gtest.h>

#include <string>

#include "stsvend/secret.h"
#include "stsvend/sts/amount.h"
#include "stsvend/sts/config.h"
#include "stsvend/sts/decoder_key.h"
#include "stsvend/sts/meter_id.h"
#include "stsvend/sts/tid.h"
#include "stsvend/sts/token.h"

namespace stsvend::sts {
namespace {

const std::string kGoodConfig =
    "name: example_config\n"
    "key_expiry_no: 255\n"
    "encryption_algorithm: sta\n"
    "token_carrier_type: numeric\n"
    "decoder_key_generation_algorithm: 02\n"
    "tariff_index: 01\n"
    "key_revision_no: 1\n"
    "vending_key: 0123456789abcdef\n"
    "supply_group_code: 123456\n"
    "key_type: 2\n"
    "base_date: 1993\n"
    "issuer_identification_no: 600727\n";

// kGoodConfig with the line of `key` replaced by `line` (or removed when `line` is empty).
std::string with_line(const std::string& key, const std::string& line) {
  std::string s = kGoodConfig;
  const auto at = s.find(key + ":");
  EXPECT_NE(at, std::string::npos) << key;
  const auto end = s.find('\n', at);
  return s.replace(at, end - at + 1, line.empty() ? "" : line + "\n");
}

void expect_config_error(const std::string& text, const std::string& field) {
  auto c = parse_config_text(text);
  ASSERT_FALSE(c.ok()) << "accepted:\n" << text;
  EXPECT_EQ(c.status().field(), field) << c.status().message();
  EXPECT_FALSE(c.status().rule().empty());
  // Never echo the vending key.
  EXPECT_EQ(c.status().message().find("0123456789abcdef"), std::string::npos);
}

TEST(ConfigValidation, GoodConfigParses) {
  auto c = parse_config_text(kGoodConfig);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->supply_group_code, 123456u);
  EXPECT_EQ(c->tariff_index, 1u);
}

TEST(ConfigValidation, KeyExpiryNo) { expect_config_error(with_line("key_expiry_no", "key_expiry_no: 256"), "key_expiry_no"); }
TEST(ConfigValidation, EncryptionAlgorithm) {
  expect_config_error(with_line("encryption_algorithm", "encryption_algorithm: aes"), "encryption_algorithm");
}
// The file format checks fields on their own (the seeds' own example pairs DKGA-04 with a 64-bit key
// and must load); the cross-field rules are check_key_combination's, run on every key derivation.
void expect_combination_error(const std::string& text, const std::string& field) {
  auto c = parse_config_text(text);
  ASSERT_TRUE(c.ok()) << c.status().message();
  Status s = check_key_combination(*c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.field(), field) << s.message();
  auto key = derive_decoder_key(*c, "00000000000");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().field(), field) << key.status().message();
}

TEST(ConfigValidation, MistyNeedsDkga04) {
  expect_combination_error(with_line("encryption_algorithm", "encryption_algorithm: misty"), "encryption_algorithm");
}
TEST(ConfigValidation, SeedExampleFileParses) {
  // The walkthrough's file exactly as published (trailing space after the name included).
  const std::string seed =
      "name: example_config \n"
      "key_expiry_no: 255\n"
      "encryption_algorithm: sta\n"
      "token_carrier_type: numeric\n"
      "decoder_key_generation_algorithm: 04\n"
      "tariff_index: 01\n"
      "key_revision_no: 1\n"
      "vending_key: 0123456789abcdef\n"
      "supply_group_code: 123456\n"
      "key_type: 3\n"
      "base_date: 2035\n"
      "issuer_identification_no: 600727\n";
  auto c = parse_config_text(seed);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->name, "example_config");
  EXPECT_EQ(c->decoder_key_generation_algorithm, Dkga::k04);
  EXPECT_EQ(check_key_combination(*c).field(), "vending_key");
}
TEST(ConfigValidation, TokenCarrierType) {
  expect_config_error(with_line("token_carrier_type", "token_carrier_type: magnetic"), "token_carrier_type");
}
TEST(ConfigValidation, Dkga) {
  expect_config_error(with_line("decoder_key_generation_algorithm", "decoder_key_generation_algorithm: 05"),
                      "decoder_key_generation_algorithm");
}
TEST(ConfigValidation, TariffIndex) { expect_config_error(with_line("tariff_index", "tariff_index: 100"), "tariff_index"); }
TEST(ConfigValidation, KeyRevisionNo) {
  expect_config_error(with_line("key_revision_no", "key_revision_no: 0"), "key_revision_no");
  expect_config_error(with_line("key_revision_no", "key_revision_no: 10"), "key_revision_no");
}
TEST(ConfigValidation, VendingKeyHex) {
  expect_config_error(with_line("vending_key", "vending_key: 0123456789abcdeg"), "vending_key");
}
TEST(ConfigValidation, VendingKeyLengthForDkga) {
  expect_config_error(with_line("vending_key", "vending_key: 0123456789abcd"), "vending_key");
  expect_combination_error(with_line("decoder_key_generation_algorithm", "decoder_key_generation_algorithm: 04"),
                           "vending_key");
}
TEST(ConfigValidation, SupplyGroupCode) {
  expect_config_error(with_line("supply_group_code", "supply_group_code: 1234567"), "supply_group_code");
}
TEST(ConfigValidation, KeyType) { expect_config_error(with_line("key_type", "key_type: 4"), "key_type"); }
TEST(ConfigValidation, BaseDate) { expect_config_error(with_line("base_date", "base_date: 2000"), "base_date"); }
TEST(ConfigValidation, Iin) {
  expect_config_error(with_line("issuer_identification_no", "issuer_identification_no: 123"), "issuer_identification_no");
}
TEST(ConfigValidation, MissingKey) { expect_config_error(with_line("key_type", ""), "key_type"); }
TEST(ConfigValidation, DuplicateKey) { expect_config_error(kGoodConfig + "key_type: 2\n", "key_type"); }
TEST(ConfigValidation, UnknownKey) { expect_config_error(kGoodConfig + "colour: blue\n", "colour"); }

TEST(DrnValidation, LengthMustSuitTheIin) {
  EXPECT_TRUE(validate_drn("600727", "47500150231").ok());
  EXPECT_EQ(validate_drn("600727", "4750015023").field(), "drn");
  EXPECT_EQ(validate_drn("0000", "47500150231").field(), "drn");
  EXPECT_TRUE(validate_drn("0000", "7802212716858").ok());
}
TEST(DrnValidation, DigitsOnly) { EXPECT_EQ(validate_drn("600727", "4750015023a").field(), "drn"); }
TEST(DrnValidation, CheckDigitWhenRequired) {
  EXPECT_TRUE(validate_drn("600727", "00000000008").ok());  // the CTSA vectors' DRN fails Luhn
  EXPECT_EQ(validate_drn("600727", "00000000008", /*require_check_digit=*/true).field(), "drn");
  EXPECT_TRUE(validate_drn("600727", "00000000000", true).ok());
}
TEST(DrnValidation, DerivationRefusesABadDrn) {
  auto c = parse_config_text(kGoodConfig);
  ASSERT_TRUE(c.ok());
  auto k = derive_decoder_key(*c, "123");
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().field(), "drn");
}

TEST(AmountValidation, Rules) {
  EXPECT_EQ(parse_amount_units("-1").status().field(), "amount");
  EXPECT_EQ(parse_amount_units("1820162.5").status().field(), "amount");
  EXPECT_EQ(parse_amount_units("ten").status().field(), "amount");
  EXPECT_EQ(parse_amount_units("").status().field(), "amount");
  EXPECT_EQ(parse_amount_units("5", "credit").ok(), true);
  EXPECT_EQ(parse_amount_units("x", "credit").status().field(), "credit");
  EXPECT_EQ(encode_amount(kMaxAmountTenths + 1).status().field(), "amount");
  EXPECT_TRUE(encode_amount(kMaxAmountTenths).ok());
}

TEST(TidValidation, Range) {
  const std::int64_t base = base_date_unix_seconds(BaseDate::k1993);
  EXPECT_EQ(tid_from_unix(base - 1, BaseDate::k1993).status().field(), "token_id");
  EXPECT_EQ(*tid_from_unix(base, BaseDate::k1993), 0u);
  EXPECT_EQ(*tid_from_unix(base + 60LL * kMaxTid + 59, BaseDate::k1993), kMaxTid);
  EXPECT_EQ(tid_from_unix(base + 60LL * (kMaxTid + 1), BaseDate::k1993).status().field(), "token_id");
  EXPECT_EQ(parse_instant("2026-13-01T00:00Z").status().field(), "token_id");
  EXPECT_EQ(parse_instant("yesterday", "when").status().field(), "when");
}

class RequestValidation : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = parse_config_text(kGoodConfig);
    ASSERT_TRUE(c.ok());
    config_ = std::move(c).value();
    auto k = derive_decoder_key(config_, kDrn);
    ASSERT_TRUE(k.ok());
    key_ = std::move(k).value();
  }
  void expect_refused(const TokenRequest& r, const std::string& field) {
    auto t = generate_tokens(config_, key_, kDrn, r);
    ASSERT_FALSE(t.ok()) << "accepted " << r.token_class << "/" << r.subclass;
    EXPECT_EQ(t.status().field(), field) << t.status().message();
  }
  static TokenRequest request(unsigned cls, unsigned sub) {
    TokenRequest r;
    r.token_class = cls;
    r.subclass = sub;
    r.tid = 1000;
    return r;
  }
  static constexpr const char* kDrn = "47500150231";
  Config config_;
  DecoderKey key_;
};

TEST_F(RequestValidation, ClassAndSubclass) {
  expect_refused(request(3, 0), "class");
  expect_refused(request(0, 8), "subclass");
  expect_refused(request(2, 10), "subclass");
  expect_refused(request(1, 2), "subclass");
}
TEST_F(RequestValidation, RandomNumber) {
  auto r = request(0, 0);
  r.random_no = 16;
  expect_refused(r, "random_no");
}
TEST_F(RequestValidation, TidRange) {
  auto r = request(0, 0);
  r.tid = kMaxTid + 1;
  expect_refused(r, "token_id");
}
TEST_F(RequestValidation, KeyExpiry) {
  config_.key_expiry_no = 10;
  auto r = request(0, 0);
  r.tid = 11u << 16;
  expect_refused(r, "key_expiry_no");
}
TEST_F(RequestValidation, Class0Amount) {
  auto r = request(0, 0);
  r.amount_tenths = kMaxAmountTenths + 1;
  expect_refused(r, "amount");
}
TEST_F(RequestValidation, Class1ControlAndManufacturer) {
  auto r = request(1, 0);
  r.control = 1ULL << 36;
  expect_refused(r, "control");
  r.control = 0;
  r.manufacturer_code = 100;
  expect_refused(r, "manufacturer_code");
  r = request(1, 1);
  r.control = 1ULL << 28;
  expect_refused(r, "control");
  r.control = 0;
  r.manufacturer_code = 10000;
  expect_refused(r, "manufacturer_code");
}
TEST_F(RequestValidation, Class2Values) {
  auto r = request(2, 0);
  r.maximum_power_limit = kMaxAmountTenths + 1;
  expect_refused(r, "maximum_power_limit");
  r = request(2, 1);
  r.register_no = 0x10000;
  expect_refused(r, "register");
  r = request(2, 2);
  r.tariff_rate = 0x10000;
  expect_refused(r, "tariff_rate");
  r = request(2, 5);
  r.pad = 0x10000;
  expect_refused(r, "pad");
  r = request(2, 6);
  r.mppul = kMaxAmountTenths + 1;
  expect_refused(r, "mppul");
  r = request(2, 7);
  r.wm_factor = 0x10000;
  expect_refused(r, "wm_factor");
}
TEST_F(RequestValidation, KeyChangeFields) {
  auto base = [] {
    TokenRequest r = request(2, 3);
    KeyChange kc;
    EXPECT_TRUE(parse_hex("0123456789abcdef", &kc.new_vending_key));
    r.key_change = std::move(kc);
    return r;
  };
  ASSERT_TRUE(generate_tokens(config_, key_, kDrn, base()).ok());
  expect_refused(request(2, 3), "new_vending_key");  // no key change given
  auto r = base();
  ASSERT_TRUE(parse_hex("0123456789ab", &r.key_change->new_vending_key));
  expect_refused(r, "new_vending_key");
  r = base();
  r.key_change->new_supply_group_code = 1000000;
  expect_refused(r, "new_supply_group_code");
  r = base();
  r.key_change->new_tariff_index = 100;
  expect_refused(r, "new_tariff_index");
  r = base();
  r.key_change->new_key_revision_no = 0;
  expect_refused(r, "new_key_revision_no");
  r = base();
  r.key_change->new_drn = "12";
  expect_refused(r, "new_drn");
}
TEST_F(RequestValidation, Drn) {
  auto t = generate_tokens(config_, key_, "4750015023", request(0, 0));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().field(), "drn");
}

}  // namespace
}  // namespace stsvend::sts
