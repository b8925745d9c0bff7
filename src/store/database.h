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

// A write job runs on the writer thread inside its own SAVEPOINT of the current batch. Returning
// a non-OK Status rolls back exactly this job's changes. It must not block on other writes.
using WriteJob = std::function<Status(Repository&)>;

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

  // Thread-safe; connections are created on demand and reused.
  virtual Result<std::unique_ptr<ReadLease>> read() = 0;

  // Writer statistics, for benchmarks, docs and /metrics.
  struct Stats {
    std::uint64_t batches = 0;       // group commits attempted
    std::uint64_t jobs = 0;          // write jobs run
    std::uint64_t batch_nanos = 0;   // writer time spent in batches (jobs + COMMIT)
    std::uint64_t commit_nanos = 0;  // of which COMMIT (WAL write + fsync)
  };
  virtual Stats stats() const = 0;
};

struct SqliteOptions {
  std::filesystem::path path;
  std::size_t max_batch = 512;
};

// Opens (creating and migrating) the SQLite database and starts its writer thread.
Result<std::unique_ptr<Database>> open_sqlite_database(const SqliteOptions& options);

}  // namespace stsvend::store
