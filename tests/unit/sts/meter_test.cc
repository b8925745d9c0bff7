// The virtual meter: TID store (USED, OLD), key expiry, DDTK, class 1 authentication, registers,
// key change sets (any order, commit, RO, KEY_TYPE) and the state text format. docs/meter.md.
#include "stsvend/sts/meter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "stsvend/secret.h"
#include "stsvend/sts/amount.h"
#include "stsvend/sts/config.h"
#include "stsvend/sts/decoder_key.h"
#include "stsvend/sts/token.h"
#include "sts/crc16.h"

namespace stsvend::sts {
namespace {

constexpr const char* kDrn = "47500150231";
constexpr const char* kMistyDrn = "00000000000";

Config sta_config(std::uint8_t ken = 255, KeyType kt = KeyType::kDutk) {
  Config c;
  c.name = "meter-test";
  c.encryption_algorithm = EncryptionAlgorithm::kSta;
  c.decoder_key_generation_algorithm = Dkga::k02;
  EXPECT_TRUE(parse_hex("abababababababab", &c.vending_key));
  c.supply_group_code = 123456;
  c.tariff_index = 1;
  c.key_revision_no = 1;
  c.key_type = kt;
  c.key_expiry_no = ken;
  return c;
}

Config misty_config() {
  Config c = sta_config();
  c.encryption_algorithm = EncryptionAlgorithm::kMisty1;
  c.decoder_key_generation_algorithm = Dkga::k04;
  EXPECT_TRUE(parse_hex("abababababababab949494949494949401234567", &c.vending_key));
  c.supply_group_code = 123457;
  return c;
}

// Vends with `config` for `drn`; returns every token of the request.
std::vector<std::string> vend(const Config& config, const char* drn, const TokenRequest& req) {
  auto key = derive_decoder_key(config, drn);
  EXPECT_TRUE(key.ok()) << key.status().message();
  auto tokens = generate_tokens(config, *key, drn, req);
  EXPECT_TRUE(tokens.ok()) << tokens.status().message();
  std::vector<std::string> out;
  if (tokens.ok()) {
    for (const auto& t : *tokens) out.push_back(t.number);
  }
  return out;
}

std::string credit(const Config& config, std::uint32_t tid, std::uint32_t tenths, unsigned subclass = 0,
                   const char* drn = kDrn) {
  TokenRequest r;
  r.token_class = 0;
  r.subclass = subclass;
  r.tid = tid;
  r.random_no = static_cast<std::uint8_t>(tid & 0xF);
  r.amount_tenths = tenths;
  return vend(config, drn, r).at(0);
}

std::string management(const Config& config, unsigned subclass, std::uint32_t tid, std::uint32_t value) {
  TokenRequest r;
  r.token_class = 2;
  r.subclass = subclass;
  r.tid = tid;
  r.maximum_power_limit = r.register_no = r.tariff_rate = r.pad = r.mppul = r.wm_factor = value;
  return vend(config, kDrn, r).at(0);
}

KeyChange key_change_to(const Config& config, const char* new_vk_hex, std::uint8_t krn, KeyType kt, std::uint8_t ken,
                        bool ro, std::uint8_t ti, std::uint32_t sgc) {
  KeyChange kc;
  EXPECT_TRUE(parse_hex(new_vk_hex, &kc.new_vending_key));
  kc.new_key_revision_no = krn;
  kc.new_key_type = kt;
  kc.new_key_expiry_no = ken;
  kc.ro = ro;
  kc.new_tariff_index = ti;
  kc.new_supply_group_code = sgc;
  (void)config;
  return kc;
}

std::vector<std::string> kct_set(const Config& config, const char* drn, const KeyChange& kc) {
  TokenRequest r;
  r.token_class = 2;
  r.subclass = 3;
  r.key_change = kc.clone();
  return vend(config, drn, r);
}

// The configuration a completed key change leaves the meter in (to vend under the new key).
Config after_change(const Config& old, const KeyChange& kc) {
  Config c = old.clone();
  c.vending_key = kc.new_vending_key.clone();
  c.key_revision_no = kc.new_key_revision_no;
  c.key_type = kc.new_key_type;
  c.key_expiry_no = kc.new_key_expiry_no;
  c.tariff_index = kc.new_tariff_index;
  c.supply_group_code = kc.new_supply_group_code;
  return c;
}

VirtualMeter commission(const Config& c, const char* drn = kDrn, std::uint32_t mc = 0) {
  auto m = VirtualMeter::commission(c, drn, mc);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return std::move(m).value();
}

TEST(VirtualMeter, CreditIsAcceptedOnceThenUsed) {
  const Config c = sta_config();
  VirtualMeter m = commission(c);
  const std::string t = credit(c, 1000, 256);
  const DecodeOutcome first = m.enter(t);
  EXPECT_EQ(first.result, TokenResult::kAccepted);
  EXPECT_EQ(first.token.amount_tenths, 256u);
  EXPECT_EQ(m.state().credit_tenths.at(0), 256u);
  EXPECT_EQ(m.state().tid_store, std::vector<std::uint32_t>{1000});
  const std::string before = m.serialize();
  EXPECT_EQ(m.enter(t).result, TokenResult::kUsed);
  EXPECT_EQ(m.serialize(), before) << "a refused token must not change the meter";
  // Grouped input is the same token.
  std::string grouped;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (i != 0 && i % 4 == 0) grouped.push_back('-');
    grouped.push_back(t[i]);
  }
  EXPECT_EQ(m.enter(grouped).result, TokenResult::kUsed);
}

TEST(VirtualMeter, CreditGoesToTheSubclassRegister) {
  const Config c = sta_config();
  VirtualMeter m = commission(c);
  ASSERT_EQ(m.enter(credit(c, 10, 100, 1)).result, TokenResult::kAccepted);  // water
  ASSERT_EQ(m.enter(credit(c, 11, 50, 2)).result, TokenResult::kAccepted);   // gas
  ASSERT_EQ(m.enter(credit(c, 12, 70, 4)).result, TokenResult::kAccepted);   // electricity currency
  EXPECT_EQ(m.state().credit_tenths.at(1), 100u);
  EXPECT_EQ(m.state().credit_tenths.at(2), 50u);
  EXPECT_EQ(m.state().credit_tenths.at(4), 70u);
  EXPECT_EQ(m.state().credit_tenths.count(0), 0u);
}

TEST(VirtualMeter, OldTokensAreRefusedOnceTheStoreIsFull) {
  const Config c = sta_config();
  VirtualMeter m = commission(c);
  // Until the store is full, an earlier TID is still accepted (tokens may be entered out of order).
  ASSERT_EQ(m.enter(credit(c, 2000, 1)).result, TokenResult::kAccepted);
  ASSERT_EQ(m.enter(credit(c, 1000, 1)).result, TokenResult::kAccepted);
  for (std::uint32_t tid = 1001; tid < 1049; ++tid) ASSERT_EQ(m.enter(credit(c, tid, 1)).result, TokenResult::kAccepted);
  ASSERT_EQ(m.state().tid_store.size(), MeterState::kTidStoreSize);
  EXPECT_EQ(m.enter(credit(c, 999, 1)).result, TokenResult::kOld);
  EXPECT_EQ(m.enter(credit(c, 1000, 1)).result, TokenResult::kUsed);
  // A newer token evicts the oldest TID, which then counts as OLD.
  ASSERT_EQ(m.enter(credit(c, 1500, 1)).result, TokenResult::kAccepted);
  EXPECT_EQ(m.state().tid_store.size(), MeterState::kTidStoreSize);
  EXPECT_EQ(m.state().tid_store.front(), 1001u);
  EXPECT_EQ(m.enter(credit(c, 1000, 1)).result, TokenResult::kOld);
  // Between the oldest and newest but not stored: accepted.
  EXPECT_EQ(m.enter(credit(c, 1700, 1)).result, TokenResult::kAccepted);
  EXPECT_TRUE(std::is_sorted(m.state().tid_store.begin(), m.state().tid_store.end()));
}

TEST(VirtualMeter, KeyExpiryUsesTheTopEightTidBits) {
  const Config c = sta_config(/*ken=*/10);
  VirtualMeter m = commission(c);
  // The generator refuses past-expiry TIDs, so vend those with KEN 255 (same key: KEN is not an input).
  const Config c255 = sta_config(255);
  EXPECT_EQ(m.enter(credit(c255, (11u << 16), 1)).result, TokenResult::kKeyExpired);
  EXPECT_EQ(m.enter(credit(c, (10u << 16) | 0xFFFF, 1)).result, TokenResult::kAccepted);
  EXPECT_EQ(m.enter(management(c255, 0, (11u << 16) + 5, 1000)).result, TokenResult::kKeyExpired);
}

TEST(VirtualMeter, DefaultKeyRefusesCreditButNotManagement) {
  const Config c = sta_config(255, KeyType::kDdtk);
  VirtualMeter m = commission(c);
  EXPECT_EQ(m.enter(credit(c, 100, 10)).result, TokenResult::kDdtk);
  EXPECT_EQ(m.enter(management(c, 0, 101, 5000)).result, TokenResult::kAccepted);
  EXPECT_EQ(m.state().maximum_power_limit, decode_amount(*encode_amount(5000)));
}

TEST(VirtualMeter, ManagementTokensSetRegisters) {
  const Config c = sta_config();
  VirtualMeter m = commission(c);
  ASSERT_EQ(m.enter(credit(c, 1, 1000, 0)).result, TokenResult::kAccepted);
  ASSERT_EQ(m.enter(credit(c, 2, 1000, 1)).result, TokenResult::kAccepted);
  EXPECT_EQ(m.enter(management(c, 2, 3, 1234)).result, TokenResult::kAccepted);
  EXPECT_EQ(m.state().tariff_rate, 1234u);
  EXPECT_EQ(m.enter(management(c, 6, 4, 700)).result, TokenResult::kAccepted);
  EXPECT_EQ(m.state().mppul, 700u);
  EXPECT_EQ(m.enter(management(c, 7, 5, 12)).result, TokenResult::kAccepted);
  EXPECT_EQ(m.state().wm_factor, 12u);
  EXPECT_EQ(m.enter(management(c, 5, 6, 0)).result, TokenResult::kAccepted);
  EXPECT_FALSE(m.state().tamper);
  // ClearCredit: one register, then all; an unknown register is out of range.
  EXPECT_EQ(m.enter(management(c, 1, 7, 0)).result, TokenResult::kAccepted);
  EXPECT_EQ(m.state().credit_tenths.at(0), 0u);
  EXPECT_EQ(m.state().credit_tenths.at(1), 1000u);
  EXPECT_EQ(m.enter(management(c, 1, 8, 100)).result, TokenResult::kRange);
  EXPECT_EQ(m.enter(management(c, 1, 9, 0xFFFF)).result, TokenResult::kAccepted);
  EXPECT_EQ(m.state().credit_tenths.at(1), 0u);
}

TEST(VirtualMeter, CreditRegisterOverflow) {
  const Config c = sta_config();
  VirtualMeter m = commission(c);
  std::uint32_t tid = 100;
  DecodeOutcome out;
  do {
    out = m.enter(credit(c, tid++, kMaxAmountTenths));
  } while (out.result == TokenResult::kAccepted && tid < 200);
  EXPECT_EQ(out.result, TokenResult::kOverflow);
  EXPECT_LE(m.state().credit_tenths.at(0), 99'999'999u);
}

TEST(VirtualMeter, Class1NeedsNoKeyButAMatchingManufacturer) {
  const Config c = sta_config();
  VirtualMeter m = commission(c, kDrn, /*mc=*/47);
  TokenRequest r;
  r.token_class = 1;
  r.subclass = 0;
  r.control = 5;
  r.manufacturer_code = 12;
  EXPECT_EQ(m.enter(vend(c, kDrn, r).at(0)).result, TokenResult::kAuthentication);
  r.manufacturer_code = 47;
  EXPECT_EQ(m.enter(vend(c, kDrn, r).at(0)).result, TokenResult::kAccepted);
  r.manufacturer_code = 0;  // a code-0 token is for any manufacturer
  EXPECT_EQ(m.enter(vend(c, kDrn, r).at(0)).result, TokenResult::kAccepted);
  // A meter with manufacturer code 0 accepts any; and class 1 works under a foreign key (not encrypted).
  Config other = sta_config();
  ASSERT_TRUE(parse_hex("0123456789abcdef", &other.vending_key));
  VirtualMeter any = commission(c);
  r.manufacturer_code = 12;
  EXPECT_EQ(any.enter(vend(other, kDrn, r).at(0)).result, TokenResult::kAccepted);
}

TEST(VirtualMeter, WrongKeyAndGarbage) {
  const Config c = sta_config();
  VirtualMeter m = commission(c);
  Config other = sta_config();
  ASSERT_TRUE(parse_hex("0123456789abcdef", &other.vending_key));
  EXPECT_EQ(m.enter(credit(other, 5, 10)).result, TokenResult::kCrc);
  EXPECT_EQ(m.enter("1234").result, TokenResult::kFormat);
  EXPECT_EQ(m.enter("abcdefghijklmnopqrst").result, TokenResult::kFormat);
  EXPECT_EQ(m.enter("99999999999999999999").result, TokenResult::kFormat);  // >= 2^66
  EXPECT_TRUE(m.state().tid_store.empty());
}

TEST(VirtualMeter, KeyChangeSetMovesTheMeterToTheNewKey) {
  const Config c = sta_config();
  VirtualMeter m = commission(c);
  ASSERT_EQ(m.enter(credit(c, 500, 10)).result, TokenResult::kAccepted);
  const KeyChange kc = key_change_to(c, "0123456789abcdef", 2, KeyType::kDutk, 0x9A, false, 42, 654321);
  const auto set = kct_set(c, kDrn, kc);
  ASSERT_EQ(set.size(), 2u);
  EXPECT_EQ(m.enter(set[0]).result, TokenResult::kKeyChangePending);
  EXPECT_EQ(m.state().key_revision_no, 1u) << "nothing is committed before the set is complete";
  EXPECT_EQ(m.enter(set[1]).result, TokenResult::kAccepted);
  auto nk = derive_new_decoder_key(c, kDrn, kc);
  ASSERT_TRUE(nk.ok());
  EXPECT_EQ(m.state().key.hex_for_test(), nk->hex_for_test());
  EXPECT_EQ(m.state().key_revision_no, 2u);
  EXPECT_EQ(m.state().key_expiry_no, 0x9Au);
  EXPECT_EQ(m.state().key_type, KeyType::kDutk);
  EXPECT_EQ(m.state().tariff_index, 42u);
  EXPECT_TRUE(m.state().pending_key_change.empty());
  EXPECT_EQ(m.state().tid_store, std::vector<std::uint32_t>{500}) << "RO=0 keeps the TID store";
  // Old-key tokens now fail their CRC; new-key tokens are accepted.
  EXPECT_EQ(m.enter(credit(c, 600, 10)).result, TokenResult::kCrc);
  const Config nc = after_change(c, kc);
  EXPECT_EQ(m.enter(credit(nc, 600, 10)).result, TokenResult::kAccepted);
  EXPECT_EQ(m.enter(credit(nc, 500, 10)).result, TokenResult::kUsed);
  // The used key change set cannot be replayed: it fails under the new key.
  EXPECT_EQ(m.enter(set[0]).result, TokenResult::kCrc);
}

TEST(VirtualMeter, KeyChangeSectionsInAnyOrder) {
  const Config c = sta_config();
  VirtualMeter m = commission(c);
  const KeyChange kc = key_change_to(c, "0123456789abcdef", 3, KeyType::kDctk, 255, false, 1, 123456);
  const auto set = kct_set(c, kDrn, kc);
  EXPECT_EQ(m.enter(set[1]).result, TokenResult::kKeyChangePending);
  EXPECT_EQ(m.enter(set[1]).result, TokenResult::kKeyChangePending);  // re-entering a section is harmless
  EXPECT_EQ(m.enter(set[0]).result, TokenResult::kAccepted);
  EXPECT_EQ(m.state().key_revision_no, 3u);
  EXPECT_EQ(m.state().key_type, KeyType::kDctk);
}

TEST(VirtualMeter, RollOverClearsTheTidStore) {
  const Config c = sta_config();
  VirtualMeter m = commission(c);
  ASSERT_EQ(m.enter(credit(c, 9000, 10)).result, TokenResult::kAccepted);
  const KeyChange kc = key_change_to(c, "1111111111111111", 2, KeyType::kDutk, 255, /*ro=*/true, 1, 123456);
  for (const auto& t : kct_set(c, kDrn, kc)) m.enter(t);
  EXPECT_EQ(m.state().key_revision_no, 2u);
  EXPECT_TRUE(m.state().tid_store.empty());
  // The same TID under the new key is new to the meter.
  EXPECT_EQ(m.enter(credit(after_change(c, kc), 9000, 10)).result, TokenResult::kAccepted);
}

TEST(VirtualMeter, AnotherAcceptedTokenAbandonsAPartialSet) {
  const Config c = sta_config();
  VirtualMeter m = commission(c);
  const KeyChange kc = key_change_to(c, "0123456789abcdef", 2, KeyType::kDutk, 255, false, 1, 123456);
  const auto set = kct_set(c, kDrn, kc);
  ASSERT_EQ(m.enter(set[0]).result, TokenResult::kKeyChangePending);
  ASSERT_EQ(m.enter(credit(c, 77, 10)).result, TokenResult::kAccepted);
  EXPECT_TRUE(m.state().pending_key_change.empty());
  EXPECT_EQ(m.enter(set[1]).result, TokenResult::kKeyChangePending);
  EXPECT_EQ(m.state().key_revision_no, 1u);
}

TEST(VirtualMeter, KeyChangeToAnInitialisationKeyIsRefused) {
  const Config c = sta_config();
  VirtualMeter m = commission(c);
  const KeyChange kc = key_change_to(c, "0123456789abcdef", 2, KeyType::kDitk, 255, false, 1, 123456);
  const auto set = kct_set(c, kDrn, kc);
  EXPECT_EQ(m.enter(set[0]).result, TokenResult::kKeyType);
  EXPECT_EQ(m.enter(set[1]).result, TokenResult::kKeyChangePending);
  EXPECT_EQ(m.state().key_revision_no, 1u);
}

TEST(VirtualMeter, FourSectionKeyChangeFor128BitKeys) {
  const Config c = misty_config();
  VirtualMeter m = commission(c, kMistyDrn);
  const KeyChange kc = key_change_to(c, "abababababababab949494949494949401234567", 1, KeyType::kDutk, 255, false, 2, 123457);
  const auto set = kct_set(c, kMistyDrn, kc);
  ASSERT_EQ(set.size(), 4u);
  // REFERENCE.md §10.3 (CTSA 531-1-0-04 CTSA05): the same set the compliance test publishes.
  EXPECT_EQ(set, (std::vector<std::string>{"34812744915211133004", "46903925208523674737", "71464563847088610152",
                                            "67904239402617643990"}));
  EXPECT_EQ(m.enter(set[2]).result, TokenResult::kKeyChangePending);
  EXPECT_EQ(m.enter(set[0]).result, TokenResult::kKeyChangePending);
  EXPECT_EQ(m.enter(set[3]).result, TokenResult::kKeyChangePending);
  EXPECT_EQ(m.enter(set[1]).result, TokenResult::kAccepted);
  EXPECT_EQ(m.state().key.hex_for_test(), "b208834372ef892ef6e04c28593090d4");
  EXPECT_EQ(m.state().supply_group_code, 123457u);
  EXPECT_EQ(m.state().tariff_index, 2u);
  const Config nc = after_change(c, kc);
  EXPECT_EQ(m.enter(credit(nc, 42, 10, 0, kMistyDrn)).result, TokenResult::kAccepted);
}

TEST(VirtualMeter, ThirdSectionOnA64BitMeterIsNotAFunction) {
  // Generators only make 3rd/4th sections for 128-bit keys, so craft one under an STA key.
  const Config c = sta_config();
  auto key = derive_decoder_key(c, kDrn);
  ASSERT_TRUE(key.ok());
  std::uint64_t plain = std::uint64_t{8} << 60 | std::uint64_t{0x123} << 48 | std::uint64_t{0xDEADBEEF} << 16;
  plain |= token_crc(std::uint64_t{2} << 48 | plain >> 16);
  const std::string t = encrypt_and_format(plain, 2, *key, EncryptionAlgorithm::kSta);
  ASSERT_EQ(decode_token(t, *key, EncryptionAlgorithm::kSta).result, TokenResult::kAccepted);
  VirtualMeter m = commission(c);
  EXPECT_EQ(m.enter(t).result, TokenResult::kFunction);
  EXPECT_TRUE(m.state().pending_key_change.empty());
}

TEST(VirtualMeter, StateRoundTripsThroughText) {
  const Config c = sta_config();
  VirtualMeter m = commission(c, kDrn, 47);
  ASSERT_EQ(m.enter(credit(c, 100, 55)).result, TokenResult::kAccepted);
  ASSERT_EQ(m.enter(credit(c, 101, 66, 2)).result, TokenResult::kAccepted);
  ASSERT_EQ(m.enter(management(c, 0, 102, 3000)).result, TokenResult::kAccepted);
  const KeyChange kc = key_change_to(c, "0123456789abcdef", 2, KeyType::kDutk, 255, false, 1, 123456);
  const auto set = kct_set(c, kDrn, kc);
  ASSERT_EQ(m.enter(set[0]).result, TokenResult::kKeyChangePending);
  const std::string text = m.serialize();
  auto back = VirtualMeter::deserialize(text);
  ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << text;
  EXPECT_EQ(back->serialize(), text);
  EXPECT_EQ(back->state().tid_store, m.state().tid_store);
  EXPECT_EQ(back->state().credit_tenths, m.state().credit_tenths);
  EXPECT_EQ(back->state().manufacturer_code, 47u);
  // The restored meter continues the pending set and remembers used TIDs.
  EXPECT_EQ(back->enter(credit(c, 100, 55)).result, TokenResult::kUsed);
  EXPECT_EQ(back->enter(set[1]).result, TokenResult::kAccepted);
  EXPECT_EQ(back->state().key_revision_no, 2u);
}

TEST(VirtualMeter, CorruptStateIsRefused) {
  const Config c = sta_config();
  const std::string good = commission(c).serialize();
  EXPECT_TRUE(VirtualMeter::deserialize(good).ok());
  auto replace = [&good](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  EXPECT_FALSE(VirtualMeter::deserialize("").ok());
  EXPECT_FALSE(VirtualMeter::deserialize("stsvend-meter 2\n").ok());
  EXPECT_FALSE(VirtualMeter::deserialize(replace("tid_store", "tid_store 5 4")).ok());       // not ascending
  EXPECT_FALSE(VirtualMeter::deserialize(replace("tid_store", "tid_store 16777216")).ok());  // > 24 bits
  EXPECT_FALSE(VirtualMeter::deserialize(replace("key_type 2", "key_type 4")).ok());
  EXPECT_FALSE(VirtualMeter::deserialize(replace("encryption_algorithm sta", "encryption_algorithm misty")).ok());
  EXPECT_FALSE(VirtualMeter::deserialize(replace("base_date 1993", "base_date 1994")).ok());
  EXPECT_FALSE(VirtualMeter::deserialize(replace("tamper 0", "tamper 0\nbogus 1")).ok());
  EXPECT_FALSE(VirtualMeter::deserialize(replace("tamper 0", "tamper 0\ntamper 1")).ok());
  EXPECT_FALSE(VirtualMeter::deserialize(replace("tamper 0", "tamper 0\npending 5 0000000000000000")).ok());
  std::string no_key = good;
  no_key.erase(no_key.find("decoder_key"), no_key.find('\n', no_key.find("decoder_key")) - no_key.find("decoder_key") + 1);
  EXPECT_FALSE(VirtualMeter::deserialize(no_key).ok());
  std::string many = "tid_store";
  for (int i = 0; i < 51; ++i) many.append(" ").append(std::to_string(i));
  EXPECT_FALSE(VirtualMeter::deserialize(replace("tid_store", many)).ok());
}

TEST(VirtualMeter, CommissionValidates) {
  Config c = sta_config();
  c.key_revision_no = 0;
  EXPECT_FALSE(VirtualMeter::commission(c, kDrn).ok());
  EXPECT_FALSE(VirtualMeter::commission(sta_config(), "123").ok());
}

}  // namespace
}  // namespace stsvend::sts
