// The vending service: users, credentials, keys, configurations, meters, tokens, credits and
// notifications, over the store (src/store) and the vault (src/vault). The API layer (src/api) and
// the CLI call it; they never see SQL. Contract: /work/notes/service-contract.md, docs/storage.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stsvend/result.h"
#include "stsvend/secret.h"
#include "stsvend/status.h"
#include "stsvend/sts/decode.h"
#include "stsvend/sts/token.h"
#include "store/records.h"
#include "vault/vault.h"

namespace stsvend::service {

// The records live in the store; the service re-exports them under its own namespace.
using store::Units;
using store::kUnitScale;
using store::format_units;
using store::parse_units;
using store::units_from_double;
using store::Millis;
using store::format_millis;
using store::User;
using store::Permission;
using store::Credential;
using store::PublicKey;
using store::ConfigurationInfo;
using store::TokenRecord;
using store::Meter;
using store::Purchase;
using store::Consumption;
using store::CreditsSummary;
using store::TimeRange;
using store::NotificationQuery;
using store::RowSink;
using store::TransactionSink;
using store::Notification;
using store::Subscriber;
using store::Utility;
using store::OssMeter;

struct NewUser {
  std::string first_name;
  std::string last_name;
  std::string username;
  std::string password;  // >= 8 characters; stored only as a salted PBKDF2-SHA256 hash
  std::string phone_no;  // digits only (may be empty)
  std::optional<std::string> image_url;
  std::string email;
  bool activated = true;
  bool is_admin = false;
};

// Absent fields are left unchanged. Same validation as NewUser for present fields.
struct UserUpdate {
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::optional<std::string> phone_no;
  std::optional<std::optional<std::string>> image_url;  // engaged nullopt clears it
  std::optional<std::string> email;
  std::optional<bool> activated;
};

// --- J24 open-source extras (NECTAR-V1 §3.8): subscribers, utilities, meters (oss_resources.cc).
// Every ref named in a request must be the caller's; another tenant's reads as NotFound(field).

// The fixed meter types; `id` is what OssMeter::meter_type holds, `ref` is stable across installations.
struct MeterType {
  int id = 0;
  std::string ref;
  std::string name;  // "Electricity" | "Water" | "Gas" (J24's MeterType enum)
};
const std::vector<MeterType>& meter_types();
// By ref or by name (any case); nullptr when neither matches.
const MeterType* find_meter_type(std::string_view ref_or_name);

struct NewSubscriber {
  std::string name;      // 1..255 characters
  std::string phone_no;  // digits, optional leading '+', at most 32 (may be empty)
  bool activated = true;
};
struct SubscriberUpdate {  // absent: unchanged
  std::optional<std::string> name;
  std::optional<std::string> phone_no;
  std::optional<bool> activated;
};

struct NewUtility {
  std::string name;
  std::string contact_phone_no;
  Units unit_charge = 0;  // >= 0
  bool activated = true;
  std::string config_ref;               // the caller's configuration
  std::vector<std::string> meter_refs;  // the caller's meters, linked to the new utility
};
struct UtilityUpdate {  // absent: unchanged; meter_refs (when present) are linked, none unlinked
  std::optional<std::string> name;
  std::optional<std::string> contact_phone_no;
  std::optional<Units> unit_charge;
  std::optional<bool> activated;
  std::optional<std::string> config_ref;
  std::optional<std::vector<std::string>> meter_refs;
};

struct NewOssMeter {
  std::int64_t no = 0;
  bool activated = true;
  int meter_type = 1;  // MeterType::id
  std::optional<std::string> utility_ref;
  std::optional<std::string> subscriber_ref;
};
struct OssMeterUpdate {  // absent: unchanged
  std::optional<std::int64_t> no;
  std::optional<bool> activated;
  std::optional<int> meter_type;
  std::optional<std::string> utility_ref;
  std::optional<std::string> subscriber_ref;
};

// A meter as the API shows it: with its subscriber (if any).
struct OssMeterView {
  OssMeter meter;
  std::optional<Subscriber> subscriber;
};
struct UtilityView {
  Utility utility;
  std::vector<OssMeterView> meters;
};

// What the HMAC verifier needs for one request.
// The permission identifiers a credential holds. Immutable and shared: every authenticated request
// carries its caller's set, and copying a std::set of strings per request showed in the vend profile.
class PermissionSet {
 public:
  using Ids = std::set<std::string, std::less<>>;  // transparent: lookups by string_view allocate nothing
  PermissionSet() : ids_(empty()) {}
  explicit PermissionSet(Ids ids) : ids_(std::make_shared<const Ids>(std::move(ids))) {}

  bool contains(std::string_view id) const { return ids_->find(id) != ids_->end(); }
  std::size_t count(std::string_view id) const { return contains(id) ? 1 : 0; }
  std::size_t size() const { return ids_->size(); }
  Ids::const_iterator begin() const { return ids_->begin(); }
  Ids::const_iterator end() const { return ids_->end(); }

 private:
  static const std::shared_ptr<const Ids>& empty() {
    static const auto none = std::make_shared<const Ids>();
    return none;
  }
  std::shared_ptr<const Ids> ids_;
};

struct AuthCredential {
  std::string ref;
  std::string user_ref;
  std::string key;
  SecretBytes secret;     // the secret's UTF-8 bytes, the HMAC key
  bool activated = false; // false when the credential OR its user is deactivated
  PermissionSet permissions;
};

// Which permissions a new credential gets: every permission the user may hold, or catalogue ids.
// Only admin users may hold the `admin` permission ("all" for a non-admin means all but admin).
struct PermissionSelection {
  bool all = false;
  std::vector<int> ids;
  static PermissionSelection All() { return PermissionSelection{true, {}}; }
};

struct NewCredentialSecret {
  std::string ref;
  std::string key;
  std::string secret;  // shown once
};

// The fixed catalogue (NECTAR-V1 §2.8 ids and OSS extras, decode_token, and stsvend's
// list_tokens, get_meters, admin). Ids are stable across releases.
const std::vector<Permission>& permission_catalogue();

struct Bootstrap {
  std::string user_ref;
  std::string username;
  std::string email;
  std::string password;
  std::string credential_ref;
  std::string credential_key;
  std::string credential_secret;
};

struct VendRequest {
  std::string user_ref;
  std::string config_ref;
  std::string drn;
  // class, subclass, amount_tenths, control, ..., key_change. `tid` and `random_no` in here are
  // ignored: the service sets them from token_id/random_no below.
  sts::TokenRequest token;
  std::optional<std::uint8_t> random_no;  // absent: CSPRNG, 0..15
  std::optional<std::int64_t> token_id;   // Unix seconds; absent: the server allocates the TID
  bool allow_tid_replay = false;          // admin override of the "newer than last TID" rule
  std::optional<std::string> idempotency_key;
  std::string request_fingerprint;  // hash of the canonical request body
  std::string request_id;
  // The authenticated request's nonce (credential key + nonce). When set, vend records it durably in
  // the same transaction as the tokens, so a signed vend costs one durable write, not two; a refused
  // vend records it too. A replayed nonce fails the vend with Unauthenticated. See vend_async.
  std::string nonce_key;
  std::string nonce;
  Millis nonce_dated = 0;  // see Service::consume_nonce

  VendRequest() = default;
  VendRequest(VendRequest&&) noexcept = default;
  VendRequest& operator=(VendRequest&&) noexcept = default;
};

struct VendResult {
  std::vector<TokenRecord> tokens;  // in set order (KCT: 1st, 2nd[, 3rd, 4th])
  bool replayed = false;            // true: came from the idempotency store, nothing charged
};

struct DecodeResult {
  sts::DecodeOutcome outcome;
  std::optional<TokenRecord> record;  // when this system issued the token for this user
};

// Group-commit writer counters since open (for /metrics and the throughput measurement).
// Checkpoints: docs/storage.md ("Checkpoints").
struct StorageStats {
  std::uint64_t batches = 0;                  // group commits
  std::uint64_t jobs = 0;                     // write jobs (vends, nonces, ...)
  std::uint64_t batch_nanos = 0;              // writer time in batches
  std::uint64_t max_batch_nanos = 0;          // the longest single batch
  std::uint64_t max_sync_nanos = 0;           // the longest single WAL fsync
  std::uint64_t commit_nanos = 0;             // of which COMMIT (WAL append; no fsync, no checkpoint)
  std::uint64_t syncs = 0;                    // WAL fsyncs (each covers every batch committed before it)
  std::uint64_t sync_nanos = 0;               // time in them, overlapping the next batches
  std::uint64_t checkpoints = 0;              // background checkpoints (beside the writer)
  std::uint64_t checkpoint_nanos = 0;         // time in them, overlapping the batches
  std::uint64_t writer_checkpoints = 0;       // checkpoints by the writer between batches (catch-up, forced)
  std::uint64_t writer_checkpoint_nanos = 0;  // time in them, delaying the next batch
  std::uint64_t nonces_remembered = 0;        // nonces the writer holds in memory for replay protection
  std::uint64_t nonce_index_bytes = 0;        // the memory that takes
};

struct Options {
  std::filesystem::path data_dir;
  std::optional<vault::Pkcs11Options> pkcs11;  // absent: file vault in data_dir
  Units price_per_token = kUnitScale;          // 1.0 unit
  std::int64_t nonce_ttl_seconds = 900;
  std::size_t decoder_key_cache_size = 4096;
  std::size_t auth_cache_size = 1024;
  std::size_t max_batch = 512;  // write jobs per group commit
  std::function<Millis()> clock;  // empty: system clock
};

// Thread-safe; every method blocks except the *_async ones. Writes are queued to one writer thread
// that commits them in groups (one COMMIT per batch, one WAL fsync per group of batches); a method
// returns only after its durable commit (docs/storage.md). A ref that belongs to another tenant behaves exactly like a non-existent one (NotFound).
class Service {
 public:
  virtual ~Service() = default;

  // Creates data_dir (0700), stsvend.db, the vault key and the server RSA key on first start.
  static Result<std::unique_ptr<Service>> open(const Options& options);
  // Replaces the server key pair (PKCS#8, PEM or DER). For interoperability tests only.
  static Status import_server_key(const std::filesystem::path& data_dir,
                                  std::span<const std::uint8_t> pkcs8_bytes,
                                  const std::optional<vault::Pkcs11Options>& pkcs11 = std::nullopt);

  // On a fresh database: an admin user and an all-permission credential, returned once.
  virtual std::optional<Bootstrap> bootstrap_if_new() = 0;
  // Reads into memory what the first signed request would otherwise wait for: the nonces of the replay
  // window (docs/storage.md, "Replay protection"; about 0.3 s a million). The server calls it before it
  // listens; without it the first signed request pays.
  virtual Status warm_up() = 0;

  // --- Auth
  virtual Result<std::shared_ptr<const AuthCredential>> credential_for_auth(std::string_view key) = 0;
  // AlreadyExists("nonce", ...) when the nonce was seen for this key within nonce_ttl_seconds.
  // `dated`: the request's Date (UTC ms) when it names its zone, else 0. A client clock ahead of ours
  // keeps the request acceptable up to the skew limit after its Date, so the nonce is remembered for
  // nonce_ttl_seconds after the later of now and `dated`: a replay is refused as long as the Date
  // check would accept it.
  virtual Status consume_nonce(std::string_view key, std::string_view nonce, Millis dated = 0) = 0;

  // --- Users
  virtual Result<User> get_user(std::string_view user_ref) = 0;
  virtual Result<std::string> create_user(const NewUser& user) = 0;
  virtual Status update_user(std::string_view user_ref, const UserUpdate& update) = 0;
  virtual Status delete_user(std::string_view user_ref) = 0;  // deactivates
  virtual Result<std::vector<User>> list_users() = 0;
  // Ok when the password matches an activated user's stored hash (portal/CLI login).
  virtual Result<User> check_password(std::string_view username, std::string_view password) = 0;

  // --- Credentials
  virtual Result<NewCredentialSecret> create_credential(std::string_view user_ref,
                                                        const PermissionSelection& permissions) = 0;
  virtual Result<Credential> get_credential(std::string_view user_ref, std::string_view ref) = 0;
  virtual Result<std::vector<Credential>> list_credentials(std::string_view user_ref) = 0;
  virtual Status set_credential_active(std::string_view user_ref, std::string_view ref,
                                       bool active) = 0;

  // --- Public keys
  virtual Result<PublicKey> add_public_key(std::string_view user_ref, std::string_view name,
                                           std::string_view key_text, bool activated) = 0;
  virtual Result<std::vector<PublicKey>> list_public_keys(std::string_view user_ref,
                                                          bool only_activated) = 0;
  virtual Status set_public_key_active(std::string_view user_ref, std::string_view ref,
                                       bool active) = 0;

  // --- Configurations
  virtual Result<ConfigurationInfo> upload_configuration(std::string_view user_ref,
                                                         std::string_view data_b64,
                                                         std::string_view digest_b64,
                                                         std::string_view key_b64) = 0;
  virtual Result<ConfigurationInfo> add_configuration_text(std::string_view user_ref,
                                                           std::string_view text) = 0;
  virtual Result<ConfigurationInfo> get_configuration(std::string_view user_ref,
                                                      std::string_view ref) = 0;
  virtual Result<std::vector<ConfigurationInfo>> list_configurations(std::string_view user_ref) = 0;
  virtual Status set_configuration_active(std::string_view user_ref, std::string_view ref,
                                          bool active) = 0;

  // --- Tokens
  // Blocks until vend_async completes (same semantics, nonce included).
  virtual Result<VendResult> vend(const VendRequest& request) = 0;
  // The vend without blocking the caller. `done` runs exactly once: on the calling thread when
  // the answer needs no write (validation errors, idempotent replays), else on the storage writer
  // thread right after the durable commit; it must be quick and must not block (post the real work
  // to another executor). When request.nonce is set, the nonce is on record when `done` runs,
  // whatever the outcome, unless the result is Unauthenticated (it already was: a replay) or
  // Unavailable (storage failed, nothing committed): the caller never consumes it separately.
  virtual void vend_async(VendRequest request, std::function<void(Result<VendResult>)> done) = 0;
  // consume_nonce without blocking; `done` runs as for vend_async.
  virtual void consume_nonce_async(std::string key, std::string nonce, Millis dated,
                                   std::function<void(Status)> done) = 0;
  virtual Result<std::vector<TokenRecord>> get_token_set(std::string_view user_ref,
                                                         std::string_view token_ref) = 0;
  virtual Result<TokenRecord> get_token(std::string_view user_ref, std::string_view ref) = 0;
  virtual Result<std::vector<TokenRecord>> list_tokens_by_meter(std::string_view user_ref,
                                                                std::string_view drn) = 0;
  virtual Result<DecodeResult> decode(std::string_view user_ref, std::string_view config_ref,
                                      std::string_view drn, std::string_view token_no) = 0;

  // --- Meters
  virtual Result<Meter> get_meter(std::string_view user_ref, std::string_view drn) = 0;
  virtual Result<std::vector<Meter>> list_meters(std::string_view user_ref) = 0;
  // Creates the registry entry, or binds a meter that has taken no token yet to `config_ref`. A meter
  // that has is bound as a vend would bind it (adopt_configuration: "key change needed" unless a key
  // change moved it to `config_ref`'s parameters), unless `rebind`: the operator's statement that the
  // meter now holds that key, changed outside stsvend (the TID high-water mark is kept). A deactivated
  // configuration is refused.
  virtual Result<Meter> register_meter(std::string_view user_ref, std::string_view drn, std::string_view config_ref,
                                       bool rebind = false) = 0;

  // --- J24 extras: subscribers, utilities, meters (NECTAR-V1 §3.8). Creates return the new ref.
  virtual Result<std::string> add_subscriber(std::string_view user_ref, const NewSubscriber& s) = 0;
  virtual Result<Subscriber> get_subscriber(std::string_view user_ref, std::string_view ref) = 0;
  virtual Status update_subscriber(std::string_view user_ref, std::string_view ref, const SubscriberUpdate& u) = 0;
  virtual Status set_subscriber_active(std::string_view user_ref, std::string_view ref, bool active) = 0;
  virtual Result<std::string> create_utility(std::string_view user_ref, const NewUtility& u) = 0;
  virtual Result<UtilityView> get_utility(std::string_view user_ref, std::string_view ref) = 0;
  virtual Result<std::vector<UtilityView>> list_utilities(std::string_view user_ref) = 0;
  virtual Result<std::vector<OssMeterView>> list_utility_meters(std::string_view user_ref,
                                                                std::string_view utility_ref) = 0;
  virtual Status update_utility(std::string_view user_ref, std::string_view ref, const UtilityUpdate& u) = 0;
  virtual Status set_utility_active(std::string_view user_ref, std::string_view ref, bool active) = 0;
  virtual Result<std::string> create_oss_meter(std::string_view user_ref, const NewOssMeter& m) = 0;
  virtual Result<OssMeterView> get_oss_meter(std::string_view user_ref, std::string_view ref) = 0;
  virtual Status update_oss_meter(std::string_view user_ref, std::string_view ref, const OssMeterUpdate& u) = 0;
  virtual Status set_oss_meter_active(std::string_view user_ref, std::string_view ref, bool active) = 0;

  // --- Credits
  virtual Status add_credits(std::string_view user_ref, Units units, Units value,
                             std::string_view currency) = 0;
  // The balance alone (empty lists); transactions() adds them.
  virtual Result<CreditsSummary> credits(std::string_view user_ref) = 0;
  // The balance, and the purchases and consumptions dated inside `range`, oldest first.
  virtual Result<CreditsSummary> transactions(std::string_view user_ref, const TimeRange& range) = 0;
  // The same handed over row by row from one snapshot (balance, purchases, consumptions), for a
  // caller that writes them out rather than hold a tenant's whole history.
  virtual Status read_transactions(std::string_view user_ref, const TimeRange& range,
                                   const TransactionSink& sink) = 0;

  // --- Notifications
  // Newest first; `query` narrows them to a window and caps their number.
  virtual Result<std::vector<Notification>> list_notifications(std::string_view user_ref,
                                                                const NotificationQuery& query) = 0;
  virtual Status read_notifications(std::string_view user_ref, const NotificationQuery& query,
                                    const RowSink<Notification>& sink) = 0;
  virtual Status set_notification_read(std::string_view user_ref, std::string_view ref, bool read,
                                       Millis ts_ms) = 0;

  // --- Server key
  virtual std::string server_public_key_pem() const = 0;
  virtual std::string server_public_key_spki_base64() const = 0;

  // --- Operations
  virtual StorageStats storage_stats() const { return {}; }
};

}  // namespace stsvend::service
