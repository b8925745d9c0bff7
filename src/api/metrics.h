// Prometheus text metrics for the API: requests by route and HTTP code, a latency histogram per
// route, tokens by type, and Nectar error codes. Labels are route templates and fixed names only —
// never refs, keys or DRNs. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace stsvend::api {

class Metrics {
 public:
  // Bucket upper bounds in seconds.
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

  void record_request(std::string_view route, unsigned http_code, double seconds);
  void record_tokens(std::string_view token_type, std::uint64_t count);
  void record_nectar_error(int status_code);

  std::string render() const;

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  struct Route {
    std::map<unsigned, std::uint64_t> requests;  // by HTTP status code
    Histogram latency;
  };
  mutable std::mutex mu_;
  // std::less<>: looked up by string_view, so recording allocates nothing once a label is known.
  std::map<std::string, Route, std::less<>> routes_;
  std::map<std::string, std::uint64_t, std::less<>> tokens_;
  std::map<int, std::uint64_t> nectar_errors_;
};

}  // namespace stsvend::api
