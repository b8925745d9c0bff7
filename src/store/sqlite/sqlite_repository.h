// The Repository on one SQLite connection; every statement is prepared once per connection.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "store/nonce_index.h"
#include "store/repository.h"
#include "store/sqlite/connection.h"

namespace stsvend::store::sqlite {

class SqliteRepository final : public Repository {
 public:
  explicit SqliteRepository(Connection& db) noexcept : db_(db) {}

  std::uint64_t writer_generation() const override { return generation_; }
  // The writer calls this when caches built from earlier jobs may be stale (another process wrote).
  void bump_writer_generation() noexcept { ++generation_; }
  // The writer calls begin_batch() after each BEGIN, and rolled_back() after every rollback (of the
  // transaction or to a savepoint) before it runs another job: the in-memory nonce index must hold
  // exactly the logged sightings that still exist. rolled_back() also bumps the generation.
  void begin_batch() noexcept { batch_nonces_.clear(); }
  void rolled_back() noexcept;
  // The in-memory nonce index: how many sightings it holds, and its table's size in bytes.
  std::size_t nonces_remembered() const noexcept { return nonces_ ? nonces_->size() : 0; }
  std::size_t nonce_index_bytes() const noexcept { return nonces_ ? nonces_->memory_bytes() : 0; }

  Status insert_user(const User& user, std::string_view password_hash) override;
  Result<std::optional<StoredUser>> find_user(std::string_view ref) override;
  Result<std::optional<StoredUser>> find_user_by_username(std::string_view username) override;
  Status update_user(const User& user, std::string_view password_hash) override;
  Result<std::vector<User>> list_users() override;
  Result<std::int64_t> count_users() override;

  Status insert_credential(const StoredCredential& credential) override;
  Result<std::optional<StoredCredential>> find_credential(std::string_view user_ref,
                                                          std::string_view ref) override;
  Result<std::optional<StoredCredential>> find_credential_by_key(std::string_view key) override;
  Result<std::vector<StoredCredential>> list_credentials(std::string_view user_ref) override;
  Result<bool> set_credential_active(std::string_view user_ref, std::string_view ref, bool active) override;

  Status insert_public_key(const PublicKey& key) override;
  Result<std::vector<PublicKey>> list_public_keys(std::string_view user_ref, bool only_activated) override;
  Result<bool> set_public_key_active(std::string_view user_ref, std::string_view ref, bool active) override;

  Status insert_configuration(const StoredConfiguration& config) override;
  Result<std::optional<StoredConfiguration>> find_configuration(std::string_view user_ref,
                                                                std::string_view ref) override;
  Result<std::vector<ConfigurationInfo>> list_configurations(std::string_view user_ref) override;
  Result<bool> set_configuration_active(std::string_view user_ref, std::string_view ref,
                                        bool active) override;

  Result<std::optional<Meter>> find_meter(std::string_view user_ref, std::string_view drn) override;
  Result<std::vector<Meter>> list_meters(std::string_view user_ref) override;
  Status upsert_meter(const Meter& meter) override;

  Status insert_token(const TokenRecord& token, int tid_epoch) override;
  Result<std::optional<TokenRecord>> find_token(std::string_view user_ref, std::string_view ref) override;
  Result<std::vector<TokenRecord>> tokens_in_set(std::string_view user_ref, std::string_view set_ref) override;
  Result<std::vector<TokenRecord>> tokens_by_meter(std::string_view user_ref, std::string_view drn) override;
  Result<std::optional<TokenRecord>> find_token_by_number(std::string_view user_ref, std::string_view meter_no,
                                                          std::string_view token_no) override;

  Result<Units> balance(std::string_view user_ref) override;
  Status add_to_balance(std::string_view user_ref, Units delta) override;
  Status insert_purchase(const Purchase& purchase) override;
  Status read_transactions(std::string_view user_ref, const TimeRange& range, const TransactionSink& sink) override;

  Result<std::optional<IdempotencyRecord>> find_idempotency(std::string_view user_ref,
                                                            std::string_view key) override;
  Status insert_idempotency(const IdempotencyRecord& record) override;

  Result<bool> record_nonce(std::string_view credential_key, std::string_view nonce, Millis now,
                            Millis ttl, Millis dated = 0) override;
  Result<std::int64_t> prune_nonces(Millis seen_before, std::int64_t max_rows) override;
  Status load_nonces() override;

  Status insert_notification(const Notification& notification) override;
  Status read_notifications(std::string_view user_ref, const NotificationQuery& query,
                            const RowSink<Notification>& sink) override;
  Result<bool> set_notification_read(std::string_view user_ref, std::string_view ref, bool read,
                                     std::optional<Millis> read_date) override;

  Status insert_subscriber(const Subscriber& subscriber) override;
  Result<std::optional<Subscriber>> find_subscriber(std::string_view user_ref, std::string_view ref) override;
  Result<bool> update_subscriber(const Subscriber& subscriber) override;
  Status insert_utility(const Utility& utility) override;
  Result<std::optional<Utility>> find_utility(std::string_view user_ref, std::string_view ref) override;
  Result<std::vector<Utility>> list_utilities(std::string_view user_ref) override;
  Result<bool> update_utility(const Utility& utility) override;
  Status insert_oss_meter(const OssMeter& meter) override;
  Result<std::optional<OssMeter>> find_oss_meter(std::string_view user_ref, std::string_view ref) override;
  Result<std::vector<OssMeter>> list_oss_meters_of_utility(std::string_view user_ref,
                                                           std::string_view utility_ref) override;
  Result<bool> update_oss_meter(const OssMeter& meter) override;

  Result<std::optional<std::string>> get_setting(std::string_view key) override;
  Status put_setting(std::string_view key, std::string_view value) override;

 private:
  Result<std::vector<int>> permission_ids(std::string_view credential_ref);
  Result<std::optional<StoredCredential>> one_credential(Stmt& stmt);
  Result<std::vector<TokenRecord>> token_rows(Stmt& stmt);
  Result<std::optional<StoredUser>> one_user(Stmt& stmt);
  Result<bool> nonce_row_exists(std::int64_t seq, std::uint64_t digest);

  Connection& db_;
  std::uint64_t generation_ = 1;
  // Replay protection (docs/storage.md, "Replay protection"): the sightings in the nonce_log table, read
  // at the first record_nonce; null until then, and after a rollback it could not reconcile (it is then
  // read again).
  std::unique_ptr<NonceIndex> nonces_;
  struct LoggedNonce {
    std::uint64_t digest;
    std::int64_t seq;                // its nonce_log row
    std::optional<Millis> previous;  // what the index held before (an expired sighting)
  };
  std::vector<LoggedNonce> batch_nonces_;  // recorded since begin_batch(), oldest first
};

}  // namespace stsvend::store::sqlite
