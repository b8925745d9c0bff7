// Latency percentiles; see latency_stats.h.
#include "latency_stats.h"

#include <algorithm>
#include <cmath>

namespace stsvend::load {
namespace {

double rank_ms(const std::vector<std::uint32_t>& sorted, double q) {
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  const auto n = sorted.size();
  auto idx = static_cast<std::size_t>(std::ceil(q * static_cast<double>(n)));
  idx = std::clamp<std::size_t>(idx, 1, n) - 1;
  return static_cast<double>(sorted[idx]) / 1000.0;
}

}  // namespace

LatencySummary summarize(std::vector<std::uint32_t>& latencies_us) {
  LatencySummary s;
  if (latencies_us.empty()) return s;
  std::sort(latencies_us.begin(), latencies_us.end());
  s.p50_ms = rank_ms(latencies_us, 0.50);
  s.p90_ms = rank_ms(latencies_us, 0.90);
  s.p99_ms = rank_ms(latencies_us, 0.99);
  s.max_ms = static_cast<double>(latencies_us.back()) / 1000.0;
  return s;
}

}  // namespace stsvend::load
