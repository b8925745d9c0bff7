// SQLite migrations; see schema.h. Append new migrations, never edit a released one.
#include "store/sqlite/schema.h"

#include <sqlite3.h>

#include <array>
#include <exception>
#include <string>
#include <string_view>

#include "store/nonce_index.h"

namespace stsvend::store::sqlite {
namespace {

constexpr const char* kMigration1 = R"sql(
CREATE TABLE users (
  ref           TEXT PRIMARY KEY,
  first_name    TEXT NOT NULL,
  last_name     TEXT NOT NULL,
  username      TEXT NOT NULL UNIQUE,
  email         TEXT NOT NULL,
  phone_no      TEXT NOT NULL,
  image_url     TEXT,
  password_hash TEXT NOT NULL,
  activated     INTEGER NOT NULL,
  is_admin      INTEGER NOT NULL,
  created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE credentials (
  ref           TEXT PRIMARY KEY,
  user_ref      TEXT NOT NULL REFERENCES users(ref),
  key           TEXT NOT NULL UNIQUE,
  secret_sealed BLOB NOT NULL,
  activated     INTEGER NOT NULL,
  created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX credentials_user ON credentials(user_ref);

CREATE TABLE credential_permissions (
  credential_ref TEXT NOT NULL REFERENCES credentials(ref),
  permission_id  INTEGER NOT NULL,
  PRIMARY KEY (credential_ref, permission_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE public_keys (
  ref        TEXT PRIMARY KEY,
  user_ref   TEXT NOT NULL REFERENCES users(ref),
  name       TEXT NOT NULL,
  key        TEXT NOT NULL,
  activated  INTEGER NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX public_keys_user ON public_keys(user_ref);

CREATE TABLE configurations (
  ref                 TEXT PRIMARY KEY,
  user_ref            TEXT NOT NULL REFERENCES users(ref),
  name                TEXT NOT NULL,
  activated           INTEGER NOT NULL,
  created_at          INTEGER NOT NULL,
  configuration_type  TEXT NOT NULL,
  supply_group_code   INTEGER NOT NULL,
  key_revision_no     INTEGER NOT NULL,
  tariff_index        INTEGER NOT NULL,
  key_type            INTEGER NOT NULL,
  key_expiry_no       INTEGER NOT NULL,
  base_date           INTEGER NOT NULL,
  encryption_algorithm TEXT NOT NULL,
  dkga                TEXT NOT NULL,
  issuer_identification_no TEXT NOT NULL,
  token_carrier_type  TEXT NOT NULL,
  text_sealed         BLOB NOT NULL
) STRICT;
CREATE INDEX configurations_user ON configurations(user_ref);

CREATE TABLE meters (
  user_ref          TEXT NOT NULL REFERENCES users(ref),
  drn               TEXT NOT NULL,
  config_ref        TEXT NOT NULL,
  last_tid          INTEGER CHECK (last_tid IS NULL OR (last_tid >= 0 AND last_tid <= 16777215)),
  tid_epoch         INTEGER NOT NULL,
  key_revision_no   INTEGER NOT NULL,
  key_type          INTEGER NOT NULL,
  supply_group_code INTEGER NOT NULL,
  tariff_index      INTEGER NOT NULL,
  key_expiry_no     INTEGER NOT NULL,
  issuer_identification_no TEXT NOT NULL,
  moved_by_kct      INTEGER NOT NULL,
  created_at        INTEGER NOT NULL,
  PRIMARY KEY (user_ref, drn)
) STRICT, WITHOUT ROWID;

-- A TID-bearing token row can exist once per (tenant, meter, TID epoch, TID); NULL tids (key
-- change and class 1 tokens) are distinct in SQLite's UNIQUE, so they never collide. The same
-- index serves "tokens of a meter" and decode's lookup by number (no index on token_no: a random
-- 20-digit key would cost one random B-tree page per vend).
CREATE TABLE tokens (
  ref         TEXT PRIMARY KEY,
  user_ref    TEXT NOT NULL REFERENCES users(ref),
  config_ref  TEXT NOT NULL,
  meter_no    TEXT NOT NULL,
  token_no    TEXT NOT NULL,
  token_type  TEXT NOT NULL,
  token_class INTEGER NOT NULL,
  subclass    INTEGER NOT NULL,
  tid         INTEGER,
  tid_epoch   INTEGER NOT NULL,
  set_ref     TEXT NOT NULL,
  set_index   INTEGER NOT NULL,
  request_id  TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  UNIQUE (user_ref, meter_no, tid_epoch, tid)
) STRICT;
CREATE INDEX tokens_set ON tokens(user_ref, set_ref, set_index);

-- The balance is a column updated in the same transaction as the consumption rows it pays for:
-- O(1) per vend, and the CHECK makes an overdraft impossible whatever the caller does.
CREATE TABLE balances (
  user_ref TEXT PRIMARY KEY REFERENCES users(ref),
  balance  INTEGER NOT NULL CHECK (balance >= 0)
) STRICT, WITHOUT ROWID;

CREATE TABLE purchases (
  ref           TEXT PRIMARY KEY,
  user_ref      TEXT NOT NULL REFERENCES users(ref),
  value         INTEGER NOT NULL,
  units         INTEGER NOT NULL,
  currency      TEXT NOT NULL,
  purchase_date INTEGER NOT NULL
) STRICT;
CREATE INDEX purchases_user ON purchases(user_ref, purchase_date);

CREATE TABLE consumptions (
  ref              TEXT PRIMARY KEY,
  user_ref         TEXT NOT NULL REFERENCES users(ref),
  units            INTEGER NOT NULL,
  consumption_date INTEGER NOT NULL,
  token_ref        TEXT NOT NULL REFERENCES tokens(ref)
) STRICT;
CREATE INDEX consumptions_user ON consumptions(user_ref, consumption_date);

CREATE TABLE idempotency (
  user_ref    TEXT NOT NULL REFERENCES users(ref),
  key         TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  set_ref     TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (user_ref, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE nonces (
  credential_key TEXT NOT NULL,
  nonce          TEXT NOT NULL,
  seen_at        INTEGER NOT NULL,
  PRIMARY KEY (credential_key, nonce)
) STRICT, WITHOUT ROWID;
CREATE INDEX nonces_seen ON nonces(seen_at);

CREATE TABLE notifications (
  ref          TEXT PRIMARY KEY,
  user_ref     TEXT NOT NULL REFERENCES users(ref),
  subject      TEXT NOT NULL,
  text         TEXT NOT NULL,
  type         TEXT NOT NULL,
  affected     TEXT NOT NULL,
  read         INTEGER NOT NULL,
  read_date    INTEGER,
  created_date INTEGER NOT NULL
) STRICT;
CREATE INDEX notifications_user ON notifications(user_ref, created_date);

CREATE TABLE settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
)sql";

// Migration 2: a vend writes as little as it can. A vend used to insert a consumption row and a
// GENERATE_TOKEN notification row per token set and rewrite the meter's row for its new TID; now
// each token row carries the price it was charged (the consumption), a set's notification is
// derived from its first token (only its read state is stored, in notification_reads, keyed by
// set_ref), and a meter's last TID is the highest TID of its tokens in the current TID epoch
// (served by the tokens UNIQUE index). Stored GENERATE_TOKEN notifications are folded into the
// derived ones: their refs become the set refs, their read state is kept.
constexpr const char* kMigration2 = R"sql(
ALTER TABLE tokens ADD COLUMN price INTEGER NOT NULL DEFAULT 0;
CREATE INDEX consumptions_token_tmp ON consumptions(token_ref);
UPDATE tokens SET price = COALESCE((SELECT units FROM consumptions c WHERE c.token_ref = tokens.ref), 0);
DROP TABLE consumptions;

CREATE TABLE notification_reads (
  ref       TEXT PRIMARY KEY,
  user_ref  TEXT NOT NULL REFERENCES users(ref),
  read      INTEGER NOT NULL,
  read_date INTEGER
) STRICT, WITHOUT ROWID;
INSERT OR IGNORE INTO notification_reads (ref, user_ref, read, read_date)
  SELECT t.set_ref, n.user_ref, n.read, n.read_date FROM notifications n JOIN tokens t ON t.ref = n.affected
  WHERE n.type = 'GENERATE_TOKEN' AND n.read = 1 AND t.user_ref = n.user_ref;
DELETE FROM notifications WHERE type = 'GENERATE_TOKEN';

ALTER TABLE meters DROP COLUMN last_tid;
)sql";

// Migration 3: the J24 open-source extras (NECTAR-V1 §3.8), apart from the vend registry (`meters`,
// keyed by DRN): subscribers, utilities (bound to one of the tenant's configurations) and their meters
// (`oss_meters`, keyed by ref; a meter number is unique per tenant).
constexpr const char* kMigration3 = R"sql(
CREATE TABLE subscribers (
  ref        TEXT PRIMARY KEY,
  user_ref   TEXT NOT NULL REFERENCES users(ref),
  name       TEXT NOT NULL,
  phone_no   TEXT NOT NULL,
  activated  INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX subscribers_user ON subscribers(user_ref);

CREATE TABLE utilities (
  ref              TEXT PRIMARY KEY,
  user_ref         TEXT NOT NULL REFERENCES users(ref),
  name             TEXT NOT NULL,
  contact_phone_no TEXT NOT NULL,
  unit_charge      INTEGER NOT NULL CHECK (unit_charge >= 0),
  activated        INTEGER NOT NULL,
  config_ref       TEXT NOT NULL REFERENCES configurations(ref),
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL
) STRICT;
CREATE INDEX utilities_user ON utilities(user_ref, created_at);

CREATE TABLE oss_meters (
  ref            TEXT PRIMARY KEY,
  user_ref       TEXT NOT NULL REFERENCES users(ref),
  no             INTEGER NOT NULL,
  activated      INTEGER NOT NULL,
  meter_type     INTEGER NOT NULL CHECK (meter_type BETWEEN 1 AND 3),
  utility_ref    TEXT REFERENCES utilities(ref),
  subscriber_ref TEXT REFERENCES subscribers(ref),
  created_at     INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  UNIQUE (user_ref, no)
) STRICT;
CREATE INDEX oss_meters_utility ON oss_meters(user_ref, utility_ref);
)sql";

// Migration 4: a tenant's tokens by date, for the consumptions of GET /v1/transactions, the derived
// notifications of GET /v1/notifications and their from/to windows: without it every listing sorted all
// of the tenant's tokens. A vend's entry lands at the right edge of its tenant's range (created_at
// increases), on a page the batch's other vends of that tenant touch too.
constexpr const char* kMigration4 = R"sql(
CREATE INDEX tokens_user_created ON tokens(user_ref, created_at);
)sql";

// Migration 5: replay protection without a B-tree keyed by the nonce. Every signed request records its
// nonce, and a random key put each one on a random leaf of `nonces` (and of its seen_at index): a page
// of its own in the WAL per request, written again by the checkpoint. Sightings are now appended, in
// arrival order, to `nonce_log` as a 64-bit digest (store/nonce_index.h); the writer answers "seen
// before?" from memory and prunes the log from its oldest end. Every recorded sighting is copied.
constexpr const char* kMigration5 = R"sql(
CREATE TABLE nonce_log (
  seq     INTEGER PRIMARY KEY,
  digest  INTEGER NOT NULL,
  seen_at INTEGER NOT NULL
) STRICT;
INSERT INTO nonce_log (digest, seen_at)
  SELECT stsvend_nonce_digest(credential_key, nonce), seen_at FROM nonces ORDER BY seen_at;
DROP TABLE nonces;
)sql";

constexpr std::array<const char*, 5> kMigrations = {kMigration1, kMigration2, kMigration3, kMigration4,
                                                    kMigration5};

// stsvend_nonce_digest(credential_key, nonce): nonce_digest() for migration 5.
void nonce_digest_function(sqlite3_context* context, int, sqlite3_value** args) {
  const auto text = [](sqlite3_value* v) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(v));
    return std::string_view(p == nullptr ? "" : p, static_cast<std::size_t>(sqlite3_value_bytes(v)));
  };
  try {
    sqlite3_result_int64(context, static_cast<sqlite3_int64>(nonce_digest(text(args[0]), text(args[1]))));
  } catch (const std::exception&) {
    sqlite3_result_error(context, "stsvend_nonce_digest failed", -1);
  }
}

}  // namespace

int schema_version() noexcept { return static_cast<int>(kMigrations.size()); }

Status migrate(Connection& db, int up_to) {
  const int target = up_to < 0 || up_to > schema_version() ? schema_version() : up_to;
  int current = 0;
  {
    STSVEND_ASSIGN_OR_RETURN(Stmt version_stmt, db.prepare("PRAGMA user_version"));
    STSVEND_ASSIGN_OR_RETURN(bool has_row, version_stmt.step());
    if (has_row) current = version_stmt.i32(0);
  }
  if (current > schema_version()) {
    return Status::FailedPrecondition("database", "was written by a newer stsvend (schema version " +
                                                      std::to_string(current) + ")");
  }
  if (current < target) {
    const int rc = sqlite3_create_function_v2(db.raw(), "stsvend_nonce_digest", 2,
                                              SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY, nullptr,
                                              nonce_digest_function, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return sqlite_status(rc, db.raw(), "register stsvend_nonce_digest");
  }
  for (int v = current; v < target; ++v) {
    STSVEND_RETURN_IF_ERROR(db.exec("BEGIN IMMEDIATE"));
    Status st = db.exec(kMigrations[static_cast<std::size_t>(v)]);
    if (st.ok()) st = db.exec("PRAGMA user_version=" + std::to_string(v + 1));
    if (!st.ok()) {
      (void)db.exec("ROLLBACK");
      return st;
    }
    STSVEND_RETURN_IF_ERROR(db.exec("COMMIT"));
  }
  return Status::Ok();
}

}  // namespace stsvend::store::sqlite
