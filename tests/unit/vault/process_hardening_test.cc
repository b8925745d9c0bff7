// disable_core_dumps(): both the core limit and the dumpable flag end up cleared, and calling it
// twice is harmless. Each CTest entry runs in its own process, so this does not leak into others.
#include "vault/process_hardening.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <gtest/gtest.h>

namespace stsvend::vault {
namespace {

TEST(ProcessHardening, DisablesCoreDumpsAndPtrace) {
  disable_core_dumps();
  struct rlimit lim {};
  ASSERT_EQ(::getrlimit(RLIMIT_CORE, &lim), 0);
  EXPECT_EQ(lim.rlim_cur, 0u);
  EXPECT_EQ(lim.rlim_max, 0u);
  EXPECT_EQ(::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
  disable_core_dumps();
  EXPECT_EQ(::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
}

}  // namespace
}  // namespace stsvend::vault
