// The repository: every query and update the service needs, as typed calls. One implementation
// per backend (SQLite today, in sqlite/); the service never sees SQL. docs/storage.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/records.h"
#include "stsvend/result.h"

namespace stsvend::store {

struct StoredUser {
  User user;
  std::string password_hash;  // "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>"
};

struct StoredCredential {
  Credential credential;                   // `secret` is empty; see sealed_secret
  std::vector<std::uint8_t> sealed_secret; // vault-sealed, AAD "credential:<ref>"
  std::vector<int> permission_ids;
};

struct StoredConfiguration {
  ConfigurationInfo info;
  std::vector<std::uint8_t> sealed_text;  // vault-sealed config text, AAD "config:<ref>"
};

struct IdempotencyRecord {
  std::string user_ref;
  std::string key;
  std::string fingerprint;
  std::string set_ref;  // the token set the first request produced
  Millis created_at = 0;
};

// Bound to one connection (and so to one thread at a time). Lookups of tenant-scoped rows take the
// user_ref and match it in the query, so another tenant's ref reads as absent.
class Repository {
 public:
  virtual ~Repository() = default;

  // On the writer's repository: a number that changes whenever state that write jobs cached from
  // earlier jobs may no longer match the database (another process committed, or a batch was rolled
  // back). A cache kept across write jobs compares it at the start of each job. Read
  // repositories return 0.
  virtual std::uint64_t writer_generation() const { return 0; }

  // Users
  virtual Status insert_user(const User& user, std::string_view password_hash) = 0;
  virtual Result<std::optional<StoredUser>> find_user(std::string_view ref) = 0;
  virtual Result<std::optional<StoredUser>> find_user_by_username(std::string_view username) = 0;
  virtual Status update_user(const User& user, std::string_view password_hash) = 0;
  virtual Result<std::vector<User>> list_users() = 0;
  virtual Result<std::int64_t> count_users() = 0;

  // Credentials
  virtual Status insert_credential(const StoredCredential& credential) = 0;
  virtual Result<std::optional<StoredCredential>> find_credential(std::string_view user_ref,
                                                                  std::string_view ref) = 0;
  virtual Result<std::optional<StoredCredential>> find_credential_by_key(std::string_view key) = 0;
  virtual Result<std::vector<StoredCredential>> list_credentials(std::string_view user_ref) = 0;
  // false: no such credential of this user.
  virtual Result<bool> set_credential_active(std::string_view user_ref, std::string_view ref,
                                             bool active) = 0;

  // Public keys
  virtual Status insert_public_key(const PublicKey& key) = 0;
  virtual Result<std::vector<PublicKey>> list_public_keys(std::string_view user_ref,
                                                          bool only_activated) = 0;
  virtual Result<bool> set_public_key_active(std::string_view user_ref, std::string_view ref,
                                             bool active) = 0;

  // Configurations
  virtual Status insert_configuration(const StoredConfiguration& config) = 0;
  virtual Result<std::optional<StoredConfiguration>> find_configuration(std::string_view user_ref,
                                                                        std::string_view ref) = 0;
  virtual Result<std::vector<ConfigurationInfo>> list_configurations(std::string_view user_ref) = 0;
  virtual Result<bool> set_configuration_active(std::string_view user_ref, std::string_view ref,
                                                bool active) = 0;

  // Meters. last_tid is derived from the meter's tokens in its current TID epoch; upsert_meter
  // ignores it.
  virtual Result<std::optional<Meter>> find_meter(std::string_view user_ref, std::string_view drn) = 0;
  virtual Result<std::vector<Meter>> list_meters(std::string_view user_ref) = 0;
  virtual Status upsert_meter(const Meter& meter) = 0;

  // Tokens. insert_token fails with AlreadyExists("token_id", ...) when the meter already has a
  // token with this TID in this TID epoch: the schema, not the caller, makes TID reuse impossible.
  virtual Status insert_token(const TokenRecord& token, int tid_epoch) = 0;
  virtual Result<std::optional<TokenRecord>> find_token(std::string_view user_ref,
                                                        std::string_view ref) = 0;
  virtual Result<std::vector<TokenRecord>> tokens_in_set(std::string_view user_ref,
                                                         std::string_view set_ref) = 0;
  virtual Result<std::vector<TokenRecord>> tokens_by_meter(std::string_view user_ref,
                                                           std::string_view drn) = 0;
  // The newest token with this number issued for (user, meter).
  virtual Result<std::optional<TokenRecord>> find_token_by_number(std::string_view user_ref,
                                                                  std::string_view meter_no,
                                                                  std::string_view token_no) = 0;

  // Credits. add_to_balance fails with FailedPrecondition("credits", "Insufficient credits") when
  // the balance would go below zero (the schema's CHECK enforces it).
  virtual Result<Units> balance(std::string_view user_ref) = 0;
  virtual Status add_to_balance(std::string_view user_ref, Units delta) = 0;
  virtual Status insert_purchase(const Purchase& purchase) = 0;
  // The balance, then the purchases, then the consumptions dated inside `range` (each list oldest
  // first, then in insertion order). On a read lease all three come from its one snapshot: without a
  // window the balance is the purchases less the consumptions, even while vends commit.
  virtual Status read_transactions(std::string_view user_ref, const TimeRange& range,
                                   const TransactionSink& sink) = 0;
  // The same, collected (small windows, tests).
  Result<CreditsSummary> transactions(std::string_view user_ref, const TimeRange& range) {
    CreditsSummary out;
    STSVEND_RETURN_IF_ERROR(read_transactions(
        user_ref, range,
        {[&](Units balance) { out.credits = balance; }, [&](const Purchase& p) { out.purchases.push_back(p); },
         [&](const Consumption& c) { out.consumptions.push_back(c); }}));
    return out;
  }

  // Idempotency
  virtual Result<std::optional<IdempotencyRecord>> find_idempotency(std::string_view user_ref,
                                                                    std::string_view key) = 0;
  virtual Status insert_idempotency(const IdempotencyRecord& record) = 0;

  // Nonces: true when (credential_key, nonce) is fresh (recorded now); false when it was seen
  // at or after now - ttl. A sighting older than the TTL counts as unseen. A `dated` later than `now`
  // (the request's own zoned Date) is recorded as the sighting's time instead, so that the nonce is
  // remembered for `ttl` after it. Writer only.
  virtual Result<bool> record_nonce(std::string_view credential_key, std::string_view nonce, Millis now,
                                    Millis ttl, Millis dated = 0) = 0;
  // Deletes the oldest recorded sightings, up to `max_rows` of them and none seen at or after
  // `seen_before`; returns how many. Writer only.
  virtual Result<std::int64_t> prune_nonces(Millis seen_before, std::int64_t max_rows) = 0;
  // Reads the recorded sightings into memory now rather than at the first record_nonce. Writer only.
  virtual Status load_nonces() = 0;

  // Notifications
  virtual Status insert_notification(const Notification& notification) = 0;
  virtual Status read_notifications(std::string_view user_ref, const NotificationQuery& query,
                                    const RowSink<Notification>& sink) = 0;
  Result<std::vector<Notification>> list_notifications(std::string_view user_ref, const NotificationQuery& query) {
    std::vector<Notification> out;
    STSVEND_RETURN_IF_ERROR(read_notifications(user_ref, query, [&](const Notification& n) { out.push_back(n); }));
    return out;
  }
  virtual Result<bool> set_notification_read(std::string_view user_ref, std::string_view ref, bool read,
                                             std::optional<Millis> read_date) = 0;

  // J24 extras (subscribers, utilities, their meters). find_* match user_ref; update_* rewrite the
  // row (ref, user_ref) and return false when the caller has no such row.
  virtual Status insert_subscriber(const Subscriber& subscriber) = 0;
  virtual Result<std::optional<Subscriber>> find_subscriber(std::string_view user_ref, std::string_view ref) = 0;
  virtual Result<bool> update_subscriber(const Subscriber& subscriber) = 0;
  virtual Status insert_utility(const Utility& utility) = 0;
  virtual Result<std::optional<Utility>> find_utility(std::string_view user_ref, std::string_view ref) = 0;
  virtual Result<std::vector<Utility>> list_utilities(std::string_view user_ref) = 0;
  virtual Result<bool> update_utility(const Utility& utility) = 0;
  // insert_oss_meter fails with AlreadyExists when the tenant already has a meter with this number.
  virtual Status insert_oss_meter(const OssMeter& meter) = 0;
  virtual Result<std::optional<OssMeter>> find_oss_meter(std::string_view user_ref, std::string_view ref) = 0;
  virtual Result<std::vector<OssMeter>> list_oss_meters_of_utility(std::string_view user_ref,
                                                                   std::string_view utility_ref) = 0;
  virtual Result<bool> update_oss_meter(const OssMeter& meter) = 0;

  // Settings (small key/value facts about the installation)
  virtual Result<std::optional<std::string>> get_setting(std::string_view key) = 0;
  virtual Status put_setting(std::string_view key, std::string_view value) = 0;
};

}  // namespace stsvend::store
