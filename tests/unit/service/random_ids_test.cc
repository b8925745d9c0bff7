// Random identifiers (src/service/random_ids.h): formats, ordering, uniformity, and no repeat across fork.
#include "service/random_ids.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <set>
#include <string>

#include <gtest/gtest.h>

namespace stsvend::service {
namespace {

bool is_uuid(const std::string& s, char version) {
  if (s.size() != 36 || s[14] != version) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  }
  return s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b';
}

TEST(RandomIds, UuidsHaveTheirVersionAndDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string v4 = random_uuid_v4();
    EXPECT_TRUE(is_uuid(v4, '4')) << v4;
    EXPECT_TRUE(seen.insert(v4).second) << v4;
  }
}

TEST(RandomIds, TimeOrderedUuidsIncreaseEvenWithinOneMillisecond) {
  std::string prev = time_ordered_uuid(1'795'389'000'000);
  for (int i = 0; i < 10000; ++i) {
    const std::string next = time_ordered_uuid(1'795'389'000'000);
    ASSERT_TRUE(is_uuid(next, '7')) << next;
    ASSERT_LT(prev, next);
    prev = next;
  }
}

TEST(RandomIds, RandomBelowIsInRangeAndCoversIt) {
  std::array<int, 16> counts{};
  for (int i = 0; i < 16000; ++i) {
    const unsigned v = random_below(16);
    ASSERT_LT(v, 16u);
    counts[v] += 1;
  }
  // Expected 1,000 each; 700 is more than 9 standard deviations below.
  for (int c : counts) EXPECT_GT(c, 700);
  for (int i = 0; i < 1000; ++i) ASSERT_LT(random_below(3), 3u);
}

TEST(RandomIds, AForkedChildDoesNotRepeatTheParentsBytes) {
  (void)random_uuid_v4();  // the parent's buffer now holds unused bytes
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string id = random_uuid_v4();
    const ssize_t written = ::write(fds[1], id.data(), id.size());
    ::_exit(written == static_cast<ssize_t>(id.size()) ? 0 : 1);
  }
  const std::string parent_id = random_uuid_v4();
  std::string child_id(36, '\0');
  ASSERT_EQ(::read(fds[0], child_id.data(), child_id.size()), 36);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_NE(parent_id, child_id);
}

}  // namespace
}  // namespace stsvend::service
