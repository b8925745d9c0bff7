// Prometheus exposition format 0.0.4.
#include "api/metrics.h"

#include <cstdio>

namespace stsvend::api {

namespace {

// The entry for `key`, created on first use; no allocation when it exists.
template <typename Map>
typename Map::mapped_type& slot(Map& map, std::string_view key) {
  auto it = map.find(key);
  if (it == map.end()) it = map.emplace(std::string(key), typename Map::mapped_type{}).first;
  return it->second;
}

}  // namespace

void Metrics::record_request(std::string_view route, unsigned http_code, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  Route& r = slot(routes_, route);
  ++r.requests[http_code];
  Histogram& h = r.latency;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::record_tokens(std::string_view token_type, std::uint64_t count) {
  std::lock_guard<std::mutex> lock(mu_);
  slot(tokens_, token_type) += count;
}

void Metrics::record_nectar_error(int status_code) {
  std::lock_guard<std::mutex> lock(mu_);
  ++nectar_errors_[status_code];
}

std::string Metrics::render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  char buf[64];
  out += "# HELP stsvend_http_requests_total HTTP requests by route template and status code.\n";
  out += "# TYPE stsvend_http_requests_total counter\n";
  for (const auto& [route, r] : routes_) {
    for (const auto& [code, v] : r.requests) {
      out += "stsvend_http_requests_total{route=\"" + route + "\",code=\"" + std::to_string(code) + "\"} " +
             std::to_string(v) + "\n";
    }
  }
  out += "# HELP stsvend_http_request_duration_seconds Request latency from parsed request to response.\n";
  out += "# TYPE stsvend_http_request_duration_seconds histogram\n";
  for (const auto& [route, r] : routes_) {
    const Histogram& h = r.latency;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      std::snprintf(buf, sizeof(buf), "%g", kBuckets[i]);
      out += "stsvend_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"" + buf + "\"} " +
             std::to_string(h.buckets[i]) + "\n";
    }
    out += "stsvend_http_request_duration_seconds_bucket{route=\"" + route + "\",le=\"+Inf\"} " +
           std::to_string(h.count) + "\n";
    out += "stsvend_http_request_duration_seconds_sum{route=\"" + route + "\"} " + std::to_string(h.sum) + "\n";
    out += "stsvend_http_request_duration_seconds_count{route=\"" + route + "\"} " + std::to_string(h.count) + "\n";
  }
  out += "# HELP stsvend_tokens_issued_total Tokens issued (not counting idempotent replays) by token type.\n";
  out += "# TYPE stsvend_tokens_issued_total counter\n";
  for (const auto& [t, v] : tokens_) {
    out += "stsvend_tokens_issued_total{token_type=\"" + t + "\"} " + std::to_string(v) + "\n";
  }
  out += "# HELP stsvend_nectar_errors_total Application errors by Nectar status.code.\n";
  out += "# TYPE stsvend_nectar_errors_total counter\n";
  for (const auto& [c, v] : nectar_errors_) {
    out += "stsvend_nectar_errors_total{status_code=\"" + std::to_string(c) + "\"} " + std::to_string(v) + "\n";
  }
  return out;
}

}  // namespace stsvend::api
