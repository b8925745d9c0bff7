// Core-dump and ptrace hardening on Linux; see process_hardening.h.
#include "vault/process_hardening.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <cassert>

namespace stsvend::vault {

void disable_core_dumps() noexcept {
  struct rlimit none {};
  // setrlimit(2) only fails with EPERM when raising a hard limit and EINVAL for bad arguments;
  // prctl(PR_SET_DUMPABLE) accepts 0 always. A failure here is a broken invariant, not an input.
  [[maybe_unused]] const int limit_rc = ::setrlimit(RLIMIT_CORE, &none);
  [[maybe_unused]] const int dumpable_rc = ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  assert(limit_rc == 0 && dumpable_rc == 0);
}

}  // namespace stsvend::vault
