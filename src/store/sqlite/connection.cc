// SQLite connection wrapper; see connection.h.
#include "store/sqlite/connection.h"

#include <sqlite3.h>

namespace stsvend::store::sqlite {

Status sqlite_status(int rc, sqlite3* db, std::string_view what) {
  std::string detail = std::string(what) + ": " + sqlite3_errstr(rc);
  if (db != nullptr) detail += std::string(" (") + sqlite3_errmsg(db) + ")";
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Unavailable("database busy").with_detail(std::move(detail));
    case SQLITE_FULL:
      return Status::Unavailable("storage full").with_detail(std::move(detail));
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
      return Status::Unavailable("storage I/O error").with_detail(std::move(detail));
    case SQLITE_CONSTRAINT:
      return Status::AlreadyExists("", "constraint violated").with_detail(std::move(detail));
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return Status::Corruption("", "database corrupt").with_detail(std::move(detail));
    default:
      return Status::Internal("database error").with_detail(std::move(detail));
  }
}

Stmt::~Stmt() {
  if (s_ != nullptr) {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
}

Stmt& Stmt::bind(int i, std::int64_t v) {
  int rc = sqlite3_bind_int64(s_, i, v);
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::bind(int i, std::string_view v) {
  int rc = sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::bind_blob(int i, std::span<const std::uint8_t> v) {
  int rc = sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::bind_null(int i) {
  int rc = sqlite3_bind_null(s_, i);
  if (rc != SQLITE_OK && bind_rc_ == 0) bind_rc_ = rc;
  return *this;
}

Result<bool> Stmt::step() {
  if (bind_rc_ != 0) {
    last_rc_ = bind_rc_;
    return sqlite_status(bind_rc_, sqlite3_db_handle(s_), "bind");
  }
  int rc = sqlite3_step(s_);
  last_rc_ = rc;
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_status(rc, sqlite3_db_handle(s_), sqlite3_sql(s_));
}

Status Stmt::run() {
  for (;;) {
    Result<bool> r = step();
    if (!r.ok()) return r.status();
    if (!*r) return Status::Ok();
  }
}

std::int64_t Stmt::i64(int col) const { return sqlite3_column_int64(s_, col); }

std::string Stmt::text(int col) const {
  const unsigned char* p = sqlite3_column_text(s_, col);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s_, col)));
}

std::vector<std::uint8_t> Stmt::blob(int col) const {
  const void* p = sqlite3_column_blob(s_, col);
  int n = sqlite3_column_bytes(s_, col);
  if (p == nullptr || n <= 0) return {};
  const auto* b = static_cast<const std::uint8_t*>(p);
  return std::vector<std::uint8_t>(b, b + n);
}

bool Stmt::is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

std::optional<std::int64_t> Stmt::opt_i64(int col) const {
  if (is_null(col)) return std::nullopt;
  return i64(col);
}

std::optional<std::string> Stmt::opt_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

Result<std::unique_ptr<Connection>> Connection::open(const std::filesystem::path& path, bool read_only,
                                                     const std::string& vfs) {
  sqlite3* db = nullptr;
  // Readers open read-write too (a WAL reader must be able to map the -shm file) and are then
  // fenced with query_only.
  int flags = SQLITE_OPEN_READWRITE | (read_only ? 0 : SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    Status st = sqlite_status(rc, db, "open");
    sqlite3_close_v2(db);
    return st;
  }
  std::unique_ptr<Connection> c(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  // busy_timeout first: a reader opening while the writer checkpoints must wait, not fail.
  STSVEND_RETURN_IF_ERROR(c->exec("PRAGMA busy_timeout=10000"));
  if (read_only) {
    STSVEND_RETURN_IF_ERROR(c->exec("PRAGMA query_only=1"));
  } else {
    STSVEND_RETURN_IF_ERROR(c->exec("PRAGMA journal_mode=WAL"));
    // A small page cache (2 MiB, about SQLite's default) on purpose: a B-tree page split in SQLite
    // 3.40 renumbers pages through the lock-byte page (page 262,145 at 4 KiB), and the commit that
    // follows then walks the whole page cache to drop pages past the end of the file, until the
    // database is over 1 GiB. With 64 MiB that walk cost the writer 7-11 us per vend (measured,
    // docs/benchmarks.md); the pages a vend misses come from the OS page cache instead.
    STSVEND_RETURN_IF_ERROR(c->exec("PRAGMA cache_size=-2048"));
  }
  // temp_store=MEMORY: statement journals and sort files stay off the disk.
  STSVEND_RETURN_IF_ERROR(c->exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"));
  return c;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status Connection::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (err != nullptr) sqlite3_free(err);
  if (rc != SQLITE_OK) return sqlite_status(rc, db_, s);
  return Status::Ok();
}

Result<Stmt> Connection::prepare(std::string_view sql) {
  std::string key(sql);
  auto it = cache_.find(key);
  if (it != cache_.end()) return Stmt(it->second);
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT,
                              &stmt, nullptr);
  if (rc != SQLITE_OK) return sqlite_status(rc, db_, key);
  cache_.emplace(std::move(key), stmt);
  return Stmt(stmt);
}

Status Connection::run(std::string_view sql) {
  STSVEND_ASSIGN_OR_RETURN(Stmt s, prepare(sql));
  return s.run();
}

std::int64_t Connection::changes() const { return sqlite3_changes64(db_); }
std::int64_t Connection::total_changes() const { return sqlite3_total_changes64(db_); }
std::int64_t Connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
bool Connection::autocommit() const { return sqlite3_get_autocommit(db_) != 0; }

}  // namespace stsvend::store::sqlite
