// Boost.Beast HTTP/1.1 server; see http_server.h for the contract and docs/api.md ("Transport").
#include "api/http_server.h"

#include <pthread.h>

#include <array>
#include <atomic>
#include <cassert>
#include <condition_variable>
#include <ctime>
#include <exception>
#include <future>
#include <functional>
#include <limits>
#include <list>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/json.hpp>

#include "api/json_io.h"
#include "api/log.h"

namespace stsvend::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

std::string spring_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::string iso = iso_millis(ms);  // "...T..:..:..mmmZ"
  iso.pop_back();
  return iso + "+00:00";  // Spring Boot's default error timestamp form
}

}  // namespace

HttpResponse spring_error(unsigned status, std::string_view message, std::string_view path, unsigned version,
                          bool keep_alive) {
  const auto st = static_cast<http::status>(status);
  boost::json::object body;
  body["timestamp"] = spring_timestamp();
  body["status"] = status;
  body["error"] = std::string(http::obsolete_reason(st));
  body["message"] = std::string(message);
  body["path"] = std::string(path);
  HttpResponse res{st, version};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = write_json(body);
  res.prepare_payload();
  return res;
}

Status validate_path_prefix(std::string_view prefix) {
  if (prefix.empty()) return Status::Ok();
  if (prefix.front() != '/' || prefix.back() == '/' || prefix.find_first_of("?# ") != std::string_view::npos) {
    return Status::InvalidArgument("--path-prefix", "must start with '/', not end with '/', and have no '?', '#' or space");
  }
  return Status::Ok();
}

namespace detail {

void log_handler_exception(std::exception_ptr e) noexcept {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log_line(LogLevel::kError, std::string("unhandled exception in a request handler: ") + ex.what());
  } catch (...) {
    log_line(LogLevel::kError, "unhandled non-standard exception in a request handler");
  }
}

}  // namespace detail

namespace {

class ServerImpl;

// The last-resort answer (HTTP 200, Nectar envelope with status.code 500).
HttpResponse internal_error_response() {
  HttpResponse res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.body() = R"({"status":{"code":500,"message":"Internal server error"}})";
  return res;
}

using Strand = asio::strand<asio::io_context::executor_type>;
// Sockets are accepted onto their own strand with the concrete executor type: no type-erased executor
// is copied, moved or dispatched through per operation (that showed as ~4% of a /health request).
using Socket = asio::basic_stream_socket<tcp, Strand>;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kNoDeadline = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t kReadChunk = 64 << 10;
// Responses written synchronously may start the next pipelined request on the same stack; past this
// depth the next one is posted instead, so a client pipelining thousands of requests cannot overflow it.
constexpr int kMaxInlineDepth = 16;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

std::int64_t deadline_after(std::chrono::milliseconds d) {
  return now_ns() + std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

// What the deadline sweeper needs of a connection, independent of its stream type. A connection's
// timeouts are a deadline it stores (one clock read, no timer operation per request); a server-wide
// sweeper closes the connections whose deadline passed, at most kSweepInterval late.
class SessionBase : public detail::Exchange, public std::enable_shared_from_this<SessionBase> {
 public:
  explicit SessionBase(Strand strand) : strand_(std::move(strand)), executor_(strand_) {}

  // On the connection's strand: the deadline passed (checked again there) -> the socket is closed,
  // which cancels the pending read or write.
  virtual void on_deadline() = 0;

  std::int64_t deadline() const noexcept { return deadline_.load(std::memory_order_relaxed); }
  const Strand& strand() const noexcept { return strand_; }
  const asio::any_io_executor& executor() const noexcept override { return executor_; }

  // The sweeper's registry slot (guarded by the registry's mutex).
  std::list<SessionBase*>::iterator registry_slot;

 protected:
  ~SessionBase() = default;
  // Only on the strand; the sweeper reads it from its own thread.
  void set_deadline(std::int64_t ns) noexcept { deadline_.store(ns, std::memory_order_relaxed); }

  Strand strand_;
  asio::any_io_executor executor_;  // the same strand, type-erased, for Responder::post

 private:
  std::atomic<std::int64_t> deadline_{kNoDeadline};
};

// Every live connection, so that one periodic sweep can enforce all timeouts. The registry outlives
// the io_context (sessions unregister from their destructors, which may run while it is destroyed).
class SessionRegistry {
 public:
  void add(SessionBase* s) {
    std::lock_guard<std::mutex> lock(mu_);
    s->registry_slot = live_.insert(live_.end(), s);
  }
  void remove(SessionBase* s) {
    std::lock_guard<std::mutex> lock(mu_);
    live_.erase(s->registry_slot);
  }
  // Posts on_deadline to the strand of every connection whose deadline is before `now`. A session being
  // destroyed waits in remove() for the lock and cannot be locked here any more (its count is zero).
  void expire(std::int64_t now) {
    std::vector<std::shared_ptr<SessionBase>> due;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (SessionBase* s : live_) {
        if (s->deadline() > now) continue;
        if (auto alive = s->weak_from_this().lock()) due.push_back(std::move(alive));
      }
    }
    for (auto& s : due) {
      const Strand strand = s->strand();
      asio::post(strand, [s = std::move(s)] { s->on_deadline(); });
    }
  }

 private:
  std::mutex mu_;
  std::list<SessionBase*> live_;
};

// One connection. Requests are read one at a time; the next one is parsed only after the previous
// response is written, so pipelined requests (left in buffer_) are answered strictly in order. While a
// request is with its handler no operation is pending on the stream and req_/res_ belong to the
// handler side; the Responder's shared ownership keeps the session alive until it answers.
//
// Per request on a plain connection: one wait for readability, one recv() (nothing speculative that
// would return EAGAIN), one sendmsg() of the head and the body; the parser is Beast's, the response
// head is written here from the response's fields.
template <typename Stream>
class Session final : public SessionBase {
 public:
  Session(Stream stream, ServerImpl& server, std::string remote);
  ~Session();

  void run();

  // detail::Exchange
  void respond(HttpResponse response) override;
  void abandon() noexcept override;
  void run_blocking(Responder responder, std::function<void(Responder)> fn) override;
  std::atomic<std::size_t>& posts_under_way() noexcept override;

  void on_deadline() override;

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, Socket>;

  std::shared_ptr<Session> self() { return std::static_pointer_cast<Session>(shared_from_this()); }

  Socket& socket() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  void start_request();
  void parse();  // feeds buffer_ to the parser; reads more, answers an error or calls the handler
  void read_more();
  void on_readable(beast::error_code ec);
  void on_bytes(std::size_t n, beast::error_code ec);
  bool on_header();  // false when it answered (413) or took over the flow (100 Continue)
  void on_parse_error(beast::error_code ec);
  void on_request();
  void strip_path_prefix();
  void write_answer();  // on the strand, once the handler side answered into res_
  void send(HttpResponse res, bool close_after);
  void write(bool close_after);
  void on_write(bool close, beast::error_code ec);
  void do_close();
  // After an error response: stop sending, then read and discard what the client is still sending
  // (bounded in bytes and time) so closing does not reset the connection before it reads our answer.
  void lingering_close();
  void drain(std::size_t budget);

  Stream stream_;
  ServerImpl& server_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool header_seen_ = false;
  HttpRequest req_;  // the request with the handler
  unsigned req_version_ = 11;
  bool req_keep_alive_ = false;
  HttpResponse res_;  // the response being written
  std::string head_;  // res_'s status line and fields, serialised
  bool error_close_ = false;
  int inline_depth_ = 0;
};

class ServerImpl final : public HttpServer {
 public:
  ServerImpl(const HttpServerOptions& options, HttpHandler handler)
      : options_(options),
        handler_(std::move(handler)),
        ioc_(static_cast<int>(io_thread_count())),
        acceptor_(asio::make_strand(ioc_)),
        accept_retry_timer_(acceptor_.get_executor()),
        sweep_timer_(asio::make_strand(ioc_)),
        workers_(options.worker_threads == 0 ? 1 : options.worker_threads) {}

  ~ServerImpl() override { stop(std::chrono::milliseconds(2'000)); }

  // An address literal, or a name (`localhost`, a host's own name) resolved for a listening socket. Of a
  // name's addresses the first IPv4 one is taken, else the first: `localhost` then means 127.0.0.1,
  // which every client tries, where ::1 alone would turn away those that only try IPv4.
  Result<tcp::endpoint> listen_endpoint() {
    beast::error_code ec;
    const auto address = asio::ip::make_address(options_.host, ec);
    if (!ec) return tcp::endpoint{address, options_.port};
    tcp::resolver resolver(ioc_);
    const auto found = resolver.resolve(options_.host, std::to_string(options_.port),
                                        tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || found.empty()) {
      return Status::InvalidArgument("--listen", "host must be an IP address or a name that resolves (" +
                                                     options_.host + ": " +
                                                     (ec ? ec.message() : std::string("no address")) + ")");
    }
    for (const auto& entry : found) {
      if (entry.endpoint().address().is_v4()) return entry.endpoint();
    }
    return found.begin()->endpoint();
  }

  Status listen() {
    beast::error_code ec;
    STSVEND_ASSIGN_OR_RETURN(const tcp::endpoint endpoint, listen_endpoint());
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::Unavailable("cannot listen on " + options_.host + ":" + std::to_string(options_.port) + ": " + ec.message());
    port_ = acceptor_.local_endpoint().port();
    if (options_.tls_cert_file && options_.tls_key_file) {
      tls_ctx_.emplace(ssl::context::tls_server);
      tls_ctx_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                            ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      tls_ctx_->use_certificate_chain_file(*options_.tls_cert_file, ec);
      if (ec) return Status::InvalidArgument("--tls-cert", "cannot load certificate chain: " + ec.message());
      tls_ctx_->use_private_key_file(*options_.tls_key_file, ssl::context::pem, ec);
      if (ec) return Status::InvalidArgument("--tls-key", "cannot load private key: " + ec.message());
    }
    do_accept();
    schedule_sweep();
    // While a handler holds a request (on a worker, or waiting for the storage writer) nothing may be
    // pending on ioc_ once the acceptor closes; run() must not return before that answer is written.
    work_.emplace(ioc_.get_executor());
    const unsigned n = io_thread_count();
    threads_.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
      threads_.emplace_back([this] {
        pthread_setname_np(pthread_self(), "stsvend-io");  // for top -H and perf
        ioc_.run();
      });
    }
    return Status::Ok();
  }

  std::uint16_t port() const override { return port_; }
  bool tls() const override { return tls_ctx_.has_value(); }

  void stop(std::chrono::milliseconds grace) override {
    std::lock_guard<std::mutex> stop_lock(stop_mu_);
    if (stopped_) return;
    stopping_.store(true);
    // Close the acceptor on its strand so no new connection is taken.
    std::promise<void> closed;
    asio::post(acceptor_.get_executor(), [this, &closed] {
      beast::error_code ec;
      acceptor_.close(ec);
      accept_retry_timer_.cancel();
      closed.set_value();
    });
    if (!threads_.empty()) closed.get_future().wait_for(std::chrono::seconds(5));
    {
      // Every unanswered request holds a Responder that must reach its session, whose strand runs on
      // ioc_: so the I/O threads keep running until none is left, however long that takes past grace.
      std::unique_lock<std::mutex> lock(inflight_mu_);
      const auto answered = [this] { return inflight_ == 0; };
      if (!inflight_cv_.wait_for(lock, grace, answered)) {
        log_line(LogLevel::kWarn, "stop: " + std::to_string(inflight_) +
                                      " request(s) still unanswered after the grace period; waiting for them");
        inflight_cv_.wait(lock, answered);
      }
      admitting_ = false;  // a request read from now on is not handed to the handler
    }
    workers_.join();  // worker tasks that already answered may still be returning
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    while (posts_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
    stopped_ = true;
  }

  // --- used by sessions
  const HttpServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  std::atomic<std::size_t>& posts_under_way() noexcept { return posts_; }
  SessionRegistry& sessions() noexcept { return sessions_; }
  // False once stop() no longer takes requests; else the request counts as in flight until answered.
  bool begin_request() {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    if (!admitting_) return false;
    ++inflight_;
    return true;
  }
  void end_request() {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    if (--inflight_ == 0) inflight_cv_.notify_all();
  }

  void call_handler(HttpRequest& req, const std::string& remote, Responder responder) {
    // The one last-resort catch per request: reaching it is a bug. The responder, if the handler had
    // not answered or passed it on yet, is destroyed unanswered on the way out and answers 500.
    try {
      handler_(req, remote, std::move(responder));
    } catch (const std::exception& e) {
      log_line(LogLevel::kError, std::string("unhandled exception in handler for ") + std::string(req.target()) +
                                     ": " + e.what());
    } catch (...) {
      log_line(LogLevel::kError, "unhandled non-standard exception in handler for " + std::string(req.target()));
    }
  }

  void run_blocking(Responder responder, std::function<void(Responder)> fn) {
    asio::post(workers_, [r = std::move(responder), f = std::move(fn)]() mutable {
      // asio::thread_pool starts its threads itself: each names itself on its first task.
      static thread_local bool named = false;
      if (!named) {
        pthread_setname_np(pthread_self(), "stsvend-work");
        named = true;
      }
      try {
        f(std::move(r));
      } catch (...) {
        detail::log_handler_exception(std::current_exception());
      }
    });
  }

 private:
  // Timeouts are enforced to within this much (they are tens of seconds).
  static constexpr auto kSweepInterval = std::chrono::milliseconds(500);
  // The pause between failed accepts (see do_accept).
  static constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);

  unsigned io_thread_count() const {
    if (options_.io_threads > 0) return options_.io_threads;
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : hw;
  }

  // Runs on the acceptor's strand. A failed accept is tried again only after kAcceptRetryDelay: the
  // failures that last (no file descriptor or memory left, say under a flood of connections) fail
  // every call at once, and retrying at once made the loop spin on a core and log hundreds of
  // thousands of lines a second, enough to fill the disk. Connections that arrive meanwhile wait in
  // the listen backlog. The first failure of a run is logged, and the run's end with its count.
  void do_accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, Socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) {
        if (failed_accepts_++ == 0) {
          log_line(LogLevel::kWarn, "accept failed: " + ec.message() + "; new connections wait in the backlog" +
                                        " and accepting is retried every " +
                                        std::to_string(kAcceptRetryDelay.count()) + " ms");
        }
        accept_retry_timer_.expires_after(kAcceptRetryDelay);
        accept_retry_timer_.async_wait([this](beast::error_code wait_ec) {
          if (!wait_ec && acceptor_.is_open()) do_accept();
        });
        return;
      }
      if (failed_accepts_ > 0) {
        log_line(LogLevel::kInfo,
                 "accepting connections again after " + std::to_string(failed_accepts_) + " failed attempt(s)");
        failed_accepts_ = 0;
      }
      if (!stopping_.load()) start_session(std::move(socket));
      do_accept();
    });
  }

  // Runs until ioc_ stops; a connection that has not made progress by its deadline is closed.
  void schedule_sweep() {
    sweep_timer_.expires_after(kSweepInterval);
    sweep_timer_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      sessions_.expire(now_ns());
      schedule_sweep();
    });
  }

  void start_session(Socket socket) {
    beast::error_code ec;
    std::string remote;
    const auto ep = socket.remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    socket.set_option(tcp::no_delay(true), ec);
    if (tls_ctx_) {
      std::make_shared<Session<ssl::stream<Socket>>>(ssl::stream<Socket>(std::move(socket), *tls_ctx_), *this,
                                                     std::move(remote))
          ->run();
    } else {
      // Reads and writes are tried directly and return would_block instead of waiting (see Session).
      socket.non_blocking(true, ec);
      if (ec) return;
      std::make_shared<Session<Socket>>(std::move(socket), *this, std::move(remote))->run();
    }
  }

  HttpServerOptions options_;
  HttpHandler handler_;
  SessionRegistry sessions_;  // before ioc_: sessions destroyed with ioc_'s handlers unregister from it
  asio::io_context ioc_;      // declared before everything that holds handlers into it
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_timer_;  // on the acceptor's strand
  std::uint64_t failed_accepts_ = 0;       // in a row; the acceptor's strand only
  asio::steady_timer sweep_timer_;
  std::optional<ssl::context> tls_ctx_;
  asio::thread_pool workers_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  bool stopped_ = false;
  std::mutex inflight_mu_;
  std::condition_variable inflight_cv_;
  std::size_t inflight_ = 0;  // handed to the handler, answer not yet on its way to the socket
  bool admitting_ = true;
  std::atomic<std::size_t> posts_{0};  // see detail::Exchange::posts_under_way
};

template <typename Stream>
Session<Stream>::Session(Stream stream, ServerImpl& server, std::string remote)
    : SessionBase(stream.get_executor()), stream_(std::move(stream)), server_(server), remote_(std::move(remote)) {
  server_.sessions().add(this);
}

template <typename Stream>
Session<Stream>::~Session() {
  server_.sessions().remove(this);
}

template <typename Stream>
void Session<Stream>::run() {
  // Start on the connection's strand.
  asio::dispatch(strand_, [self = self()] {
    if constexpr (kTls) {
      self->set_deadline(deadline_after(self->server_.options().read_timeout));
      self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
        if (ec) return;  // bad handshakes are routine (scanners); nothing to log at info
        self->start_request();
      });
    } else {
      self->start_request();
    }
  });
}

template <typename Stream>
void Session<Stream>::on_deadline() {
  if (deadline() > now_ns()) return;  // progress since the sweep saw it
  set_deadline(kNoDeadline);
  beast::error_code ec;
  socket().shutdown(tcp::socket::shutdown_both, ec);
  socket().close(ec);  // the pending operation completes with operation_aborted; the session ends
}

template <typename Stream>
void Session<Stream>::start_request() {
  parser_.emplace();
  parser_->body_limit(server_.options().body_limit);
  parser_->header_limit(static_cast<std::uint32_t>(server_.options().header_limit));
  parser_->eager(true);
  header_seen_ = false;
  set_deadline(deadline_after(server_.options().idle_timeout));
  parse();  // a pipelined request may be buffered already
}

template <typename Stream>
void Session<Stream>::parse() {
  while (buffer_.size() > 0) {
    beast::error_code ec;
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) break;
    if (ec) {
      on_parse_error(ec);
      return;
    }
    if (!header_seen_ && parser_->is_header_done()) {
      header_seen_ = true;
      if (!on_header()) return;
    }
    if (parser_->is_done()) {
      on_request();
      return;
    }
    if (used == 0) break;
  }
  read_more();
}

template <typename Stream>
void Session<Stream>::read_more() {
  if constexpr (kTls) {
    stream_.async_read_some(buffer_.prepare(beast::read_size(buffer_, kReadChunk)),
                            [self = self()](beast::error_code ec, std::size_t n) { self->on_bytes(n, ec); });
  } else {
    // Wait, then read: an immediate (speculative) recv would mostly find nothing yet and cost a syscall.
    stream_.async_wait(tcp::socket::wait_read, [self = self()](beast::error_code ec) { self->on_readable(ec); });
  }
}

template <typename Stream>
void Session<Stream>::on_readable(beast::error_code ec) {
  if (ec) {
    on_bytes(0, ec);
    return;
  }
  const std::size_t n = socket().read_some(buffer_.prepare(beast::read_size(buffer_, kReadChunk)), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    read_more();  // a spurious wake-up
    return;
  }
  on_bytes(n, ec);
}

template <typename Stream>
void Session<Stream>::on_bytes(std::size_t n, beast::error_code ec) {
  buffer_.commit(n);
  if (!ec) {
    parse();
    return;
  }
  const bool mid_message = buffer_.size() > 0 || parser_->got_some();
  if ((ec == asio::error::eof || ec == ssl::error::stream_truncated) && mid_message) {
    on_parse_error(http::error::partial_message);  // 400, as a truncated request is malformed
    return;
  }
  // EOF between requests, reset, or the socket closed by its deadline: nothing to answer.
  do_close();
}

template <typename Stream>
bool Session<Stream>::on_header() {
  // Early 413: the declared length already exceeds the limit; answer without reading the body.
  if (const auto len = parser_->content_length(); len && *len > server_.options().body_limit) {
    on_parse_error(http::error::body_limit);
    return false;
  }
  // RFC 9112 §6.3: a Transfer-Encoding that does not end in chunked leaves the body's length unknown, and
  // with Content-Length beside it the two may disagree (§6.1). The parser would read no body and take
  // the bytes that follow as the next request: behind a proxy that reads them as this one's body, a
  // smuggled request. Both are malformed: 400, and the connection is closed.
  const auto& head = parser_->get();
  if (head.find(http::field::transfer_encoding) != head.end() &&
      (!parser_->chunked() || head.find(http::field::content_length) != head.end())) {
    on_parse_error(http::error::bad_transfer_encoding);
    return false;
  }
  set_deadline(deadline_after(server_.options().read_timeout));
  // curl sends `Expect: 100-continue` for bodies over 1 KiB and waits a second unless told to go on.
  if (!parser_->is_done() && beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = self()](beast::error_code e, std::size_t) {
                        if (e) {
                          self->do_close();
                          return;
                        }
                        self->parse();
                      });
    return false;
  }
  return true;
}

template <typename Stream>
void Session<Stream>::on_parse_error(beast::error_code ec) {
  error_close_ = true;
  const bool header = parser_ && parser_->is_header_done();
  const unsigned version = header ? parser_->get().version() : 11;
  const std::string path = header ? std::string(parser_->get().target()) : "";
  if (ec == http::error::body_limit) {
    send(spring_error(413, "request body exceeds " + std::to_string(server_.options().body_limit) + " bytes",
                      path.substr(0, path.find('?')), version, false),
         true);
  } else if (ec == http::error::header_limit) {
    send(spring_error(431, "request header fields too large", "", version, false), true);
  } else {
    send(spring_error(400, "malformed HTTP request", "", version, false), true);
  }
}

template <typename Stream>
void Session<Stream>::on_request() {
  req_ = parser_->release();
  parser_.reset();
  strip_path_prefix();
  req_version_ = req_.version();
  req_keep_alive_ = req_.keep_alive();
  set_deadline(kNoDeadline);  // the handler may take as long as it takes (e.g. queued behind the writer)
  if (!server_.begin_request()) {  // stopping: the request arrived after the last answer was awaited
    do_close();
    return;
  }
  server_.call_handler(req_, remote_, Responder(shared_from_this()));
}

template <typename Stream>
void Session<Stream>::strip_path_prefix() {
  const std::string& prefix = server_.options().path_prefix;
  if (prefix.empty()) return;
  const std::string_view target(req_.target().data(), req_.target().size());
  if (target.size() < prefix.size() || target.compare(0, prefix.size(), prefix) != 0) return;
  if (target.size() == prefix.size()) {
    req_.target("/");
    return;
  }
  const char next = target[prefix.size()];
  if (next == '/') {
    req_.target(std::string(target.substr(prefix.size())));
  } else if (next == '?') {
    req_.target("/" + std::string(target.substr(prefix.size())));
  }
}

template <typename Stream>
void Session<Stream>::respond(HttpResponse response) {
  // Any thread. Nothing on the strand touches res_ while the handler side owns the request.
  const detail::PostGuard guard(server_.posts_under_way());
  res_ = std::move(response);
  asio::dispatch(strand_, [self = self()] { self->write_answer(); });
}

template <typename Stream>
std::atomic<std::size_t>& Session<Stream>::posts_under_way() noexcept {
  return server_.posts_under_way();
}

template <typename Stream>
void Session<Stream>::abandon() noexcept {
  log_line(LogLevel::kError, "no answer from the handler for " + std::string(req_.target()) +
                                 " (responder dropped); answering 500");
  respond(internal_error_response());
}

template <typename Stream>
void Session<Stream>::run_blocking(Responder responder, std::function<void(Responder)> fn) {
  server_.run_blocking(std::move(responder), std::move(fn));
}

template <typename Stream>
void Session<Stream>::write_answer() {
  const bool keep = req_keep_alive_ && !server_.stopping();
  res_.version(req_version_);
  res_.keep_alive(keep);
  res_.prepare_payload();
  write(!keep);
  server_.end_request();
}

template <typename Stream>
void Session<Stream>::send(HttpResponse res, bool close_after) {
  res_ = std::move(res);
  write(close_after);
}

template <typename Stream>
void Session<Stream>::write(bool close_after) {
  head_.clear();
  head_ += res_.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  head_ += std::to_string(res_.result_int());
  head_ += ' ';
  head_ += res_.reason();
  head_ += "\r\n";
  for (const auto& field : res_) {
    head_ += field.name_string();
    head_ += ": ";
    head_ += field.value();
    head_ += "\r\n";
  }
  head_ += "\r\n";
  std::array<asio::const_buffer, 2> out{asio::buffer(head_), asio::buffer(res_.body())};
  if constexpr (!kTls) {
    // Most answers fit the socket buffer: one sendmsg, no asynchronous operation at all.
    beast::error_code ec;
    const std::size_t n = socket().write_some(out, ec);
    if (!ec && n == head_.size() + res_.body().size()) {
      if (inline_depth_ < kMaxInlineDepth) {
        ++inline_depth_;
        on_write(close_after, ec);
        --inline_depth_;
      } else {
        asio::post(strand_, [self = self(), close_after] { self->on_write(close_after, {}); });
      }
      return;
    }
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
      on_write(close_after, ec);
      return;
    }
    const std::size_t sent = ec ? 0 : n;  // the rest goes out when the socket can take it
    if (sent < head_.size()) {
      out[0] += sent;
    } else {
      out[0] = asio::const_buffer();
      out[1] += sent - head_.size();
    }
  }
  set_deadline(deadline_after(server_.options().read_timeout));
  asio::async_write(stream_, out, [self = self(), close_after](beast::error_code ec, std::size_t) {
    self->on_write(close_after, ec);
  });
}

template <typename Stream>
void Session<Stream>::on_write(bool close, beast::error_code ec) {
  res_ = {};
  if (!ec && error_close_) {
    lingering_close();
    return;
  }
  if (ec || close || server_.stopping()) {
    do_close();
    return;
  }
  start_request();
}

template <typename Stream>
void Session<Stream>::lingering_close() {
  beast::error_code ec;
  if constexpr (kTls) {
    do_close();
  } else {
    socket().shutdown(tcp::socket::shutdown_send, ec);
    set_deadline(deadline_after(std::chrono::seconds(5)));
    buffer_.clear();
    drain(8u << 20);
  }
}

template <typename Stream>
void Session<Stream>::drain(std::size_t budget) {
  auto buf = buffer_.prepare(64 << 10);
  stream_.async_read_some(buf, [self = self(), budget](beast::error_code ec, std::size_t n) {
    if (ec || n >= budget) return;  // EOF, deadline or enough: the session ends and the socket closes
    self->drain(budget - n);
  });
}

template <typename Stream>
void Session<Stream>::do_close() {
  beast::error_code ec;
  if constexpr (kTls) {
    set_deadline(deadline_after(std::chrono::seconds(2)));
    stream_.async_shutdown([self = self()](beast::error_code) {
      beast::error_code e;
      self->socket().shutdown(tcp::socket::shutdown_both, e);
    });
  } else {
    socket().shutdown(tcp::socket::shutdown_send, ec);
  }
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& options, HttpHandler handler) {
  auto server = std::make_unique<ServerImpl>(options, std::move(handler));
  STSVEND_RETURN_IF_ERROR(server->listen());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace stsvend::api
