// Stands in for a full disk: while alive, this process cannot make a file larger than `bytes`; a write
// past it fails with EFBIG (SIGXFSZ ignored), which SQLite reports like ENOSPC. Restores both on exit.
#pragma once

#include <signal.h>
#include <sys/resource.h>

#include <cstdint>

namespace stsvend::testing {

class FileSizeLimit {
 public:
  explicit FileSizeLimit(std::uintmax_t bytes) {
    ok_ = ::getrlimit(RLIMIT_FSIZE, &old_limit_) == 0;
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);
    struct rlimit tight = old_limit_;
    tight.rlim_cur = static_cast<rlim_t>(bytes);
    ok_ = ok_ && ::setrlimit(RLIMIT_FSIZE, &tight) == 0;
  }
  ~FileSizeLimit() { lift(); }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

  // False when the limit could not be set (the test would then prove nothing).
  bool ok() const { return ok_; }
  // Ends the limit before the scope does; idempotent.
  void lift() {
    if (lifted_) return;
    lifted_ = true;
    ::setrlimit(RLIMIT_FSIZE, &old_limit_);
    ::signal(SIGXFSZ, old_handler_);
  }

 private:
  struct rlimit old_limit_ {};
  sighandler_t old_handler_ = SIG_DFL;
  bool ok_ = false;
  bool lifted_ = false;
};

}  // namespace stsvend::testing
