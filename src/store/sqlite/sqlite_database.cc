// The SQLite Database: a group-commit writer thread and a pool of read connections.
// Why group commit and what a failed COMMIT means for callers: docs/storage.md ("Durability").
#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/database.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite_repository.h"

namespace stsvend::store {
namespace {

using sqlite::Connection;
using sqlite::SqliteRepository;

struct PendingJob {
  WriteJob job;
  std::promise<Status> done;
};

class SqliteDatabase;

// One pooled read connection; the read transaction gives the lease one snapshot.
struct ReadSlot {
  std::unique_ptr<Connection> conn;
  std::unique_ptr<SqliteRepository> repo;
};

class SqliteReadLease final : public ReadLease {
 public:
  SqliteReadLease(SqliteDatabase* db, std::unique_ptr<ReadSlot> slot) : db_(db), slot_(std::move(slot)) {}
  ~SqliteReadLease() override;
  Repository& repo() override { return *slot_->repo; }

 private:
  SqliteDatabase* db_;
  std::unique_ptr<ReadSlot> slot_;
};

class SqliteDatabase final : public Database {
 public:
  SqliteDatabase(SqliteOptions options, std::unique_ptr<Connection> writer)
      : options_(std::move(options)), writer_conn_(std::move(writer)), writer_repo_(*writer_conn_) {
    if (options_.max_batch == 0) options_.max_batch = 1;
    thread_ = std::thread([this] { run(); });
  }

  ~SqliteDatabase() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  Status write(WriteJob job) override {
    auto pending = std::make_unique<PendingJob>();
    pending->job = std::move(job);
    std::future<Status> result = pending->done.get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return Status::Unavailable("database is closing");
      queue_.push_back(std::move(pending));
    }
    cv_.notify_one();
    return result.get();
  }

  Result<std::unique_ptr<ReadLease>> read() override {
    std::unique_ptr<ReadSlot> slot;
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      if (!pool_.empty()) {
        slot = std::move(pool_.back());
        pool_.pop_back();
      }
    }
    if (!slot) {
      slot = std::make_unique<ReadSlot>();
      STSVEND_ASSIGN_OR_RETURN(slot->conn, Connection::open(options_.path, /*read_only=*/true));
      slot->repo = std::make_unique<SqliteRepository>(*slot->conn);
    }
    // Deferred BEGIN: the snapshot starts at the first read and lasts until the lease ends.
    STSVEND_RETURN_IF_ERROR(slot->conn->exec("BEGIN"));
    return std::unique_ptr<ReadLease>(new SqliteReadLease(this, std::move(slot)));
  }

  Stats stats() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void give_back(std::unique_ptr<ReadSlot> slot) {
    // A connection whose transaction cannot be ended is dropped rather than reused.
    if (!slot->conn->exec("COMMIT").ok()) return;
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (pool_.size() < kMaxPooledReaders) pool_.push_back(std::move(slot));
  }

 private:
  static constexpr std::size_t kMaxPooledReaders = 64;

  void run() {
    std::vector<std::unique_ptr<PendingJob>> batch;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        while (!queue_.empty() && batch.size() < options_.max_batch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      const auto batch_start = std::chrono::steady_clock::now();
      commit_nanos_ = 0;
      std::vector<Status> results = run_batch(batch);
      {
        // Counted before any caller wakes, so a caller that reads stats after its write sees it.
        std::lock_guard<std::mutex> lock(mu_);
        stats_.batches += 1;
        stats_.jobs += batch.size();
        stats_.batch_nanos += elapsed_nanos(batch_start);
        stats_.commit_nanos += commit_nanos_;
      }
      for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->done.set_value(std::move(results[i]));
      batch.clear();
    }
  }

  // BEGIN IMMEDIATE; per job SAVEPOINT / RELEASE (ROLLBACK TO on failure); COMMIT. Returns one
  // result per job; the caller completes the promises only after this returned, so no caller ever
  // sees a result that is not durable.
  std::vector<Status> run_batch(std::vector<std::unique_ptr<PendingJob>>& batch) {
    Connection& db = *writer_conn_;
    Status begun = db.run("BEGIN IMMEDIATE");
    if (!begun.ok()) return fail_all(batch.size(), std::move(begun));
    std::vector<Status> results;
    results.reserve(batch.size());
    for (auto& pending : batch) {
      Status st = db.run("SAVEPOINT job");
      if (st.ok()) {
        Status job_status = run_job(pending->job);
        if (job_status.ok()) {
          st = db.run("RELEASE job");
        } else {
          st = db.run("ROLLBACK TO job");
          if (st.ok()) st = db.run("RELEASE job");
        }
        if (st.ok()) {
          results.push_back(std::move(job_status));
          continue;
        }
      }
      // The transaction itself is broken (I/O error inside a savepoint): nothing of the batch
      // may be reported as done.
      (void)db.run("ROLLBACK");
      return fail_all(batch.size(), std::move(st));
    }
    const auto commit_start = std::chrono::steady_clock::now();
    Status committed = db.run("COMMIT");
    commit_nanos_ += elapsed_nanos(commit_start);
    if (!committed.ok()) {
      (void)db.run("ROLLBACK");
      return fail_all(batch.size(), std::move(committed));
    }
    return results;
  }

  Status run_job(WriteJob& job) {
    try {
      return job(writer_repo_);
    } catch (const std::exception& e) {
      // Jobs return Status; an escaping exception (e.g. bad_alloc) is contained to this job.
      return Status::Internal("write job failed").with_detail(e.what());
    }
  }

  static std::uint64_t elapsed_nanos(std::chrono::steady_clock::time_point since) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - since).count());
  }

  static std::vector<Status> fail_all(std::size_t n, Status cause) {
    std::string detail(cause.detail().empty() ? cause.message() : std::string(cause.detail()));
    std::vector<Status> results;
    results.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      results.push_back(Status::Unavailable("storage failed; nothing was committed, retry").with_detail(detail));
    }
    return results;
  }

  SqliteOptions options_;
  std::uint64_t commit_nanos_ = 0;  // writer thread only
  std::unique_ptr<Connection> writer_conn_;
  SqliteRepository writer_repo_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<PendingJob>> queue_;
  bool stopping_ = false;
  Stats stats_;
  std::thread thread_;

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<ReadSlot>> pool_;
};

SqliteReadLease::~SqliteReadLease() { db_->give_back(std::move(slot_)); }

}  // namespace

Result<std::unique_ptr<Database>> open_sqlite_database(const SqliteOptions& options) {
  STSVEND_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer, Connection::open(options.path, false));
  STSVEND_RETURN_IF_ERROR(sqlite::migrate(*writer));
  return std::unique_ptr<Database>(new SqliteDatabase(options, std::move(writer)));
}

}  // namespace stsvend::store
