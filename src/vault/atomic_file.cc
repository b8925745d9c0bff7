// Atomic private-file I/O on POSIX; see atomic_file.h.
#include "vault/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <string>
#include <system_error>

#include <botan/hex.h>
#include <botan/system_rng.h>

namespace stsvend::vault {
namespace {

std::string errno_detail(const char* what, const std::filesystem::path& path, int err) {
  return std::string(what) + " " + path.string() + ": " + std::strerror(err);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now so the caller can see close() errors (NFS reports write errors there).
  int close_now() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Status io_error(const char* what, const std::filesystem::path& path, int err) {
  if (err == ENOSPC || err == EDQUOT || err == EIO) {
    return Status::Unavailable("cannot write a vault file").with_detail(errno_detail(what, path, err));
  }
  return Status::Internal("cannot write a vault file").with_detail(errno_detail(what, path, err));
}

Status fsync_dir(const std::filesystem::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return io_error("open dir", dir, errno);
  if (::fsync(fd.get()) != 0) return io_error("fsync dir", dir, errno);
  return Status::Ok();
}

}  // namespace

Status ensure_private_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return Status::Ok();
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Status::FailedPrecondition("data_dir", "cannot create the data directory")
        .with_detail(dir.string() + ": " + ec.message());
  }
  std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  if (ec) {
    return Status::FailedPrecondition("data_dir", "cannot restrict the data directory to its owner")
        .with_detail(dir.string() + ": " + ec.message());
  }
  return Status::Ok();
}

Status write_private_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                          Overwrite overwrite) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::uint8_t suffix_bytes[8];
  try {
    Botan::system_rng().randomize(suffix_bytes, sizeof suffix_bytes);
  } catch (const std::exception& e) {
    return Status::Unavailable("system random number generator failed").with_detail(e.what());
  }
  // Built with append: g++ 12 reports a false -Wrestrict on "." + std::string (a known GCC 12 false positive).
  std::string tmp_name = ".";
  tmp_name.append(path.filename().string()).append(".tmp-").append(Botan::hex_encode(suffix_bytes, sizeof suffix_bytes));
  const std::filesystem::path tmp = dir / tmp_name;

  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) return io_error("create", tmp, errno);
    // The umask can only narrow 0600, but an explicit fchmod makes the mode independent of it.
    if (::fchmod(fd.get(), 0600) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return io_error("fchmod", tmp, err);
    }
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::unlink(tmp.c_str());
        return io_error("write", tmp, err);
      }
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0 || fd.close_now() != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return io_error("fsync", tmp, err);
    }
  }

  if (overwrite == Overwrite::kYes) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return io_error("rename", path, err);
    }
  } else {
    const int rc = ::link(tmp.c_str(), path.c_str());
    const int err = errno;
    ::unlink(tmp.c_str());
    if (rc != 0) {
      if (err == EEXIST) return Status::AlreadyExists("path", "file already exists");
      return io_error("link", path, err);
    }
  }
  return fsync_dir(dir);
}

Result<SecretBytes> read_private_file(const std::filesystem::path& path,
                                      std::size_t expected_size, std::size_t max_size) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound("path", "file does not exist");
    if (err == ELOOP) {
      return Status::FailedPrecondition("path", "vault file must not be a symbolic link").with_detail(path.string());
    }
    return Status::FailedPrecondition("path", "cannot open vault file").with_detail(errno_detail("open", path, err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return Status::FailedPrecondition("path", "cannot stat vault file").with_detail(errno_detail("fstat", path, errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::FailedPrecondition("path", "vault file must be a regular file").with_detail(path.string());
  }
  if ((st.st_mode & 07777 & ~static_cast<mode_t>(0600)) != 0) {
    return Status::FailedPrecondition("path", "vault file mode must be 0600 or narrower (run chmod 600)")
        .with_detail(path.string());
  }
  if (st.st_uid != ::geteuid()) {
    return Status::FailedPrecondition("path", "vault file must be owned by the user running stsvend")
        .with_detail(path.string());
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if ((expected_size != 0 && size != expected_size) || size > max_size) {
    return Status::FailedPrecondition("path", expected_size != 0 ? "vault file has the wrong size"
                                                                  : "vault file is too large")
        .with_detail(path.string() + ": " + std::to_string(size) + " bytes");
  }
  SecretBytes out(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd.get(), out.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Status::FailedPrecondition("path", "vault file changed while being read").with_detail(path.string());
    }
    done += static_cast<std::size_t>(n);
  }
  return out;
}

}  // namespace stsvend::vault
