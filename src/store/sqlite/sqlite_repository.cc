// SQLite Repository; see sqlite_repository.h and docs/storage.md.
#include "store/sqlite/sqlite_repository.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <utility>

namespace stsvend::store::sqlite {
namespace {

#define PREPARE(var, sql) STSVEND_ASSIGN_OR_RETURN(Stmt var, db_.prepare(sql))

// The first row of `s` read with `read`, or nullopt when there is none.
template <typename Read>
auto first_row(Stmt& s, Read read) -> Result<std::optional<decltype(read(s))>> {
  using Row = decltype(read(s));
  STSVEND_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return std::optional<Row>();
  return std::optional<Row>(read(s));
}

// Hands each row, read with `read`, to `sink` as it is stepped to (the listings that grow with every
// vend never hold all of theirs).
template <typename Sink, typename Read>
Status each_row(Stmt& s, const Sink& sink, Read read) {
  for (;;) {
    STSVEND_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) return Status::Ok();
    sink(read(s));
  }
}

// Every row of `s`, each read with `read`.
template <typename Read>
auto all_rows(Stmt& s, Read read) -> Result<std::vector<decltype(read(s))>> {
  std::vector<decltype(read(s))> out;
  STSVEND_RETURN_IF_ERROR(each_row(s, [&](auto&& row) { out.push_back(std::forward<decltype(row)>(row)); }, read));
  return out;
}

constexpr const char* kUserCols =
    "ref, first_name, last_name, username, email, phone_no, image_url, password_hash, activated, "
    "is_admin, created_at";

StoredUser read_user(const Stmt& s) {
  StoredUser u;
  u.user.ref = s.text(0);
  u.user.first_name = s.text(1);
  u.user.last_name = s.text(2);
  u.user.username = s.text(3);
  u.user.email = s.text(4);
  u.user.phone_no = s.text(5);
  u.user.image_url = s.opt_text(6);
  u.password_hash = s.text(7);
  u.user.activated = s.boolean(8);
  u.user.is_admin = s.boolean(9);
  u.user.created_at = s.i64(10);
  return u;
}

constexpr const char* kCredentialCols = "ref, user_ref, key, secret_sealed, activated, created_at";

StoredCredential read_credential(const Stmt& s) {
  StoredCredential c;
  c.credential.ref = s.text(0);
  c.credential.user_ref = s.text(1);
  c.credential.key = s.text(2);
  c.sealed_secret = s.blob(3);
  c.credential.activated = s.boolean(4);
  c.credential.created_at = s.i64(5);
  return c;
}

PublicKey read_public_key(const Stmt& s) {
  PublicKey k;
  k.ref = s.text(0);
  k.user_ref = s.text(1);
  k.name = s.text(2);
  k.key = s.text(3);
  k.activated = s.boolean(4);
  k.created_at = s.i64(5);
  return k;
}

constexpr const char* kConfigCols =
    "ref, user_ref, name, activated, created_at, configuration_type, supply_group_code, "
    "key_revision_no, tariff_index, key_type, key_expiry_no, base_date, encryption_algorithm, dkga, "
    "issuer_identification_no, token_carrier_type";

ConfigurationInfo read_config(const Stmt& s) {
  ConfigurationInfo c;
  c.ref = s.text(0);
  c.user_ref = s.text(1);
  c.name = s.text(2);
  c.activated = s.boolean(3);
  c.created_at = s.i64(4);
  c.configuration_type = s.text(5);
  c.supply_group_code = static_cast<std::uint32_t>(s.i64(6));
  c.key_revision_no = s.i32(7);
  c.tariff_index = s.i32(8);
  c.key_type = s.i32(9);
  c.key_expiry_no = s.i32(10);
  c.base_date = s.i32(11);
  c.encryption_algorithm = s.text(12);
  c.decoder_key_generation_algorithm = s.text(13);
  c.issuer_identification_no = s.text(14);
  c.token_carrier_type = s.text(15);
  return c;
}

// A meter's last TID is not stored: it is the highest TID of its tokens in its current TID epoch,
// one seek in the tokens UNIQUE index (schema migration 2), so a vend does not rewrite the meter row.
constexpr const char* kMeterCols =
    "drn, user_ref, config_ref, (SELECT MAX(t.tid) FROM tokens t WHERE t.user_ref = meters.user_ref AND "
    "t.meter_no = meters.drn AND t.tid_epoch = meters.tid_epoch), key_revision_no, key_type, supply_group_code, "
    "tariff_index, key_expiry_no, issuer_identification_no, moved_by_kct, tid_epoch, created_at";
constexpr const char* kMeterInsertCols =
    "drn, user_ref, config_ref, key_revision_no, key_type, supply_group_code, tariff_index, "
    "key_expiry_no, issuer_identification_no, moved_by_kct, tid_epoch, created_at";

Meter read_meter(const Stmt& s) {
  Meter m;
  m.drn = s.text(0);
  m.user_ref = s.text(1);
  m.config_ref = s.text(2);
  if (auto t = s.opt_i64(3)) m.last_tid = static_cast<std::uint32_t>(*t);
  m.key_revision_no = s.i32(4);
  m.key_type = s.i32(5);
  m.supply_group_code = static_cast<std::uint32_t>(s.i64(6));
  m.tariff_index = s.i32(7);
  m.key_expiry_no = s.i32(8);
  m.issuer_identification_no = s.text(9);
  m.moved_by_kct = s.boolean(10);
  m.tid_epoch = s.i32(11);
  m.created_at = s.i64(12);
  return m;
}

constexpr const char* kTokenCols =
    "ref, user_ref, config_ref, meter_no, token_no, token_type, token_class, subclass, tid, set_ref, "
    "set_index, request_id, created_at, price";

TokenRecord read_token(const Stmt& s) {
  TokenRecord t;
  t.ref = s.text(0);
  t.user_ref = s.text(1);
  t.config_ref = s.text(2);
  t.meter_no = s.text(3);
  t.token_no = s.text(4);
  t.token_type = s.text(5);
  t.token_class = s.i32(6);
  t.subclass = s.i32(7);
  if (auto tid = s.opt_i64(8)) t.tid = static_cast<std::uint32_t>(*tid);
  t.set_ref = s.text(9);
  t.set_index = s.i32(10);
  t.request_id = s.text(11);
  t.created_at = s.i64(12);
  t.price = s.i64(13);
  return t;
}

Notification read_notification(const Stmt& s) {
  Notification n;
  n.ref = s.text(0);
  n.user_ref = s.text(1);
  n.subject = s.text(2);
  n.text = s.text(3);
  n.type = s.text(4);
  n.affected = s.text(5);
  n.read = s.boolean(6);
  n.read_date = s.opt_i64(7);
  n.created_date = s.i64(8);
  return n;
}

std::string sel(const char* cols, const char* rest) { return std::string("SELECT ") + cols + " " + rest; }

}  // namespace

// ---------------------------------------------------------------- users

Status SqliteRepository::insert_user(const User& u, std::string_view password_hash) {
  PREPARE(s, std::string("INSERT INTO users (") + kUserCols + ") VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  s.bind(1, u.ref).bind(2, u.first_name).bind(3, u.last_name).bind(4, u.username).bind(5, u.email);
  s.bind(6, u.phone_no).bind(7, u.image_url).bind(8, password_hash).bind(9, u.activated);
  s.bind(10, u.is_admin).bind(11, u.created_at);
  Status st = s.run();
  if (!st.ok() && st.code() == Status::Code::kAlreadyExists) {
    return Status::AlreadyExists("username", "is already taken");
  }
  return st;
}

Result<std::optional<StoredUser>> SqliteRepository::one_user(Stmt& s) {
  return first_row(s, read_user);
}

Result<std::optional<StoredUser>> SqliteRepository::find_user(std::string_view ref) {
  PREPARE(s, sel(kUserCols, "FROM users WHERE ref = ?"));
  s.bind(1, ref);
  return one_user(s);
}

Result<std::optional<StoredUser>> SqliteRepository::find_user_by_username(std::string_view username) {
  PREPARE(s, sel(kUserCols, "FROM users WHERE username = ?"));
  s.bind(1, username);
  return one_user(s);
}

Status SqliteRepository::update_user(const User& u, std::string_view password_hash) {
  PREPARE(s,
          "UPDATE users SET first_name=?2, last_name=?3, username=?4, email=?5, phone_no=?6, image_url=?7, "
          "password_hash=?8, activated=?9, is_admin=?10 WHERE ref=?1");
  s.bind(1, u.ref).bind(2, u.first_name).bind(3, u.last_name).bind(4, u.username).bind(5, u.email);
  s.bind(6, u.phone_no).bind(7, u.image_url).bind(8, password_hash).bind(9, u.activated);
  s.bind(10, u.is_admin);
  Status st = s.run();
  if (!st.ok() && st.code() == Status::Code::kAlreadyExists) {
    return Status::AlreadyExists("username", "is already taken");
  }
  return st;
}

Result<std::vector<User>> SqliteRepository::list_users() {
  PREPARE(s, sel(kUserCols, "FROM users ORDER BY created_at, ref"));
  std::vector<User> out;
  for (;;) {
    STSVEND_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    out.push_back(read_user(s).user);
  }
  return out;
}

Result<std::int64_t> SqliteRepository::count_users() {
  PREPARE(s, "SELECT count(*) FROM users");
  STSVEND_ASSIGN_OR_RETURN(bool row, s.step());
  return row ? s.i64(0) : std::int64_t{0};
}

// ---------------------------------------------------------------- credentials

Status SqliteRepository::insert_credential(const StoredCredential& c) {
  {
    PREPARE(s, std::string("INSERT INTO credentials (") + kCredentialCols + ") VALUES (?,?,?,?,?,?)");
    s.bind(1, c.credential.ref).bind(2, c.credential.user_ref).bind(3, c.credential.key);
    s.bind_blob(4, c.sealed_secret).bind(5, c.credential.activated).bind(6, c.credential.created_at);
    STSVEND_RETURN_IF_ERROR(s.run());
  }
  for (int id : c.permission_ids) {
    PREPARE(p, "INSERT OR IGNORE INTO credential_permissions (credential_ref, permission_id) VALUES (?,?)");
    p.bind(1, c.credential.ref).bind(2, id);
    STSVEND_RETURN_IF_ERROR(p.run());
  }
  return Status::Ok();
}

Result<std::vector<int>> SqliteRepository::permission_ids(std::string_view credential_ref) {
  PREPARE(s, "SELECT permission_id FROM credential_permissions WHERE credential_ref = ? ORDER BY permission_id");
  s.bind(1, credential_ref);
  std::vector<int> ids;
  for (;;) {
    STSVEND_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    ids.push_back(s.i32(0));
  }
  return ids;
}

Result<std::optional<StoredCredential>> SqliteRepository::one_credential(Stmt& s) {
  STSVEND_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return std::optional<StoredCredential>();
  StoredCredential c = read_credential(s);
  STSVEND_ASSIGN_OR_RETURN(c.permission_ids, permission_ids(c.credential.ref));
  return std::optional<StoredCredential>(std::move(c));
}

Result<std::optional<StoredCredential>> SqliteRepository::find_credential(std::string_view user_ref,
                                                                          std::string_view ref) {
  PREPARE(s, sel(kCredentialCols, "FROM credentials WHERE ref = ? AND user_ref = ?"));
  s.bind(1, ref).bind(2, user_ref);
  return one_credential(s);
}

Result<std::optional<StoredCredential>> SqliteRepository::find_credential_by_key(std::string_view key) {
  PREPARE(s, sel(kCredentialCols, "FROM credentials WHERE key = ?"));
  s.bind(1, key);
  return one_credential(s);
}

Result<std::vector<StoredCredential>> SqliteRepository::list_credentials(std::string_view user_ref) {
  PREPARE(s, sel(kCredentialCols, "FROM credentials WHERE user_ref = ? ORDER BY created_at, ref"));
  s.bind(1, user_ref);
  std::vector<StoredCredential> out;
  for (;;) {
    STSVEND_ASSIGN_OR_RETURN(bool row, s.step());
    if (!row) break;
    out.push_back(read_credential(s));
  }
  for (auto& c : out) {
    STSVEND_ASSIGN_OR_RETURN(c.permission_ids, permission_ids(c.credential.ref));
  }
  return out;
}

Result<bool> SqliteRepository::set_credential_active(std::string_view user_ref, std::string_view ref,
                                                     bool active) {
  PREPARE(s, "UPDATE credentials SET activated = ? WHERE ref = ? AND user_ref = ?");
  s.bind(1, active).bind(2, ref).bind(3, user_ref);
  STSVEND_RETURN_IF_ERROR(s.run());
  return db_.changes() > 0;
}

// ---------------------------------------------------------------- public keys

Status SqliteRepository::insert_public_key(const PublicKey& k) {
  PREPARE(s, "INSERT INTO public_keys (ref, user_ref, name, key, activated, created_at) VALUES (?,?,?,?,?,?)");
  s.bind(1, k.ref).bind(2, k.user_ref).bind(3, k.name).bind(4, k.key).bind(5, k.activated).bind(6, k.created_at);
  return s.run();
}

Result<std::vector<PublicKey>> SqliteRepository::list_public_keys(std::string_view user_ref, bool only_activated) {
  PREPARE(s,
          "SELECT ref, user_ref, name, key, activated, created_at FROM public_keys "
          "WHERE user_ref = ? AND (? = 0 OR activated = 1) ORDER BY created_at, ref");
  s.bind(1, user_ref).bind(2, only_activated);
  return all_rows(s, read_public_key);
}

Result<bool> SqliteRepository::set_public_key_active(std::string_view user_ref, std::string_view ref, bool active) {
  PREPARE(s, "UPDATE public_keys SET activated = ? WHERE ref = ? AND user_ref = ?");
  s.bind(1, active).bind(2, ref).bind(3, user_ref);
  STSVEND_RETURN_IF_ERROR(s.run());
  return db_.changes() > 0;
}

// ---------------------------------------------------------------- configurations

Status SqliteRepository::insert_configuration(const StoredConfiguration& c) {
  PREPARE(s, std::string("INSERT INTO configurations (") + kConfigCols +
                 ", text_sealed) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  const ConfigurationInfo& i = c.info;
  s.bind(1, i.ref).bind(2, i.user_ref).bind(3, i.name).bind(4, i.activated).bind(5, i.created_at);
  s.bind(6, i.configuration_type).bind(7, i.supply_group_code).bind(8, i.key_revision_no);
  s.bind(9, i.tariff_index).bind(10, i.key_type).bind(11, i.key_expiry_no).bind(12, i.base_date);
  s.bind(13, i.encryption_algorithm).bind(14, i.decoder_key_generation_algorithm);
  s.bind(15, i.issuer_identification_no).bind(16, i.token_carrier_type).bind_blob(17, c.sealed_text);
  return s.run();
}

Result<std::optional<StoredConfiguration>> SqliteRepository::find_configuration(std::string_view user_ref,
                                                                                std::string_view ref) {
  PREPARE(s, sel(kConfigCols, ", text_sealed FROM configurations WHERE ref = ? AND user_ref = ?"));
  s.bind(1, ref).bind(2, user_ref);
  STSVEND_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return std::optional<StoredConfiguration>();
  StoredConfiguration c;
  c.info = read_config(s);
  c.sealed_text = s.blob(16);
  return std::optional<StoredConfiguration>(std::move(c));
}

Result<std::vector<ConfigurationInfo>> SqliteRepository::list_configurations(std::string_view user_ref) {
  PREPARE(s, sel(kConfigCols, "FROM configurations WHERE user_ref = ? ORDER BY created_at, ref"));
  s.bind(1, user_ref);
  return all_rows(s, read_config);
}

Result<bool> SqliteRepository::set_configuration_active(std::string_view user_ref, std::string_view ref,
                                                        bool active) {
  PREPARE(s, "UPDATE configurations SET activated = ? WHERE ref = ? AND user_ref = ?");
  s.bind(1, active).bind(2, ref).bind(3, user_ref);
  STSVEND_RETURN_IF_ERROR(s.run());
  return db_.changes() > 0;
}

// ---------------------------------------------------------------- meters

Result<std::optional<Meter>> SqliteRepository::find_meter(std::string_view user_ref, std::string_view drn) {
  PREPARE(s, sel(kMeterCols, "FROM meters WHERE user_ref = ? AND drn = ?"));
  s.bind(1, user_ref).bind(2, drn);
  return first_row(s, read_meter);
}

Result<std::vector<Meter>> SqliteRepository::list_meters(std::string_view user_ref) {
  PREPARE(s, sel(kMeterCols, "FROM meters WHERE user_ref = ? ORDER BY drn"));
  s.bind(1, user_ref);
  return all_rows(s, read_meter);
}

Status SqliteRepository::upsert_meter(const Meter& m) {
  PREPARE(s, std::string("INSERT INTO meters (") + kMeterInsertCols +
                 ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (user_ref, drn) DO UPDATE SET "
                 "config_ref=excluded.config_ref, "
                 "key_revision_no=excluded.key_revision_no, key_type=excluded.key_type, "
                 "supply_group_code=excluded.supply_group_code, tariff_index=excluded.tariff_index, "
                 "key_expiry_no=excluded.key_expiry_no, "
                 "issuer_identification_no=excluded.issuer_identification_no, "
                 "moved_by_kct=excluded.moved_by_kct, tid_epoch=excluded.tid_epoch");
  s.bind(1, m.drn).bind(2, m.user_ref).bind(3, m.config_ref);
  s.bind(4, m.key_revision_no).bind(5, m.key_type).bind(6, m.supply_group_code).bind(7, m.tariff_index);
  s.bind(8, m.key_expiry_no).bind(9, m.issuer_identification_no).bind(10, m.moved_by_kct);
  s.bind(11, m.tid_epoch).bind(12, m.created_at);
  return s.run();
}

// ---------------------------------------------------------------- tokens

Status SqliteRepository::insert_token(const TokenRecord& t, int tid_epoch) {
  PREPARE(s, std::string("INSERT INTO tokens (") + kTokenCols + ", tid_epoch) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  s.bind(1, t.ref).bind(2, t.user_ref).bind(3, t.config_ref).bind(4, t.meter_no).bind(5, t.token_no);
  s.bind(6, t.token_type).bind(7, t.token_class).bind(8, t.subclass).bind(9, t.tid).bind(10, t.set_ref);
  s.bind(11, t.set_index).bind(12, t.request_id).bind(13, t.created_at).bind(14, t.price).bind(15, tid_epoch);
  Status st = s.run();
  if (!st.ok() && s.last_rc() == SQLITE_CONSTRAINT_UNIQUE) {
    return Status::AlreadyExists("token_id", "a token with this TID was already issued for this meter")
        .with_detail(std::string(st.detail()));
  }
  return st;
}

Result<std::vector<TokenRecord>> SqliteRepository::token_rows(Stmt& s) {
  return all_rows(s, read_token);
}

Result<std::optional<TokenRecord>> SqliteRepository::find_token(std::string_view user_ref, std::string_view ref) {
  PREPARE(s, sel(kTokenCols, "FROM tokens WHERE ref = ? AND user_ref = ?"));
  s.bind(1, ref).bind(2, user_ref);
  return first_row(s, read_token);
}

Result<std::vector<TokenRecord>> SqliteRepository::tokens_in_set(std::string_view user_ref,
                                                                 std::string_view set_ref) {
  PREPARE(s, sel(kTokenCols, "FROM tokens WHERE user_ref = ? AND set_ref = ? ORDER BY set_index"));
  s.bind(1, user_ref).bind(2, set_ref);
  return token_rows(s);
}

Result<std::vector<TokenRecord>> SqliteRepository::tokens_by_meter(std::string_view user_ref, std::string_view drn) {
  PREPARE(s, sel(kTokenCols, "FROM tokens WHERE user_ref = ? AND meter_no = ? ORDER BY created_at, set_ref, set_index"));
  s.bind(1, user_ref).bind(2, drn);
  return token_rows(s);
}

Result<std::optional<TokenRecord>> SqliteRepository::find_token_by_number(std::string_view user_ref,
                                                                          std::string_view meter_no,
                                                                          std::string_view token_no) {
  PREPARE(s, sel(kTokenCols,
                 "FROM tokens WHERE user_ref = ? AND meter_no = ? AND token_no = ? ORDER BY created_at DESC LIMIT 1"));
  s.bind(1, user_ref).bind(2, meter_no).bind(3, token_no);
  return first_row(s, read_token);
}

// ---------------------------------------------------------------- credits

Result<Units> SqliteRepository::balance(std::string_view user_ref) {
  PREPARE(s, "SELECT balance FROM balances WHERE user_ref = ?");
  s.bind(1, user_ref);
  STSVEND_ASSIGN_OR_RETURN(bool row, s.step());
  return row ? s.i64(0) : Units{0};
}

Status SqliteRepository::add_to_balance(std::string_view user_ref, Units delta) {
  // UPDATE, then INSERT for a first top-up: an UPSERT would check the CHECK on the candidate row
  // (the bare delta) before resolving the conflict.
  auto map = [](Status st, const Stmt& s) -> Status {
    if (!st.ok() && s.last_rc() == SQLITE_CONSTRAINT_CHECK) {
      return Status::FailedPrecondition("credits", "Insufficient credits");
    }
    return st;
  };
  {
    PREPARE(s, "UPDATE balances SET balance = balance + ? WHERE user_ref = ?");
    s.bind(1, delta).bind(2, user_ref);
    STSVEND_RETURN_IF_ERROR(map(s.run(), s));
    if (db_.changes() > 0) return Status::Ok();
  }
  PREPARE(s, "INSERT INTO balances (user_ref, balance) VALUES (?, ?)");
  s.bind(1, user_ref).bind(2, delta);
  return map(s.run(), s);
}

Status SqliteRepository::insert_purchase(const Purchase& p) {
  PREPARE(s, "INSERT INTO purchases (ref, user_ref, value, units, currency, purchase_date) VALUES (?,?,?,?,?,?)");
  s.bind(1, p.ref).bind(2, p.user_ref).bind(3, p.value).bind(4, p.units).bind(5, p.currency).bind(6, p.purchase_date);
  return s.run();
}

namespace {
// An absent bound of a TimeRange as the widest INTEGER, so one statement (and its index range) serves
// every window.
std::int64_t range_from(const TimeRange& r) { return r.from.value_or(std::numeric_limits<std::int64_t>::min()); }
std::int64_t range_to(const TimeRange& r) { return r.to.value_or(std::numeric_limits<std::int64_t>::max()); }
}  // namespace

Status SqliteRepository::read_transactions(std::string_view user_ref, const TimeRange& range,
                                          const TransactionSink& sink) {
  STSVEND_ASSIGN_OR_RETURN(const Units credits, balance(user_ref));
  sink.balance(credits);
  {
    PREPARE(s,
            "SELECT ref, user_ref, value, units, currency, purchase_date FROM purchases "
            "WHERE user_ref = ? AND purchase_date >= ? AND purchase_date < ? ORDER BY purchase_date, rowid");
    s.bind(1, user_ref).bind(2, range_from(range)).bind(3, range_to(range));
    STSVEND_RETURN_IF_ERROR(each_row(s, sink.purchase, [](Stmt& row) {
      return Purchase{row.text(0), row.text(1), row.i64(2), row.i64(3), row.text(4), row.i64(5)};
    }));
  }
  // One consumption per token: the token row carries its price (schema migration 2); the
  // tokens_user_created index (migration 4) serves the window and the order without a sort.
  PREPARE(s,
          "SELECT ref, price, created_at, user_ref FROM tokens "
          "WHERE user_ref = ? AND created_at >= ? AND created_at < ? ORDER BY created_at, rowid");
  s.bind(1, user_ref).bind(2, range_from(range)).bind(3, range_to(range));
  return each_row(s, sink.consumption, [](Stmt& row) {
    std::string ref = row.text(0);
    std::string token_ref = ref;
    return Consumption{std::move(ref), row.i64(1), row.i64(2), row.text(3), std::move(token_ref)};
  });
}

// ---------------------------------------------------------------- idempotency

Result<std::optional<IdempotencyRecord>> SqliteRepository::find_idempotency(std::string_view user_ref,
                                                                            std::string_view key) {
  PREPARE(s, "SELECT user_ref, key, fingerprint, set_ref, created_at FROM idempotency WHERE user_ref = ? AND key = ?");
  s.bind(1, user_ref).bind(2, key);
  STSVEND_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return std::optional<IdempotencyRecord>();
  return std::optional<IdempotencyRecord>(IdempotencyRecord{s.text(0), s.text(1), s.text(2), s.text(3), s.i64(4)});
}

Status SqliteRepository::insert_idempotency(const IdempotencyRecord& r) {
  PREPARE(s, "INSERT INTO idempotency (user_ref, key, fingerprint, set_ref, created_at) VALUES (?,?,?,?,?)");
  s.bind(1, r.user_ref).bind(2, r.key).bind(3, r.fingerprint).bind(4, r.set_ref).bind(5, r.created_at);
  return s.run();
}

// ---------------------------------------------------------------- nonces

Status SqliteRepository::load_nonces() {
  if (nonces_) return Status::Ok();
  // Every row, expired or not: which ones have expired depends on the clock of each later request.
  auto index = std::make_unique<NonceIndex>();
  PREPARE(s, "SELECT digest, seen_at FROM nonce_log");
  STSVEND_RETURN_IF_ERROR(each_row(
      s,
      [&index](std::pair<std::uint64_t, Millis> row) {
        // A nonce reused after its TTL has two rows; the later sighting is the one that counts.
        const std::optional<Millis> before = index->put(row.first, row.second);
        if (before && *before > row.second) index->restore(row.first, before);
      },
      [](const Stmt& r) { return std::pair{static_cast<std::uint64_t>(r.i64(0)), r.i64(1)}; }));
  nonces_ = std::move(index);
  return Status::Ok();
}

Result<bool> SqliteRepository::record_nonce(std::string_view credential_key, std::string_view nonce, Millis now,
                                            Millis ttl, Millis dated) {
  STSVEND_RETURN_IF_ERROR(load_nonces());
  const std::uint64_t digest = nonce_digest(credential_key, nonce);
  const std::optional<Millis> seen = nonces_->find(digest);
  if (seen && *seen >= now - ttl) return false;
  // A sighting dated ahead (by at most the skew limit) holds up the pruning of later log rows until it
  // expires: the log stays in arrival order, and remembers at most twice the TTL's worth.
  const Millis seen_at = std::max(now, dated);
  // Appended at the log's right edge: the page the batch's other nonces fill too.
  PREPARE(s, "INSERT INTO nonce_log (digest, seen_at) VALUES (?1, ?2)");
  s.bind(1, static_cast<std::int64_t>(digest)).bind(2, seen_at);
  STSVEND_RETURN_IF_ERROR(s.run());
  // Listed before the put: if the put throws, undoing the listed entry restores what the index holds.
  batch_nonces_.push_back(LoggedNonce{digest, db_.last_insert_rowid(), seen});
  (void)nonces_->put(digest, seen_at);
  return true;
}

Result<std::int64_t> SqliteRepository::prune_nonces(Millis seen_before, std::int64_t max_rows) {
  // The log is in arrival order: delete its oldest rows up to the first one still inside the window.
  std::int64_t last_seq = 0;
  std::int64_t pruned = 0;
  {
    PREPARE(s, "SELECT seq, digest, seen_at FROM nonce_log ORDER BY seq LIMIT ?1");
    s.bind(1, max_rows);
    for (;;) {
      STSVEND_ASSIGN_OR_RETURN(bool row, s.step());
      if (!row || s.i64(2) >= seen_before) break;
      last_seq = s.i64(0);
      ++pruned;
      // Forgetting an expired sighting changes no answer, so it need not wait for the DELETE.
      if (nonces_) nonces_->forget_if_not_after(static_cast<std::uint64_t>(s.i64(1)), s.i64(2));
    }
  }
  if (pruned == 0) return std::int64_t{0};
  PREPARE(d, "DELETE FROM nonce_log WHERE seq <= ?1");
  d.bind(1, last_seq);
  STSVEND_RETURN_IF_ERROR(d.run());
  return pruned;
}

Result<bool> SqliteRepository::nonce_row_exists(std::int64_t seq, std::uint64_t digest) {
  PREPARE(s, "SELECT 1 FROM nonce_log WHERE seq = ?1 AND digest = ?2");
  s.bind(1, seq).bind(2, static_cast<std::int64_t>(digest));
  return s.step();
}

void SqliteRepository::rolled_back() noexcept {
  ++generation_;
  if (!nonces_) {
    batch_nonces_.clear();
    return;
  }
  try {
    // Newest first, undo the sightings whose log row the rollback took away; those it kept stay listed,
    // as a later rollback of the whole transaction may still take them.
    std::vector<LoggedNonce> kept;
    for (auto it = batch_nonces_.rbegin(); it != batch_nonces_.rend(); ++it) {
      Result<bool> exists = nonce_row_exists(it->seq, it->digest);
      if (!exists.ok()) throw std::runtime_error("nonce_log unreadable");
      if (*exists) {
        kept.push_back(*it);
      } else {
        nonces_->restore(it->digest, it->previous);
      }
    }
    batch_nonces_.assign(kept.rbegin(), kept.rend());
  } catch (...) {
    // Cannot tell which rows survived: read the log again at the next record_nonce.
    nonces_.reset();
    batch_nonces_.clear();
  }
}

// ---------------------------------------------------------------- notifications

Status SqliteRepository::insert_notification(const Notification& n) {
  PREPARE(s,
          "INSERT INTO notifications (ref, user_ref, subject, text, type, affected, read, read_date, created_date) "
          "VALUES (?,?,?,?,?,?,?,?,?)");
  s.bind(1, n.ref).bind(2, n.user_ref).bind(3, n.subject).bind(4, n.text).bind(5, n.type).bind(6, n.affected);
  s.bind(7, n.read).bind(8, n.read_date).bind(9, n.created_date);
  return s.run();
}

Status SqliteRepository::read_notifications(std::string_view user_ref, const NotificationQuery& query,
                                           const RowSink<Notification>& sink) {
  // Stored notifications, and one derived GENERATE_TOKEN notification per token set (its first
  // token), whose read state lives in notification_reads (schema migration 2).
  PREPARE(s,
          "SELECT ref, user_ref, subject, text, type, affected, read, read_date, created_date FROM notifications "
          "WHERE user_ref = ?1 AND created_date >= ?2 AND created_date < ?3 "
          "UNION ALL "
          "SELECT t.set_ref, t.user_ref, 'Token generated', 'Generated ' || "
          "(SELECT COUNT(*) FROM tokens s WHERE s.user_ref = t.user_ref AND s.set_ref = t.set_ref) || "
          "' token(s) for meter ' || t.meter_no || ' [Request-ID: ' || t.request_id || ']', 'GENERATE_TOKEN', t.ref, "
          "COALESCE(r.read, 0), r.read_date, t.created_at "
          "FROM tokens t LEFT JOIN notification_reads r ON r.ref = t.set_ref AND r.user_ref = t.user_ref "
          "WHERE t.user_ref = ?1 AND t.set_index = 0 AND t.created_at >= ?2 AND t.created_at < ?3 "
          // Newest first; refs are time-ordered ids, so they order one millisecond's rows too. Both
          // halves come in date order from their indexes (tokens_user_created), so a LIMIT stops early.
          "ORDER BY 9 DESC, 1 DESC LIMIT ?4");
  s.bind(1, user_ref).bind(2, range_from(query.range)).bind(3, range_to(query.range));
  s.bind(4, query.newest ? static_cast<std::int64_t>(*query.newest) : std::int64_t{-1});  // -1: no limit
  return each_row(s, sink, read_notification);
}

Result<bool> SqliteRepository::set_notification_read(std::string_view user_ref, std::string_view ref, bool read,
                                                     std::optional<Millis> read_date) {
  {
    PREPARE(s, "UPDATE notifications SET read = ?, read_date = ? WHERE ref = ? AND user_ref = ?");
    s.bind(1, read).bind(2, read_date).bind(3, ref).bind(4, user_ref);
    STSVEND_RETURN_IF_ERROR(s.run());
    if (db_.changes() > 0) return true;
  }
  // A derived GENERATE_TOKEN notification: its ref is the set ref of one of the user's token sets.
  PREPARE(s,
          "INSERT INTO notification_reads (ref, user_ref, read, read_date) "
          "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM tokens WHERE user_ref = ?2 AND set_ref = ?1) "
          "ON CONFLICT (ref) DO UPDATE SET read = excluded.read, read_date = excluded.read_date "
          "WHERE notification_reads.user_ref = excluded.user_ref");
  s.bind(1, ref).bind(2, user_ref).bind(3, read).bind(4, read_date);
  STSVEND_RETURN_IF_ERROR(s.run());
  return db_.changes() > 0;
}

// ---------------------------------------------------------------- J24 extras: subscribers, utilities, meters

namespace {

constexpr const char* kSubscriberCols = "ref, user_ref, name, phone_no, activated, created_at, updated_at";

Subscriber read_subscriber(const Stmt& s) {
  Subscriber x;
  x.ref = s.text(0);
  x.user_ref = s.text(1);
  x.name = s.text(2);
  x.phone_no = s.text(3);
  x.activated = s.boolean(4);
  x.created_at = s.i64(5);
  x.updated_at = s.i64(6);
  return x;
}

constexpr const char* kUtilityCols =
    "ref, user_ref, name, contact_phone_no, unit_charge, activated, config_ref, created_at, updated_at";

Utility read_utility(const Stmt& s) {
  Utility u;
  u.ref = s.text(0);
  u.user_ref = s.text(1);
  u.name = s.text(2);
  u.contact_phone_no = s.text(3);
  u.unit_charge = s.i64(4);
  u.activated = s.boolean(5);
  u.config_ref = s.text(6);
  u.created_at = s.i64(7);
  u.updated_at = s.i64(8);
  return u;
}

constexpr const char* kOssMeterCols =
    "ref, user_ref, no, activated, meter_type, utility_ref, subscriber_ref, created_at, updated_at";

OssMeter read_oss_meter(const Stmt& s) {
  OssMeter m;
  m.ref = s.text(0);
  m.user_ref = s.text(1);
  m.no = s.i64(2);
  m.activated = s.boolean(3);
  m.meter_type = s.i32(4);
  m.utility_ref = s.opt_text(5);
  m.subscriber_ref = s.opt_text(6);
  m.created_at = s.i64(7);
  m.updated_at = s.i64(8);
  return m;
}

}  // namespace

Status SqliteRepository::insert_subscriber(const Subscriber& x) {
  PREPARE(s, std::string("INSERT INTO subscribers (") + kSubscriberCols + ") VALUES (?,?,?,?,?,?,?)");
  s.bind(1, x.ref).bind(2, x.user_ref).bind(3, x.name).bind(4, x.phone_no).bind(5, x.activated);
  s.bind(6, x.created_at).bind(7, x.updated_at);
  return s.run();
}

Result<std::optional<Subscriber>> SqliteRepository::find_subscriber(std::string_view user_ref, std::string_view ref) {
  PREPARE(s, sel(kSubscriberCols, "FROM subscribers WHERE ref = ? AND user_ref = ?"));
  s.bind(1, ref).bind(2, user_ref);
  return first_row(s, read_subscriber);
}

Result<bool> SqliteRepository::update_subscriber(const Subscriber& x) {
  PREPARE(s, "UPDATE subscribers SET name = ?, phone_no = ?, activated = ?, updated_at = ? WHERE ref = ? AND user_ref = ?");
  s.bind(1, x.name).bind(2, x.phone_no).bind(3, x.activated).bind(4, x.updated_at).bind(5, x.ref).bind(6, x.user_ref);
  STSVEND_RETURN_IF_ERROR(s.run());
  return db_.changes() > 0;
}

Status SqliteRepository::insert_utility(const Utility& u) {
  PREPARE(s, std::string("INSERT INTO utilities (") + kUtilityCols + ") VALUES (?,?,?,?,?,?,?,?,?)");
  s.bind(1, u.ref).bind(2, u.user_ref).bind(3, u.name).bind(4, u.contact_phone_no).bind(5, u.unit_charge);
  s.bind(6, u.activated).bind(7, u.config_ref).bind(8, u.created_at).bind(9, u.updated_at);
  return s.run();
}

Result<std::optional<Utility>> SqliteRepository::find_utility(std::string_view user_ref, std::string_view ref) {
  PREPARE(s, sel(kUtilityCols, "FROM utilities WHERE ref = ? AND user_ref = ?"));
  s.bind(1, ref).bind(2, user_ref);
  return first_row(s, read_utility);
}

Result<std::vector<Utility>> SqliteRepository::list_utilities(std::string_view user_ref) {
  PREPARE(s, sel(kUtilityCols, "FROM utilities WHERE user_ref = ? ORDER BY created_at, ref"));
  s.bind(1, user_ref);
  return all_rows(s, read_utility);
}

Result<bool> SqliteRepository::update_utility(const Utility& u) {
  PREPARE(s,
          "UPDATE utilities SET name = ?, contact_phone_no = ?, unit_charge = ?, activated = ?, config_ref = ?, "
          "updated_at = ? WHERE ref = ? AND user_ref = ?");
  s.bind(1, u.name).bind(2, u.contact_phone_no).bind(3, u.unit_charge).bind(4, u.activated).bind(5, u.config_ref);
  s.bind(6, u.updated_at).bind(7, u.ref).bind(8, u.user_ref);
  STSVEND_RETURN_IF_ERROR(s.run());
  return db_.changes() > 0;
}

Status SqliteRepository::insert_oss_meter(const OssMeter& m) {
  PREPARE(s, std::string("INSERT INTO oss_meters (") + kOssMeterCols + ") VALUES (?,?,?,?,?,?,?,?,?)");
  s.bind(1, m.ref).bind(2, m.user_ref).bind(3, m.no).bind(4, m.activated).bind(5, m.meter_type);
  s.bind(6, m.utility_ref).bind(7, m.subscriber_ref).bind(8, m.created_at).bind(9, m.updated_at);
  return s.run();
}

Result<std::optional<OssMeter>> SqliteRepository::find_oss_meter(std::string_view user_ref, std::string_view ref) {
  PREPARE(s, sel(kOssMeterCols, "FROM oss_meters WHERE ref = ? AND user_ref = ?"));
  s.bind(1, ref).bind(2, user_ref);
  return first_row(s, read_oss_meter);
}

Result<std::vector<OssMeter>> SqliteRepository::list_oss_meters_of_utility(std::string_view user_ref,
                                                                           std::string_view utility_ref) {
  PREPARE(s, sel(kOssMeterCols, "FROM oss_meters WHERE user_ref = ? AND utility_ref = ? ORDER BY created_at, ref"));
  s.bind(1, user_ref).bind(2, utility_ref);
  return all_rows(s, read_oss_meter);
}

Result<bool> SqliteRepository::update_oss_meter(const OssMeter& m) {
  PREPARE(s,
          "UPDATE oss_meters SET no = ?, activated = ?, meter_type = ?, utility_ref = ?, subscriber_ref = ?, "
          "updated_at = ? WHERE ref = ? AND user_ref = ?");
  s.bind(1, m.no).bind(2, m.activated).bind(3, m.meter_type).bind(4, m.utility_ref).bind(5, m.subscriber_ref);
  s.bind(6, m.updated_at).bind(7, m.ref).bind(8, m.user_ref);
  STSVEND_RETURN_IF_ERROR(s.run());
  return db_.changes() > 0;
}

// ---------------------------------------------------------------- settings

Result<std::optional<std::string>> SqliteRepository::get_setting(std::string_view key) {
  PREPARE(s, "SELECT value FROM settings WHERE key = ?");
  s.bind(1, key);
  STSVEND_ASSIGN_OR_RETURN(bool row, s.step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.text(0));
}

Status SqliteRepository::put_setting(std::string_view key, std::string_view value) {
  PREPARE(s, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  s.bind(1, key).bind(2, value);
  return s.run();
}

}  // namespace stsvend::store::sqlite
