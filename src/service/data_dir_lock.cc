// DataDirLock; see data_dir_lock.h.
#include "service/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "vault/atomic_file.h"

namespace stsvend::service {

namespace {

// The pid the holder wrote, or "" when the file says nothing usable.
std::string holder_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return "";
  std::string pid(buf, static_cast<std::size_t>(n));
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  for (const char c : pid) {
    if (c < '0' || c > '9') return "";
  }
  return pid;
}

}  // namespace

Result<DataDirLock> DataDirLock::acquire(const std::filesystem::path& data_dir) {
  // An existing directory is narrowed to 0700 by Service::open, right after.
  STSVEND_RETURN_IF_ERROR(vault::ensure_private_dir(data_dir));
  const std::filesystem::path path = data_dir / "serve.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Unavailable("cannot open the data directory's lock file").with_detail(std::strerror(errno));
  DataDirLock lock(fd);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) {
      return Status::Unavailable("cannot lock the data directory").with_detail(std::strerror(errno));
    }
    const std::string pid = holder_pid(fd);
    return Status::FailedPrecondition(
        "data_dir", "is in use by another stsvend serve" + (pid.empty() ? std::string() : " (pid " + pid + ")"));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  const bool recorded =
      ::ftruncate(fd, 0) == 0 && ::pwrite(fd, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
  (void)recorded;  // the lock holds without the pid; only a refused second start's message is poorer
  return lock;
}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace stsvend::service
