// The SQLite Database: a group-commit writer thread and a pool of read connections.
// Why group commit and what a failed COMMIT means for callers: docs/storage.md ("Durability");
// why checkpoints run on their own thread: docs/storage.md ("Checkpoints").
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "store/database.h"
#include "store/sqlite/connection.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite_repository.h"
#include "store/sqlite/wal_write_combiner.h"

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
  SqliteDatabase(SqliteOptions options, std::unique_ptr<Connection> writer, std::unique_ptr<Connection> checkpointer)
      : options_(std::move(options)),
        writer_conn_(std::move(writer)),
        writer_repo_(*writer_conn_),
        checkpoint_conn_(std::move(checkpointer)) {
    if (options_.max_batch == 0) options_.max_batch = 1;
    options_.checkpoint_start_max_frames = std::max<std::size_t>(options_.checkpoint_start_max_frames, 1);
    options_.checkpoint_start_min_frames =
        std::clamp<std::size_t>(options_.checkpoint_start_min_frames, 1, options_.checkpoint_start_max_frames);
    options_.checkpoint_force_frames = std::max(options_.checkpoint_force_frames, options_.checkpoint_start_max_frames);
    next_background_at_ = start_frames();
    // Replaces SQLite's autocheckpoint hook: COMMIT no longer checkpoints (see wal_committed).
    sqlite3_wal_hook(writer_conn_->raw(), &SqliteDatabase::on_wal_commit, this);
    // Named for top -H and perf (at most 15 characters).
    checkpointer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "stsvend-ckpt");
      checkpoint_loop();
    });
    syncer_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "stsvend-sync");
      sync_loop();
    });
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "stsvend-writer");
      run();
    });
  }

  ~SqliteDatabase() override {
    {
      // First, so that the writer draining its queue starts no background checkpoint; one that is
      // running finishes.
      std::lock_guard<std::mutex> lock(mu_);
      checkpointer_stopping_ = true;
    }
    checkpoint_cv_.notify_all();
    checkpointer_.join();
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
    if (poisoned_.load()) {
      // The last connection to close would checkpoint and delete the WAL: copying frames whose fsync
      // failed (from the page cache), or trusting frames a partial run marked copied before a
      // database fsync failed. Without it the WAL stays, and the next open recovers from the disk.
      std::lock_guard<std::mutex> lock(pool_mu_);
      for (auto& slot : pool_) keep_wal_on_close(*slot->conn);
      keep_wal_on_close(*checkpoint_conn_);
      keep_wal_on_close(*writer_conn_);
    }
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
      bool checkpoint_first = false;
      {
        std::unique_lock<std::mutex> lock(mu_);
        writer_idle_ = true;
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty() || phase_ == CheckpointPhase::kCatchUp; });
        writer_idle_ = false;
        if (phase_ == CheckpointPhase::kCatchUp) {
          phase_ = CheckpointPhase::kIdle;
          catch_up_pending_ = true;
          writer_checkpoint_tried_ = false;
        }
        // Between batches the writer holds no transaction: the only time it can checkpoint.
        checkpoint_first = writer_checkpoint_due();
        if (!checkpoint_first) {
          if (queue_.empty()) {
            if (stopping_) return;  // stopping and drained
            continue;
          }
          while (!queue_.empty() && batch.size() < options_.max_batch) {
            batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
          }
        }
      }
      if (checkpoint_first) {
        checkpoint_on_writer();
        continue;  // the queue is taken afterwards, so jobs queued meanwhile join this batch
      }
      const auto batch_start = std::chrono::steady_clock::now();
      commit_nanos_ = 0;
      committed_ = false;
      batch_jobs_avg_ += (static_cast<double>(batch.size()) - batch_jobs_avg_) / 64.0;
      std::vector<Status> results =
          poisoned_.load() ? fail_all(batch.size(), poisoned_status()) : run_batch(batch);
      {
        // Counted before any caller wakes, so a caller that reads stats after its write sees it.
        const std::uint64_t batch_nanos = elapsed_nanos(batch_start);
        std::lock_guard<std::mutex> lock(mu_);
        stats_.batches += 1;
        stats_.jobs += batch.size();
        stats_.batch_nanos += batch_nanos;
        stats_.max_batch_nanos = std::max(stats_.max_batch_nanos, batch_nanos);
        stats_.commit_nanos += commit_nanos_;
        stats_.nonces_remembered = writer_repo_.nonces_remembered();
        stats_.nonce_index_bytes = writer_repo_.nonce_index_bytes();
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

  // Checkpoints (docs/storage.md, "Checkpoints"). SQLite's autocheckpoint runs inside the COMMIT
  // that crosses the threshold: it copies the WAL into the database file and fsyncs it while every
  // vend waits. Instead the checkpointer thread copies with a PASSIVE checkpoint, which takes no
  // writer lock, while batches keep committing. It never reaches the frames committed meanwhile, and
  // SQLite restarts the WAL only when a writer begins a transaction with the WAL fully copied; so
  // the writer, between batches, copies those last frames itself (the catch-up: a few ms), after
  // which its next transaction writes the WAL from its start again.
  //
  // Durability does not depend on any of this: acknowledged writes are in the WAL, fsynced by the
  // syncer. The WAL is restarted in place (no TRUNCATE checkpoint, no journal_size_limit), so it
  // keeps its inode and the syncer's descriptor keeps naming it.
  enum class CheckpointPhase {
    kIdle,        // the wal hook may start a background checkpoint
    kBackground,  // requested from or running on the checkpointer thread
    kCatchUp,     // done: the writer should copy the rest before its next batch
  };

  static int on_wal_commit(void* self, sqlite3*, const char*, int frames) {
    static_cast<SqliteDatabase*>(self)->wal_committed(static_cast<std::size_t>(frames));
    return SQLITE_OK;
  }

  // Writer thread, after each COMMIT; `frames` is the WAL's length.
  void wal_committed(std::size_t frames) {
    // The length only drops when the WAL was restarted.
    if (frames < wal_frames_) next_background_at_ = start_frames();
    wal_frames_ = frames;
    writer_checkpoint_tried_ = false;
    if (frames < next_background_at_ || poisoned_.load()) return;
    bool start = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (phase_ == CheckpointPhase::kIdle) {
        phase_ = CheckpointPhase::kBackground;
        start = true;
      }
    }
    if (!start) return;
    checkpoint_cv_.notify_one();
    // When the WAL cannot be restarted (a reader holds an old snapshot), the next run waits for as
    // many new frames again instead of following this one back to back.
    next_background_at_ = frames + start_frames();
  }

  // The WAL length at which the next background checkpoint starts: 256 frames per job of the average
  // batch, within the options' bounds. Batches grow with the load (64 connections, measured: 2.5 jobs
  // at 9,000 vends/s, 3.5 at 12,000, 5.4 at 15,000, 15 saturated at 21,000), so checkpoints are small
  // (2.5 MiB) while the writer has room, and the database fsync ending each one is short: the latency
  // tail at half load waited on it. Saturated, they are as large as before (16 MiB), where each copies a page that
  // many batches rewrote once. Measured: docs/storage.md, "Checkpoints".
  std::size_t start_frames() const {
    const double wanted = 256.0 * batch_jobs_avg_;
    return static_cast<std::size_t>(std::clamp(wanted, static_cast<double>(options_.checkpoint_start_min_frames),
                                               static_cast<double>(options_.checkpoint_start_max_frames)));
  }

  bool writer_checkpoint_due() const {
    return !writer_checkpoint_tried_ && !poisoned_.load() &&
           (catch_up_pending_ || wal_frames_ >= options_.checkpoint_force_frames);
  }

  // Writer thread, holding no transaction: the catch-up after a background run, or the forced
  // checkpoint when the WAL reached checkpoint_force_frames.
  void checkpoint_on_writer() {
    writer_checkpoint_tried_ = true;
    const auto start = std::chrono::steady_clock::now();
    const int rc = passive_checkpoint(*writer_conn_);
    // The background checkpoint (or another process) holds the checkpoint lock: expected and
    // harmless, tried again after the next batch.
    if ((rc & 0xff) == SQLITE_BUSY) return;
    catch_up_pending_ = false;
    if (rc != SQLITE_OK) checkpoint_failed(rc, writer_conn_->raw());
    std::lock_guard<std::mutex> lock(mu_);
    stats_.writer_checkpoints += 1;
    stats_.writer_checkpoint_nanos += elapsed_nanos(start);
  }

  // The checkpointer thread, on its own connection.
  void checkpoint_loop() {
    int db_fd = -1;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        checkpoint_cv_.wait(lock,
                            [this] { return checkpointer_stopping_ || phase_ == CheckpointPhase::kBackground; });
        if (checkpointer_stopping_) break;
      }
      const auto start = std::chrono::steady_clock::now();
      // Poisoned, nothing more may be marked copied (see checkpoint_failed).
      const bool poisoned = poisoned_.load();
      bool ran = false;
      bool copied = false;
      // A run that did not reach the end of the WAL (the writer committed meanwhile) leaves its pages
      // unsynced for the catch-up's fsync; syncing them here keeps that cost off the writer. And the
      // frames committed during that fsync would be the catch-up's to copy and fsync, while every
      // vend waits: so copying and syncing repeat while a round still copied many frames, each round
      // shorter than the one before (see "Checkpoints" in docs/storage.md).
      int backfilled = -1;
      for (int round = 0; !poisoned && round < kMaxCheckpointRounds; ++round) {
        int round_frames = 0;
        const int rc = converge(*checkpoint_conn_, backfilled, round_frames);
        ran = (rc & 0xff) != SQLITE_BUSY;
        if (ran && rc != SQLITE_OK) checkpoint_failed(rc, checkpoint_conn_->raw());
        copied = ran && rc == SQLITE_OK && sync_database(db_fd);
        if (!copied || round_frames <= kLastRoundFrames) break;
      }
      bool wake = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        phase_ = copied ? CheckpointPhase::kCatchUp : CheckpointPhase::kIdle;
        wake = copied && writer_idle_;
        if (ran) {
          stats_.checkpoints += 1;
          stats_.checkpoint_nanos += elapsed_nanos(start);
        }
      }
      if (wake) cv_.notify_one();
    }
    if (db_fd >= 0) ::close(db_fd);
  }

  // Frames a background run may leave to the writer's catch-up; and the rounds of copy-and-fsync it
  // makes at most, stopping after one that copied no more than kLastRoundFrames.
  static constexpr int kCatchUpFrames = 64;
  static constexpr int kMaxCheckpointRounds = 4;
  static constexpr int kLastRoundFrames = 2 * kCatchUpFrames;

  static int passive_checkpoint(Connection& conn, int* wal_frames = nullptr, int* backfilled = nullptr) {
    int log = 0;
    int ckpt = 0;
    const int rc = sqlite3_wal_checkpoint_v2(conn.raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt);
    if (wal_frames != nullptr) *wal_frames = log;
    if (backfilled != nullptr) *backfilled = ckpt;
    return rc;
  }

  // Background runs until few frames are left for the writer's catch-up: each run copies what was
  // committed during the previous one, so the rest shrinks geometrically (measured at 4.5k vends/s:
  // one run left ~300 frames, a 5 ms catch-up on the writer; the catch-up is the only checkpoint
  // work that delays vends).
  // `backfilled`: the WAL's copied frames when the last round ended (-1 before the first), updated;
  // `copied`: the frames this call copied.
  int converge(Connection& conn, int& backfilled, int& copied) {
    static constexpr int kMaxRuns = 6;
    int rc = SQLITE_OK;
    int ckpt = 0;
    for (int run = 0; run < kMaxRuns; ++run) {
      int log = 0;
      rc = passive_checkpoint(conn, &log, &ckpt);
      if (rc != SQLITE_OK || log - ckpt <= kCatchUpFrames) break;
    }
    // A restarted WAL counts from its start again.
    copied = backfilled >= 0 && ckpt >= backfilled ? ckpt - backfilled : ckpt;
    backfilled = ckpt;
    return rc;
  }

  // fdatasync of the database file through the checkpointer's own descriptor. False when it failed.
  bool sync_database(int& fd) {
    const std::string path = options_.path.string();
    if (fd < 0) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      // Only an optimisation: the catch-up's checkpoint syncs the file itself.
      log_checkpoint_error(errno_status("open", path));
      return true;
    }
    if (::fdatasync(fd) == 0) return true;
    database_fsync_failed(errno_status("fdatasync", path));
    return false;
  }

  // A failed checkpoint is logged and retried at the next threshold; writes go on. Acknowledged
  // writes are in the fsynced WAL, and SQLite marks frames copied only after a run succeeded, so the
  // next run copies them again. A failed fsync is different: SQLite also marks frames copied after
  // a partial run without any fsync (the run that reaches the WAL's end syncs for all), and once an
  // fsync of the database file failed the kernel may have dropped those pages while a later fsync
  // succeeds; the WAL would then be restarted over the only good copy of acknowledged writes. So a
  // failed fsync poisons (also one of the WAL, which a checkpoint syncs before copying), like the
  // syncer's.
  void checkpoint_failed(int rc, sqlite3* db) {
    Status st = sqlite::sqlite_status(rc, db, "checkpoint of " + options_.path.string());
    if (rc == SQLITE_IOERR_FSYNC) {
      database_fsync_failed(st);
    } else {
      log_checkpoint_error(st);
    }
  }

  void database_fsync_failed(const Status& st) {
    if (poisoned_.exchange(true)) return;
    std::fprintf(stderr, "stsvend: database fsync failed in a checkpoint (%s): refusing writes until restart\n",
                 std::string(st.detail()).c_str());
  }

  // Once per distinct error: a failing checkpoint is retried at every threshold.
  void log_checkpoint_error(const Status& st) {
    static constexpr std::size_t kMaxDistinctErrors = 32;
    std::string detail(st.detail().empty() ? st.message() : std::string(st.detail()));
    std::lock_guard<std::mutex> lock(log_mu_);
    if (logged_checkpoint_errors_.size() >= kMaxDistinctErrors) return;
    if (!logged_checkpoint_errors_.insert(detail).second) return;
    std::fprintf(stderr, "stsvend: WAL checkpoint failed (%s); writes go on, retrying at the next threshold\n",
                 detail.c_str());
  }

  static void keep_wal_on_close(Connection& conn) {
    (void)sqlite3_db_config(conn.raw(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  }

  // The syncer: one fdatasync of the WAL covers every batch committed before it started. The writer's
  // batch COMMIT writes the WAL but does not fsync it (DeferredWalSync in run_transaction); this
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
        const std::uint64_t sync_nanos = elapsed_nanos(start);
        std::lock_guard<std::mutex> lock(mu_);
        stats_.syncs += 1;
        stats_.sync_nanos += sync_nanos;
        stats_.max_sync_nanos = std::max(stats_.max_sync_nanos, sync_nanos);
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
    writer_repo_.rolled_back();  // the rolled-back jobs may have updated caches
    (void)run_transaction(batch, /*savepoints=*/true, results);
    return results;
  }

  // False when a job failed after writing and `savepoints` is off: the transaction was rolled back
  // and `results` is meaningless. Otherwise `results` holds every job's outcome.
  bool run_transaction(std::vector<PendingJob>& batch, bool savepoints, std::vector<Status>& results) {
    Connection& db = *writer_conn_;
    results.assign(batch.size(), Status::Ok());
    Status begun = db.run("BEGIN IMMEDIATE");
    writer_repo_.begin_batch();
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
        writer_repo_.rolled_back();
        results = fail_all(batch.size(), job_status.ok() ? Status::Unavailable("transaction lost") : job_status);
        return true;
      }
      const bool dirty = !job_status.ok() && db.total_changes() != changes_before;
      if (st.ok() && savepoints) {
        if (dirty) {
          st = db.run("ROLLBACK TO job");
          writer_repo_.rolled_back();
        }
        if (st.ok()) st = db.run("RELEASE job");
      } else if (st.ok() && dirty) {
        (void)db.run("ROLLBACK");
        return false;
      }
      if (!st.ok()) {
        // The transaction itself is broken (I/O error inside a savepoint).
        (void)db.run("ROLLBACK");
        writer_repo_.rolled_back();
        results = fail_all(batch.size(), std::move(st));
        return true;
      }
      results[i] = std::move(job_status);
    }
    const auto commit_start = std::chrono::steady_clock::now();
    Status committed;
    {
      // The COMMIT writes the batch's frames but leaves their fsync to the syncer.
      const sqlite::DeferredWalSync deferred;
      committed = db.run("COMMIT");
    }
    commit_nanos_ += elapsed_nanos(commit_start);
    if (!committed.ok()) {
      (void)db.run("ROLLBACK");
      writer_repo_.rolled_back();
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
  double batch_jobs_avg_ = 1.0;     // writer thread only: jobs per batch, moving average over ~64 batches
  std::int64_t data_version_ = -1;  // writer thread only
  bool committed_ = false;          // writer thread only: the last batch reached COMMIT
  std::unique_ptr<Connection> writer_conn_;
  SqliteRepository writer_repo_;
  std::unique_ptr<Connection> checkpoint_conn_;  // checkpointer thread only; closed before writer_conn_

  // Writer thread only: the WAL as of the last COMMIT and what the writer owes it.
  std::size_t wal_frames_ = 0;
  std::size_t next_background_at_ = 0;   // WAL length that starts the next background run
  bool catch_up_pending_ = false;        // a background run finished; the writer has not caught up
  bool writer_checkpoint_tried_ = false;  // since the last COMMIT: a BUSY one waits for the next batch

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PendingJob> queue_;
  bool stopping_ = false;
  bool writer_idle_ = false;  // waiting on cv_ (guarded by mu_)
  Stats stats_;
  std::atomic<bool> poisoned_{false};  // a WAL or database fsync failed: no more writes until restart
  CheckpointPhase phase_ = CheckpointPhase::kIdle;  // guarded by mu_
  bool checkpointer_stopping_ = false;               // guarded by mu_
  std::condition_variable checkpoint_cv_;            // with mu_
  std::thread checkpointer_;

  std::mutex log_mu_;
  std::set<std::string> logged_checkpoint_errors_;

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
  // The writer's WAL frames go out in one write per COMMIT (sqlite/wal_write_combiner.h), and its batch
  // COMMIT does not fsync: the syncer thread does, before any job of the batch is completed (see
  // run_transaction and sync_loop). Nor does it checkpoint: the database's wal hook replaces SQLite's
  // autocheckpoint (the old wal_autocheckpoint=8192 copied up to 32 MiB and fsynced the database
  // file inside a COMMIT, stalling every vend behind it); checkpoints run on the checkpointer
  // thread's own connection, and the writer only catches up between batches (checkpoint_loop).
  std::string combining_vfs;
  try {
    combining_vfs = sqlite::wal_write_combining_vfs();
  } catch (const std::exception& e) {
    return Status::Internal("cannot set up the database").with_detail(e.what());
  }
  STSVEND_ASSIGN_OR_RETURN(std::unique_ptr<Connection> writer, Connection::open(options.path, false, combining_vfs));
  STSVEND_RETURN_IF_ERROR(sqlite::migrate(*writer));
  STSVEND_ASSIGN_OR_RETURN(std::unique_ptr<Connection> checkpointer, Connection::open(options.path, false));
  return std::unique_ptr<Database>(new SqliteDatabase(options, std::move(writer), std::move(checkpointer)));
}

}  // namespace stsvend::store
