// Private files: mode, no-clobber vs replace, refusals on read.
#include "vault/atomic_file.h"

#include <sys/stat.h>

#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace stsvend::vault {
namespace {

using testing::bytes_of;
using testing::TempDir;

TEST(AtomicFile, WritesMode0600AndReadsBack) {
  TempDir dir;
  const auto path = dir.path() / "f";
  ::umask(0);  // the mode must not depend on the umask
  ASSERT_TRUE(write_private_file(path, bytes_of("hello"), Overwrite::kNo).ok());
  EXPECT_EQ(testing::file_mode(path), 0600u);
  auto back = read_private_file(path, 5, 5);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(testing::as_string(back->span()), "hello");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u);  // no temporary file left
}

TEST(AtomicFile, NoClobberRefusesAndReplaceReplaces) {
  TempDir dir;
  const auto path = dir.path() / "f";
  ASSERT_TRUE(write_private_file(path, bytes_of("first"), Overwrite::kNo).ok());
  const Status again = write_private_file(path, bytes_of("second"), Overwrite::kNo);
  EXPECT_EQ(again.code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(testing::read_text(path), "first");
  ASSERT_TRUE(write_private_file(path, bytes_of("third"), Overwrite::kYes).ok());
  EXPECT_EQ(testing::read_text(path), "third");
  EXPECT_EQ(testing::file_mode(path), 0600u);
}

TEST(AtomicFile, ReadRefusals) {
  TempDir dir;
  EXPECT_EQ(read_private_file(dir.path() / "missing", 0, 100).status().code(), Status::Code::kNotFound);

  const auto path = dir.path() / "f";
  ASSERT_TRUE(write_private_file(path, bytes_of("0123456789"), Overwrite::kNo).ok());
  EXPECT_EQ(read_private_file(path, 11, 100).status().rule(), "vault file has the wrong size");
  EXPECT_EQ(read_private_file(path, 0, 9).status().rule(), "vault file is too large");
  EXPECT_TRUE(read_private_file(path, 0, 10).ok());

  ASSERT_EQ(::chmod(path.c_str(), 0660), 0);
  EXPECT_EQ(read_private_file(path, 0, 100).status().code(), Status::Code::kFailedPrecondition);
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);

  EXPECT_EQ(read_private_file(dir.path(), 0, 100).status().code(), Status::Code::kFailedPrecondition);
  std::filesystem::create_symlink(path, dir.path() / "link");
  EXPECT_EQ(read_private_file(dir.path() / "link", 0, 100).status().code(), Status::Code::kFailedPrecondition);
}

TEST(AtomicFile, WriteIntoMissingDirectoryFails) {
  TempDir dir;
  const Status s = write_private_file(dir.path() / "no" / "such" / "f", bytes_of("x"), Overwrite::kYes);
  EXPECT_FALSE(s.ok());
}

TEST(AtomicFile, EnsurePrivateDirCreates0700) {
  TempDir dir;
  const auto nested = dir.path() / "a" / "b";
  ASSERT_TRUE(ensure_private_dir(nested).ok());
  EXPECT_EQ(testing::file_mode(nested), 0700u);
  EXPECT_TRUE(ensure_private_dir(nested).ok());
}

}  // namespace
}  // namespace stsvend::vault
