// The WAL-combining VFS: a transaction's frames reach the WAL in one write instead of two per page,
// another connection sees a commit as soon as it returns, large transactions and pages rewritten
// within one transaction round-trip, a deferred sync skips the fsync but never the one after a WAL
// restart's new header, and a write that fails (the file size limit standing in for a full disk)
// fails the COMMIT and leaves nothing behind.
#include "store/sqlite/wal_write_combiner.h"

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "file_size_limit.h"
#include "store/sqlite/connection.h"
#include "temp_dir.h"

namespace stsvend::store::sqlite {
namespace {

// Counts the pwrite calls of SQLite's unix VFS through its system-call table (process-wide).
std::atomic<int> g_pwrites{0};
using PwriteFn = ssize_t (*)(int, const void*, size_t, off_t);
PwriteFn g_pwrite = nullptr;
PwriteFn g_pwrite64 = nullptr;
ssize_t counting_pwrite(int fd, const void* data, size_t n, off_t at) {
  ++g_pwrites;
  return g_pwrite(fd, data, n, at);
}
ssize_t counting_pwrite64(int fd, const void* data, size_t n, off_t at) {
  ++g_pwrites;
  return g_pwrite64(fd, data, n, at);
}

// The store's own Connection (WAL, synchronous=FULL), with the small answers these tests compare.
class Db {
 public:
  Db(const std::filesystem::path& path, const std::string& vfs) {
    auto c = Connection::open(path, /*read_only=*/false, vfs);
    EXPECT_TRUE(c.ok()) << c.status().message();
    if (c.ok()) conn_ = std::move(c).value();
    exec("PRAGMA cache_size=-64");  // 64 KiB: a large transaction spills pages to the WAL before COMMIT
  }

  // SQLITE_OK or SQLITE_ERROR; error() says what failed.
  int exec(const std::string& sql) {
    last_ = conn_ ? conn_->exec(sql) : Status::Unavailable("not open");
    return last_.ok() ? SQLITE_OK : SQLITE_ERROR;
  }
  std::string error() const { return last_.message(); }
  bool in_transaction() const { return conn_ && !conn_->autocommit(); }

  // The first column of the first row, as an integer (-1: no row) or as text.
  long long scalar(const std::string& sql) { return std::stoll(text(sql, "-1")); }
  std::string text(const std::string& sql, const char* no_row = "") {
    auto stmt = conn_->prepare(sql);
    if (!stmt.ok()) return no_row;
    auto row = stmt->step();
    return row.ok() && *row ? stmt->text(0) : std::string(no_row);
  }

 private:
  std::unique_ptr<Connection> conn_;
  Status last_;
};

class WalWriteCombinerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    sqlite3_vfs* unix_vfs = sqlite3_vfs_find("unix");
    ASSERT_NE(unix_vfs, nullptr);
    // The build decides which of the two the VFS calls; count whichever it has.
    g_pwrite = reinterpret_cast<PwriteFn>(unix_vfs->xGetSystemCall(unix_vfs, "pwrite"));
    g_pwrite64 = reinterpret_cast<PwriteFn>(unix_vfs->xGetSystemCall(unix_vfs, "pwrite64"));
    if (g_pwrite != nullptr) {
      unix_vfs->xSetSystemCall(unix_vfs, "pwrite", reinterpret_cast<sqlite3_syscall_ptr>(counting_pwrite));
    }
    if (g_pwrite64 != nullptr) {
      unix_vfs->xSetSystemCall(unix_vfs, "pwrite64", reinterpret_cast<sqlite3_syscall_ptr>(counting_pwrite64));
    }
  }
  static void TearDownTestSuite() {
    sqlite3_vfs* unix_vfs = sqlite3_vfs_find("unix");
    unix_vfs->xSetSystemCall(unix_vfs, "pwrite", nullptr);
    unix_vfs->xSetSystemCall(unix_vfs, "pwrite64", nullptr);
  }

  // Writes of one transaction of `rows` rows of 3,000 bytes (a page each), counted over its COMMIT.
  static int pwrites_of_commit(const std::filesystem::path& path, const std::string& vfs, int rows) {
    Db db(path, vfs);
    EXPECT_EQ(db.exec("PRAGMA cache_size=-8192"), SQLITE_OK);  // no page leaves before COMMIT
    EXPECT_EQ(db.exec("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB)"), SQLITE_OK) << db.error();
    EXPECT_EQ(db.exec("BEGIN"), SQLITE_OK);
    for (int i = 0; i < rows; ++i) EXPECT_EQ(db.exec("INSERT INTO t (v) VALUES (randomblob(3000))"), SQLITE_OK);
    g_pwrites = 0;
    EXPECT_EQ(db.exec("COMMIT"), SQLITE_OK) << db.error();
    return g_pwrites.load();
  }

  testing::TempDir dir_;
  const std::string vfs_ = wal_write_combining_vfs();
};

TEST_F(WalWriteCombinerTest, ATransactionsFramesGoOutInOneWrite) {
  ASSERT_TRUE(g_pwrite != nullptr || g_pwrite64 != nullptr);
  // 20 pages and their headers (about 82 KB): one write, against two per frame without the VFS.
  EXPECT_EQ(pwrites_of_commit(dir_.path() / "combined.db", vfs_, 20), 1);
  EXPECT_GE(pwrites_of_commit(dir_.path() / "plain.db", "", 20), 40);
}

TEST_F(WalWriteCombinerTest, WrappingTheSameVfsTwiceGivesOneVfs) {
  EXPECT_EQ(wal_write_combining_vfs(), vfs_);
  EXPECT_EQ(wal_write_combining_vfs("unix"), vfs_);
  EXPECT_THROW(wal_write_combining_vfs("no-such-vfs"), std::runtime_error);
}

TEST_F(WalWriteCombinerTest, AnotherConnectionSeesACommitAsSoonAsItReturns) {
  Db writer(dir_.path() / "t.db", vfs_);
  ASSERT_EQ(writer.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"), SQLITE_OK);
  Db reader(dir_.path() / "t.db", "");
  ASSERT_EQ(writer.exec("BEGIN"), SQLITE_OK);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(writer.exec("INSERT INTO t (v) VALUES (printf('%.900c', 'a'))"), SQLITE_OK);
  EXPECT_EQ(reader.scalar("SELECT count(*) FROM t"), 0);
  ASSERT_EQ(writer.exec("COMMIT"), SQLITE_OK);
  EXPECT_EQ(reader.scalar("SELECT count(*) FROM t"), 500);
  EXPECT_EQ(reader.scalar("SELECT sum(length(v)) FROM t"), 500 * 900);
}

TEST_F(WalWriteCombinerTest, LargeTransactionsAndRewrittenPagesRoundTrip) {
  const auto path = dir_.path() / "t.db";
  {
    Db writer(path, vfs_);
    ASSERT_EQ(writer.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)"), SQLITE_OK);
    // 10 MB in one transaction: past the gathering limit and the unix VFS's largest single write,
    // and past the 64 KiB page cache, so SQLite spills pages to the WAL and reads them back.
    ASSERT_EQ(writer.exec("BEGIN"), SQLITE_OK);
    ASSERT_EQ(writer.exec("WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < 2500) "
                          "INSERT INTO t (k, v) SELECT k, printf('%.4000c', char(65 + k % 26)) FROM n"),
              SQLITE_OK)
        << writer.error();
    // Pages already in this transaction's frames written again, then once more.
    ASSERT_EQ(writer.exec("UPDATE t SET v = printf('%.4000c', 'z') WHERE k % 3 = 0"), SQLITE_OK);
    ASSERT_EQ(writer.exec("UPDATE t SET v = printf('%.4000c', 'y') WHERE k % 9 = 0"), SQLITE_OK);
    ASSERT_EQ(writer.exec("COMMIT"), SQLITE_OK) << writer.error();
  }
  Db reader(path, "");
  EXPECT_EQ(reader.text("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(reader.scalar("SELECT count(*) FROM t"), 2500);
  EXPECT_EQ(reader.scalar("SELECT count(*) FROM t WHERE length(v) = 4000"), 2500);
  EXPECT_EQ(reader.scalar("SELECT count(*) FROM t WHERE v = printf('%.4000c', 'y')"), 2500 / 9);
  EXPECT_EQ(reader.scalar("SELECT count(*) FROM t WHERE v = printf('%.4000c', 'z')"), 2500 / 3 - 2500 / 9);
  EXPECT_EQ(reader.scalar("SELECT count(*) FROM t WHERE k % 3 != 0 AND v = printf('%.4000c', char(65 + k % 26))"),
            2500 - 2500 / 3);
}

TEST_F(WalWriteCombinerTest, ADeferredSyncSkipsTheFsyncButNotOneAfterANewWalHeader) {
  Db db(dir_.path() / "t.db", vfs_);
  ASSERT_EQ(db.exec("CREATE TABLE t (k INTEGER PRIMARY KEY)"), SQLITE_OK);

  WalSyncCounts before = wal_sync_counts();
  {
    const DeferredWalSync deferred;
    ASSERT_EQ(db.exec("INSERT INTO t VALUES (1)"), SQLITE_OK);
  }
  WalSyncCounts after = wal_sync_counts();
  EXPECT_EQ(after.deferred - before.deferred, 1u);
  EXPECT_EQ(after.performed - before.performed, 0u);

  before = after;
  ASSERT_EQ(db.exec("INSERT INTO t VALUES (2)"), SQLITE_OK);  // not deferred
  after = wal_sync_counts();
  EXPECT_EQ(after.deferred - before.deferred, 0u);
  EXPECT_EQ(after.performed - before.performed, 1u);

  // A checkpoint that copies the whole WAL lets the next commit restart it: SQLite writes a new header
  // and syncs it before the frames, and that sync happens even when deferred.
  ASSERT_EQ(db.exec("PRAGMA wal_checkpoint(PASSIVE)"), SQLITE_OK);
  before = wal_sync_counts();
  {
    const DeferredWalSync deferred;
    ASSERT_EQ(db.exec("INSERT INTO t VALUES (3)"), SQLITE_OK);
  }
  after = wal_sync_counts();
  EXPECT_EQ(after.performed - before.performed, 1u);
  EXPECT_EQ(after.deferred - before.deferred, 1u);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM t"), 3);
}

TEST_F(WalWriteCombinerTest, AFailedWriteFailsTheCommitAndLeavesNothing) {
  const auto path = dir_.path() / "t.db";
  Db writer(path, vfs_);
  ASSERT_EQ(writer.exec("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)"), SQLITE_OK);
  ASSERT_EQ(writer.exec("INSERT INTO t VALUES (1, zeroblob(100))"), SQLITE_OK);
  Db reader(path, "");
  const auto wal = std::filesystem::path(path.string() + "-wal");

  testing::FileSizeLimit disk_full(std::filesystem::file_size(wal) + 16 * 1024);
  ASSERT_TRUE(disk_full.ok());
  ASSERT_EQ(writer.exec("BEGIN"), SQLITE_OK);
  ASSERT_EQ(writer.exec("INSERT INTO t VALUES (2, randomblob(200000))"), SQLITE_OK);  // gathered, not written
  const int committed = writer.exec("COMMIT");
  disk_full.lift();

  EXPECT_NE(committed, SQLITE_OK);
  if (writer.in_transaction()) {
    EXPECT_EQ(writer.exec("ROLLBACK"), SQLITE_OK);
  }
  EXPECT_EQ(reader.scalar("SELECT count(*) FROM t"), 1);
  EXPECT_EQ(writer.scalar("SELECT count(*) FROM t"), 1);
  // The connection goes on: the next transaction commits, and nothing of the failed one comes back.
  ASSERT_EQ(writer.exec("INSERT INTO t VALUES (3, randomblob(200000))"), SQLITE_OK) << writer.error();
  EXPECT_EQ(reader.scalar("SELECT group_concat(k) = '1,3' FROM t"), 1);
}

}  // namespace
}  // namespace stsvend::store::sqlite
