// DataDirLock: one holder at a time, the holder named, released with its holder.
#include "service/data_dir_lock.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <string>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace stsvend::service {
namespace {

TEST(DataDirLock, CreatesTheDirectoryAndRefusesASecondHolderNamingTheFirst) {
  stsvend::testing::TempDir dir;
  const auto data = dir.path() / "new" / "data";
  auto first = DataDirLock::acquire(data);
  ASSERT_TRUE(first.ok()) << first.status().message();
  struct stat st {};
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((data / "serve.lock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // flock conflicts between open file descriptions, so a second acquire in this process stands in
  // for a second server.
  auto second = DataDirLock::acquire(data);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(second.status().field(), "data_dir");
  EXPECT_EQ(std::string(second.status().rule()),
            "is in use by another stsvend serve (pid " + std::to_string(::getpid()) + ")");
}

TEST(DataDirLock, IsReleasedWhenItsHolderGoesAwayHoweverItEnds) {
  stsvend::testing::TempDir dir;
  const auto data = dir.path() / "data";
  {
    auto held = DataDirLock::acquire(data);
    ASSERT_TRUE(held.ok());
  }
  EXPECT_TRUE(DataDirLock::acquire(data).ok()) << "released by the destructor";

  // A child takes the lock and dies of SIGKILL holding it: the kernel releases it.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto held = DataDirLock::acquire(data);
    const char c = held.ok() ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  EXPECT_FALSE(DataDirLock::acquire(data).ok()) << "held by the child";
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ::close(ready[0]);
  ::close(ready[1]);
  EXPECT_TRUE(DataDirLock::acquire(data).ok()) << "released when the holder was killed";
}

}  // namespace
}  // namespace stsvend::service
