// A database: one group-commit writer plus a pool of read connections. Backend-neutral interface;
// open_sqlite_database is the default backend. docs/storage.md ("Group commit").
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

#include "store/repository.h"
#include "stsvend/result.h"

namespace stsvend::store {

// A write job runs on the writer thread inside the current batch's transaction. It should do its
// checks before its first write: a job that returns a non-OK Status after writing gets its changes
// undone by rolling back the batch and running the batch again without it (correct, but costly),
// so a job may run more than once and must not have effects outside the Repository other than
// setting its own outputs. It must not block on other writes.
using WriteJob = std::function<Status(Repository&)>;
// Runs on the writer thread once the job's batch is durable (or failed): keep it short, never block.
using WriteDone = std::function<void(Status)>;

// A read connection leased for one operation; reads through it see one consistent snapshot.
class ReadLease {
 public:
  virtual ~ReadLease() = default;
  virtual Repository& repo() = 0;
};

class Database {
 public:
  virtual ~Database() = default;

  // Queues `job`, waits for the batch it lands in to commit durably and returns the job's Status.
  // If the batch's COMMIT fails (disk full, I/O error) every job of the batch gets Unavailable and
  // none of their changes exist. Thread-safe.
  virtual Status write(WriteJob job) = 0;
  // The same without waiting: `done` gets the job's Status on the writer thread after the commit
  // (or at once, on the calling thread, when the database is closing).
  virtual void write_async(WriteJob job, WriteDone done) = 0;

  // Thread-safe; connections are created on demand and reused.
  virtual Result<std::unique_ptr<ReadLease>> read() = 0;

  // Writer statistics, for benchmarks, docs and /metrics. Checkpoints: docs/storage.md ("Checkpoints").
  struct Stats {
    std::uint64_t batches = 0;                  // group commits attempted
    std::uint64_t jobs = 0;                     // write jobs run
    std::uint64_t batch_nanos = 0;              // writer time spent in batches (jobs + COMMIT)
    std::uint64_t max_batch_nanos = 0;          // the longest single batch
    std::uint64_t max_sync_nanos = 0;           // the longest single WAL fsync
    std::uint64_t commit_nanos = 0;             // of which COMMIT (WAL append; no fsync, no checkpoint)
    std::uint64_t syncs = 0;                    // WAL fsyncs, each covering every batch committed before it
    std::uint64_t sync_nanos = 0;               // time in them (overlaps the next batches)
    std::uint64_t checkpoints = 0;              // background checkpoints run (beside the writer)
    std::uint64_t checkpoint_nanos = 0;         // time in them, with the database fsync (overlaps batches)
    std::uint64_t writer_checkpoints = 0;       // checkpoints the writer ran between batches (catch-up, forced)
    std::uint64_t writer_checkpoint_nanos = 0;  // time in them (delays the next batch)
    std::uint64_t nonces_remembered = 0;        // sightings in the writer's nonce index, after the last batch
    std::uint64_t nonce_index_bytes = 0;        // that index's table
  };
  virtual Stats stats() const = 0;
};

struct SqliteOptions {
  std::filesystem::path path;
  std::size_t max_batch = 512;
  // WAL size (in frames, one page each) at which the background thread checkpoints: from the minimum
  // while the writer has room to the maximum when it is saturated (docs/storage.md, "Checkpoints").
  std::size_t checkpoint_start_min_frames = 512;
  std::size_t checkpoint_start_max_frames = 4096;
  // WAL size at which the writer checkpoints between batches itself, whatever the background
  // thread does (it is slow or blocked by readers): the bound on the WAL (256 MiB at 4 KiB pages).
  std::size_t checkpoint_force_frames = 65536;
};

// Opens (creating and migrating) the SQLite database and starts its writer, syncer and checkpointer
// threads.
Result<std::unique_ptr<Database>> open_sqlite_database(const SqliteOptions& options);

}  // namespace stsvend::store
