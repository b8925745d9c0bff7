// A small HTTP/1.1 server on Boost.Beast: N I/O threads, keep-alive, responses in request order,
// body/header limits, timeouts, optional TLS. Handlers block (they call the Service), so each request
// runs on a worker pool and its response is posted back to the connection's strand.
// See docs/api.md ("Transport").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/beast/http.hpp>

#include "stsvend/result.h"

namespace stsvend::api {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  // 0: an ephemeral port (see HttpServer::port())
  unsigned io_threads = 0;    // 0: std::thread::hardware_concurrency()
  unsigned worker_threads = 64;
  std::size_t body_limit = 1 << 20;   // larger bodies → 413
  std::size_t header_limit = 16 << 10;
  // Waiting for (and reading) the next request's header on a kept-alive connection.
  std::chrono::milliseconds idle_timeout{60'000};
  // Reading a request body once its header has arrived, and writing a response.
  std::chrono::milliseconds read_timeout{30'000};
  std::optional<std::string> tls_cert_file;  // PEM chain; TLS only when both are set
  std::optional<std::string> tls_key_file;   // PEM private key
};

// Runs on a worker thread; may block. Must not throw (a throw is caught, logged and answered 500).
using HttpHandler = std::function<HttpResponse(HttpRequest& request, const std::string& remote)>;

class HttpServer {
 public:
  virtual ~HttpServer() = default;
  // Binds and starts the threads; returns once the socket is listening.
  static Result<std::unique_ptr<HttpServer>> start(const HttpServerOptions& options, HttpHandler handler);

  virtual std::uint16_t port() const = 0;
  virtual bool tls() const = 0;
  // Graceful: stop accepting, let in-flight requests finish (up to `grace`), close connections, join.
  // Idempotent; also run by the destructor.
  virtual void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(10'000)) = 0;
};

// A Spring-shaped JSON error for framework-level failures (404, 413, 400 parse errors, 401/403):
// {"timestamp":…,"status":N,"error":"Reason","message":…,"path":…}.
HttpResponse spring_error(unsigned status, std::string_view message, std::string_view path, unsigned version,
                          bool keep_alive);

}  // namespace stsvend::api
