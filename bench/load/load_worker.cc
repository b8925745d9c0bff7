// One stsvend_load thread: an epoll loop over non-blocking keep-alive connections; see load_worker.h.
//
// Per request the loop makes one send() and, as a rule, one recv(), plus its share of one epoll_wait() per batch
// of ready connections. Sockets stay registered for EPOLLIN (level-triggered) for their whole life, so sending
// costs no epoll_ctl; EPOLLOUT is added only while a request is partly written or a connect is pending.
// Due times and reconnect delays wait in a min-heap; its earliest entry becomes the epoll_pwait2 timeout
// (nanoseconds), so timing costs no syscall of its own: a timerfd would add a settime and a read per request in
// open loop.
#include "load_worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <functional>
#include <limits>
#include <queue>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "http_response_parser.h"

namespace stsvend::load {
namespace {

constexpr std::size_t kInitialBuffer = 16 * 1024;  // a vend answer is under 1 KiB
constexpr std::size_t kMaxResponse = 1 << 20;
constexpr std::size_t kErrorBodyChars = 300;
constexpr auto kReconnectDelay = std::chrono::milliseconds(10);
// After the timed phase a worker waits for its in-flight answers; a server that answers nothing for this long
// is taken as hung, so a broken server cannot hang the benchmark.
constexpr auto kDrainStall = std::chrono::seconds(10);
constexpr int kMaxEvents = 64;
constexpr std::size_t kRepeatReserve = 1 << 14;  // latency slots per repeating connection, before growth
constexpr Clock::time_point kNever = Clock::time_point::max();

// A vend succeeded when HTTP is 200 and the envelope's status.code is 200: the first "code" member, then
// spaces and colons, then 200 not followed by another digit.
bool envelope_ok(std::string_view body) {
  const auto at = body.find("\"code\"");
  if (at == std::string_view::npos) return false;
  std::size_t i = at + 6;
  while (i < body.size() && (body[i] == ' ' || body[i] == ':')) ++i;
  return body.substr(i, 3) == "200" && (i + 3 >= body.size() || !std::isdigit(static_cast<unsigned char>(body[i + 3])));
}

std::string errno_text(const char* what, int err) {
  return std::string(what) + ": " + std::generic_category().message(err);
}

enum class ConnState {
  kReconnectWait,  // no socket; a wake-up is scheduled to connect
  kConnecting,     // non-blocking connect pending (EPOLLOUT)
  kIdle,           // connected, nothing in flight; maybe waiting for the next due time
  kInFlight,       // request sent or being sent, answer not complete
  kDone,           // finished for this run; no socket
};

struct Connection {
  explicit Connection(ConnectionPlan p) : plan(std::move(p)), in(kInitialBuffer) {}

  ConnectionPlan plan;
  ConnState state = ConnState::kReconnectWait;
  int fd = -1;
  std::uint32_t generation = 0;  // bumped per socket, so events of a socket closed in the same batch are ignored
  std::size_t endpoint = 0;
  std::size_t next = 0;             // index of the next request to send; also its open-loop due slot
  Clock::time_point wake = kNever;  // the live heap entry of this connection, if any

  std::string_view unsent;  // rest of the request in flight
  bool want_write = false;  // EPOLLOUT registered
  Clock::time_point issued{};
  std::vector<char> in;
  std::size_t filled = 0;
  ResponseHead head;  // kComplete once the head of the answer has arrived
};

class Worker {
 public:
  Worker(const RunPlan& plan, std::vector<ConnectionPlan> plans) : plan_(plan) {
    conns_.reserve(plans.size());
    for (auto& p : plans) conns_.emplace_back(std::move(p));
    active_ = conns_.size();
    std::vector<std::pair<Clock::time_point, std::uint32_t>> storage;
    storage.reserve(2 * conns_.size());
    wakeups_ = Heap(std::greater<>(), std::move(storage));
  }

  ~Worker() {
    for (auto& c : conns_) close_socket(c);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  WorkerResult run() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
    // Closed loop with repeat has no known count; growth then costs a copy of a few MB at most.
    std::size_t expected = 0;
    for (const auto& c : conns_) expected += c.plan.repeat ? kRepeatReserve : c.plan.requests.size();
    out_.latencies_us.reserve(expected);
    last_progress_ = plan_.start;

    for (auto& c : conns_) start_connect(c, Clock::now());
    epoll_event events[kMaxEvents];
    for (;;) {
      const Clock::time_point now = Clock::now();
      run_due(now);
      if (active_ == 0) break;
      const int n = wait(events, next_wake() - now);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw std::system_error(errno, std::generic_category(), "epoll_wait");
      }
      for (int i = 0; i < n; ++i) dispatch(events[i]);
    }
    return std::move(out_);
  }

 private:
  using Heap = std::priority_queue<std::pair<Clock::time_point, std::uint32_t>,
                                   std::vector<std::pair<Clock::time_point, std::uint32_t>>, std::greater<>>;

  // epoll_pwait2 (Linux 5.11) takes a nanosecond timeout; older kernels get epoll_wait's milliseconds, rounded
  // up so a wake-up is never early. A late wake-up (timer slack, 50 us by default) is charged to the server in
  // open loop; at the millisecond latencies measured here that is noise, and the slack saves wake-ups.
  int wait(epoll_event* events, Clock::duration timeout) {
    const auto ns = std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count());
    if (have_pwait2_) {
      const timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
      const int n = ::epoll_pwait2(epoll_fd_, events, kMaxEvents, &ts, nullptr);
      if (n >= 0 || errno != ENOSYS) return n;
      have_pwait2_ = false;
    }
    const auto ms = std::min<std::int64_t>((ns + 999'999) / 1'000'000, std::numeric_limits<int>::max());
    return ::epoll_wait(epoll_fd_, events, kMaxEvents, static_cast<int>(ms));
  }

  void dispatch(const epoll_event& ev) {
    Connection& c = conns_[static_cast<std::uint32_t>(ev.data.u64 >> 32)];
    if (c.fd < 0 || c.generation != static_cast<std::uint32_t>(ev.data.u64)) return;
    if (c.state == ConnState::kConnecting) {
      finish_connect(c);
      return;
    }
    const std::uint32_t generation = c.generation;
    if ((ev.events & EPOLLOUT) != 0 && c.state == ConnState::kInFlight && !c.unsent.empty()) {
      write_some(c);
      if (c.fd < 0 || c.generation != generation) return;
    }
    if ((ev.events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) on_readable(c);
  }

  // ---- time

  Clock::time_point due_time(const Connection& c) const {
    if (plan_.interval_s <= 0) return plan_.start;
    // Request i of connection k is due at start + (k / connections + i) * interval: the connections' slots
    // interleave evenly over the whole run.
    const double offset_s =
        plan_.interval_s * (static_cast<double>(c.plan.index) / static_cast<double>(std::max(1, plan_.connections)) +
                            static_cast<double>(c.next));
    return plan_.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(offset_s));
  }

  // Whether the connection has sent everything it may send in this run.
  bool past_end(const Connection& c, Clock::time_point now) const {
    return plan_.interval_s > 0 ? due_time(c) >= plan_.end : now >= plan_.end;
  }

  std::uint32_t slot_of(const Connection& c) const { return static_cast<std::uint32_t>(&c - conns_.data()); }

  void schedule(Connection& c, Clock::time_point at) {
    c.wake = at;
    wakeups_.emplace(at, slot_of(c));
  }

  Clock::time_point next_wake() const {
    const Clock::time_point at = wakeups_.empty() ? kNever : wakeups_.top().first;
    return std::min(at, std::max(plan_.end, last_progress_) + kDrainStall);
  }

  void run_due(Clock::time_point now) {
    while (!wakeups_.empty() && wakeups_.top().first <= now) {
      const auto [at, slot] = wakeups_.top();
      wakeups_.pop();
      Connection& c = conns_[slot];
      if (c.wake != at) continue;  // superseded: the connection was dropped or rescheduled since
      c.wake = kNever;
      if (c.state == ConnState::kIdle) {
        try_send(c, now);
      } else if (c.state == ConnState::kReconnectWait) {
        start_connect(c, now);
      }
    }
    if (now >= plan_.end && now - last_progress_ >= kDrainStall) give_up(now);
  }

  // The server has answered nothing for kDrainStall after the end: what is still in flight has failed.
  void give_up(Clock::time_point now) {
    for (auto& c : conns_) {
      if (c.state == ConnState::kDone) continue;
      if (c.state == ConnState::kInFlight) note_error("no answer within 10 s after the timed phase");
      finish(c);
    }
    last_progress_ = now;
  }

  // ---- connection life

  void start_connect(Connection& c, Clock::time_point now) {
    if (past_end(c, now)) {
      finish(c);
      return;
    }
    const Endpoint& ep = plan_.endpoints[c.endpoint];
    c.fd = ::socket(ep.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      connect_failed(c, errno_text("socket", errno), now);
      return;
    }
    ++c.generation;
    const int one = 1;
    ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(c.fd, reinterpret_cast<const sockaddr*>(&ep.addr), ep.len) == 0) {
      register_socket(c, EPOLLIN);
      c.state = ConnState::kIdle;
      try_send(c, now);
    } else if (errno == EINPROGRESS) {
      register_socket(c, EPOLLOUT);
      c.state = ConnState::kConnecting;
    } else {
      connect_failed(c, errno_text("connect", errno), now);
    }
  }

  void finish_connect(Connection& c) {
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    const Clock::time_point now = Clock::now();
    if (err != 0) {
      connect_failed(c, errno_text("connect", err), now);
      return;
    }
    modify_socket(c, EPOLLIN);
    c.state = ConnState::kIdle;
    try_send(c, now);
  }

  void connect_failed(Connection& c, std::string what, Clock::time_point now) {
    note_error(std::move(what));
    close_socket(c);
    c.endpoint = (c.endpoint + 1) % plan_.endpoints.size();
    c.state = ConnState::kReconnectWait;
    schedule(c, now + kReconnectDelay);
  }

  // The connection broke (server closed it, reset, protocol error): count it and start over on a new socket.
  // The request in flight, if any, is spent: a vend may have been applied, and its nonce cannot be reused.
  void io_failed(Connection& c, std::string what) {
    note_error(std::move(what));
    reconnect(c);
  }

  // Through the wake-up heap, not a direct start_connect: a server that resets every new connection at once would
  // otherwise recurse connect -> send -> fail -> connect without bound.
  void reconnect(Connection& c) {
    close_socket(c);
    c.state = ConnState::kReconnectWait;
    schedule(c, Clock::now());
  }

  void finish(Connection& c) {
    close_socket(c);
    if (c.state != ConnState::kDone) --active_;
    c.state = ConnState::kDone;
  }

  void register_socket(Connection& c, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = (std::uint64_t{slot_of(c)} << 32) | c.generation;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
      throw std::system_error(errno, std::generic_category(), "epoll_ctl(ADD)");
    }
  }

  void modify_socket(Connection& c, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = (std::uint64_t{slot_of(c)} << 32) | c.generation;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c.fd, &ev) != 0) {
      throw std::system_error(errno, std::generic_category(), "epoll_ctl(MOD)");
    }
  }

  // close() also takes the socket out of the epoll set.
  static void close_socket(Connection& c) {
    if (c.fd >= 0) ::close(c.fd);
    c.fd = -1;
    c.wake = kNever;
    c.unsent = {};
    c.want_write = false;
    c.filled = 0;
    c.head = {};
  }

  // ---- requests

  void try_send(Connection& c, Clock::time_point now) {
    if (past_end(c, now)) {
      finish(c);
      return;
    }
    const Clock::time_point due = due_time(c);
    if (due > now) {
      schedule(c, due);
      return;
    }
    if (!c.plan.repeat && c.next >= c.plan.requests.size()) {
      out_.exhausted = true;
      finish(c);
      return;
    }
    // Open loop charges the wait behind a slow previous answer to the server: latency counts from the due time.
    c.issued = plan_.interval_s > 0 ? due : now;
    c.unsent = c.plan.requests[c.plan.repeat ? 0 : c.next];
    ++c.next;
    c.state = ConnState::kInFlight;
    write_some(c);
  }

  void write_some(Connection& c) {
    while (!c.unsent.empty()) {
      const ssize_t n = ::send(c.fd, c.unsent.data(), c.unsent.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.unsent.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!c.want_write) modify_socket(c, EPOLLIN | EPOLLOUT);
        c.want_write = true;
        return;
      } else {
        io_failed(c, errno_text("write", errno));
        return;
      }
    }
    if (c.want_write) modify_socket(c, EPOLLIN);
    c.want_write = false;
  }

  void on_readable(Connection& c) {
    if (c.filled == c.in.size()) {
      io_failed(c, "response: larger than the read buffer");
      return;
    }
    const ssize_t n = ::recv(c.fd, c.in.data() + c.filled, c.in.size() - c.filled, 0);
    if (n == 0) {
      io_failed(c, c.state == ConnState::kInFlight ? "server closed the connection before answering"
                                                   : "server closed an idle connection");
      return;
    }
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) io_failed(c, errno_text("read", errno));
      return;
    }
    c.filled += static_cast<std::size_t>(n);
    if (c.state != ConnState::kInFlight) {
      io_failed(c, "response: bytes with no request in flight");
      return;
    }
    if (c.head.state != ResponseHead::State::kComplete) {
      c.head = parse_response_head(std::string_view(c.in.data(), c.filled));
      if (c.head.state == ResponseHead::State::kIncomplete) return;
      if (c.head.state == ResponseHead::State::kError) {
        io_failed(c, std::string("response: ") + c.head.error);
        return;
      }
      const std::size_t total = c.head.head_bytes + c.head.body_bytes;
      if (total > kMaxResponse) {
        io_failed(c, "response: larger than 1 MiB");
        return;
      }
      if (total > c.in.size()) c.in.resize(total);
    }
    if (c.filled < c.head.head_bytes + c.head.body_bytes) return;
    on_response(c, Clock::now());
  }

  void on_response(Connection& c, Clock::time_point now) {
    const ResponseHead head = c.head;
    const std::string_view body(c.in.data() + head.head_bytes, head.body_bytes);
    if (head.status == 200 && (plan_.health || envelope_ok(body))) {
      ++out_.ok;
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(now - c.issued).count();
      out_.latencies_us.push_back(
          static_cast<std::uint32_t>(std::clamp<long long>(us, 0, std::numeric_limits<std::uint32_t>::max())));
    } else {
      note_error("HTTP " + std::to_string(head.status) + ": " + std::string(body.substr(0, kErrorBodyChars)));
    }
    out_.last_done = now;
    last_progress_ = now;
    const bool trailing = c.filled > head.head_bytes + head.body_bytes;
    c.filled = 0;
    c.head = {};
    c.state = ConnState::kIdle;
    if (trailing) {
      io_failed(c, "response: bytes after the answer (nothing was pipelined)");
    } else if (head.close) {
      reconnect(c);  // the server announced it; not an error
    } else {
      try_send(c, now);
    }
  }

  void note_error(std::string what) {
    if (out_.errors++ == 0) out_.first_error = std::move(what);
  }

  const RunPlan& plan_;
  std::vector<Connection> conns_;
  std::size_t active_ = 0;  // connections not yet kDone
  Heap wakeups_;
  Clock::time_point last_progress_{};
  int epoll_fd_ = -1;
  bool have_pwait2_ = true;
  WorkerResult out_;
};

}  // namespace

WorkerResult run_worker(const RunPlan& plan, std::vector<ConnectionPlan> connections) {
  Worker worker(plan, std::move(connections));
  return worker.run();
}

}  // namespace stsvend::load
