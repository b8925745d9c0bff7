// The Service implementation over store::Database and the vault. Internal header.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "service/decoder_key_cache.h"
#include "service/vend_ledger.h"
#include "service/service.h"
#include "store/database.h"
#include "vault/server_key.h"

namespace stsvend::service {

// For the implementation files of ServiceImpl (service_impl.cc, vend.cc, oss_resources.cc):
// a read lease for the rest of the scope, or return its error.
#define STSVEND_READ_LEASE(lease) STSVEND_ASSIGN_OR_RETURN(std::unique_ptr<store::ReadLease> lease, db_->read())

// An unknown ref, or another tenant's: the two read alike.
inline Status not_found(std::string_view field) { return Status::NotFound(field, "not found"); }

// The meter now holds `c`'s key parameters (first vend, explicit registration, or a new configuration).
void take_config_parameters(Meter& m, const ConfigurationInfo& c);
// Whether registered meter `m` may take tokens made with `c`: it holds `c`'s key (false), or a key change
// token set moved it to parameters `c` has, and it now takes `c` (true). Otherwise FailedPrecondition
// "key change needed": tokens under another key would be refused by the meter.
Result<bool> adopt_configuration(Meter& m, const ConfigurationInfo& c);

class ServiceImpl final : public Service {
 public:
  ServiceImpl(Options options, std::unique_ptr<vault::Vault> vault, std::unique_ptr<vault::ServerKey> server_key,
              std::unique_ptr<store::Database> db);
  ~ServiceImpl() override;

  std::optional<Bootstrap> bootstrap_if_new() override;
  Status warm_up() override;

  Result<std::shared_ptr<const AuthCredential>> credential_for_auth(std::string_view key) override;
  Status consume_nonce(std::string_view key, std::string_view nonce, Millis dated = 0) override;

  Result<User> get_user(std::string_view user_ref) override;
  Result<std::string> create_user(const NewUser& user) override;
  Status update_user(std::string_view user_ref, const UserUpdate& update) override;
  Status delete_user(std::string_view user_ref) override;
  Result<std::vector<User>> list_users() override;
  Result<User> check_password(std::string_view username, std::string_view password) override;

  Result<NewCredentialSecret> create_credential(std::string_view user_ref,
                                                const PermissionSelection& permissions) override;
  Result<Credential> get_credential(std::string_view user_ref, std::string_view ref) override;
  Result<std::vector<Credential>> list_credentials(std::string_view user_ref) override;
  Status set_credential_active(std::string_view user_ref, std::string_view ref, bool active) override;

  Result<PublicKey> add_public_key(std::string_view user_ref, std::string_view name, std::string_view key_text,
                                   bool activated) override;
  Result<std::vector<PublicKey>> list_public_keys(std::string_view user_ref, bool only_activated) override;
  Status set_public_key_active(std::string_view user_ref, std::string_view ref, bool active) override;

  Result<ConfigurationInfo> upload_configuration(std::string_view user_ref, std::string_view data_b64,
                                                 std::string_view digest_b64, std::string_view key_b64) override;
  Result<ConfigurationInfo> add_configuration_text(std::string_view user_ref, std::string_view text) override;
  Result<ConfigurationInfo> get_configuration(std::string_view user_ref, std::string_view ref) override;
  Result<std::vector<ConfigurationInfo>> list_configurations(std::string_view user_ref) override;
  Status set_configuration_active(std::string_view user_ref, std::string_view ref, bool active) override;

  Result<VendResult> vend(const VendRequest& request) override;
  void vend_async(VendRequest request, std::function<void(Result<VendResult>)> done) override;
  void consume_nonce_async(std::string key, std::string nonce, Millis dated, std::function<void(Status)> done) override;
  Result<std::vector<TokenRecord>> get_token_set(std::string_view user_ref, std::string_view token_ref) override;
  Result<TokenRecord> get_token(std::string_view user_ref, std::string_view ref) override;
  Result<std::vector<TokenRecord>> list_tokens_by_meter(std::string_view user_ref, std::string_view drn) override;
  Result<DecodeResult> decode(std::string_view user_ref, std::string_view config_ref, std::string_view drn,
                              std::string_view token_no) override;

  Result<Meter> get_meter(std::string_view user_ref, std::string_view drn) override;
  Result<std::vector<Meter>> list_meters(std::string_view user_ref) override;
  Result<Meter> register_meter(std::string_view user_ref, std::string_view drn, std::string_view config_ref,
                               bool rebind = false) override;

  Result<std::string> add_subscriber(std::string_view user_ref, const NewSubscriber& s) override;
  Result<Subscriber> get_subscriber(std::string_view user_ref, std::string_view ref) override;
  Status update_subscriber(std::string_view user_ref, std::string_view ref, const SubscriberUpdate& u) override;
  Status set_subscriber_active(std::string_view user_ref, std::string_view ref, bool active) override;
  Result<std::string> create_utility(std::string_view user_ref, const NewUtility& u) override;
  Result<UtilityView> get_utility(std::string_view user_ref, std::string_view ref) override;
  Result<std::vector<UtilityView>> list_utilities(std::string_view user_ref) override;
  Result<std::vector<OssMeterView>> list_utility_meters(std::string_view user_ref,
                                                        std::string_view utility_ref) override;
  Status update_utility(std::string_view user_ref, std::string_view ref, const UtilityUpdate& u) override;
  Status set_utility_active(std::string_view user_ref, std::string_view ref, bool active) override;
  Result<std::string> create_oss_meter(std::string_view user_ref, const NewOssMeter& m) override;
  Result<OssMeterView> get_oss_meter(std::string_view user_ref, std::string_view ref) override;
  Status update_oss_meter(std::string_view user_ref, std::string_view ref, const OssMeterUpdate& u) override;
  Status set_oss_meter_active(std::string_view user_ref, std::string_view ref, bool active) override;

  Status add_credits(std::string_view user_ref, Units units, Units value, std::string_view currency) override;
  Result<CreditsSummary> credits(std::string_view user_ref) override;
  Result<CreditsSummary> transactions(std::string_view user_ref, const TimeRange& range) override;
  Status read_transactions(std::string_view user_ref, const TimeRange& range, const TransactionSink& sink) override;

  Result<std::vector<Notification>> list_notifications(std::string_view user_ref,
                                                        const NotificationQuery& query) override;
  Status read_notifications(std::string_view user_ref, const NotificationQuery& query,
                            const RowSink<Notification>& sink) override;
  Status set_notification_read(std::string_view user_ref, std::string_view ref, bool read, Millis ts_ms) override;

  std::string server_public_key_pem() const override;
  std::string server_public_key_spki_base64() const override;
  StorageStats storage_stats() const override;

 private:
  Millis now() const;
  // A notification row, written inside the caller's write job.
  Status notify(store::Repository& repo, std::string_view user_ref, std::string_view type, std::string_view subject,
                std::string text, std::string_view affected);
  Result<ConfigurationInfo> store_configuration(std::string_view user_ref, std::span<const std::uint8_t> text);
  // The key of `drn` under the user's configuration `config_ref` (cache, else vault + KDF).
  Result<std::shared_ptr<const MeterKey>> meter_key(std::string_view user_ref, std::string_view config_ref,
                                                    std::string_view drn);
  Result<Credential> open_credential(store::StoredCredential stored);
  // A new credential row for `user` (ref, key, secret generated; secret sealed). The plain secret
  // is handed back once through `secret_out`.
  Result<store::StoredCredential> prepare_credential(const User& user, const PermissionSelection& permissions,
                                                     std::string* secret_out);
  void invalidate_auth_cache();

  // The vend pipeline (vend.cc): vend_async prepares outside the writer, run_vend_job runs inside it.
  struct VendState;
  struct VendPlan {
    std::optional<VendResult> replay;  // an idempotent replay found inside the transaction
    Meter meter;                       // the meter after this vend
    bool meter_row_changed = false;    // registry fields changed: the meter row must be written
    bool rolls_over = false;           // a roll-over key change: new TID epoch after the set
    std::vector<TokenRecord> tokens;
    Units price = 0;
  };
  Status run_vend_job(store::Repository& repo, VendState& state);
  Result<VendPlan> plan_vend(store::Repository& repo, VendState& state);
  // Inside every job that records a nonce (writer thread): deletes a bounded number of expired ones.
  Status prune_expired_nonces(store::Repository& repo, Millis t);
  Result<std::optional<VendResult>> replay_from_snapshot(const VendRequest& req);
  void answer_after_nonce(const VendRequest& req, Result<VendResult> answer,
                          std::function<void(Result<VendResult>)> done);
  static Result<VendResult> replay(store::Repository& repo, const VendRequest& req,
                                   const store::IdempotencyRecord& rec);

  Options options_;
  std::unique_ptr<vault::Vault> vault_;
  std::unique_ptr<vault::ServerKey> server_key_;
  std::unique_ptr<store::Database> db_;
  DecoderKeyCache key_cache_;

  std::mutex auth_mu_;
  // Entries are immutable and handed out shared: an authenticated request copies no secret.
  std::unordered_map<std::string, std::shared_ptr<const AuthCredential>> auth_cache_;
  std::uint64_t auth_generation_ = 0;  // bumped on every invalidation; stale fills are dropped

  // Writer thread only (touched inside write jobs).
  VendLedger ledger_;
  Millis next_nonce_prune_ = 0;       // when expired nonces are looked for next
  bool nonce_prune_backlog_ = false;  // the last prune hit its limit: more expired rows wait
};

}  // namespace stsvend::service
