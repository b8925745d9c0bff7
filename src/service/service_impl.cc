// Service: users, credentials, public keys, configurations, meters, credits, notifications.
// Vending and decoding are in vend.cc. Contract: service.h; storage design: docs/storage.md.
#include "service/service_impl.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <future>
#include <system_error>

#include "service/password_hash.h"
#include "service/random_ids.h"
#include "service/text_rules.h"
#include "stsvend/sts/config.h"
#include "stsvend/sts/meter_id.h"

namespace stsvend::service {

using store::Repository;

namespace {

constexpr std::string_view kBootstrapSetting = "bootstrap_done";

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

std::string credential_aad(std::string_view ref) { return "credential:" + std::string(ref); }
std::string config_aad(std::string_view ref) { return "config:" + std::string(ref); }

Status check_name(std::string_view field, std::string_view v) { return check_text(field, v, 1, 255); }

Status check_username(std::string_view v) {
  if (v.empty()) return Status::InvalidArgument("username", "is required");
  return check_text("username", v, 1, 255);
}

Status check_phone(std::string_view v) {
  if (v.size() > 32) return Status::InvalidArgument("phone_no", "must be at most 32 digits");
  for (char c : v) {
    if (c < '0' || c > '9') return Status::InvalidArgument("phone_no", "must contain digits only");
  }
  return Status::Ok();
}

Status check_email(std::string_view v) {
  const std::size_t at = v.find('@');
  const bool shaped = at != std::string_view::npos && at > 0 && v.find('@', at + 1) == std::string_view::npos &&
                      v.find('.', at + 2) != std::string_view::npos && v.back() != '.' && v.size() <= 254 &&
                      v.find_first_of(" \t\r\n") == std::string_view::npos;
  if (!shaped) return Status::InvalidArgument("email", "must be a valid email address");
  return check_text("email", v, 1, 254);
}

Status check_password_rule(std::string_view v) {
  if (v.size() < 8) return Status::InvalidArgument("password", "must be at least 8 characters");
  if (v.size() > 1024) return Status::InvalidArgument("password", "must be at most 1024 characters");
  return Status::Ok();
}

// The database, its WAL and its shared-memory index hold sealed secrets and every issued token:
// owner only, whatever the umask. SQLite creates `-wal` and `-shm` with the mode of the database
// file, so creating that file 0600 before SQLite opens it covers all three; files an older
// version left wider are narrowed.
Status make_database_files_private(const std::filesystem::path& db_path) {
  const int fd = ::open(db_path.c_str(), O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::Unavailable("cannot create the database file").with_detail(std::strerror(errno));
  }
  const bool narrowed = ::fchmod(fd, 0600) == 0;
  ::close(fd);
  if (!narrowed) return Status::Unavailable("cannot restrict the database file to its owner");
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string companion = db_path.string() + suffix;
    if (::chmod(companion.c_str(), 0600) != 0 && errno != ENOENT) {
      return Status::Unavailable("cannot restrict the database's companion files to their owner")
          .with_detail(std::strerror(errno));
    }
  }
  return Status::Ok();
}

// The file vault creates its master key when the key file is absent. That is right for a new data
// directory and wrong for one that already holds data sealed under a key that has gone missing (a
// restore that forgot vault.key, a mount not ready): a new key cannot open that data, and creating
// one would leave a second key to untangle. Refuse, and say what to do.
Status check_vault_key_not_lost(const std::filesystem::path& data_dir) {
  std::error_code ec;
  if (std::filesystem::exists(data_dir / "vault.key", ec) || ec) return Status::Ok();
  std::string sealed;
  for (const char* name : {"server_key.sealed", "stsvend.db"}) {
    const std::filesystem::path path = data_dir / name;
    if (std::filesystem::exists(path, ec) && std::filesystem::file_size(path, ec) > 0 && !ec) {
      sealed += sealed.empty() ? name : std::string(", ") + name;
    }
  }
  if (sealed.empty()) return Status::Ok();
  return Status::FailedPrecondition(
      "vault.key", "is missing, but this data directory already holds data sealed under it (" + sealed +
                       "): restore vault.key from where it was backed up; a new key could not open that data");
}

// The vault of a data directory, which it creates (or narrows) owner only first: the directory holds
// the vault key and the database. The PKCS#11 token when configured, else the file vault, whose
// master key is made only for a directory that holds nothing sealed yet.
Result<std::unique_ptr<vault::Vault>> open_vault(const std::filesystem::path& data_dir,
                                                 const std::optional<vault::Pkcs11Options>& pkcs11) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Status::Unavailable("cannot create the data directory").with_detail(ec.message());
  std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace, ec);
  if (ec) return Status::Unavailable("cannot restrict the data directory to its owner").with_detail(ec.message());
  if (pkcs11) return vault::open_pkcs11_vault(*pkcs11);
  STSVEND_RETURN_IF_ERROR(check_vault_key_not_lost(data_dir));
  return vault::open_file_vault(data_dir);
}

}  // namespace

// ---------------------------------------------------------------- open

Result<std::unique_ptr<Service>> Service::open(const Options& options) {
  if (options.data_dir.empty()) return Status::InvalidArgument("data_dir", "is required");
  STSVEND_ASSIGN_OR_RETURN(std::unique_ptr<vault::Vault> vault, open_vault(options.data_dir, options.pkcs11));
  STSVEND_ASSIGN_OR_RETURN(std::unique_ptr<vault::ServerKey> server_key,
                           vault::ServerKey::load_or_create(*vault, options.data_dir));
  store::SqliteOptions db_options;
  db_options.path = options.data_dir / "stsvend.db";
  db_options.max_batch = options.max_batch;
  STSVEND_RETURN_IF_ERROR(make_database_files_private(db_options.path));
  STSVEND_ASSIGN_OR_RETURN(std::unique_ptr<store::Database> db, store::open_sqlite_database(db_options));
  return std::unique_ptr<Service>(
      new ServiceImpl(options, std::move(vault), std::move(server_key), std::move(db)));
}

Status Service::import_server_key(const std::filesystem::path& data_dir, std::span<const std::uint8_t> pkcs8_bytes,
                                  const std::optional<vault::Pkcs11Options>& pkcs11) {
  STSVEND_ASSIGN_OR_RETURN(std::unique_ptr<vault::Vault> vault, open_vault(data_dir, pkcs11));
  return vault::ServerKey::import_pkcs8(*vault, data_dir, pkcs8_bytes);
}

ServiceImpl::ServiceImpl(Options options, std::unique_ptr<vault::Vault> vault,
                         std::unique_ptr<vault::ServerKey> server_key, std::unique_ptr<store::Database> db)
    : options_(std::move(options)),
      vault_(std::move(vault)),
      server_key_(std::move(server_key)),
      db_(std::move(db)),
      key_cache_(options_.decoder_key_cache_size) {}

ServiceImpl::~ServiceImpl() = default;

Millis ServiceImpl::now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status ServiceImpl::notify(Repository& repo, std::string_view user_ref, std::string_view type, std::string_view subject,
                           std::string text, std::string_view affected) {
  Notification n;
  n.created_date = now();
  n.ref = time_ordered_uuid(n.created_date);
  n.user_ref = std::string(user_ref);
  n.type = std::string(type);
  n.subject = std::string(subject);
  n.text = std::move(text);
  n.affected = std::string(affected);
  return repo.insert_notification(n);
}

std::string ServiceImpl::server_public_key_pem() const { return server_key_->public_key_pem(); }
std::string ServiceImpl::server_public_key_spki_base64() const { return server_key_->public_key_spki_base64(); }

StorageStats ServiceImpl::storage_stats() const {
  const store::Database::Stats s = db_->stats();
  StorageStats out;
  out.batches = s.batches;
  out.jobs = s.jobs;
  out.batch_nanos = s.batch_nanos;
  out.max_batch_nanos = s.max_batch_nanos;
  out.max_sync_nanos = s.max_sync_nanos;
  out.commit_nanos = s.commit_nanos;
  out.syncs = s.syncs;
  out.sync_nanos = s.sync_nanos;
  out.checkpoints = s.checkpoints;
  out.checkpoint_nanos = s.checkpoint_nanos;
  out.writer_checkpoints = s.writer_checkpoints;
  out.writer_checkpoint_nanos = s.writer_checkpoint_nanos;
  out.nonces_remembered = s.nonces_remembered;
  out.nonce_index_bytes = s.nonce_index_bytes;
  return out;
}

// ---------------------------------------------------------------- bootstrap

std::optional<Bootstrap> ServiceImpl::bootstrap_if_new() {
  {
    auto lease = db_->read();
    if (!lease.ok()) return std::nullopt;
    auto done = (*lease)->repo().get_setting(kBootstrapSetting);
    auto count = (*lease)->repo().count_users();
    if (!done.ok() || !count.ok() || done->has_value() || *count > 0) return std::nullopt;
  }
  Bootstrap out;
  out.password = random_password(20);
  out.username = "admin";
  out.email = "admin@localhost.localdomain";
  auto hash = hash_password(out.password);
  if (!hash.ok()) return std::nullopt;
  User admin;
  admin.ref = random_uuid_v4();
  admin.first_name = "Admin";
  admin.last_name = "Administrator";
  admin.username = out.username;
  admin.email = out.email;
  admin.activated = true;
  admin.is_admin = true;
  admin.created_at = now();
  auto credential = prepare_credential(admin, PermissionSelection::All(), &out.credential_secret);
  if (!credential.ok()) return std::nullopt;
  bool created = false;
  Status st = db_->write([&](Repository& repo) -> Status {
    // Re-checked inside the write job: two servers starting at once bootstrap only once.
    STSVEND_ASSIGN_OR_RETURN(auto done, repo.get_setting(kBootstrapSetting));
    STSVEND_ASSIGN_OR_RETURN(std::int64_t count, repo.count_users());
    if (done.has_value() || count > 0) return Status::Ok();
    STSVEND_RETURN_IF_ERROR(repo.insert_user(admin, *hash));
    STSVEND_RETURN_IF_ERROR(repo.insert_credential(*credential));
    STSVEND_RETURN_IF_ERROR(repo.put_setting(kBootstrapSetting, std::to_string(admin.created_at)));
    STSVEND_RETURN_IF_ERROR(notify(repo, admin.ref, "ADD_USER", "User added", "Bootstrap administrator created",
                                   admin.ref));
    created = true;
    return Status::Ok();
  });
  if (!st.ok() || !created) return std::nullopt;
  out.user_ref = admin.ref;
  out.credential_ref = credential->credential.ref;
  out.credential_key = credential->credential.key;
  return out;
}

// ---------------------------------------------------------------- auth

void ServiceImpl::invalidate_auth_cache() {
  std::lock_guard<std::mutex> lock(auth_mu_);
  auth_cache_.clear();
  ++auth_generation_;
}

Result<std::shared_ptr<const AuthCredential>> ServiceImpl::credential_for_auth(std::string_view key) {
  std::shared_ptr<const AuthCredential> entry;
  std::uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(auth_mu_);
    auto it = auth_cache_.find(std::string(key));
    if (it != auth_cache_.end()) entry = it->second;
    generation = auth_generation_;
  }
  if (!entry) {
    std::optional<store::StoredCredential> stored;
    std::optional<store::StoredUser> user;
    {
      STSVEND_READ_LEASE(lease);
      STSVEND_ASSIGN_OR_RETURN(stored, lease->repo().find_credential_by_key(key));
      if (!stored) return Status::NotFound("key", "unknown credential key");
      STSVEND_ASSIGN_OR_RETURN(user, lease->repo().find_user(stored->credential.user_ref));
      if (!user) return Status::NotFound("key", "unknown credential key");
    }
    STSVEND_ASSIGN_OR_RETURN(SecretBytes secret,
                             vault_->open(stored->sealed_secret, credential_aad(stored->credential.ref)));
    auto fresh = std::make_shared<AuthCredential>();
    fresh->ref = stored->credential.ref;
    fresh->user_ref = stored->credential.user_ref;
    fresh->key = stored->credential.key;
    fresh->secret = std::move(secret);
    fresh->activated = stored->credential.activated && user->user.activated;
    const auto& catalogue = permission_catalogue();
    PermissionSet::Ids ids;
    for (int id : stored->permission_ids) {
      if (id >= 1 && static_cast<std::size_t>(id) <= catalogue.size()) {
        ids.insert(catalogue[static_cast<std::size_t>(id - 1)].identifier);
      }
    }
    fresh->permissions = PermissionSet(std::move(ids));
    entry = fresh;
    std::lock_guard<std::mutex> lock(auth_mu_);
    // A (de)activation that happened while we read must not be undone by this fill.
    if (generation == auth_generation_) {
      if (auth_cache_.size() >= options_.auth_cache_size) auth_cache_.clear();
      auth_cache_.emplace(std::string(key), entry);
    }
  }
  return entry;
}

Status ServiceImpl::consume_nonce(std::string_view key, std::string_view nonce, Millis dated) {
  std::promise<Status> promise;
  auto future = promise.get_future();
  consume_nonce_async(std::string(key), std::string(nonce), dated,
                      [&promise](Status st) { promise.set_value(std::move(st)); });
  return future.get();
}

void ServiceImpl::consume_nonce_async(std::string key, std::string nonce, Millis dated,
                                      std::function<void(Status)> done) {
  if (nonce.empty() || nonce.size() > 256) {
    return done(Status::InvalidArgument("nonce", "must be 1 to 256 characters"));
  }
  const Millis t = now();
  const Millis ttl = options_.nonce_ttl_seconds * 1000;
  auto fresh = std::make_shared<bool>(false);
  db_->write_async(
      [this, key = std::move(key), nonce = std::move(nonce), t, ttl, dated, fresh](Repository& repo) -> Status {
        STSVEND_ASSIGN_OR_RETURN(*fresh, repo.record_nonce(key, nonce, t, ttl, dated));
        return prune_expired_nonces(repo, t);
      },
      [fresh, done = std::move(done)](Status written) {
        if (!written.ok()) return done(std::move(written));
        if (!*fresh) return done(Status::AlreadyExists("nonce", "was already used"));
        done(Status::Ok());
      });
}

Status ServiceImpl::warm_up() {
  return db_->write([](Repository& repo) { return repo.load_nonces(); });
}

// ---------------------------------------------------------------- users

Result<User> ServiceImpl::get_user(std::string_view user_ref) {
  STSVEND_READ_LEASE(lease);
  STSVEND_ASSIGN_OR_RETURN(auto stored, lease->repo().find_user(user_ref));
  if (!stored) return not_found("user_ref");
  return std::move(stored->user);
}

Result<std::string> ServiceImpl::create_user(const NewUser& in) {
  STSVEND_RETURN_IF_ERROR(check_name("first_name", in.first_name));
  STSVEND_RETURN_IF_ERROR(check_name("last_name", in.last_name));
  STSVEND_RETURN_IF_ERROR(check_username(in.username));
  STSVEND_RETURN_IF_ERROR(check_phone(in.phone_no));
  STSVEND_RETURN_IF_ERROR(check_email(in.email));
  STSVEND_RETURN_IF_ERROR(check_password_rule(in.password));
  if (in.image_url && in.image_url->size() > 2048) {
    return Status::InvalidArgument("image_url", "must be at most 2048 characters");
  }
  STSVEND_ASSIGN_OR_RETURN(std::string hash, hash_password(in.password));
  User u;
  u.ref = random_uuid_v4();
  u.first_name = in.first_name;
  u.last_name = in.last_name;
  u.username = in.username;
  u.email = in.email;
  u.phone_no = in.phone_no;
  u.image_url = in.image_url;
  u.activated = in.activated;
  u.is_admin = in.is_admin;
  u.created_at = now();
  if (Status written = db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto existing, repo.find_user_by_username(u.username));
    if (existing) return Status::AlreadyExists("username", "is already taken");
    STSVEND_RETURN_IF_ERROR(repo.insert_user(u, hash));
    return notify(repo, u.ref, "ADD_USER", "User added", "Added user " + u.username, u.ref);
  }); !written.ok()) {
    return written;
  }
  return u.ref;
}

Status ServiceImpl::update_user(std::string_view user_ref, const UserUpdate& up) {
  if (up.first_name) STSVEND_RETURN_IF_ERROR(check_name("first_name", *up.first_name));
  if (up.last_name) STSVEND_RETURN_IF_ERROR(check_name("last_name", *up.last_name));
  if (up.username) STSVEND_RETURN_IF_ERROR(check_username(*up.username));
  if (up.phone_no) STSVEND_RETURN_IF_ERROR(check_phone(*up.phone_no));
  if (up.email) STSVEND_RETURN_IF_ERROR(check_email(*up.email));
  std::optional<std::string> new_hash;
  if (up.password) {
    STSVEND_RETURN_IF_ERROR(check_password_rule(*up.password));
    STSVEND_ASSIGN_OR_RETURN(new_hash, hash_password(*up.password));
  }
  if (Status written = db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto stored, repo.find_user(user_ref));
    if (!stored) return not_found("user_ref");
    User& u = stored->user;
    if (up.first_name) u.first_name = *up.first_name;
    if (up.last_name) u.last_name = *up.last_name;
    if (up.username && *up.username != u.username) {
      STSVEND_ASSIGN_OR_RETURN(auto clash, repo.find_user_by_username(*up.username));
      if (clash) return Status::AlreadyExists("username", "is already taken");
      u.username = *up.username;
    }
    if (up.phone_no) u.phone_no = *up.phone_no;
    if (up.image_url) u.image_url = *up.image_url;
    if (up.email) u.email = *up.email;
    if (up.activated) u.activated = *up.activated;
    return repo.update_user(u, new_hash ? *new_hash : stored->password_hash);
  }); !written.ok()) {
    return written;
  }
  invalidate_auth_cache();
  return Status::Ok();
}

Status ServiceImpl::delete_user(std::string_view user_ref) {
  UserUpdate up;
  up.activated = false;
  return update_user(user_ref, up);
}

Result<std::vector<User>> ServiceImpl::list_users() {
  STSVEND_READ_LEASE(lease);
  return lease->repo().list_users();
}

Result<User> ServiceImpl::check_password(std::string_view username, std::string_view password) {
  std::optional<store::StoredUser> stored;
  {
    STSVEND_READ_LEASE(lease);
    STSVEND_ASSIGN_OR_RETURN(stored, lease->repo().find_user_by_username(username));
  }
  // The same answer for an unknown user, a wrong password and a deactivated user.
  if (!stored || !verify_password(password, stored->password_hash) || !stored->user.activated) {
    return Status::Unauthenticated("wrong username or password");
  }
  return std::move(stored->user);
}

// ---------------------------------------------------------------- credentials

Result<store::StoredCredential> ServiceImpl::prepare_credential(const User& user, const PermissionSelection& sel,
                                                                std::string* secret_out) {
  const auto& catalogue = permission_catalogue();
  std::vector<int> ids;
  if (sel.all) {
    for (const Permission& p : catalogue) {
      if (p.identifier == "admin" && !user.is_admin) continue;
      ids.push_back(p.id);
    }
  } else {
    if (sel.ids.empty()) return Status::InvalidArgument("permissions", "at least one permission is required");
    for (int id : sel.ids) {
      if (id < 1 || static_cast<std::size_t>(id) > catalogue.size()) {
        return Status::InvalidArgument("permissions", "unknown permission id " + std::to_string(id));
      }
      if (catalogue[static_cast<std::size_t>(id - 1)].identifier == "admin" && !user.is_admin) {
        return Status::InvalidArgument("permissions", "the admin permission needs an admin user");
      }
      ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  }
  store::StoredCredential c;
  c.credential.ref = random_uuid_v4();
  c.credential.user_ref = user.ref;
  c.credential.key = random_uuid_v4();
  c.credential.activated = true;
  c.credential.created_at = now();
  c.permission_ids = std::move(ids);
  std::string secret = random_uuid_v4();
  STSVEND_ASSIGN_OR_RETURN(c.sealed_secret, vault_->seal(bytes_of(secret), credential_aad(c.credential.ref)));
  *secret_out = std::move(secret);
  return c;
}

Result<NewCredentialSecret> ServiceImpl::create_credential(std::string_view user_ref,
                                                           const PermissionSelection& permissions) {
  STSVEND_ASSIGN_OR_RETURN(User user, get_user(user_ref));
  if (!user.activated) return Status::FailedPrecondition("user_ref", "the user is deactivated");
  NewCredentialSecret out;
  STSVEND_ASSIGN_OR_RETURN(store::StoredCredential c, prepare_credential(user, permissions, &out.secret));
  if (Status written = db_->write([&](Repository& repo) -> Status {
    STSVEND_RETURN_IF_ERROR(repo.insert_credential(c));
    return notify(repo, user.ref, "ADD_CREDENTIAL", "Credential added", "Added credential " + c.credential.ref,
                  c.credential.ref);
  }); !written.ok()) {
    return written;
  }
  out.ref = c.credential.ref;
  out.key = c.credential.key;
  return out;
}

Result<Credential> ServiceImpl::open_credential(store::StoredCredential stored) {
  Credential c = std::move(stored.credential);
  STSVEND_ASSIGN_OR_RETURN(c.secret, vault_->open(stored.sealed_secret, credential_aad(c.ref)));
  const auto& catalogue = permission_catalogue();
  for (int id : stored.permission_ids) {
    if (id >= 1 && static_cast<std::size_t>(id) <= catalogue.size()) {
      c.permissions.push_back(catalogue[static_cast<std::size_t>(id - 1)]);
    }
  }
  return c;
}

Result<Credential> ServiceImpl::get_credential(std::string_view user_ref, std::string_view ref) {
  std::optional<store::StoredCredential> stored;
  {
    STSVEND_READ_LEASE(lease);
    STSVEND_ASSIGN_OR_RETURN(stored, lease->repo().find_credential(user_ref, ref));
  }
  if (!stored) return not_found("ref");
  return open_credential(std::move(*stored));
}

Result<std::vector<Credential>> ServiceImpl::list_credentials(std::string_view user_ref) {
  std::vector<store::StoredCredential> stored;
  {
    STSVEND_READ_LEASE(lease);
    STSVEND_ASSIGN_OR_RETURN(stored, lease->repo().list_credentials(user_ref));
  }
  std::vector<Credential> out;
  for (auto& s : stored) {
    STSVEND_ASSIGN_OR_RETURN(Credential c, open_credential(std::move(s)));
    out.push_back(std::move(c));
  }
  return out;
}

Status ServiceImpl::set_credential_active(std::string_view user_ref, std::string_view ref, bool active) {
  if (Status written = db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(bool found, repo.set_credential_active(user_ref, ref, active));
    return found ? Status::Ok() : not_found("ref");
  }); !written.ok()) {
    return written;
  }
  invalidate_auth_cache();
  return Status::Ok();
}

// ---------------------------------------------------------------- public keys

Result<PublicKey> ServiceImpl::add_public_key(std::string_view user_ref, std::string_view name,
                                              std::string_view key_text, bool activated) {
  STSVEND_RETURN_IF_ERROR(check_text("name", name, 0, 255));
  STSVEND_ASSIGN_OR_RETURN(std::string normalized, vault::normalize_public_key(key_text));
  PublicKey k;
  k.ref = random_uuid_v4();
  k.user_ref = std::string(user_ref);
  k.name = std::string(name);
  k.key = std::move(normalized);
  k.activated = activated;
  k.created_at = now();
  if (Status written = db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto user, repo.find_user(user_ref));
    if (!user) return not_found("user_ref");
    STSVEND_RETURN_IF_ERROR(repo.insert_public_key(k));
    return notify(repo, user_ref, "ADD_PUBLIC_KEY", "Public key added", "Added public key " + k.name, k.ref);
  }); !written.ok()) {
    return written;
  }
  return k;
}

Result<std::vector<PublicKey>> ServiceImpl::list_public_keys(std::string_view user_ref, bool only_activated) {
  STSVEND_READ_LEASE(lease);
  return lease->repo().list_public_keys(user_ref, only_activated);
}

Status ServiceImpl::set_public_key_active(std::string_view user_ref, std::string_view ref, bool active) {
  return db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(bool found, repo.set_public_key_active(user_ref, ref, active));
    if (!found) return not_found("ref");
    return notify(repo, user_ref, active ? "ACTIVATE_PUBLIC_KEY" : "DEACTIVATE_PUBLIC_KEY",
                  active ? "Public key activated" : "Public key deactivated",
                  std::string(active ? "Activated" : "Deactivated") + " public key " + std::string(ref), ref);
  });
}

// ---------------------------------------------------------------- configurations

Result<ConfigurationInfo> ServiceImpl::upload_configuration(std::string_view user_ref, std::string_view data_b64,
                                                            std::string_view digest_b64, std::string_view key_b64) {
  std::vector<std::string> keys;
  {
    STSVEND_READ_LEASE(lease);
    STSVEND_ASSIGN_OR_RETURN(auto user, lease->repo().find_user(user_ref));
    if (!user) return not_found("user_ref");
    STSVEND_ASSIGN_OR_RETURN(std::vector<PublicKey> pks, lease->repo().list_public_keys(user_ref, true));
    for (auto& k : pks) keys.push_back(std::move(k.key));
  }
  if (keys.empty()) return Status::FailedPrecondition("digest", "the user has no activated public key");
  STSVEND_ASSIGN_OR_RETURN(SecretBytes text,
                           vault::open_configuration_upload(*server_key_, data_b64, digest_b64, key_b64, keys));
  Result<ConfigurationInfo> stored = store_configuration(user_ref, text.span());
  if (!stored.ok() && stored.status().code() == Status::Code::kInvalidArgument) {
    // GW answers bad text with status.code 500 and "Invalid configuration file" (NECTAR-V1 §3.5.1 step 6);
    // what is wrong with it follows, since the uploader cannot see the text's field names otherwise.
    return Status::FailedPrecondition("data", "Invalid configuration file: " + stored.status().message());
  }
  return stored;
}

Result<ConfigurationInfo> ServiceImpl::add_configuration_text(std::string_view user_ref, std::string_view text) {
  return store_configuration(user_ref, bytes_of(text));
}

Result<ConfigurationInfo> ServiceImpl::store_configuration(std::string_view user_ref, std::span<const std::uint8_t> text) {
  std::string_view text_view(reinterpret_cast<const char*>(text.data()), text.size());
  STSVEND_ASSIGN_OR_RETURN(sts::Config config, sts::parse_config_text(text_view));
  if (config.type != "native") {
    return Status::InvalidArgument("type", "only native configurations can be stored");
  }
  // The engine loads any well-formed file; a configuration that could never vend (a vending key
  // whose length does not fit the DKGA, MISTY1 without DKGA-04, DKGA-01) is refused here, before
  // anything is stored.
  STSVEND_RETURN_IF_ERROR(sts::check_key_combination(config));
  ConfigurationInfo info;
  info.ref = random_uuid_v4();
  info.user_ref = std::string(user_ref);
  info.name = config.name;
  info.activated = true;
  info.created_at = now();
  info.configuration_type = "NATIVE";
  info.supply_group_code = config.supply_group_code;
  info.key_revision_no = config.key_revision_no;
  info.tariff_index = config.tariff_index;
  info.key_type = static_cast<int>(config.key_type);
  info.key_expiry_no = config.key_expiry_no;
  info.base_date = static_cast<int>(config.base_date);
  info.encryption_algorithm = std::string(sts::encryption_algorithm_name(config.encryption_algorithm));
  info.decoder_key_generation_algorithm = std::string(sts::dkga_name(config.decoder_key_generation_algorithm));
  info.issuer_identification_no = config.issuer_identification_no;
  info.token_carrier_type = config.token_carrier_type;
  // The canonical text is what gets sealed: it round-trips and carries nothing we did not parse.
  std::string canonical = sts::format_config_text(config);
  store::StoredConfiguration stored;
  stored.info = info;
  auto sealed = vault_->seal(bytes_of(canonical), config_aad(info.ref));
  volatile char* p = canonical.data();
  for (std::size_t i = 0; i < canonical.size(); ++i) p[i] = 0;
  if (!sealed.ok()) return sealed.status();
  stored.sealed_text = std::move(sealed).value();
  if (Status written = db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto user, repo.find_user(user_ref));
    if (!user) return not_found("user_ref");
    STSVEND_RETURN_IF_ERROR(repo.insert_configuration(stored));
    return notify(repo, user_ref, "ADD_CONFIG", "Config added", "Added new config " + info.name, info.ref);
  }); !written.ok()) {
    return written;
  }
  return info;
}

Result<ConfigurationInfo> ServiceImpl::get_configuration(std::string_view user_ref, std::string_view ref) {
  STSVEND_READ_LEASE(lease);
  STSVEND_ASSIGN_OR_RETURN(auto stored, lease->repo().find_configuration(user_ref, ref));
  if (!stored) return not_found("ref");
  return std::move(stored->info);
}

Result<std::vector<ConfigurationInfo>> ServiceImpl::list_configurations(std::string_view user_ref) {
  STSVEND_READ_LEASE(lease);
  return lease->repo().list_configurations(user_ref);
}

Status ServiceImpl::set_configuration_active(std::string_view user_ref, std::string_view ref, bool active) {
  return db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(bool found, repo.set_configuration_active(user_ref, ref, active));
    if (!found) return not_found("ref");
    ledger_.forget_configuration(ref);
    return notify(repo, user_ref, active ? "ACTIVATE_CONFIG" : "DEACTIVATE_CONFIG",
                  active ? "Config activated" : "Config deactivated",
                  std::string(active ? "Activated" : "Deactivated") + " config " + std::string(ref), ref);
  });
}

// ---------------------------------------------------------------- meters

Result<Meter> ServiceImpl::get_meter(std::string_view user_ref, std::string_view drn) {
  STSVEND_READ_LEASE(lease);
  STSVEND_ASSIGN_OR_RETURN(auto meter, lease->repo().find_meter(user_ref, drn));
  if (!meter) return not_found("drn");
  return std::move(*meter);
}

Result<std::vector<Meter>> ServiceImpl::list_meters(std::string_view user_ref) {
  STSVEND_READ_LEASE(lease);
  return lease->repo().list_meters(user_ref);
}

Result<Meter> ServiceImpl::register_meter(std::string_view user_ref, std::string_view drn,
                                          std::string_view config_ref, bool rebind) {
  Meter out;
  if (Status written = db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto config, repo.find_configuration(user_ref, config_ref));
    if (!config) return not_found("config_ref");
    if (!config->info.activated) {
      return Status::FailedPrecondition("config_ref", "Config " + std::string(config_ref) + " is deactivated");
    }
    STSVEND_RETURN_IF_ERROR(sts::validate_drn(config->info.issuer_identification_no, drn));
    STSVEND_ASSIGN_OR_RETURN(auto existing, repo.find_meter(user_ref, drn));
    const bool used = existing && (existing->last_tid || existing->moved_by_kct);
    Meter m;
    if (existing) {
      m = std::move(*existing);
    } else {
      m.drn = std::string(drn);
      m.user_ref = std::string(user_ref);
      m.created_at = now();
    }
    if (used && !rebind) {
      // The meter has taken tokens under the key it holds: registration does not change that key, a key
      // change token set does (the vend rule).
      STSVEND_ASSIGN_OR_RETURN(const bool adopted, adopt_configuration(m, config->info));
      if (!adopted) {
        out = std::move(m);
        return Status::Ok();
      }
    } else {
      take_config_parameters(m, config->info);  // new, no token yet, or re-bound by the operator
    }
    STSVEND_RETURN_IF_ERROR(repo.upsert_meter(m));
    ledger_.forget_meter(user_ref, drn);
    out = m;
    return Status::Ok();
  }); !written.ok()) {
    return written;
  }
  return out;
}

// ---------------------------------------------------------------- credits

Status ServiceImpl::add_credits(std::string_view user_ref, Units units, Units value, std::string_view currency) {
  if (units <= 0) return Status::InvalidArgument("units", "must be positive");
  if (value < 0) return Status::InvalidArgument("value", "must not be negative");
  // The purchase list shows it to the tenant and their accounting reads it: an ISO 4217 code, not free text.
  const bool iso_4217 = currency.size() == 3 && std::all_of(currency.begin(), currency.end(),
                                                            [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!iso_4217) return Status::InvalidArgument("currency", "must be a three-letter ISO 4217 code such as KES");
  Purchase p;
  p.purchase_date = now();
  p.ref = time_ordered_uuid(p.purchase_date);
  p.user_ref = std::string(user_ref);
  p.units = units;
  p.value = value;
  p.currency = std::string(currency);
  return db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(auto user, repo.find_user(user_ref));
    if (!user) return not_found("user_ref");
    STSVEND_RETURN_IF_ERROR(repo.insert_purchase(p));
    return repo.add_to_balance(user_ref, units);
  });
}

Result<CreditsSummary> ServiceImpl::credits(std::string_view user_ref) {
  STSVEND_READ_LEASE(lease);
  CreditsSummary out;
  STSVEND_ASSIGN_OR_RETURN(out.credits, lease->repo().balance(user_ref));
  return out;
}

Result<CreditsSummary> ServiceImpl::transactions(std::string_view user_ref, const TimeRange& range) {
  STSVEND_READ_LEASE(lease);
  return lease->repo().transactions(user_ref, range);
}

Status ServiceImpl::read_transactions(std::string_view user_ref, const TimeRange& range,
                                      const TransactionSink& sink) {
  STSVEND_READ_LEASE(lease);
  return lease->repo().read_transactions(user_ref, range, sink);
}

// ---------------------------------------------------------------- notifications

Result<std::vector<Notification>> ServiceImpl::list_notifications(std::string_view user_ref,
                                                                  const NotificationQuery& query) {
  STSVEND_READ_LEASE(lease);
  return lease->repo().list_notifications(user_ref, query);
}

Status ServiceImpl::read_notifications(std::string_view user_ref, const NotificationQuery& query,
                                       const RowSink<Notification>& sink) {
  STSVEND_READ_LEASE(lease);
  return lease->repo().read_notifications(user_ref, query, sink);
}

Status ServiceImpl::set_notification_read(std::string_view user_ref, std::string_view ref, bool read, Millis ts_ms) {
  return db_->write([&](Repository& repo) -> Status {
    STSVEND_ASSIGN_OR_RETURN(bool found, repo.set_notification_read(user_ref, ref, read,
                                                                    read ? std::optional<Millis>(ts_ms) : std::nullopt));
    return found ? Status::Ok() : not_found("notification_ref");
  });
}

}  // namespace stsvend::service
