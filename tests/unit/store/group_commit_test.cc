// The group-commit writer: batching, a job failing after its writes undoing only itself, a failed
// COMMIT failing the whole batch
// (ENOSPC simulated with RLIMIT_FSIZE), kill -9 never losing an acknowledged write, and checkpoints
// off the writer keeping the WAL bounded.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "store/database.h"
#include "file_size_limit.h"
#include "temp_dir.h"

namespace stsvend::store {
namespace {

// Built with append: g++ 12 -O2 reports a false -Wrestrict on `"k" + std::to_string(i)`.
std::string key(const char* prefix, int i) {
  std::string k(prefix);
  k.append(std::to_string(i));
  return k;
}

std::unique_ptr<Database> open_db(const std::filesystem::path& dir, std::size_t max_batch = 512) {
  SqliteOptions o;
  o.path = dir / "t.db";
  o.max_batch = max_batch;
  auto db = open_sqlite_database(o);
  EXPECT_TRUE(db.ok()) << db.status().message();
  return db.ok() ? std::move(db).value() : nullptr;
}

std::unique_ptr<Database> open_db(const SqliteOptions& o) {
  auto db = open_sqlite_database(o);
  EXPECT_TRUE(db.ok()) << db.status().message();
  return db.ok() ? std::move(db).value() : nullptr;
}

// Small checkpoint thresholds, so that a test crosses them many times.
SqliteOptions small_checkpoints(const std::filesystem::path& dir) {
  SqliteOptions o;
  o.path = dir / "t.db";
  o.checkpoint_start_min_frames = 64;
  o.checkpoint_start_max_frames = 64;
  o.checkpoint_force_frames = 1024;
  return o;
}

// The WAL header's checkpoint sequence number (bytes 12-15, big-endian), which SQLite increments
// each time it restarts the WAL from its beginning.
std::uint32_t wal_restarts(const std::filesystem::path& wal) {
  std::ifstream in(wal, std::ios::binary);
  unsigned char h[16] = {};
  in.read(reinterpret_cast<char*>(h), sizeof h);
  EXPECT_TRUE(in.good()) << wal;
  return std::uint32_t{h[12]} << 24 | std::uint32_t{h[13]} << 16 | std::uint32_t{h[14]} << 8 | std::uint32_t{h[15]};
}

// `threads` callers each writing `per_thread` settings named <prefix><thread>-<i>; returns the failures.
int write_settings(Database& db, const char* prefix, int threads, int per_thread, const std::string& value) {
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t) {
    callers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        std::string k = key(prefix, t);
        k.append("-").append(std::to_string(i));
        if (!db.write([&](Repository& r) { return r.put_setting(k, value); }).ok()) failures++;
      }
    });
  }
  for (auto& th : callers) th.join();
  return failures.load();
}

// Records (key, nonce) as seen at `now` in a job of its own; whether it was fresh.
bool fresh_nonce(Database& db, const std::string& nonce, Millis now = 2000) {
  bool fresh = false;
  const Status st = db.write([&](Repository& r) -> Status {
    STSVEND_ASSIGN_OR_RETURN(fresh, r.record_nonce("key", nonce, now, 900'000));
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.message();
  return fresh;
}

std::optional<std::string> setting(Database& db, const std::string& key) {
  auto lease = db.read();
  EXPECT_TRUE(lease.ok());
  auto v = (*lease)->repo().get_setting(key);
  EXPECT_TRUE(v.ok());
  return *v;
}

TEST(GroupCommit, ConcurrentJobsShareCommits) {
  testing::TempDir dir;
  auto db = open_db(dir.path());
  constexpr int kThreads = 16, kPerThread = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string k = key("k", t);
        k.append("-").append(std::to_string(i));
        Status st = db->write([&](Repository& r) { return r.put_setting(k, "v"); });
        if (!st.ok()) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  Database::Stats s = db->stats();
  EXPECT_EQ(s.jobs, std::uint64_t{kThreads * kPerThread});
  EXPECT_LT(s.batches, s.jobs) << "concurrent writers should share commits";
  EXPECT_EQ(setting(*db, "k15-199"), "v");
}

TEST(GroupCommit, FailedJobRollsBackOnlyItself) {
  testing::TempDir dir;
  auto db = open_db(dir.path());
  constexpr int kJobs = 400;
  std::vector<std::thread> threads;
  std::vector<Status> results(kJobs);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kJobs; i += 8) {
        results[static_cast<std::size_t>(i)] = db->write([i](Repository& r) -> Status {
          STSVEND_RETURN_IF_ERROR(r.put_setting(key("k", i), "v"));
          if (i % 2 == 0) return Status::FailedPrecondition("job", "refused after writing");
          return Status::Ok();
        });
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < kJobs; ++i) {
    const std::string k = key("k", i);
    if (i % 2 == 0) {
      EXPECT_EQ(results[static_cast<std::size_t>(i)].code(), Status::Code::kFailedPrecondition);
      EXPECT_FALSE(setting(*db, k).has_value()) << k;
    } else {
      EXPECT_TRUE(results[static_cast<std::size_t>(i)].ok());
      EXPECT_EQ(setting(*db, k), "v") << k;
    }
  }
}

// The writer remembers nonces in memory (store/nonce_index.h); a job undone after recording one must
// not leave it remembered, whether the batch was rolled back whole or to the job's savepoint.
TEST(GroupCommit, RolledBackNoncesAreForgotten) {
  testing::TempDir dir;
  auto db = open_db(dir.path());
  constexpr int kJobs = 400;
  std::vector<std::thread> threads;
  std::atomic<int> unexpected{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kJobs; i += 8) {
        const Status st = db->write([i](Repository& r) -> Status {
          STSVEND_ASSIGN_OR_RETURN(const bool fresh, r.record_nonce("key", key("n", i), 1000, 900'000));
          if (!fresh) return Status::AlreadyExists("nonce", "was already used");
          STSVEND_RETURN_IF_ERROR(r.put_setting(key("k", i), "v"));
          if (i % 2 == 0) return Status::FailedPrecondition("job", "refused after writing");
          return Status::Ok();
        });
        if (st.ok() != (i % 2 == 1)) unexpected++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(unexpected.load(), 0);
  EXPECT_GT(db->stats().jobs, db->stats().batches) << "some batches held several jobs";
  for (int i = 0; i < kJobs; ++i) EXPECT_EQ(fresh_nonce(*db, key("n", i)), i % 2 == 0) << i;
  db.reset();
  auto reopened = open_db(dir.path());
  for (int i = 0; i < kJobs; ++i) EXPECT_FALSE(fresh_nonce(*reopened, key("n", i))) << "from the log: " << i;
}

TEST(GroupCommit, ThrowingJobIsContained) {
  testing::TempDir dir;
  auto db = open_db(dir.path());
  Status st = db->write([](Repository& r) -> Status {
    (void)r.put_setting("a", "b");
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(st.code(), Status::Code::kInternal);
  EXPECT_FALSE(setting(*db, "a").has_value());
  EXPECT_TRUE(db->write([](Repository& r) { return r.put_setting("c", "d"); }).ok());
}

// Disk full at COMMIT: the WAL cannot grow. Every job of the batch fails with Unavailable, none
// of their rows exist (nor their nonces, in memory), and the writer recovers once space is back.
TEST(GroupCommit, FailedCommitFailsEveryJobAndWritesNothing) {
  testing::TempDir dir;
  auto db = open_db(dir.path());
  ASSERT_TRUE(db->write([](Repository& r) { return r.put_setting("before", "1"); }).ok());
  const auto wal = dir.path() / "t.db-wal";
  ASSERT_TRUE(std::filesystem::exists(wal));

  testing::FileSizeLimit disk_full(std::filesystem::file_size(wal) + 16 * 1024);
  ASSERT_TRUE(disk_full.ok());

  const std::string big(256 * 1024, 'x');  // stays in the page cache until COMMIT writes the WAL
  constexpr int kJobs = 6;
  std::vector<Status> results(kJobs);
  std::vector<std::thread> threads;
  for (int i = 0; i < kJobs; ++i) {
    threads.emplace_back([&, i] {
      results[static_cast<std::size_t>(i)] =
          db->write([&, i](Repository& r) -> Status {
            STSVEND_ASSIGN_OR_RETURN(const bool fresh, r.record_nonce("key", key("big", i), 1000, 900'000));
            if (!fresh) return Status::AlreadyExists("nonce", "was already used");
            return r.put_setting(key("big", i), big);
          });
    });
  }
  for (auto& th : threads) th.join();
  disk_full.lift();

  for (int i = 0; i < kJobs; ++i) {
    EXPECT_EQ(results[static_cast<std::size_t>(i)].code(), Status::Code::kUnavailable)
        << results[static_cast<std::size_t>(i)].message();
    EXPECT_FALSE(setting(*db, key("big", i)).has_value());
  }
  EXPECT_EQ(setting(*db, "before"), "1");
  for (int i = 0; i < kJobs; ++i) EXPECT_TRUE(fresh_nonce(*db, key("big", i))) << "the failed batch's nonce";
  EXPECT_TRUE(db->write([](Repository& r) { return r.put_setting("after", "1"); }).ok());
  EXPECT_EQ(setting(*db, "after"), "1");
  db.reset();
  auto reopened = open_db(dir.path());
  for (int i = 0; i < kJobs; ++i) EXPECT_FALSE(setting(*reopened, key("big", i)).has_value());
}

// A child process writes and acknowledges each committed write on a pipe; the parent kills it
// with SIGKILL mid-stream. Every acknowledged write must be there after reopening.
TEST(GroupCommit, KillDashNineKeepsAcknowledgedWrites) {
  testing::TempDir dir;
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    SqliteOptions o;
    o.path = dir.path() / "t.db";
    auto child_db = open_sqlite_database(o);
    if (!child_db.ok()) ::_exit(2);
    for (int i = 0;; ++i) {
      Status st = (*child_db)->write([i](Repository& r) { return r.put_setting(key("k", i), "v"); });
      if (!st.ok()) ::_exit(3);
      if (::write(fds[1], &i, sizeof i) != sizeof i) ::_exit(4);
    }
  }
  ::close(fds[1]);
  int last = -1;
  for (int n = 0; n < 300; ++n) {
    int i = 0;
    ASSERT_EQ(::read(fds[0], &i, sizeof i), static_cast<ssize_t>(sizeof i));
    last = i;
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(fds[0]);
  ASSERT_TRUE(WIFSIGNALED(status));
  auto db = open_db(dir.path());
  for (int i = 0; i <= last; ++i) ASSERT_EQ(setting(*db, key("k", i)), "v") << i;
}

// Every setting write_settings wrote, read back.
void expect_settings(Database& db, const char* prefix, int threads, int per_thread, const std::string& value) {
  for (int t = 0; t < threads; ++t) {
    for (int i = 0; i < per_thread; ++i) {
      std::string k = key(prefix, t);
      k.append("-").append(std::to_string(i));
      ASSERT_EQ(setting(db, k), value) << k;
    }
  }
}

// The WAL passes the start threshold many times: the background thread checkpoints, the writer
// catches up between batches, SQLite restarts the WAL, and its file stays far below the force bound.
TEST(GroupCommit, CheckpointsOffTheWriterKeepTheWalBounded) {
  testing::TempDir dir;
  const SqliteOptions o = small_checkpoints(dir.path());
  const auto wal = dir.path() / "t.db-wal";
  const std::string value(1000, 'v');
  constexpr int kThreads = 8, kPerThread = 400;
  {
    auto db = open_db(o);
    ASSERT_EQ(write_settings(*db, "k", kThreads, kPerThread, value), 0);
    const Database::Stats s = db->stats();
    EXPECT_GT(s.checkpoints, 0u);
    EXPECT_GT(s.checkpoint_nanos, 0u);
    EXPECT_GT(s.writer_checkpoints, 0u);
    EXPECT_GT(s.writer_checkpoint_nanos, 0u);
    EXPECT_GT(s.max_batch_nanos, 0u);
    EXPECT_LE(s.max_batch_nanos, s.batch_nanos);
    // Never truncated, the file is as long as the WAL ever was.
    EXPECT_LT(std::filesystem::file_size(wal), o.checkpoint_force_frames * 4096 * 2);
    EXPECT_GT(wal_restarts(wal), 2u);
    expect_settings(*db, "k", kThreads, kPerThread, value);
  }
  auto reopened = open_db(dir.path());
  expect_settings(*reopened, "k", kThreads, kPerThread, value);
}

// One write at a time makes batches of one job: the checkpoint threshold follows the batch size (256
// frames a job, docs/storage.md "Checkpoints"), not the maximum, so a writer with room checkpoints small.
TEST(GroupCommit, CheckpointSizeFollowsTheBatches) {
  testing::TempDir dir;
  SqliteOptions o;
  o.path = dir.path() / "t.db";
  o.checkpoint_start_min_frames = 16;
  o.checkpoint_start_max_frames = 16384;
  const std::string value(3000, 'v');  // about one WAL frame a write
  auto db = open_db(o);
  constexpr int kWrites = 1500;
  for (int i = 0; i < kWrites; ++i) {
    ASSERT_TRUE(db->write([&, i](Repository& r) { return r.put_setting(key("k", i), value); }).ok());
  }
  const Database::Stats s = db->stats();
  EXPECT_EQ(s.batches, std::uint64_t{kWrites});
  // At the maximum there would have been no checkpoint at all; at 256 frames, several.
  EXPECT_GE(s.checkpoints, 3u);
  EXPECT_LT(std::filesystem::file_size(dir.path() / "t.db-wal"), 1024u * 4096);
}

// A read lease holding an old snapshot keeps the WAL from being copied or restarted past it: the WAL
// grows, but writes go on, and once the lease ends the WAL is restarted by further writes.
TEST(GroupCommit, LongReadLeaseOnlyDelaysCheckpoints) {
  testing::TempDir dir;
  const SqliteOptions o = small_checkpoints(dir.path());
  const auto wal = dir.path() / "t.db-wal";
  const std::string value(1000, 'v');
  auto db = open_db(o);
  ASSERT_TRUE(db->write([](Repository& r) { return r.put_setting("old", "1"); }).ok());
  auto lease = db->read();
  ASSERT_TRUE(lease.ok());
  ASSERT_EQ(*(*lease)->repo().get_setting("old"), "1");  // the snapshot starts here

  ASSERT_EQ(write_settings(*db, "held", 4, 300, value), 0);
  EXPECT_FALSE((*(*lease)->repo().get_setting("held0-0")).has_value()) << "the lease keeps its snapshot";
  EXPECT_EQ(setting(*db, "held3-299"), value);
  const std::uint32_t restarts_while_held = wal_restarts(wal);

  (*lease).reset();
  ASSERT_EQ(write_settings(*db, "after", 4, 100, value), 0);
  EXPECT_GT(wal_restarts(wal), restarts_while_held);
  expect_settings(*db, "held", 4, 300, value);
  expect_settings(*db, "after", 4, 100, value);
  db.reset();
  auto reopened = open_db(dir.path());
  expect_settings(*reopened, "held", 4, 300, value);
  expect_settings(*reopened, "after", 4, 100, value);
}

}  // namespace
}  // namespace stsvend::store
