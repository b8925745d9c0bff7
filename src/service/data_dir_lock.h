// One server per data directory. Two `stsvend serve` processes on one directory would both vend
// (SQLite serialises their writers), but each would keep its own caches, metrics and bootstrap
// output, which no operator means to have; the second start is refused instead, naming the first.
// Admin commands do not take the lock: they are meant to run beside the server.
#pragma once

#include <filesystem>

#include "stsvend/result.h"

namespace stsvend::service {

class DataDirLock {
 public:
  // Creates `data_dir` (mode 0700) when missing, then holds an exclusive flock on
  // `<data_dir>/serve.lock` (mode 0600), which records the holder's pid. The kernel releases the
  // lock when the process ends, however it ends (kill -9 included), so it never goes stale.
  // Errors: FailedPrecondition("data_dir", "is in use by another stsvend serve (pid N)") when
  // another process holds it; FailedPrecondition("data_dir", ...) when the directory cannot be
  // made, Unavailable when the lock file cannot be opened or locked.
  static Result<DataDirLock> acquire(const std::filesystem::path& data_dir);

  DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace stsvend::service
