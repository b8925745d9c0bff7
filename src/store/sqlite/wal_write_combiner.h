// A SQLite VFS that writes a transaction's WAL frames with one system call instead of two per page.
//
// SQLite appends each WAL frame as two writes (its 24-byte header, then the page), so a group commit
// of 20 pages cost 40 pwrite calls, a third of the writer thread's time under load (docs/storage.md,
// "WAL writes"). This VFS wraps another one and, for WAL files only, gathers writes that continue
// one another in memory; they go to the file in one write when SQLite syncs the WAL, reads it, asks
// its size, truncates it, closes it, or writes somewhere else in it. Every other file, and every other
// call, goes straight to the wrapped VFS.
//
// Visibility: SQLite publishes new frames to other connections (the wal-index header) only after the
// commit's sync of the WAL, so a connection that uses this VFS must run with synchronous=FULL: the
// sync is where the gathered frames are written, and where a failed write fails the COMMIT.
//
// Durability: with DeferredWalSync alive on the committing thread, that sync writes the frames but
// does not fsync them. The caller then owes the fsync (the group commit's syncer thread makes it
// before acknowledging anything). One sync is never deferred: the one SQLite makes right after it
// rewrote the WAL header (a WAL restart), which must reach the disk before any frame of the new
// generation (SQLite's ordering rule for restarts).
#pragma once

#include <cstdint>
#include <string>

namespace stsvend::store::sqlite {

// Registers, once per process, a VFS that wraps the VFS named `base` (nullptr: SQLite's default)
// and returns its name, for sqlite3_open_v2. Thread-safe. Throws std::runtime_error when `base`
// does not exist or registration fails.
std::string wal_write_combining_vfs(const char* base = nullptr);

// Syncs of WAL files opened through combining VFSs, process-wide: for tests and diagnostics.
struct WalSyncCounts {
  std::uint64_t deferred = 0;   // gathered frames written, fsync left to the caller
  std::uint64_t performed = 0;  // passed on to the wrapped VFS
};
WalSyncCounts wal_sync_counts() noexcept;

// While alive, a sync of a WAL opened through a combining VFS, on this thread, writes what was
// gathered without an fsync (see above). Not copyable; nests.
class DeferredWalSync {
 public:
  DeferredWalSync() noexcept;
  ~DeferredWalSync();
  DeferredWalSync(const DeferredWalSync&) = delete;
  DeferredWalSync& operator=(const DeferredWalSync&) = delete;
};

}  // namespace stsvend::store::sqlite
