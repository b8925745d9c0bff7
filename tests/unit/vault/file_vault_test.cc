// File vault: round trips, tamper detection, record layout, key file checks, persistence, threads.
#include <sys/stat.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"
#include "vault/record_format.h"
#include "vault/vault.h"

namespace stsvend::vault {
namespace {

using testing::bytes_of;
using testing::as_string;
using testing::TempDir;

std::unique_ptr<Vault> must_open(const std::filesystem::path& dir) {
  auto v = open_file_vault(dir);
  EXPECT_TRUE(v.ok()) << v.status().message() << " " << v.status().detail();
  return v.ok() ? std::move(v).value() : nullptr;
}

TEST(FileVault, SealOpenRoundTrip) {
  TempDir dir;
  auto vault = must_open(dir.path());
  ASSERT_NE(vault, nullptr);
  EXPECT_EQ(vault->backend_name(), "file");
  for (const std::string& plain : {std::string(), std::string("x"), std::string(1000, 'k')}) {
    auto sealed = vault->seal(bytes_of(plain), "config:abc");
    ASSERT_TRUE(sealed.ok());
    EXPECT_EQ(sealed->size(), plain.size() + kRecordOverhead);
    auto opened = vault->open(*sealed, "config:abc");
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    EXPECT_EQ(as_string(opened->span()), plain);
  }
}

TEST(FileVault, RecordLayoutIsPinned) {
  TempDir dir;
  auto vault = must_open(dir.path());
  ASSERT_NE(vault, nullptr);
  const auto key = testing::read_bytes(dir.path() / "vault.key");
  ASSERT_EQ(key.size(), 32u);
  const KeyId id = derive_key_id(key);
  auto sealed = vault->seal(bytes_of("secret"), "a");
  ASSERT_TRUE(sealed.ok());
  ASSERT_EQ(sealed->size(), 1u + 4u + 12u + 6u + 16u);
  EXPECT_EQ((*sealed)[0], 1);
  EXPECT_TRUE(std::equal(id.begin(), id.end(), sealed->begin() + 1));
  // Fresh nonce per record: sealing the same input twice differs in nonce and ciphertext.
  auto again = vault->seal(bytes_of("secret"), "a");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(std::equal(sealed->begin() + 5, sealed->begin() + 17, again->begin() + 5));
}

TEST(FileVault, WrongAadIsCorruption) {
  TempDir dir;
  auto vault = must_open(dir.path());
  ASSERT_NE(vault, nullptr);
  auto sealed = vault->seal(bytes_of("vending key"), "config:1");
  ASSERT_TRUE(sealed.ok());
  for (const char* aad : {"config:2", "", "config:1 "}) {
    auto opened = vault->open(*sealed, aad);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), Status::Code::kCorruption);
    EXPECT_EQ(opened.status().field(), "sealed");
  }
}

TEST(FileVault, EveryFlippedBitIsCorruption) {
  TempDir dir;
  auto vault = must_open(dir.path());
  ASSERT_NE(vault, nullptr);
  auto sealed = vault->seal(bytes_of("0123456789abcdef"), "aad");
  ASSERT_TRUE(sealed.ok());
  for (std::size_t byte = 0; byte < sealed->size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      auto tampered = *sealed;
      tampered[byte] = static_cast<std::uint8_t>(tampered[byte] ^ (1u << bit));
      auto opened = vault->open(tampered, "aad");
      ASSERT_FALSE(opened.ok()) << "byte " << byte << " bit " << bit;
      EXPECT_EQ(opened.status().code(), Status::Code::kCorruption);
    }
  }
}

TEST(FileVault, EveryTruncationIsCorruption) {
  TempDir dir;
  auto vault = must_open(dir.path());
  ASSERT_NE(vault, nullptr);
  auto sealed = vault->seal(bytes_of("abc"), "aad");
  ASSERT_TRUE(sealed.ok());
  for (std::size_t n = 0; n < sealed->size(); ++n) {
    auto opened = vault->open(std::span<const std::uint8_t>(sealed->data(), n), "aad");
    ASSERT_FALSE(opened.ok()) << n;
    EXPECT_EQ(opened.status().code(), Status::Code::kCorruption);
  }
  auto longer = *sealed;
  longer.push_back(0);
  EXPECT_EQ(vault->open(longer, "aad").status().code(), Status::Code::kCorruption);
}

TEST(FileVault, KeyFileIsCreated0600AndPersists) {
  TempDir dir;
  const auto data_dir = dir.path() / "data" / "nested";
  std::vector<std::uint8_t> sealed;
  {
    auto vault = must_open(data_dir);
    ASSERT_NE(vault, nullptr);
    auto s = vault->seal(bytes_of("persist me"), "k");
    ASSERT_TRUE(s.ok());
    sealed = *s;
  }
  EXPECT_EQ(testing::file_mode(data_dir / "vault.key"), 0600u);
  EXPECT_EQ(testing::file_mode(data_dir), 0700u);
  EXPECT_EQ(std::filesystem::file_size(data_dir / "vault.key"), 32u);
  // No temporary files left behind.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(data_dir)) ++entries;
  EXPECT_EQ(entries, 1u);

  auto reopened = must_open(data_dir);
  ASSERT_NE(reopened, nullptr);
  auto opened = reopened->open(sealed, "k");
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(as_string(opened->span()), "persist me");
}

TEST(FileVault, AnotherVaultsRecordIsRejected) {
  TempDir a, b;
  auto va = must_open(a.path());
  auto vb = must_open(b.path());
  ASSERT_NE(va, nullptr);
  ASSERT_NE(vb, nullptr);
  auto sealed = va->seal(bytes_of("x"), "aad");
  ASSERT_TRUE(sealed.ok());
  auto opened = vb->open(*sealed, "aad");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Status::Code::kCorruption);
}

TEST(FileVault, RefusesKeyFileWithWiderMode) {
  TempDir dir;
  ASSERT_NE(must_open(dir.path()), nullptr);
  const auto key = dir.path() / "vault.key";
  for (const mode_t mode : {0644, 0640, 0604, 0700, 0601}) {
    ASSERT_EQ(::chmod(key.c_str(), mode), 0);
    auto v = open_file_vault(dir.path());
    ASSERT_FALSE(v.ok()) << std::oct << mode;
    EXPECT_EQ(v.status().code(), Status::Code::kFailedPrecondition);
    EXPECT_NE(v.status().rule().find("0600"), std::string_view::npos);
  }
  ASSERT_EQ(::chmod(key.c_str(), 0400), 0);  // narrower is fine
  EXPECT_TRUE(open_file_vault(dir.path()).ok());
}

TEST(FileVault, RefusesKeyFileOfWrongSize) {
  TempDir dir;
  const auto key = dir.path() / "vault.key";
  for (const std::size_t size : {0, 1, 31, 33, 64}) {
    testing::write_bytes(key, std::string(size, 'k'));
    ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
    auto v = open_file_vault(dir.path());
    ASSERT_FALSE(v.ok()) << size;
    EXPECT_EQ(v.status().code(), Status::Code::kFailedPrecondition);
    EXPECT_EQ(v.status().rule(), "vault file has the wrong size");
  }
}

TEST(FileVault, RefusesSymlinkedKeyFile) {
  TempDir dir;
  const auto real = dir.path() / "real.key";
  testing::write_bytes(real, std::string(32, 'k'));
  ASSERT_EQ(::chmod(real.c_str(), 0600), 0);
  std::filesystem::create_symlink(real, dir.path() / "vault.key");
  auto v = open_file_vault(dir.path());
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Status::Code::kFailedPrecondition);
}

TEST(FileVault, ConcurrentSealOpen) {
  TempDir dir;
  auto vault = must_open(dir.path());
  ASSERT_NE(vault, nullptr);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string plain = "thread " + std::to_string(t) + " item " + std::to_string(i);
        const std::string aad = "row:" + std::to_string(i);
        auto sealed = vault->seal(bytes_of(plain), aad);
        if (!sealed.ok()) { ++failures; continue; }
        auto opened = vault->open(*sealed, aad);
        if (!opened.ok() || as_string(opened->span()) != plain) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace stsvend::vault
