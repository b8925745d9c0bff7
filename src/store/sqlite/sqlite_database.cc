// The SQLite Database: a group-commit writer thread and a pool of read connections.
// Why group commit and what a failed COMMIT means for callers: docs/storage.md ("Durability").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
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
  WriteDone done;
};

// A committed batch waiting for the WAL fsync that makes it durable.
struct CommittedBatch {
  std::vector<PendingJob> jobs;
  std::vector<Status> results;
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
    syncer_ = std::thread([this] { sync_loop(); });
    thread_ = std::thread([this] { run(); });
  }

  ~SqliteDatabase() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();  // drains the queue into the syncer
    {
      std::lock_guard<std::mutex> lock(sync_mu_);
      sync_stopping_ = true;
    }
    sync_cv_.notify_all();
    syncer_.join();
    if (wal_fd_ >= 0) ::close(wal_fd_);
  }

  Status write(WriteJob job) override {
    std::promise<Status> result;
    std::future<Status> future = result.get_future();
    write_async(std::move(job), [&result](Status st) { result.set_value(std::move(st)); });
    return future.get();
  }

  void write_async(WriteJob job, WriteDone done) override {
    bool accepted = false;
    bool wake = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopping_ && !poisoned_.load()) {
        queue_.push_back(PendingJob{std::move(job), std::move(done)});
        accepted = true;
        wake = writer_idle_;
      }
    }
    if (!accepted) {
      done(poisoned_.load() ? poisoned_status() : Status::Unavailable("database is closing"));
      return;
    }
    // A busy writer takes the queue when its batch ends; waking it costs a futex call per job.
    if (wake) cv_.notify_one();
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
    std::vector<PendingJob> batch;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        writer_idle_ = true;
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        writer_idle_ = false;
        if (queue_.empty()) return;  // stopping and drained
        while (!queue_.empty() && batch.size() < options_.max_batch) {
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
      }
      const auto batch_start = std::chrono::steady_clock::now();
      commit_nanos_ = 0;
      committed_ = false;
      std::vector<Status> results =
          poisoned_.load() ? fail_all(batch.size(), poisoned_status()) : run_batch(batch);
      {
        // Counted before any caller wakes, so a caller that reads stats after its write sees it.
        std::lock_guard<std::mutex> lock(mu_);
        stats_.batches += 1;
        stats_.jobs += batch.size();
        stats_.batch_nanos += elapsed_nanos(batch_start);
        stats_.commit_nanos += commit_nanos_;
      }
      if (committed_) {
        // Durable only once the WAL is on disk: the syncer completes the jobs after its fsync,
        // while this thread already runs the next batch.
        {
          std::lock_guard<std::mutex> lock(sync_mu_);
          sync_queue_.push_back(CommittedBatch{std::move(batch), std::move(results)});
        }
        sync_cv_.notify_one();
        batch = std::vector<PendingJob>();
      } else {
        // Nothing was committed (the whole batch failed): nothing to wait for.
        for (std::size_t i = 0; i < batch.size(); ++i) complete(batch[i], std::move(results[i]));
        batch.clear();
      }
    }
  }

  // The syncer: one fdatasync of the WAL covers every batch committed before it started. The writer
  // connection runs with synchronous=NORMAL (COMMIT writes the WAL but does not fsync it); this
  // thread does the fsync, so COMMIT N+1 overlaps fsync N and a batch's cost is the larger of the
  // two instead of their sum. No job is completed before the fsync that covers it returned: the
  // same guarantee as synchronous=FULL for every acknowledged write.
  void sync_loop() {
    std::vector<CommittedBatch> work;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(sync_mu_);
        sync_cv_.wait(lock, [this] { return sync_stopping_ || !sync_queue_.empty(); });
        if (sync_queue_.empty()) return;  // stopping and drained
        work.swap(sync_queue_);
      }
      const auto start = std::chrono::steady_clock::now();
      Status synced = poisoned_.load() ? poisoned_status() : sync_wal();
      if (!synced.ok() && !poisoned_.exchange(true)) {
        // fsync failed after COMMIT: the committed rows may or may not reach the disk, and the
        // kernel may have dropped the dirty pages. Like PostgreSQL, stop writing: every later write
        // fails until the server restarts and SQLite recovers from what is on disk.
        std::fprintf(stderr, "stsvend: storage fsync failed (%s): refusing writes until restart\n",
                     synced.message().c_str());
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.syncs += 1;
        stats_.sync_nanos += elapsed_nanos(start);
      }
      for (CommittedBatch& b : work) {
        for (std::size_t i = 0; i < b.jobs.size(); ++i) {
          complete(b.jobs[i], synced.ok() ? std::move(b.results[i]) : poisoned_status());
        }
      }
      work.clear();
    }
  }

  // fdatasync of the WAL through our own descriptor (fsync flushes the file, whichever descriptor
  // names it). Reopened when SQLite made a new WAL file, whose directory entry is synced too.
  Status sync_wal() {
    const std::string wal = options_.path.string() + "-wal";
    struct stat st {};
    if (::stat(wal.c_str(), &st) != 0) return errno_status("stat", wal);
    if (wal_fd_ < 0 || st.st_ino != wal_ino_ || st.st_dev != wal_dev_) {
      if (wal_fd_ >= 0) ::close(wal_fd_);
      wal_fd_ = ::open(wal.c_str(), O_RDONLY | O_CLOEXEC);
      if (wal_fd_ < 0) return errno_status("open", wal);
      wal_ino_ = st.st_ino;
      wal_dev_ = st.st_dev;
      const std::string dir = options_.path.parent_path().empty() ? "." : options_.path.parent_path().string();
      const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dir_fd < 0) return errno_status("open", dir);
      const int rc = ::fsync(dir_fd);
      const int saved = errno;
      ::close(dir_fd);
      if (rc != 0) {
        errno = saved;
        return errno_status("fsync", dir);
      }
    }
    if (::fdatasync(wal_fd_) != 0) return errno_status("fdatasync", wal);
    return Status::Ok();
  }

  static Status errno_status(const char* what, const std::string& path) {
    return Status::Unavailable("storage failed; restart the server")
        .with_detail(std::string(what) + " " + path + ": " + std::strerror(errno));
  }

  static Status poisoned_status() {
    return Status::Unavailable(
        "storage could not be flushed to disk; the outcome of this request is unknown: restart the server and "
        "retry with the same Idempotency-Key");
  }

  // One transaction for the whole batch, normally without a SAVEPOINT per job: a savepoint makes
  // SQLite copy every page a job first touches into a statement journal, which costs more than the
  // jobs themselves. A job that fails before writing anything (the common case: a refused request)
  // simply reports its error. A job that fails after writing (an I/O error, a constraint the job
  // should have checked first) can only be undone with the whole transaction: the batch is rolled
  // back and run once more with a savepoint per job, the old way. Returns one result per job; the
  // caller completes the jobs only after this returned, so no caller ever sees a result that is not
  // durable.
  std::vector<Status> run_batch(std::vector<PendingJob>& batch) {
    std::vector<Status> results;
    if (run_transaction(batch, /*savepoints=*/false, results)) return results;
    writer_repo_.bump_writer_generation();  // the rolled-back jobs may have updated caches
    (void)run_transaction(batch, /*savepoints=*/true, results);
    return results;
  }

  // False when a job failed after writing and `savepoints` is off: the transaction was rolled back
  // and `results` is meaningless. Otherwise `results` holds every job's outcome.
  bool run_transaction(std::vector<PendingJob>& batch, bool savepoints, std::vector<Status>& results) {
    Connection& db = *writer_conn_;
    results.assign(batch.size(), Status::Ok());
    Status begun = db.run("BEGIN IMMEDIATE");
    if (begun.ok()) begun = check_external_changes();
    if (!begun.ok()) {
      (void)db.run("ROLLBACK");
      results = fail_all(batch.size(), std::move(begun));
      return true;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      Status st = savepoints ? db.run("SAVEPOINT job") : Status::Ok();
      const std::int64_t changes_before = db.total_changes();
      Status job_status = st.ok() ? run_job(batch[i].job) : Status::Ok();
      if (st.ok() && db.autocommit()) {
        // SQLite rolled the transaction back by itself (disk full, I/O error): nothing of the
        // batch may be reported as done.
        writer_repo_.bump_writer_generation();
        results = fail_all(batch.size(), job_status.ok() ? Status::Unavailable("transaction lost") : job_status);
        return true;
      }
      const bool dirty = !job_status.ok() && db.total_changes() != changes_before;
      if (st.ok() && savepoints) {
        if (dirty) {
          st = db.run("ROLLBACK TO job");
          writer_repo_.bump_writer_generation();
        }
        if (st.ok()) st = db.run("RELEASE job");
      } else if (st.ok() && dirty) {
        (void)db.run("ROLLBACK");
        return false;
      }
      if (!st.ok()) {
        // The transaction itself is broken (I/O error inside a savepoint).
        (void)db.run("ROLLBACK");
        writer_repo_.bump_writer_generation();
        results = fail_all(batch.size(), std::move(st));
        return true;
      }
      results[i] = std::move(job_status);
    }
    const auto commit_start = std::chrono::steady_clock::now();
    Status committed = db.run("COMMIT");
    commit_nanos_ += elapsed_nanos(commit_start);
    if (!committed.ok()) {
      (void)db.run("ROLLBACK");
      writer_repo_.bump_writer_generation();
      results = fail_all(batch.size(), std::move(committed));
      return true;
    }
    committed_ = true;
    return true;
  }

  // Another process (the admin CLI) may have committed since the last batch: caches that write jobs
  // keep across jobs must then be rebuilt. Runs inside BEGIN IMMEDIATE, so nobody else can commit
  // until this batch ends.
  Status check_external_changes() {
    STSVEND_ASSIGN_OR_RETURN(sqlite::Stmt s, writer_conn_->prepare("PRAGMA data_version"));
    STSVEND_ASSIGN_OR_RETURN(bool row, s.step());
    const std::int64_t version = row ? s.i64(0) : 0;
    if (version != data_version_) {
      data_version_ = version;
      writer_repo_.bump_writer_generation();
    }
    return Status::Ok();
  }

  static void complete(PendingJob& pending, Status st) {
    try {
      pending.done(std::move(st));
    } catch (...) {
      // A completion must not throw (it runs on the writer thread); one that does is dropped here so
      // that the other jobs of the batch still complete.
    }
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
  std::int64_t data_version_ = -1;  // writer thread only
  bool committed_ = false;          // writer thread only: the last batch reached COMMIT
  std::unique_ptr<Connection> writer_conn_;
  SqliteRepository writer_repo_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PendingJob> queue_;
  bool stopping_ = false;
  bool writer_idle_ = false;  // waiting on cv_ (guarded by mu_)
  Stats stats_;
  std::atomic<bool> poisoned_{false};  // a WAL fsync failed: no more writes until restart

  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::vector<CommittedBatch> sync_queue_;
  bool sync_stopping_ = false;
  int wal_fd_ = -1;  // syncer thread only
  ino_t wal_ino_ = 0;
  dev_t wal_dev_ = 0;
  std::thread syncer_;  // started before thread_, stopped after it
  std::thread thread_;

  std::mutex pool_mu_;
  std::vector<std::unique_ptr<ReadSlot>> pool_;
};

SqliteReadLease::~SqliteReadLease() { db_->give_back(std::move(slot_)); }

}  // namespace

Result<std::unique_ptr<Database>> open_sqlite_database(const SqliteOptions& options) {
  STSVEND_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer, Connection::open(options.path, false));
  STSVEND_RETURN_IF_ERROR(sqlite::migrate(*writer));
  // The writer's COMMIT does not fsync: the syncer thread does, before any job of the batch is
  // completed (see sync_loop). Checkpoints run in the writer's COMMIT; at 8192 pages (32 MiB of WAL)
  // instead of SQLite's 1000 they run an eighth as often and copy each hot page once per run, which
  // cut the measured COMMIT time by more than half.
  STSVEND_RETURN_IF_ERROR(writer->exec("PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=8192"));
  return std::unique_ptr<Database>(new SqliteDatabase(options, std::move(writer)));
}

}  // namespace stsvend::store
