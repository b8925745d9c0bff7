// A SQLite connection with the durability pragmas stsvend needs and a per-connection cache of
// prepared statements. Not thread-safe: one connection belongs to one thread. docs/storage.md.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "stsvend/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace stsvend::store::sqlite {

// A cached prepared statement, reset and unbound when the Stmt handle goes out of scope.
// Bind indexes are 1-based as in SQLite; column indexes are 0-based.
class Stmt {
 public:
  explicit Stmt(sqlite3_stmt* s) noexcept : s_(s) {}
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt(Stmt&& o) noexcept : s_(o.s_), bind_rc_(o.bind_rc_), last_rc_(o.last_rc_) { o.s_ = nullptr; }
  Stmt& operator=(Stmt&&) = delete;

  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind(int i, std::uint32_t v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind(int i, bool v) { return bind(i, static_cast<std::int64_t>(v ? 1 : 0)); }
  Stmt& bind(int i, std::string_view v);
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind_blob(int i, std::span<const std::uint8_t> v);
  Stmt& bind_null(int i);
  template <typename T>
  Stmt& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind_null(i);
  }

  // A row is ready (true), the statement is done (false), or an error.
  Result<bool> step();
  // Runs a statement that returns no rows.
  Status run();

  // The extended result code of the last step() (e.g. SQLITE_CONSTRAINT_CHECK).
  int last_rc() const noexcept { return last_rc_; }

  std::int64_t i64(int col) const;
  int i32(int col) const { return static_cast<int>(i64(col)); }
  bool boolean(int col) const { return i64(col) != 0; }
  std::string text(int col) const;
  std::vector<std::uint8_t> blob(int col) const;
  bool is_null(int col) const;
  std::optional<std::int64_t> opt_i64(int col) const;
  std::optional<std::string> opt_text(int col) const;

 private:
  sqlite3_stmt* s_;
  int bind_rc_ = 0;  // first bind error, reported by step()
  int last_rc_ = 0;
};

class Connection {
 public:
  // Opens (creating) the database and applies WAL, synchronous=FULL, foreign_keys, busy_timeout.
  // `vfs`: the name of a registered SQLite VFS; empty for the default one.
  static Result<std::unique_ptr<Connection>> open(const std::filesystem::path& path, bool read_only,
                                                  const std::string& vfs = {});
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements without results (DDL, BEGIN, COMMIT, SAVEPOINT ...).
  Status exec(std::string_view sql);
  // Runs one statement without results through the statement cache (BEGIN, SAVEPOINT, COMMIT ...).
  Status run(std::string_view sql);
  // The cached prepared statement for `sql` (prepared on first use on this connection).
  // REQUIRES: the previous Stmt for the same sql has been destroyed.
  Result<Stmt> prepare(std::string_view sql);

  std::int64_t changes() const;
  std::int64_t total_changes() const;
  // The rowid of the last row this connection inserted.
  std::int64_t last_insert_rowid() const;
  // True outside a transaction (also after SQLite rolled one back by itself).
  bool autocommit() const;
  sqlite3* raw() noexcept { return db_; }

 private:
  explicit Connection(sqlite3* db) noexcept : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
};

// Maps a SQLite result code to a Status: BUSY/LOCKED/FULL/IOERR → Unavailable, CONSTRAINT →
// AlreadyExists, CORRUPT/NOTADB → Corruption, else Internal. The SQLite message goes to detail.
Status sqlite_status(int rc, sqlite3* db, std::string_view what);

}  // namespace stsvend::store::sqlite
