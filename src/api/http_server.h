// A small HTTP/1.1 server on Boost.Beast: N I/O threads, keep-alive, responses in request order,
// body/header limits, timeouts, optional TLS. The handler is called on the connection's I/O thread and
// answers through a move-only Responder, at once or later from any thread; work that may block moves
// to the worker pool (Responder::run_blocking) so it never stalls an I/O thread.
// See docs/api.md ("Transport").
#pragma once

#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/http.hpp>

#include "stsvend/result.h"

namespace stsvend::api {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: an ephemeral port (see HttpServer::port())
  unsigned io_threads = 0;    // 0: std::thread::hardware_concurrency()
  unsigned worker_threads = 64;  // run what Responder::run_blocking hands them
  std::size_t body_limit = 1 << 20;   // larger bodies → 413
  std::size_t header_limit = 16 << 10;
  // Waiting for (and reading) the next request's header on a kept-alive connection.
  std::chrono::milliseconds idle_timeout{60'000};
  // Reading a request body once its header has arrived, and writing a response.
  std::chrono::milliseconds read_timeout{30'000};
  std::optional<std::string> tls_cert_file;  // PEM chain; TLS only when both are set
  std::optional<std::string> tls_key_file;   // PEM private key
  // Behind a reverse proxy that forwards /PREFIX/v1/... unchanged: a request target that starts with this
  // prefix (then '/', '?' or its end) reaches the handler without it, so routing and the Nectar
  // signature (computed by the SDKs over /v1/...) see the path the client signed. Other targets pass
  // unchanged. Empty: off. REQUIRES: empty, or starts with '/' and does not end with '/'.
  std::string path_prefix;
};

// Checks HttpServerOptions::path_prefix; InvalidArgument("--path-prefix", ...) when malformed.
Status validate_path_prefix(std::string_view prefix);

class Responder;

namespace detail {

// The server's side of one request (implemented by the connection; see http_server.cc).
class Exchange {
 public:
  // Any thread, once per request: the response is written on the connection's strand.
  virtual void respond(HttpResponse response) = 0;
  // The responder was destroyed unanswered (a handler bug or an exception): logs, answers 500.
  virtual void abandon() noexcept = 0;
  virtual void run_blocking(Responder responder, std::function<void(Responder)> fn) = 0;
  // The connection's strand.
  virtual const boost::asio::any_io_executor& executor() const noexcept = 0;
  // Counts a post to the strand from a thread the server does not own (the storage writer) while it
  // is under way: HttpServer::stop waits for none before it destroys the io_context, since such a
  // thread is still inside Asio for a moment after the strand may have answered. The counter must
  // outlive the exchange (it is the server's): the post that answers may free the exchange before
  // its guard lets go of the counter.
  virtual std::atomic<std::size_t>& posts_under_way() noexcept = 0;

 protected:
  ~Exchange() = default;
};

class PostGuard {
 public:
  explicit PostGuard(std::atomic<std::size_t>& n) noexcept : n_(n) { n_.fetch_add(1, std::memory_order_relaxed); }
  ~PostGuard() { n_.fetch_sub(1, std::memory_order_release); }
  PostGuard(const PostGuard&) = delete;
  PostGuard& operator=(const PostGuard&) = delete;

 private:
  std::atomic<std::size_t>& n_;
};

// Logs an exception that escaped a handler continuation (its responder, if unanswered, answers 500).
void log_handler_exception(std::exception_ptr e) noexcept;

}  // namespace detail

// The answer to one request, owed exactly once. Move-only; the last owner answers with send(), from
// any thread. The request and remote address passed to the handler stay valid until then, and not
// after: send() may start reading the next request on the connection.
// A Responder destroyed unanswered (dropped by mistake, or unwound by an exception) answers the
// client with the 500 envelope and logs an error, so a connection can never hang on a lost answer.
// The server counts a request in flight, for graceful stop, until it is answered.
class Responder {
 public:
  Responder() noexcept = default;
  explicit Responder(std::shared_ptr<detail::Exchange> exchange) noexcept : exchange_(std::move(exchange)) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&& other) noexcept {
    if (this != &other) {
      if (exchange_) exchange_->abandon();
      exchange_ = std::move(other.exchange_);
    }
    return *this;
  }
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder() {
    if (exchange_) exchange_->abandon();
  }

  // False once answered or moved from.
  explicit operator bool() const noexcept { return exchange_ != nullptr; }

  // REQUIRES: *this. The server sets the version, keep-alive and Content-Length.
  void send(HttpResponse response) && {
    assert(exchange_);
    std::shared_ptr<detail::Exchange> e = std::move(exchange_);
    e->respond(std::move(response));
  }

  // REQUIRES: *this. Runs fn(responder) on a worker thread, where it may block.
  void run_blocking(std::function<void(Responder)> fn) && {
    assert(exchange_);
    detail::Exchange& e = *exchange_;
    e.run_blocking(std::move(*this), std::move(fn));
  }

  // REQUIRES: *this. Posts fn(responder) to the connection's strand (an I/O thread; never inline):
  // how a completion on another thread (the storage writer) hands its result back. fn must not block.
  template <typename Fn>
  void post(Fn&& fn) && {
    assert(exchange_);
    const detail::PostGuard guard(exchange_->posts_under_way());
    const boost::asio::any_io_executor ex = exchange_->executor();
    boost::asio::post(ex, [r = std::move(*this), f = std::forward<Fn>(fn)]() mutable {
      try {
        f(std::move(r));
      } catch (...) {
        detail::log_handler_exception(std::current_exception());
      }
    });
  }

 private:
  std::shared_ptr<detail::Exchange> exchange_;
};

// Called on the connection's I/O thread (inside its strand) for each request, one at a time per
// connection: it must not block. It answers through `responder`, now or later, or moves blocking work
// to the worker pool with Responder::run_blocking. An exception that escapes it is logged, and if the
// responder was not answered yet the client gets the 500 envelope.
using HttpHandler = std::function<void(HttpRequest& request, const std::string& remote, Responder responder)>;

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Binds and starts the threads; returns once the socket is listening.
  static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& options, HttpHandler handler);

  virtual std::uint16_t port() const = 0;
  virtual bool tls() const = 0;
  // Graceful: stop accepting, let in-flight requests finish (up to `grace` for their responses to be
  // written), close connections, join. Past `grace` it still waits for every unanswered responder (as
  // it always waited for running handlers): a handler that never answers blocks stop. Requests read
  // after that point are not answered. Idempotent; also run by the destructor.
  virtual void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10'000)) = 0;
};

// A Spring-shaped JSON error for framework-level failures (404, 413, 400 parse errors, 401/403):
// {"timestamp":…,"status":N,"error":"Reason","message":…,"path":…}.
HttpResponse spring_error(unsigned status, std::string_view message, std::string_view path, unsigned version,
                          bool keep_alive);

}  // namespace stsvend::api
