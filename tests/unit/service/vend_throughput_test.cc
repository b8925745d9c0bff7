// Measures durable vends per second through the service (group commit, synchronous=FULL) with N
// concurrent callers on distinct meters. Prints the number docs/storage.md quotes. Sizes come from
// STSVEND_BENCH_THREADS / STSVEND_BENCH_VENDS (defaults keep the test short).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "service_fixture.h"

namespace stsvend::service {
namespace {

using testing_support::ServiceTest;

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

TEST_F(ServiceTest, VendThroughput) {
  const int threads_n = env_int("STSVEND_BENCH_THREADS", 32);
  const int per_thread = env_int("STSVEND_BENCH_VENDS", 250);
  const std::string user = make_user("bench", static_cast<Units>(threads_n) * per_thread * kUnitScale);
  const std::string config = add_config(user);
  // One meter per caller, each 11 digits: vends on different meters do not contend on one TID.
  auto drn = [](int t) {
    std::string d = std::to_string(10'000'000'000LL + t);
    return d;
  };
  for (int t = 0; t < threads_n; ++t) ASSERT_TRUE(svc_->vend(credit(user, config, drn(t))).ok());  // warm caches

  std::atomic<int> failures{0};
  const StorageStats before = svc_->storage_stats();
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t) {
    threads.emplace_back([&, t] {
      const std::string d = drn(t);
      for (int i = 0; i < per_thread - 1; ++i) {
        if (!svc_->vend(credit(user, config, d)).ok()) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const int vends = threads_n * (per_thread - 1);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(balance(user), 0);
  const StorageStats after = svc_->storage_stats();
  const double batches = static_cast<double>(after.batches - before.batches);
  std::printf("[ VENDS/S  ] %d durable vends, %d threads, %.3f s: %.0f vends/s\n", vends, threads_n, secs,
              vends / secs);
  std::printf("[ WRITER   ] %.0f group commits, %.1f jobs/commit, %.2f ms/commit of which COMMIT %.2f ms\n", batches,
              static_cast<double>(after.jobs - before.jobs) / batches,
              static_cast<double>(after.batch_nanos - before.batch_nanos) / 1e6 / batches,
              static_cast<double>(after.commit_nanos - before.commit_nanos) / 1e6 / batches);
  const double syncs = static_cast<double>(after.syncs - before.syncs);
  std::printf("[ SYNCER   ] %.0f WAL fsyncs, %.2f ms each, %.1f commits per fsync\n", syncs,
              static_cast<double>(after.sync_nanos - before.sync_nanos) / 1e6 / std::max(syncs, 1.0),
              batches / std::max(syncs, 1.0));
  RecordProperty("vends_per_second", static_cast<int>(vends / secs));
}

}  // namespace
}  // namespace stsvend::service
