// Vending through the service: a known answer, billing atomicity, TID allocation, the meter
// registry and key changes, idempotency (also across restarts), decoding, and concurrency.
#include <set>
#include <thread>

#include "service_fixture.h"
#include "stsvend/sts/tid.h"

namespace stsvend::service {
namespace {

using testing_support::kBase2014;
using testing_support::kConfigNectar1;
using testing_support::kNow;
using testing_support::ServiceTest;

constexpr const char* kDrn = "47500150231";

class VendTest : public ServiceTest {
 protected:
  void SetUp() override {
    ServiceTest::SetUp();
    user_ = make_user("alice");
    config_ = add_config(user_);
  }
  Result<VendResult> vend(VendRequest r) { return svc_->vend(r); }
  // A key change (2/3) for kDrn to SGC 654321, TI 02, KRN 2, DUTK, KEN 255.
  VendRequest key_change(bool ro, std::string new_drn = "") const {
    VendRequest kct = credit(user_, config_, kDrn);
    kct.token.token_class = 2;
    kct.token.subclass = 3;
    sts::KeyChange kc;
    const std::uint8_t new_key[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    kc.new_vending_key = SecretBytes(std::span<const std::uint8_t>(new_key, 8));
    kc.new_supply_group_code = 654321;
    kc.new_tariff_index = 2;
    kc.new_key_revision_no = 2;
    kc.new_key_type = sts::KeyType::kDutk;
    kc.new_key_expiry_no = 255;
    kc.ro = ro;
    kc.new_drn = std::move(new_drn);
    kct.token.key_change = std::move(kc);
    return kct;
  }
  std::uint32_t now_minute() const { return static_cast<std::uint32_t>((kNow / 1000 - kBase2014) / 60); }

  std::string user_;
  std::string config_;
};

// vectors.json case peer-test-Nectar_1.step1Test, vended through the whole service.
TEST_F(VendTest, KnownAnswerThroughTheService) {
  const std::string config = add_config(user_, kConfigNectar1);
  VendRequest r = credit(user_, config, "00000000000", 10);
  r.token_id = 1'082'541'660;  // 2004-04-21T10:01:00Z
  r.random_no = 5;
  auto res = vend(std::move(r));
  ASSERT_TRUE(res.ok()) << res.status().message();
  ASSERT_EQ(res->tokens.size(), 1u);
  const TokenRecord& t = res->tokens[0];
  EXPECT_EQ(t.token_no, "66475648316756821785");
  EXPECT_EQ(t.token_type, "Electricity_00");
  EXPECT_EQ(t.meter_no, "00000000000");
  EXPECT_EQ(t.user_ref, user_);
  EXPECT_EQ(t.request_id, "req");
  EXPECT_EQ(t.created_at, kNow);
  EXPECT_FALSE(res->replayed);
}

TEST_F(VendTest, ChargesPricePerTokenWithOneConsumptionEach) {
  auto res = vend(credit(user_, config_, kDrn));
  ASSERT_TRUE(res.ok()) << res.status().message();
  EXPECT_EQ(balance(user_), 99 * kUnitScale);
  auto c = svc_->transactions(user_, {});
  ASSERT_EQ(c->consumptions.size(), 1u);
  EXPECT_EQ(c->consumptions[0].units, kUnitScale);
  EXPECT_EQ(c->consumptions[0].token_ref, res->tokens[0].ref);
  EXPECT_EQ(svc_->list_notifications(user_, {})->front().type, "GENERATE_TOKEN");
}

TEST_F(VendTest, InsufficientCreditsWritesNothing) {
  const std::string poor = make_user("poor", 0);
  const std::string config = add_config(poor);
  auto res = vend(credit(poor, config, kDrn));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(res.status().field(), "credits");
  EXPECT_EQ(res.status().rule(), "Insufficient credits");
  EXPECT_EQ(svc_->get_meter(poor, kDrn).status().code(), Status::Code::kNotFound) << "no meter row";
  EXPECT_TRUE(svc_->transactions(poor, {})->consumptions.empty());
  EXPECT_EQ(balance(poor), 0);
  {
    auto list = svc_->list_notifications(poor, {});
    ASSERT_TRUE(list.ok());
    for (const auto& n : *list) EXPECT_NE(n.type, "GENERATE_TOKEN");
  }

  // With a meter that already has a TID: the TID does not move either.
  ASSERT_TRUE(svc_->add_credits(poor, kUnitScale, kUnitScale, "KES").ok());
  ASSERT_TRUE(vend(credit(poor, config, kDrn)).ok());
  const auto before = svc_->get_meter(poor, kDrn)->last_tid;
  EXPECT_EQ(vend(credit(poor, config, kDrn)).status().field(), "credits");
  EXPECT_EQ(svc_->get_meter(poor, kDrn)->last_tid, before);
  EXPECT_EQ(svc_->list_tokens_by_meter(poor, kDrn)->size(), 1u);
}

TEST_F(VendTest, ServerAllocatesStrictlyIncreasingTidsOnePerMinute) {
  auto a = vend(credit(user_, config_, kDrn));
  auto b = vend(credit(user_, config_, kDrn));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->tokens[0].tid, now_minute());
  EXPECT_EQ(b->tokens[0].tid, now_minute() + 1) << "never two tokens in the same minute";
  EXPECT_EQ(svc_->get_meter(user_, kDrn)->last_tid, now_minute() + 1);
  // Time passes beyond the high-water mark: the TID follows the clock again.
  clock_ += 10 * 60'000;
  EXPECT_EQ(vend(credit(user_, config_, kDrn))->tokens[0].tid, now_minute() + 10);
  // TIDs are per meter.
  EXPECT_EQ(vend(credit(user_, config_, "01234567890"))->tokens[0].tid, now_minute() + 10);
}

TEST_F(VendTest, CallerTokenIdMustBeNewerUnlessOverridden) {
  VendRequest first = credit(user_, config_, kDrn);
  first.token_id = kNow / 1000;
  ASSERT_TRUE(vend(std::move(first)).ok());
  VendRequest older = credit(user_, config_, kDrn);
  older.token_id = kNow / 1000 - 120;
  auto refused = vend(std::move(older));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(refused.status().field(), "token_id");
  EXPECT_NE(refused.status().rule().find("2026-11-23T12:00:00Z"), std::string_view::npos) << refused.status().rule();
  EXPECT_EQ(balance(user_), 99 * kUnitScale);

  VendRequest same = credit(user_, config_, kDrn);
  same.token_id = kNow / 1000 + 30;  // same minute as the last TID
  EXPECT_EQ(vend(std::move(same)).status().field(), "token_id");

  VendRequest override_older = credit(user_, config_, kDrn);
  override_older.token_id = kNow / 1000 - 120;
  override_older.allow_tid_replay = true;
  auto ok = vend(std::move(override_older));
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->tokens[0].tid, now_minute() - 2);
  EXPECT_EQ(svc_->get_meter(user_, kDrn)->last_tid, now_minute()) << "the high-water mark never goes back";

  // Even the override cannot repeat a TID: the database refuses it.
  VendRequest repeat = credit(user_, config_, kDrn);
  repeat.token_id = kNow / 1000;
  repeat.allow_tid_replay = true;
  auto dup = vend(std::move(repeat));
  EXPECT_EQ(dup.status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(dup.status().field(), "token_id");
  EXPECT_EQ(balance(user_), 98 * kUnitScale);
}

TEST_F(VendTest, TidRangeExhaustion) {
  const std::int64_t last_minute = kBase2014 + std::int64_t{sts::kMaxTid} * 60;
  VendRequest at_end = credit(user_, config_, kDrn);
  at_end.token_id = last_minute;
  auto r = vend(std::move(at_end));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->tokens[0].tid, sts::kMaxTid);
  auto next = vend(credit(user_, config_, kDrn));
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(next.status().field(), "token_id");
  EXPECT_EQ(next.status().rule(),
            "TID range of base date 2014 exhausted; a base-date roll-over key change is needed");
  // A token_id past the range is the caller's mistake, not an exhausted meter.
  VendRequest beyond = credit(user_, config_, "01234567890");
  beyond.token_id = last_minute + 60;
  auto past = vend(std::move(beyond));
  EXPECT_EQ(past.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(past.status().rule(), "must not be after " + sts::format_instant(last_minute) +
                                      ", the last minute of base date 2014's TID range");
  // A 1993 configuration has no TIDs left in 2026 at all.
  const std::string old = add_config(user_, kConfigNectar1);
  EXPECT_EQ(vend(credit(user_, old, "00000000000")).status().rule().substr(0, 27), "TID range of base date 1993");
}

TEST_F(VendTest, TokensWithoutTidDoNotConsumeOne) {
  VendRequest test_token = credit(user_, config_, kDrn);
  test_token.token.token_class = 1;
  test_token.token.subclass = 0;
  test_token.token.control = 1;
  test_token.token.manufacturer_code = 1;
  auto r = vend(std::move(test_token));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->tokens[0].tid.has_value());
  EXPECT_FALSE(svc_->get_meter(user_, kDrn)->last_tid.has_value());
}

TEST_F(VendTest, IdempotentReplayReturnsSameTokensAndChargesOnceAcrossRestart) {
  VendRequest r = credit(user_, config_, kDrn);
  r.idempotency_key = "idem-1";
  r.request_fingerprint = "fp-A";
  auto first = vend(std::move(r));
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->replayed);
  VendRequest again = credit(user_, config_, kDrn);
  again.idempotency_key = "idem-1";
  again.request_fingerprint = "fp-A";
  auto second = vend(std::move(again));
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->replayed);
  ASSERT_EQ(second->tokens.size(), 1u);
  EXPECT_EQ(second->tokens[0].ref, first->tokens[0].ref);
  EXPECT_EQ(second->tokens[0].token_no, first->tokens[0].token_no);
  EXPECT_EQ(balance(user_), 99 * kUnitScale);

  reopen();
  VendRequest after = credit(user_, config_, kDrn);
  after.idempotency_key = "idem-1";
  after.request_fingerprint = "fp-A";
  auto third = vend(std::move(after));
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->replayed);
  EXPECT_EQ(third->tokens[0].token_no, first->tokens[0].token_no);
  EXPECT_EQ(balance(user_), 99 * kUnitScale);

  VendRequest different = credit(user_, config_, kDrn, 500);
  different.idempotency_key = "idem-1";
  different.request_fingerprint = "fp-B";
  auto clash = vend(std::move(different));
  EXPECT_EQ(clash.status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(clash.status().field(), "Idempotency-Key");
  EXPECT_EQ(clash.status().rule(), "was used with a different request");
  // Keys are per tenant.
  const std::string bob = make_user("bob");
  const std::string bob_config = add_config(bob);
  VendRequest bobs = credit(bob, bob_config, kDrn);
  bobs.idempotency_key = "idem-1";
  bobs.request_fingerprint = "fp-A";
  auto bob_res = vend(std::move(bobs));
  ASSERT_TRUE(bob_res.ok());
  EXPECT_FALSE(bob_res->replayed);
}

TEST_F(VendTest, ConcurrentSameKeyChargesOnce) {
  std::vector<std::thread> threads;
  std::vector<std::string> numbers(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      VendRequest r = credit(user_, config_, kDrn);
      r.idempotency_key = "same";
      r.request_fingerprint = "fp";
      auto res = svc_->vend(r);
      if (res.ok()) numbers[static_cast<std::size_t>(i)] = res->tokens[0].token_no;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& n : numbers) EXPECT_EQ(n, numbers[0]);
  EXPECT_EQ(balance(user_), 99 * kUnitScale);
}

TEST_F(VendTest, MeterRegistryRefusesAnotherConfiguration) {
  ASSERT_TRUE(vend(credit(user_, config_, kDrn)).ok());
  auto m = svc_->get_meter(user_, kDrn);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->config_ref, config_);
  EXPECT_EQ(m->user_ref, user_);
  const std::string other = add_config(user_);
  auto r = vend(credit(user_, other, kDrn));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(r.status().rule().find("key change needed"), std::string_view::npos);
  // Registration does not change the key of a meter that took tokens under it...
  auto refused = svc_->register_meter(user_, kDrn, other);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().rule().find("key change needed"), std::string_view::npos);
  EXPECT_EQ(svc_->get_meter(user_, kDrn)->config_ref, config_);
  EXPECT_FALSE(vend(credit(user_, other, kDrn)).ok());
  // ...unless the operator re-binds it, stating that its key changed outside stsvend; the TID high-water
  // mark stays.
  auto rebound = svc_->register_meter(user_, kDrn, other, /*rebind=*/true);
  ASSERT_TRUE(rebound.ok());
  EXPECT_EQ(rebound->last_tid, m->last_tid);
  EXPECT_TRUE(vend(credit(user_, other, kDrn)).ok());
  EXPECT_EQ(svc_->list_meters(user_)->size(), 1u);
  EXPECT_EQ(svc_->register_meter(user_, "12ab", other).status().field(), "drn");
  // A meter without tokens yet is simply bound again; a deactivated configuration never.
  ASSERT_TRUE(svc_->register_meter(user_, "01234567890", config_).ok());
  EXPECT_EQ(svc_->register_meter(user_, "01234567890", other)->config_ref, other);
  ASSERT_TRUE(svc_->set_configuration_active(user_, config_, false).ok());
  EXPECT_EQ(svc_->register_meter(user_, "01234567890", config_).status().code(), Status::Code::kFailedPrecondition);
}

TEST_F(VendTest, AnOverlongConfigRefIsRefusedNotEchoed) {
  const std::string huge(100'000, 'x');
  auto r = vend(credit(user_, huge, kDrn));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r.status().field(), "config_ref");
  EXPECT_LT(r.status().message().size(), 200u);
  EXPECT_EQ(svc_->decode(user_, huge, kDrn, "12345678901234567890").status().field(), "config_ref");
  EXPECT_EQ(balance(user_), 100 * kUnitScale);
}

TEST_F(VendTest, DeactivatedConfigurationCannotVend) {
  ASSERT_TRUE(svc_->set_configuration_active(user_, config_, false).ok());
  auto r = vend(credit(user_, config_, kDrn));
  EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(r.status().field(), "config_ref");
}

TEST_F(VendTest, KeyChangeMovesTheMeter) {
  ASSERT_TRUE(vend(credit(user_, config_, kDrn)).ok());
  auto set = vend(key_change(/*ro=*/true));
  ASSERT_TRUE(set.ok()) << set.status().message();
  ASSERT_EQ(set->tokens.size(), 2u);
  EXPECT_EQ(set->tokens[0].token_type, "Set1stSectionDecoderKey_23");
  EXPECT_EQ(set->tokens[1].token_type, "Set2ndSectionDecoderKey_24");
  EXPECT_EQ(set->tokens[0].set_ref, set->tokens[1].set_ref);
  EXPECT_EQ(set->tokens[1].set_index, 1);
  EXPECT_EQ(balance(user_), 97 * kUnitScale) << "one price per token of the set";
  auto whole = svc_->get_token_set(user_, set->tokens[1].ref);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->size(), 2u);

  auto m = svc_->get_meter(user_, kDrn);
  EXPECT_TRUE(m->moved_by_kct);
  EXPECT_EQ(m->supply_group_code, 654321u);
  EXPECT_EQ(m->key_revision_no, 2);
  EXPECT_EQ(m->tariff_index, 2);
  EXPECT_FALSE(m->last_tid.has_value()) << "roll-over cleared the TID store";
  EXPECT_EQ(m->tid_epoch, 1);

  auto old = vend(credit(user_, config_, kDrn));
  EXPECT_EQ(old.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(old.status().rule().find("key change needed"), std::string_view::npos);

  const std::string new_config = add_config(user_,
                                            "name: new_key\nkey_expiry_no: 255\nencryption_algorithm: sta\n"
                                            "token_carrier_type: numeric\ndecoder_key_generation_algorithm: 02\n"
                                            "tariff_index: 02\nkey_revision_no: 2\nvending_key: 0123456789abcdef\n"
                                            "supply_group_code: 654321\nkey_type: 2\nbase_date: 2014\n"
                                            "issuer_identification_no: 600727\n");
  auto after = vend(credit(user_, new_config, kDrn));
  ASSERT_TRUE(after.ok()) << after.status().message();
  // New TID epoch: the minute the first token of the old epoch used is available again.
  EXPECT_EQ(after->tokens[0].tid, now_minute());
  EXPECT_EQ(svc_->get_meter(user_, kDrn)->config_ref, new_config);
  EXPECT_FALSE(svc_->get_meter(user_, kDrn)->moved_by_kct);
}

TEST_F(VendTest, KeyChangeKeepsTheMetersDrn) {
  ASSERT_TRUE(vend(credit(user_, config_, kDrn)).ok());
  const Units before = balance(user_);
  auto refused = vend(key_change(/*ro=*/false, "47500150249"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(refused.status().field(), "new_drn");
  EXPECT_EQ(balance(user_), before) << "nothing charged";
  EXPECT_FALSE(svc_->get_meter(user_, kDrn)->moved_by_kct) << "the meter keeps its key";
}

TEST_F(VendTest, DecodeFindsOwnTokensAndDecodesAnyToken) {
  auto res = vend(credit(user_, config_, kDrn, 123));
  ASSERT_TRUE(res.ok());
  auto d = svc_->decode(user_, config_, kDrn, res->tokens[0].token_no);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->outcome.result, sts::TokenResult::kAccepted);
  EXPECT_EQ(d->outcome.token.amount_tenths, 123u);
  EXPECT_EQ(d->outcome.token.tid, res->tokens[0].tid);
  ASSERT_TRUE(d->record.has_value());
  EXPECT_EQ(d->record->ref, res->tokens[0].ref);
  EXPECT_EQ(svc_->list_notifications(user_, {})->front().type, "DECODE_TOKEN");

  // Failed decodes are refused and, like every failed request, record nothing.
  const std::size_t notifications = svc_->list_notifications(user_, {})->size();
  auto other_meter = svc_->decode(user_, config_, "01234567890", res->tokens[0].token_no);
  ASSERT_FALSE(other_meter.ok()) << "another meter's key does not decode it";
  EXPECT_EQ(other_meter.status().field(), "token_no");
  EXPECT_NE(other_meter.status().rule().find("CRC"), std::string::npos);
  auto junk = svc_->decode(user_, config_, kDrn, "123");
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.status().field(), "token_no");
  EXPECT_EQ(svc_->list_notifications(user_, {})->size(), notifications);
}

TEST_F(VendTest, TokenLookups) {
  auto res = vend(credit(user_, config_, kDrn));
  ASSERT_TRUE(res.ok());
  auto t = svc_->get_token(user_, res->tokens[0].ref);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->token_no, res->tokens[0].token_no);
  EXPECT_EQ(t->config_ref, config_);
  EXPECT_EQ(svc_->list_tokens_by_meter(user_, kDrn)->size(), 1u);
  EXPECT_EQ(svc_->get_token(user_, "nope").status().field(), "ref");
  EXPECT_EQ(svc_->list_tokens_by_meter(user_, "99999999999").status().field(), "drn");
}

TEST_F(VendTest, RequestValidation) {
  EXPECT_EQ(vend(credit(user_, "", kDrn)).status().field(), "config_ref");
  EXPECT_EQ(vend(credit(user_, config_, "")).status().field(), "drn");
  VendRequest rnd = credit(user_, config_, kDrn);
  rnd.random_no = 16;
  EXPECT_EQ(vend(std::move(rnd)).status().field(), "random_no");
  VendRequest idem = credit(user_, config_, kDrn);
  idem.idempotency_key = "";
  EXPECT_EQ(vend(std::move(idem)).status().field(), "Idempotency-Key");
  EXPECT_EQ(vend(credit(user_, config_, "12345")).status().field(), "drn");
  EXPECT_EQ(balance(user_), 100 * kUnitScale);
}

// 8 threads x 500 vends on one meter: every TID distinct, balance exact. A reader meanwhile sees each
// transactions listing as one snapshot: its balance is its purchases less its consumptions.
TEST_F(VendTest, ConcurrentVendsOnOneMeter) {
  constexpr int kThreads = 8, kPerThread = 500;
  ASSERT_TRUE(svc_->add_credits(user_, kThreads * kPerThread * kUnitScale, 0, "KES").ok());
  const Units start = balance(user_);
  std::vector<std::vector<std::uint32_t>> tids(kThreads);
  std::atomic<int> failures{0};
  std::atomic<bool> vending{true};
  int listings = 0, inconsistent = 0;
  std::thread reader([&] {
    while (vending.load()) {
      auto listing = svc_->transactions(user_, {});
      if (!listing.ok()) {
        ++inconsistent;
        continue;
      }
      Units sum = 0;
      for (const auto& p : listing->purchases) sum += p.units;
      for (const auto& c : listing->consumptions) sum -= c.units;
      if (sum != listing->credits) ++inconsistent;
      ++listings;
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = svc_->vend(credit(user_, config_, kDrn));
        if (!r.ok() || !r->tokens[0].tid) {
          failures++;
          continue;
        }
        tids[static_cast<std::size_t>(t)].push_back(*r->tokens[0].tid);
      }
    });
  }
  for (auto& th : threads) th.join();
  vending = false;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(listings, 0);
  EXPECT_EQ(inconsistent, 0) << "of " << listings << " listings";
  std::set<std::uint32_t> all;
  for (const auto& v : tids) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), std::size_t{kThreads * kPerThread});
  EXPECT_EQ(*all.begin(), now_minute());
  EXPECT_EQ(*all.rbegin(), now_minute() + kThreads * kPerThread - 1);
  EXPECT_EQ(balance(user_), start - kThreads * kPerThread * kUnitScale);
  EXPECT_EQ(svc_->transactions(user_, {})->consumptions.size(), std::size_t{kThreads * kPerThread});
}

// The writer's vend ledger caches configurations and meters; a change committed by another process
// (the admin CLI, here a second Service on the same data directory) must be seen by the next vend.
TEST_F(VendTest, ChangesByAnotherProcessReachTheVendLedger) {
  ASSERT_TRUE(vend(credit(user_, config_, kDrn)).ok());
  {
    auto other = Service::open(options());
    ASSERT_TRUE(other.ok()) << other.status().message();
    ASSERT_TRUE((*other)->set_configuration_active(user_, config_, false).ok());
  }
  auto refused = vend(credit(user_, config_, kDrn));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("deactivated"), std::string::npos) << refused.status().message();
  ASSERT_TRUE(svc_->set_configuration_active(user_, config_, true).ok());
  EXPECT_TRUE(vend(credit(user_, config_, kDrn)).ok()) << "activation in this process reaches the ledger too";
}

// A refused vend still burns its nonce (and charges nothing); a replayed nonce is refused before
// anything else is looked at.
TEST_F(VendTest, RefusedVendKeepsItsNonceAndNothingElse) {
  VendRequest r = credit(user_, config_, kDrn);
  r.config_ref = add_config(user_, kConfigNectar1);  // not the key the meter holds
  ASSERT_TRUE(vend(credit(user_, config_, kDrn)).ok());  // the meter holds config_
  const Units before = balance(user_);
  r.nonce_key = "key-1";
  r.nonce = "nonce-1";
  auto refused = vend(std::move(r));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("key change needed"), std::string::npos);
  EXPECT_EQ(balance(user_), before);
  EXPECT_EQ(svc_->consume_nonce("key-1", "nonce-1").code(), Status::Code::kAlreadyExists);

  VendRequest again = credit(user_, config_, kDrn);
  again.nonce_key = "key-1";
  again.nonce = "nonce-1";
  auto replay = vend(std::move(again));
  ASSERT_FALSE(replay.ok());
  EXPECT_EQ(replay.status().code(), Status::Code::kUnauthenticated);
  EXPECT_EQ(balance(user_), before);
}

}  // namespace
}  // namespace stsvend::service
