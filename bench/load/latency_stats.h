// Latency percentiles over all completed requests of a load run.
#pragma once

#include <cstdint>
#include <vector>

namespace stsvend::load {

struct LatencySummary {
  double p50_ms = 0;
  double p90_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

// Nearest-rank percentiles of latencies in microseconds. Sorts its argument; empty input gives zeros.
LatencySummary summarize(std::vector<std::uint32_t>& latencies_us);

}  // namespace stsvend::load
