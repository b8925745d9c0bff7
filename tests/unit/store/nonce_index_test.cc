// The writer's in-memory nonce index: the digest it is keyed by, and the table against a plain map
// through growth, shrinking and deletions that shift entries back.
#include "store/nonce_index.h"

#include <cstdint>
#include <random>
#include <unordered_map>

#include <gtest/gtest.h>

namespace stsvend::store {
namespace {

// The digest is stored in databases: it must never change. These are the first 8 bytes, read
// little-endian, of SHA-256("key" || 0x00 || "nonce") and SHA-256(0x00), worked out with sha256sum
// (`printf 'key\0nonce' | sha256sum`).
TEST(NonceDigest, IsTheFirstEightBytesOfSha256LittleEndian) {
  EXPECT_EQ(nonce_digest("key", "nonce"), 0x8fcf473281b56e01ULL);
  EXPECT_EQ(nonce_digest("", ""), 0x987ab3ff9c0b346eULL);
  EXPECT_NE(nonce_digest("ab", "c"), nonce_digest("a", "bc")) << "the separator keeps key and nonce apart";
}

TEST(NonceIndex, FindPutForgetRestore) {
  NonceIndex index;
  EXPECT_FALSE(index.find(42).has_value());
  EXPECT_FALSE(index.put(42, 1000).has_value());
  EXPECT_EQ(index.find(42), 1000);
  EXPECT_EQ(index.put(42, 2000), 1000) << "put returns the earlier sighting";
  index.forget_if_not_after(42, 1000);
  EXPECT_EQ(index.find(42), 2000) << "a later sighting is not forgotten with an earlier one";
  index.restore(42, 1000);
  EXPECT_EQ(index.find(42), 1000);
  index.forget_if_not_after(42, 1000);
  EXPECT_FALSE(index.find(42).has_value());
  EXPECT_FALSE(index.put(0, 5).has_value()) << "digest 0 is a key like any other";
  EXPECT_EQ(index.find(0), 5);
  index.restore(0, std::nullopt);
  EXPECT_FALSE(index.find(0).has_value());
  EXPECT_EQ(index.size(), 0u);
}

// Random operations against std::unordered_map, with digests in four shards that share their low bits,
// so that probe runs are long and wrap around the end of their table.
TEST(NonceIndex, MatchesAMapThroughGrowthAndShrinking) {
  NonceIndex index;
  std::unordered_map<std::uint64_t, std::int64_t> model;
  std::mt19937_64 rng(7);
  const auto digest = [&] { return (rng() % 4) << 56 | (rng() % 50'000) << 6 | 0x3f; };
  std::size_t peak_memory = 0;
  std::int64_t now = 0;  // the clock: every operation is later than the one before
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 200'000; ++i) {
      const std::uint64_t d = digest();
      ++now;
      if (rng() % 4 != 0) {
        const auto before = model.find(d);
        const auto expected = before == model.end() ? std::nullopt : std::optional<std::int64_t>(before->second);
        ASSERT_EQ(index.put(d, now), expected);
        model[d] = now;
      } else {
        index.forget_if_not_after(d, now);
        model.erase(d);
      }
    }
    peak_memory = std::max(peak_memory, index.memory_bytes());
    ASSERT_EQ(index.size(), model.size());
    for (const auto& [d, t] : model) ASSERT_EQ(index.find(d), t);
    // Drain most of it: the table shrinks, and what is left is still found.
    std::size_t n = 0;
    for (auto it = model.begin(); it != model.end();) {
      if (n++ % 50 != 0) {
        index.forget_if_not_after(it->first, it->second);
        it = model.erase(it);
      } else {
        ++it;
      }
    }
    ASSERT_EQ(index.size(), model.size());
    for (const auto& [d, t] : model) ASSERT_EQ(index.find(d), t);
  }
  EXPECT_LT(index.memory_bytes(), peak_memory / 4) << "the tables shrink when most entries are gone";
}

}  // namespace
}  // namespace stsvend::store
