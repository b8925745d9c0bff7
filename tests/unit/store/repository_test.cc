// The SQLite schema and repository: pragmas, migrations, and the constraints that make the
// service's invariants hold in the database itself (no TID reuse, no overdraft, tenant scoping).
#include "store/sqlite/sqlite_repository.h"

#include <sqlite3.h>

#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "store/nonce_index.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/schema.h"
#include "temp_dir.h"

namespace stsvend::store::sqlite {
namespace {

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto c = Connection::open(dir_.path() / "t.db", false);
    ASSERT_TRUE(c.ok()) << c.status().message();
    db_ = std::move(c).value();
    ASSERT_TRUE(migrate(*db_).ok());
    repo_ = std::make_unique<SqliteRepository>(*db_);
    ASSERT_TRUE(repo_->insert_user(user("u-a", "alice"), "h").ok());
    ASSERT_TRUE(repo_->insert_user(user("u-b", "bob"), "h").ok());
  }

  static User user(std::string ref, std::string username) {
    User u;
    u.ref = std::move(ref);
    u.first_name = "F";
    u.last_name = "L";
    u.username = std::move(username);
    u.email = "x@y.zz";
    u.created_at = 1;
    return u;
  }

  static TokenRecord token(std::string ref, std::string user_ref, std::optional<std::uint32_t> tid) {
    TokenRecord t;
    t.ref = std::move(ref);
    t.user_ref = std::move(user_ref);
    t.config_ref = "c";
    t.meter_no = "01234567890";
    t.token_no = "12345678901234567890";
    t.token_type = "Electricity_00";
    t.tid = tid;
    t.set_ref = t.ref;
    return t;
  }

  std::int64_t pragma(const char* name) {
    auto s = db_->prepare(std::string("PRAGMA ") + name);
    EXPECT_TRUE(s.ok());
    auto row = s->step();
    EXPECT_TRUE(row.ok() && *row);
    return s->i64(0);
  }

  testing::TempDir dir_;
  std::unique_ptr<Connection> db_;
  std::unique_ptr<SqliteRepository> repo_;
};

TEST_F(RepositoryTest, DurabilityPragmas) {
  auto s = db_->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(*s->step());
  EXPECT_EQ(s->text(0), "wal");
  EXPECT_EQ(pragma("synchronous"), 2);  // FULL
  EXPECT_EQ(pragma("foreign_keys"), 1);
  EXPECT_EQ(pragma("busy_timeout"), 10000);
}

TEST_F(RepositoryTest, MigrationsAreRecordedAndIdempotent) {
  EXPECT_EQ(pragma("user_version"), schema_version());
  EXPECT_TRUE(migrate(*db_).ok());
  EXPECT_EQ(pragma("user_version"), schema_version());
}

TEST_F(RepositoryTest, NewerSchemaIsRefused) {
  ASSERT_TRUE(db_->exec("PRAGMA user_version=" + std::to_string(schema_version() + 1)).ok());
  Status st = migrate(*db_);
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(st.field(), "database");
}

TEST_F(RepositoryTest, UsernameIsUnique) {
  Status st = repo_->insert_user(user("u-c", "alice"), "h");
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(st.field(), "username");
}

TEST_F(RepositoryTest, RepeatedTidIsImpossible) {
  ASSERT_TRUE(repo_->insert_token(token("t1", "u-a", 100), 0).ok());
  Status st = repo_->insert_token(token("t2", "u-a", 100), 0);
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(st.field(), "token_id");
  // Another tenant's meter with the same number, another TID epoch, and TID-less tokens are fine.
  EXPECT_TRUE(repo_->insert_token(token("t3", "u-b", 100), 0).ok());
  EXPECT_TRUE(repo_->insert_token(token("t4", "u-a", 100), 1).ok());
  EXPECT_TRUE(repo_->insert_token(token("t5", "u-a", std::nullopt), 0).ok());
  EXPECT_TRUE(repo_->insert_token(token("t6", "u-a", std::nullopt), 0).ok());
}

TEST_F(RepositoryTest, TokenForUnknownUserViolatesForeignKey) {
  EXPECT_FALSE(repo_->insert_token(token("t1", "nobody", 1), 0).ok());
}

TEST_F(RepositoryTest, BalanceCannotGoNegative) {
  EXPECT_EQ(*repo_->balance("u-a"), 0);
  Status st = repo_->add_to_balance("u-a", -1);
  EXPECT_EQ(st.code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(st.field(), "credits");
  EXPECT_EQ(st.rule(), "Insufficient credits");
  ASSERT_TRUE(repo_->add_to_balance("u-a", 5).ok());
  ASSERT_TRUE(repo_->add_to_balance("u-a", -5).ok());
  EXPECT_EQ(*repo_->balance("u-a"), 0);
  EXPECT_FALSE(repo_->add_to_balance("u-a", -1).ok());
  EXPECT_EQ(*repo_->balance("u-a"), 0);
}

TEST_F(RepositoryTest, NonceFreshnessFollowsTtl) {
  EXPECT_TRUE(*repo_->record_nonce("k", "n", 1000, 500));
  EXPECT_FALSE(*repo_->record_nonce("k", "n", 1400, 500));
  EXPECT_FALSE(*repo_->record_nonce("k", "n", 1500, 500));   // seen at 1000 >= 1500 - 500
  EXPECT_TRUE(*repo_->record_nonce("k", "n", 1501, 500));    // older than the TTL: fresh again
  EXPECT_TRUE(*repo_->record_nonce("k2", "n", 1501, 500));   // nonces are per credential key
  EXPECT_TRUE(*repo_->record_nonce("k3", "n", 1700, 500));
  // The log holds four sightings: k/n at 1000 and at 1501, k2/n at 1501, k3/n at 1700.
  EXPECT_EQ(*repo_->prune_nonces(1600, 1), 1) << "at most max_rows";
  EXPECT_FALSE(*repo_->record_nonce("k", "n", 1600, 500)) << "pruning the old sighting keeps the later one";
  EXPECT_EQ(*repo_->prune_nonces(1600, 5), 2);
  EXPECT_EQ(*repo_->prune_nonces(1600, 5), 0);
  EXPECT_FALSE(*repo_->record_nonce("k3", "n", 1800, 500)) << "a nonce seen at or after the cutoff stays";
  EXPECT_EQ(*repo_->prune_nonces(2201, 5), 1);
  // Dated ahead: remembered for the TTL after the date, and logged with it (pruned only after it).
  EXPECT_TRUE(*repo_->record_nonce("k", "ahead", 3000, 500, /*dated=*/3400));
  EXPECT_FALSE(*repo_->record_nonce("k", "ahead", 3900, 500));
  EXPECT_EQ(*repo_->prune_nonces(3400, 5), 0) << "at 3900 the cutoff is 3400";
  EXPECT_TRUE(*repo_->record_nonce("k", "ahead", 3901, 500));
  EXPECT_EQ(*repo_->prune_nonces(3401, 5), 1) << "the dated sighting; the one at 3901 stays";
}

TEST_F(RepositoryTest, TenantScopedLookups) {
  StoredCredential c;
  c.credential.ref = "cred-a";
  c.credential.user_ref = "u-a";
  c.credential.key = "key-a";
  c.sealed_secret = {1, 2, 3};
  c.permission_ids = {3, 1};
  ASSERT_TRUE(repo_->insert_credential(c).ok());
  EXPECT_TRUE(repo_->find_credential("u-a", "cred-a")->has_value());
  EXPECT_FALSE(repo_->find_credential("u-b", "cred-a")->has_value());
  EXPECT_FALSE(*repo_->set_credential_active("u-b", "cred-a", false));
  auto by_key = repo_->find_credential_by_key("key-a");
  ASSERT_TRUE(by_key.ok() && by_key->has_value());
  EXPECT_EQ((*by_key)->permission_ids, (std::vector<int>{1, 3}));

  ASSERT_TRUE(repo_->insert_token(token("t1", "u-a", 7), 0).ok());
  EXPECT_TRUE(repo_->find_token("u-a", "t1")->has_value());
  EXPECT_FALSE(repo_->find_token("u-b", "t1")->has_value());
  EXPECT_TRUE(repo_->tokens_in_set("u-b", "t1")->empty());
}

// The J24 tables (migration 3): every lookup and update is scoped to the tenant, a meter number is
// unique per tenant (not across tenants), and meters are listed by utility.
TEST_F(RepositoryTest, OssResourcesAreTenantScoped) {
  Subscriber s;
  s.ref = "s1";
  s.user_ref = "u-a";
  s.name = "Sam";
  s.phone_no = "254700000000";
  s.created_at = s.updated_at = 5;
  ASSERT_TRUE(repo_->insert_subscriber(s).ok());
  ASSERT_TRUE(repo_->find_subscriber("u-a", "s1")->has_value());
  EXPECT_FALSE(repo_->find_subscriber("u-b", "s1")->has_value());
  Subscriber foreign = s;
  foreign.user_ref = "u-b";
  foreign.name = "Mallory";
  EXPECT_FALSE(*repo_->update_subscriber(foreign));
  EXPECT_EQ((*repo_->find_subscriber("u-a", "s1"))->name, "Sam");
  s.activated = false;
  s.updated_at = 9;
  EXPECT_TRUE(*repo_->update_subscriber(s));
  EXPECT_FALSE((*repo_->find_subscriber("u-a", "s1"))->activated);
  EXPECT_EQ((*repo_->find_subscriber("u-a", "s1"))->updated_at, 9);

  StoredConfiguration cfg;
  cfg.info.ref = "cfg-a";
  cfg.info.user_ref = "u-a";
  cfg.sealed_text = {1};
  ASSERT_TRUE(repo_->insert_configuration(cfg).ok());
  Utility u;
  u.ref = "ut1";
  u.user_ref = "u-a";
  u.name = "Water Co";
  u.unit_charge = 125000;
  u.config_ref = "cfg-a";
  ASSERT_TRUE(repo_->insert_utility(u).ok());
  EXPECT_EQ(repo_->list_utilities("u-a")->size(), 1u);
  EXPECT_TRUE(repo_->list_utilities("u-b")->empty());
  EXPECT_FALSE(repo_->find_utility("u-b", "ut1")->has_value());
  EXPECT_EQ((*repo_->find_utility("u-a", "ut1"))->unit_charge, 125000);
  Utility bad = u;
  bad.ref = "ut2";
  bad.unit_charge = -1;
  EXPECT_FALSE(repo_->insert_utility(bad).ok()) << "unit_charge >= 0 is a CHECK";

  OssMeter m;
  m.ref = "m1";
  m.user_ref = "u-a";
  m.no = 47500150231;
  m.meter_type = 2;
  m.utility_ref = "ut1";
  m.subscriber_ref = "s1";
  ASSERT_TRUE(repo_->insert_oss_meter(m).ok());
  OssMeter same_no = m;
  same_no.ref = "m2";
  same_no.utility_ref.reset();
  same_no.subscriber_ref.reset();
  EXPECT_EQ(repo_->insert_oss_meter(same_no).code(), Status::Code::kAlreadyExists);
  same_no.user_ref = "u-b";
  EXPECT_TRUE(repo_->insert_oss_meter(same_no).ok()) << "numbers are unique per tenant only";
  auto got = repo_->find_oss_meter("u-a", "m1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->no, 47500150231);
  EXPECT_EQ((*got)->subscriber_ref, std::optional<std::string>("s1"));
  EXPECT_FALSE(repo_->find_oss_meter("u-b", "m1")->has_value());
  EXPECT_EQ(repo_->list_oss_meters_of_utility("u-a", "ut1")->size(), 1u);
  EXPECT_TRUE(repo_->list_oss_meters_of_utility("u-b", "ut1")->empty());
  OssMeter foreign_m = m;
  foreign_m.user_ref = "u-b";
  EXPECT_FALSE(*repo_->update_oss_meter(foreign_m));
  m.activated = false;
  EXPECT_TRUE(*repo_->update_oss_meter(m));
  EXPECT_FALSE((*repo_->find_oss_meter("u-a", "m1"))->activated);
}

// A database migrated up to schema `version` and holding the rows `seed_sql` inserts, as an older
// stsvend left it: the start of a migration test.
std::unique_ptr<Connection> database_at_version(const testing::TempDir& dir, int version, std::string_view seed_sql) {
  auto c = Connection::open(dir.path() / ("v" + std::to_string(version) + ".db"), false);
  EXPECT_TRUE(c.ok());
  if (!c.ok()) return nullptr;
  EXPECT_TRUE(migrate(**c, version).ok());
  const Status seeded = (*c)->exec(seed_sql);
  EXPECT_TRUE(seeded.ok()) << seeded.message() << " " << seeded.detail();
  return seeded.ok() ? std::move(c).value() : nullptr;
}

// Migration 2 moves a vend's bookkeeping into its token rows: consumptions become token prices,
// stored GENERATE_TOKEN notifications become derived ones (keeping their read state), and a
// meter's last TID is derived from its tokens.
TEST(SchemaMigration, TwoFoldsConsumptionsNotificationsAndLastTidIntoTokens) {
  testing::TempDir dir;
  auto opened = database_at_version(dir, 1, R"sql(
    INSERT INTO users VALUES ('u', 'F', 'L', 'alice', 'x@y.zz', '', NULL, 'h', 1, 0, 1);
    INSERT INTO meters VALUES ('u', '01234567890', 'c', 41, 0, 1, 2, 123456, 1, 255, '600727', 0, 1);
    INSERT INTO tokens VALUES ('t1', 'u', 'c', '01234567890', '11111111111111111111', 'Electricity_00', 0, 0,
                               40, 0, 't1', 0, 'r1', 10);
    INSERT INTO tokens VALUES ('t2', 'u', 'c', '01234567890', '22222222222222222222', 'Electricity_00', 0, 0,
                               41, 0, 't2', 0, 'r2', 20);
    INSERT INTO consumptions VALUES ('c1', 'u', 10000, 10, 't1');
    INSERT INTO consumptions VALUES ('c2', 'u', 25000, 20, 't2');
    INSERT INTO notifications VALUES ('n1', 'u', 'Token generated', 'x', 'GENERATE_TOKEN', 't1', 1, 15, 10);
    INSERT INTO notifications VALUES ('n2', 'u', 'Token generated', 'x', 'GENERATE_TOKEN', 't2', 0, NULL, 20);
    INSERT INTO notifications VALUES ('n3', 'u', 'Config added', 'y', 'ADD_CONFIG', 'c', 0, NULL, 5);
  )sql");
  ASSERT_NE(opened, nullptr);
  Connection& db = *opened;
  ASSERT_TRUE(migrate(db).ok());
  SqliteRepository repo(db);

  auto transactions = repo.transactions("u", TimeRange{});
  ASSERT_TRUE(transactions.ok());
  const auto* consumptions = &transactions->consumptions;
  ASSERT_EQ(consumptions->size(), 2u);
  EXPECT_EQ((*consumptions)[0].token_ref, "t1");
  EXPECT_EQ((*consumptions)[0].units, 10000);
  EXPECT_EQ((*consumptions)[1].units, 25000);

  auto notes = repo.list_notifications("u", {});
  ASSERT_TRUE(notes.ok());
  ASSERT_EQ(notes->size(), 3u);
  EXPECT_EQ((*notes)[0].ref, "t2");  // newest first; derived ones are named by their set
  EXPECT_EQ((*notes)[0].type, "GENERATE_TOKEN");
  EXPECT_FALSE((*notes)[0].read);
  EXPECT_EQ((*notes)[0].text, "Generated 1 token(s) for meter 01234567890 [Request-ID: r2]");
  EXPECT_EQ((*notes)[1].ref, "t1");
  EXPECT_TRUE((*notes)[1].read) << "the read state survives the migration";
  EXPECT_EQ((*notes)[1].read_date, Millis{15});
  EXPECT_EQ((*notes)[2].type, "ADD_CONFIG");

  auto read = repo.set_notification_read("u", "t2", true, Millis{30});
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(*read);
  EXPECT_FALSE(*repo.set_notification_read("someone-else", "t2", true, Millis{30}));
  EXPECT_TRUE((*repo.list_notifications("u", {}))[0].read);

  auto meter = repo.find_meter("u", "01234567890");
  ASSERT_TRUE(meter.ok());
  ASSERT_TRUE(meter->has_value());
  EXPECT_EQ((*meter)->last_tid, std::optional<std::uint32_t>(41));
}

// Migration 3 adds the J24 tables to a database written at version 2, keeping its rows.
TEST(SchemaMigration, ThreeAddsOssTablesToAnExistingDatabase) {
  testing::TempDir dir;
  auto opened = database_at_version(dir, 2,
                                    "INSERT INTO users VALUES ('u', 'F', 'L', 'alice', 'x@y.zz', '', NULL, 'h', 1, 0, 1);");
  ASSERT_NE(opened, nullptr);
  Connection& db = *opened;
  SqliteRepository repo(db);
  Subscriber s;
  s.ref = "s1";
  s.user_ref = "u";
  s.name = "Sam";
  EXPECT_FALSE(repo.insert_subscriber(s).ok()) << "no subscribers table before migration 3";
  ASSERT_TRUE(migrate(db, 3).ok());
  auto user = repo.find_user("u");
  ASSERT_TRUE(user.ok() && user->has_value());
  ASSERT_TRUE(repo.insert_subscriber(s).ok());
  EXPECT_TRUE(repo.find_subscriber("u", "s1")->has_value());
}

// Migration 4 indexes a tenant's tokens by date; the transactions and notifications windows read through
// it, half-open: from is inclusive, to exclusive, and either may be absent.
TEST(SchemaMigration, FourIndexesTokensByDateForTheTransactionsWindow) {
  testing::TempDir dir;
  auto opened = database_at_version(dir, 3, R"sql(
    INSERT INTO users VALUES ('u', 'F', 'L', 'alice', 'x@y.zz', '', NULL, 'h', 1, 0, 1);
    INSERT INTO users VALUES ('v', 'F', 'L', 'bob', 'b@y.zz', '', NULL, 'h', 1, 0, 1);
    INSERT INTO tokens (ref, user_ref, config_ref, meter_no, token_no, token_type, token_class, subclass, tid,
                        tid_epoch, set_ref, set_index, request_id, created_at, price)
      VALUES ('t30', 'u', 'c', '01234567890', '1', 'Electricity_00', 0, 0, 3, 0, 't30', 0, 'r', 30, 10000),
             ('t10', 'u', 'c', '01234567890', '2', 'Electricity_00', 0, 0, 1, 0, 't10', 0, 'r', 10, 10000),
             ('t20', 'u', 'c', '01234567890', '3', 'Electricity_00', 0, 0, 2, 0, 't20', 0, 'r', 20, 10000),
             ('v20', 'v', 'c', '01234567890', '4', 'Electricity_00', 0, 0, 2, 0, 'v20', 0, 'r', 20, 10000);
    INSERT INTO purchases VALUES ('p5', 'u', 1, 1, 'KES', 5), ('p25', 'u', 1, 1, 'KES', 25);
  )sql");
  ASSERT_NE(opened, nullptr);
  Connection& db = *opened;
  ASSERT_TRUE(migrate(db).ok());
  EXPECT_GE(schema_version(), 4);
  {
    auto plan = db.prepare(
        "EXPLAIN QUERY PLAN SELECT ref FROM tokens WHERE user_ref = 'u' AND created_at >= 0 AND created_at < 9 "
        "ORDER BY created_at, rowid");
    ASSERT_TRUE(plan.ok());
    std::string steps;
    while (*plan->step()) steps += plan->text(3) + "\n";
    EXPECT_NE(steps.find("tokens_user_created"), std::string::npos) << steps;
    EXPECT_EQ(steps.find("TEMP B-TREE"), std::string::npos) << "the index gives the order: " << steps;
  }
  SqliteRepository repo(db);
  const auto refs = [&](const TimeRange& range) {
    auto transactions = repo.transactions("u", range);
    EXPECT_TRUE(transactions.ok());
    std::string out;
    for (const auto& x : transactions->consumptions) out += x.ref + " ";
    for (const auto& x : transactions->purchases) out += x.ref + " ";
    return out;
  };
  EXPECT_EQ(refs({}), "t10 t20 t30 p5 p25 ");
  EXPECT_EQ(refs({Millis{10}, Millis{30}}), "t10 t20 p25 ");
  EXPECT_EQ(refs({Millis{11}, std::nullopt}), "t20 t30 p25 ");
  EXPECT_EQ(refs({std::nullopt, Millis{10}}), "p5 ");
  EXPECT_EQ(refs({Millis{20}, Millis{20}}), "");

  // Notifications: the three token sets' derived ones, newest first, windowed and capped.
  const auto notes = [&](const TimeRange& range, std::optional<std::uint32_t> newest) {
    auto list = repo.list_notifications("u", NotificationQuery{range, newest});
    EXPECT_TRUE(list.ok());
    std::string out;
    for (const auto& n : *list) out += n.ref + " ";
    return out;
  };
  EXPECT_EQ(notes({}, std::nullopt), "t30 t20 t10 ");
  EXPECT_EQ(notes({}, 2u), "t30 t20 ");
  EXPECT_EQ(notes({Millis{10}, Millis{30}}, std::nullopt), "t20 t10 ");
  EXPECT_EQ(notes({Millis{10}, Millis{30}}, 1u), "t20 ");
  EXPECT_EQ(notes({Millis{31}, std::nullopt}, 5u), "");
}

// Migration 5 moves the sightings into the append-only nonce_log as digests, in the order they were
// seen: a nonce seen before the upgrade is still refused after it, and the old table is gone.
TEST(SchemaMigration, FiveLogsNoncesAsDigestsInArrivalOrder) {
  testing::TempDir dir;
  auto opened = database_at_version(dir, 4, R"sql(
    INSERT INTO nonces VALUES ('k', 'late', 2000), ('k', 'early', 1000), ('k2', 'late', 1500);
  )sql");
  ASSERT_NE(opened, nullptr);
  Connection& db = *opened;
  ASSERT_TRUE(migrate(db).ok());
  {
    auto rows = db.prepare("SELECT digest, seen_at FROM nonce_log ORDER BY seq");
    ASSERT_TRUE(rows.ok());
    std::vector<std::pair<std::uint64_t, std::int64_t>> log;
    while (*rows->step()) log.emplace_back(static_cast<std::uint64_t>(rows->i64(0)), rows->i64(1));
    const std::vector<std::pair<std::uint64_t, std::int64_t>> expected = {
        {nonce_digest("k", "early"), 1000}, {nonce_digest("k2", "late"), 1500}, {nonce_digest("k", "late"), 2000}};
    EXPECT_EQ(log, expected);
  }
  EXPECT_FALSE(db.prepare("SELECT 1 FROM nonces").ok());
  SqliteRepository repo(db);
  EXPECT_FALSE(*repo.record_nonce("k", "late", 2100, 500));
  EXPECT_FALSE(*repo.record_nonce("k2", "late", 1900, 500));
  EXPECT_TRUE(*repo.record_nonce("k", "early", 2100, 500)) << "seen 1,100 ms before, with a TTL of 500";
}

}  // namespace
}  // namespace stsvend::store::sqlite
