// The WAL-combining VFS; see wal_write_combiner.h.
#include "store/sqlite/wal_write_combiner.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <vector>

#include <sqlite3.h>

namespace stsvend::store::sqlite {
namespace {

// Gathered bytes past this go out at once: a transaction far larger than a group commit (a migration)
// is written in 4 MiB pieces instead of being held whole.
constexpr std::size_t kMaxGathered = 4u << 20;
// The largest write handed to the wrapped VFS at once: the unix VFS masks a write's length with
// 0x1ffff (128 KiB - 1), so a longer one comes out short and reports the disk full.
constexpr std::size_t kMaxWrite = 124u << 10;

thread_local int t_deferred_syncs = 0;
std::atomic<std::uint64_t> g_syncs_deferred{0};
std::atomic<std::uint64_t> g_syncs_performed{0};

// SQLite allocates szOsFile bytes for a file and calls xOpen on them: this struct, then the wrapped
// VFS's own file at kWrappedOffset.
struct CombiningFile {
  sqlite3_file self;           // first: SQLite sees this
  sqlite3_file* wrapped;       // the wrapped VFS's file, inside the same allocation
  bool is_wal = false;
  bool header_written = false;  // the WAL header (offset 0) was written since the last real sync
  sqlite3_int64 gathered_at = 0;
  std::vector<unsigned char> gathered;
};

constexpr std::size_t kWrappedOffset = (sizeof(CombiningFile) + 15) & ~std::size_t{15};

CombiningFile* as_combining(sqlite3_file* f) { return reinterpret_cast<CombiningFile*>(f); }
sqlite3_vfs* wrapped_vfs(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

// Writes what was gathered. The bytes are dropped whatever the outcome: after a failed write SQLite
// abandons the transaction and writes its frames again, so keeping them would replay stale data.
int write_gathered(CombiningFile* f) {
  int rc = SQLITE_OK;
  for (std::size_t done = 0; done < f->gathered.size() && rc == SQLITE_OK;) {
    const std::size_t n = std::min(kMaxWrite, f->gathered.size() - done);
    rc = f->wrapped->pMethods->xWrite(f->wrapped, f->gathered.data() + done, static_cast<int>(n),
                                      f->gathered_at + static_cast<sqlite3_int64>(done));
    done += n;
  }
  f->gathered.clear();
  return rc;
}

int x_close(sqlite3_file* file) {
  CombiningFile* f = as_combining(file);
  const int written = write_gathered(f);
  const int closed = f->wrapped->pMethods->xClose(f->wrapped);
  f->~CombiningFile();
  return written != SQLITE_OK ? written : closed;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  CombiningFile* f = as_combining(file);
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  return f->wrapped->pMethods->xRead(f->wrapped, out, amount, offset);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  CombiningFile* f = as_combining(file);
  if (!f->is_wal) return f->wrapped->pMethods->xWrite(f->wrapped, data, amount, offset);
  const auto size = static_cast<std::size_t>(amount);
  const bool continues = offset == f->gathered_at + static_cast<sqlite3_int64>(f->gathered.size());
  if (!f->gathered.empty() && (!continues || size > kMaxWrite || f->gathered.size() + size > kMaxGathered)) {
    if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  }
  if (offset == 0) f->header_written = true;
  if (size > kMaxWrite) return f->wrapped->pMethods->xWrite(f->wrapped, data, amount, offset);  // SQLite's are pages
  if (f->gathered.empty()) f->gathered_at = offset;
  const auto* bytes = static_cast<const unsigned char*>(data);
  f->gathered.insert(f->gathered.end(), bytes, bytes + size);
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  CombiningFile* f = as_combining(file);
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  return f->wrapped->pMethods->xTruncate(f->wrapped, size);
}

int x_sync(sqlite3_file* file, int flags) {
  CombiningFile* f = as_combining(file);
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  // A restart's new header is synced before any frame follows it, deferred or not.
  if (f->is_wal && t_deferred_syncs > 0 && !f->header_written) {
    g_syncs_deferred.fetch_add(1, std::memory_order_relaxed);
    return SQLITE_OK;
  }
  if (f->is_wal) g_syncs_performed.fetch_add(1, std::memory_order_relaxed);
  const int rc = f->wrapped->pMethods->xSync(f->wrapped, flags);
  if (rc == SQLITE_OK) f->header_written = false;
  return rc;
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  CombiningFile* f = as_combining(file);
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  return f->wrapped->pMethods->xFileSize(f->wrapped, size);
}

int x_lock(sqlite3_file* file, int level) {
  sqlite3_file* w = as_combining(file)->wrapped;
  return w->pMethods->xLock(w, level);
}

int x_unlock(sqlite3_file* file, int level) {
  sqlite3_file* w = as_combining(file)->wrapped;
  return w->pMethods->xUnlock(w, level);
}

int x_check_reserved_lock(sqlite3_file* file, int* out) {
  sqlite3_file* w = as_combining(file)->wrapped;
  return w->pMethods->xCheckReservedLock(w, out);
}

int x_file_control(sqlite3_file* file, int op, void* arg) {
  CombiningFile* f = as_combining(file);
  // Some controls look at the file (its size, its descriptor): let them see every byte.
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  return f->wrapped->pMethods->xFileControl(f->wrapped, op, arg);
}

int x_sector_size(sqlite3_file* file) {
  sqlite3_file* w = as_combining(file)->wrapped;
  return w->pMethods->xSectorSize(w);
}

int x_device_characteristics(sqlite3_file* file) {
  sqlite3_file* w = as_combining(file)->wrapped;
  return w->pMethods->xDeviceCharacteristics(w);
}

int x_shm_map(sqlite3_file* file, int page, int page_size, int extend, void volatile** out) {
  sqlite3_file* w = as_combining(file)->wrapped;
  return w->pMethods->xShmMap(w, page, page_size, extend, out);
}

int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  sqlite3_file* w = as_combining(file)->wrapped;
  return w->pMethods->xShmLock(w, offset, n, flags);
}

void x_shm_barrier(sqlite3_file* file) {
  sqlite3_file* w = as_combining(file)->wrapped;
  w->pMethods->xShmBarrier(w);
}

int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  sqlite3_file* w = as_combining(file)->wrapped;
  return w->pMethods->xShmUnmap(w, delete_flag);
}

int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  CombiningFile* f = as_combining(file);
  if (const int rc = write_gathered(f); rc != SQLITE_OK) return rc;
  return f->wrapped->pMethods->xFetch(f->wrapped, offset, amount, out);
}

int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  sqlite3_file* w = as_combining(file)->wrapped;
  return w->pMethods->xUnfetch(w, offset, p);
}

// One method table per version the wrapped file may have: SQLite reads the version to know which
// methods exist, so ours must not claim more than the wrapped file has.
sqlite3_io_methods methods_of_version(int version) {
  return sqlite3_io_methods{version,         x_close,      x_read,           x_write,        x_truncate,
                            x_sync,          x_file_size,  x_lock,           x_unlock,       x_check_reserved_lock,
                            x_file_control,  x_sector_size, x_device_characteristics,
                            x_shm_map,       x_shm_lock,   x_shm_barrier,    x_shm_unmap,    x_fetch,
                            x_unfetch};
}

const sqlite3_io_methods kMethods[3] = {methods_of_version(1), methods_of_version(2), methods_of_version(3)};

int x_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  auto* f = new (file) CombiningFile{};
  f->self.pMethods = nullptr;
  f->wrapped = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kWrappedOffset);
  f->wrapped->pMethods = nullptr;
  f->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  const int rc = wrapped_vfs(vfs)->xOpen(wrapped_vfs(vfs), name, f->wrapped, flags, out_flags);
  // SQLite calls xClose whenever pMethods is set, even after a failed open: mirror the wrapped file.
  if (const sqlite3_io_methods* m = f->wrapped->pMethods; m != nullptr) {
    f->self.pMethods = &kMethods[std::clamp(m->iVersion, 1, 3) - 1];
  } else {
    f->~CombiningFile();
  }
  return rc;
}

int x_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return wrapped_vfs(vfs)->xDelete(wrapped_vfs(vfs), name, sync_dir);
}
int x_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return wrapped_vfs(vfs)->xAccess(wrapped_vfs(vfs), name, flags, out);
}
int x_full_pathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return wrapped_vfs(vfs)->xFullPathname(wrapped_vfs(vfs), name, n, out);
}
void* x_dl_open(sqlite3_vfs* vfs, const char* name) { return wrapped_vfs(vfs)->xDlOpen(wrapped_vfs(vfs), name); }
void x_dl_error(sqlite3_vfs* vfs, int n, char* out) { wrapped_vfs(vfs)->xDlError(wrapped_vfs(vfs), n, out); }
void (*x_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return wrapped_vfs(vfs)->xDlSym(wrapped_vfs(vfs), handle, symbol);
}
void x_dl_close(sqlite3_vfs* vfs, void* handle) { wrapped_vfs(vfs)->xDlClose(wrapped_vfs(vfs), handle); }
int x_randomness(sqlite3_vfs* vfs, int n, char* out) { return wrapped_vfs(vfs)->xRandomness(wrapped_vfs(vfs), n, out); }
int x_sleep(sqlite3_vfs* vfs, int micros) { return wrapped_vfs(vfs)->xSleep(wrapped_vfs(vfs), micros); }
int x_current_time(sqlite3_vfs* vfs, double* out) { return wrapped_vfs(vfs)->xCurrentTime(wrapped_vfs(vfs), out); }
int x_get_last_error(sqlite3_vfs* vfs, int n, char* out) {
  return wrapped_vfs(vfs)->xGetLastError(wrapped_vfs(vfs), n, out);
}
int x_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  sqlite3_vfs* w = wrapped_vfs(vfs);
  if (w->iVersion >= 2 && w->xCurrentTimeInt64 != nullptr) return w->xCurrentTimeInt64(w, out);
  double days = 0;
  const int rc = w->xCurrentTime(w, &days);
  *out = static_cast<sqlite3_int64>(days * 86400000.0);
  return rc;
}

// Registered VFSs live as long as the process: SQLite keeps pointers to them.
struct Registration {
  std::string name;
  sqlite3_vfs vfs{};
};

}  // namespace

std::string wal_write_combining_vfs(const char* base) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<Registration>> registered;  // by the wrapped VFS's name
  std::lock_guard<std::mutex> lock(mu);
  sqlite3_vfs* wrapped = sqlite3_vfs_find(base);
  if (wrapped == nullptr) throw std::runtime_error(std::string("no SQLite VFS named ") + (base ? base : "(default)"));
  auto& entry = registered[wrapped->zName];
  if (entry) return entry->name;
  auto r = std::make_unique<Registration>();
  r->name = std::string("stsvend-wal-combining-") + wrapped->zName;
  sqlite3_vfs& v = r->vfs;
  v.iVersion = 2;  // no system-call overrides: those belong to the wrapped VFS
  v.szOsFile = static_cast<int>(kWrappedOffset) + wrapped->szOsFile;
  v.mxPathname = wrapped->mxPathname;
  v.zName = r->name.c_str();
  v.pAppData = wrapped;
  v.xOpen = x_open;
  v.xDelete = x_delete;
  v.xAccess = x_access;
  v.xFullPathname = x_full_pathname;
  v.xDlOpen = x_dl_open;
  v.xDlError = x_dl_error;
  v.xDlSym = x_dl_sym;
  v.xDlClose = x_dl_close;
  v.xRandomness = x_randomness;
  v.xSleep = x_sleep;
  v.xCurrentTime = x_current_time;
  v.xGetLastError = x_get_last_error;
  v.xCurrentTimeInt64 = x_current_time_int64;
  if (const int rc = sqlite3_vfs_register(&v, /*makeDflt=*/0); rc != SQLITE_OK) {
    registered.erase(wrapped->zName);
    throw std::runtime_error("cannot register the SQLite VFS " + r->name + ": " + sqlite3_errstr(rc));
  }
  entry = std::move(r);
  return entry->name;
}

WalSyncCounts wal_sync_counts() noexcept {
  return WalSyncCounts{g_syncs_deferred.load(std::memory_order_relaxed),
                       g_syncs_performed.load(std::memory_order_relaxed)};
}

DeferredWalSync::DeferredWalSync() noexcept { ++t_deferred_syncs; }
DeferredWalSync::~DeferredWalSync() { --t_deferred_syncs; }

}  // namespace stsvend::store::sqlite
