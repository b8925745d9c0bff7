// One thread of stsvend_load: an epoll loop driving its share of the keep-alive connections, closed or open
// loop, recording the latency of every successful request. Method and semantics: docs/benchmarks.md.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace stsvend::load {

using Clock = std::chrono::steady_clock;

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

// What all workers share; read-only while they run.
struct RunPlan {
  std::vector<Endpoint> endpoints;  // the server's resolved addresses; the next one is tried when a connect fails
  int connections = 1;              // connections of the whole run (all workers), for the open-loop offsets
  double interval_s = 0;            // open loop: time between a connection's requests; 0 is closed loop
  bool health = false;              // success is HTTP 200 alone (no Nectar envelope to check)
  Clock::time_point start;          // no request goes out before this
  Clock::time_point end;            // closed loop: none is sent after it; open loop: none due after it is sent
};

// One connection's pre-built requests: its i-th request is requests[i], or requests[0] every time with repeat.
struct ConnectionPlan {
  int index = 0;  // 0 .. connections-1 over the whole run
  std::vector<std::string> requests;
  bool repeat = false;
};

struct WorkerResult {
  std::vector<std::uint32_t> latencies_us;  // one per successful request
  long ok = 0;
  long errors = 0;         // failed responses, I/O and connect errors
  bool exhausted = false;  // a connection ran out of requests before the end
  Clock::time_point last_done{};
  std::string first_error;
};

// Runs the connections until every one has passed the end of the timed phase and has its last answer (or the
// server has answered nothing for 10 s after the end). Connects before plan.start; connect errors retry every
// 10 ms; a connection the server drops counts an error and reconnects. Throws std::system_error only when
// epoll or timerfd cannot be set up.
// REQUIRES: connections is not empty; `plan` outlives the call. Each call owns its sockets: one per thread.
WorkerResult run_worker(const RunPlan& plan, std::vector<ConnectionPlan> connections);

}  // namespace stsvend::load
