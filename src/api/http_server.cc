// Boost.Beast HTTP/1.1 server; see http_server.h for the contract and docs/api.md ("Transport").
#include "api/http_server.h"

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <exception>
#include <future>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
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

namespace {

class ServerImpl;

// One connection. Requests are read one at a time; the next read starts only after the previous
// response is written, so pipelined requests (left in buffer_) are answered strictly in order.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream stream, ServerImpl& server, std::string remote)
      : stream_(std::move(stream)), server_(server), remote_(std::move(remote)) {}

  void run();

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  beast::tcp_stream& tcp() {
    if constexpr (kTls) {
      return stream_.next_layer();
    } else {
      return stream_;
    }
  }

  void do_read();
  void on_header(beast::error_code ec);
  void read_body();
  void on_read(beast::error_code ec);
  void send(HttpResponse res, bool close_after);
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
  std::shared_ptr<HttpResponse> res_;
  bool error_close_ = false;
};

class ServerImpl final : public HttpServer {
 public:
  ServerImpl(const HttpServerOptions& options, HttpHandler handler)
      : options_(options),
        handler_(std::move(handler)),
        ioc_(static_cast<int>(io_thread_count())),
        acceptor_(asio::make_strand(ioc_)),
        workers_(options.worker_threads == 0 ? 1 : options.worker_threads) {}

  ~ServerImpl() override { stop(std::chrono::milliseconds(2'000)); }

  Status listen() {
    beast::error_code ec;
    const auto address = asio::ip::make_address(options_.host, ec);
    if (ec) return Status::InvalidArgument("listen", "host must be an IP address");
    const tcp::endpoint endpoint{address, options_.port};
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
      if (ec) return Status::InvalidArgument("tls-cert", "cannot load certificate chain: " + ec.message());
      tls_ctx_->use_private_key_file(*options_.tls_key_file, ssl::context::pem, ec);
      if (ec) return Status::InvalidArgument("tls-key", "cannot load private key: " + ec.message());
    }
    do_accept();
    const unsigned n = io_thread_count();
    threads_.reserve(n);
    for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { ioc_.run(); });
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
      closed.set_value();
    });
    if (!threads_.empty()) closed.get_future().wait_for(std::chrono::seconds(5));
    {
      std::unique_lock<std::mutex> lock(inflight_mu_);
      inflight_cv_.wait_for(lock, grace, [this] { return inflight_ == 0; });
    }
    workers_.join();
    ioc_.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    stopped_ = true;
  }

  // --- used by sessions
  const HttpServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(); }
  asio::thread_pool& workers() { return workers_; }
  void begin_request() {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    ++inflight_;
  }
  void end_request() {
    std::lock_guard<std::mutex> lock(inflight_mu_);
    if (--inflight_ == 0) inflight_cv_.notify_all();
  }

  HttpResponse call_handler(HttpRequest& req, const std::string& remote) {
    // The one last-resort catch per request: reaching it is a bug; the client gets a 500 envelope.
    try {
      return handler_(req, remote);
    } catch (const std::exception& e) {
      log_line(LogLevel::kError, std::string("unhandled exception in handler for ") + std::string(req.target()) +
                                     ": " + e.what());
    } catch (...) {
      log_line(LogLevel::kError, "unhandled non-standard exception in handler for " + std::string(req.target()));
    }
    boost::json::object status;
    status["code"] = 500;
    status["message"] = "Internal server error";
    boost::json::object body;
    body["status"] = std::move(status);
    HttpResponse res{http::status::ok, req.version()};
    res.set(http::field::content_type, "application/json");
    res.body() = write_json(body);
    return res;
  }

 private:
  unsigned io_thread_count() const {
    if (options_.io_threads > 0) return options_.io_threads;
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : hw;
  }

  void do_accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
        log_line(LogLevel::kWarn, "accept failed: " + ec.message());
      } else if (!stopping_.load()) {
        start_session(std::move(socket));
      }
      if (acceptor_.is_open()) do_accept();
    });
  }

  void start_session(tcp::socket socket) {
    beast::error_code ec;
    std::string remote;
    const auto ep = socket.remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    socket.set_option(tcp::no_delay(true), ec);
    if (tls_ctx_) {
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls_ctx_), *this,
          std::move(remote))
          ->run();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), *this, std::move(remote))
          ->run();
    }
  }

  HttpServerOptions options_;
  HttpHandler handler_;
  asio::io_context ioc_;  // declared before everything that holds handlers into it
  tcp::acceptor acceptor_;
  std::optional<ssl::context> tls_ctx_;
  asio::thread_pool workers_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex stop_mu_;
  bool stopped_ = false;
  std::mutex inflight_mu_;
  std::condition_variable inflight_cv_;
  std::size_t inflight_ = 0;
};

template <typename Stream>
void Session<Stream>::run() {
  // Start on the connection's strand.
  asio::dispatch(tcp().get_executor(), [self = this->shared_from_this()] {
    if constexpr (kTls) {
      self->tcp().expires_after(self->server_.options().read_timeout);
      self->stream_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
        if (ec) return;  // bad handshakes are routine (scanners); nothing to log at info
        self->do_read();
      });
    } else {
      self->do_read();
    }
  });
}

template <typename Stream>
void Session<Stream>::do_read() {
  parser_.emplace();
  parser_->body_limit(server_.options().body_limit);
  parser_->header_limit(static_cast<std::uint32_t>(server_.options().header_limit));
  tcp().expires_after(server_.options().idle_timeout);
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                            self->on_header(ec);
                          });
}

template <typename Stream>
void Session<Stream>::on_header(beast::error_code ec) {
  if (ec) {
    on_read(ec);
    return;
  }
  // Early 413: the declared length already exceeds the limit; answer without reading the body.
  if (const auto len = parser_->content_length(); len && *len > server_.options().body_limit) {
    on_read(http::error::body_limit);
    return;
  }
  // curl sends `Expect: 100-continue` for bodies over 1 KiB and waits a second unless told to go on.
  if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
    auto cont = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
    tcp().expires_after(server_.options().read_timeout);
    http::async_write(stream_, *cont, [self = this->shared_from_this(), cont](beast::error_code e, std::size_t) {
      if (e) {
        self->do_close();
        return;
      }
      self->read_body();
    });
    return;
  }
  read_body();
}

template <typename Stream>
void Session<Stream>::read_body() {
  tcp().expires_after(server_.options().read_timeout);
  http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code e, std::size_t) {
    self->on_read(e);
  });
}

template <typename Stream>
void Session<Stream>::on_read(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
    do_close();
    return;
  }
  if (ec) {
    error_close_ = true;
    const unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    const std::string path = parser_ && parser_->is_header_done() ? std::string(parser_->get().target()) : "";
    if (ec == http::error::body_limit) {
      send(spring_error(413, "request body exceeds " + std::to_string(server_.options().body_limit) + " bytes",
                        path.substr(0, path.find('?')), version, false),
           true);
    } else if (ec == http::error::header_limit) {
      send(spring_error(431, "request header fields too large", "", version, false), true);
    } else {
      send(spring_error(400, "malformed HTTP request", "", version, false), true);
    }
    return;
  }
  auto req = std::make_shared<HttpRequest>(parser_->release());
  server_.begin_request();
  asio::post(server_.workers(), [self = this->shared_from_this(), req] {
    HttpResponse res = self->server_.call_handler(*req, self->remote_);
    const bool keep = req->keep_alive() && !self->server_.stopping();
    res.version(req->version());
    res.keep_alive(keep);
    res.prepare_payload();
    asio::post(self->tcp().get_executor(), [self, r = std::move(res), keep]() mutable {
      self->send(std::move(r), !keep);
      self->server_.end_request();
    });
  });
}

template <typename Stream>
void Session<Stream>::send(HttpResponse res, bool close_after) {
  res_ = std::make_shared<HttpResponse>(std::move(res));
  tcp().expires_after(server_.options().read_timeout);
  http::async_write(stream_, *res_, [self = this->shared_from_this(), close_after](beast::error_code ec, std::size_t) {
    self->on_write(close_after, ec);
  });
}

template <typename Stream>
void Session<Stream>::on_write(bool close, beast::error_code ec) {
  res_.reset();
  if (!ec && error_close_) {
    lingering_close();
    return;
  }
  if (ec || close || server_.stopping()) {
    do_close();
    return;
  }
  do_read();
}

template <typename Stream>
void Session<Stream>::lingering_close() {
  beast::error_code ec;
  if constexpr (kTls) {
    do_close();
  } else {
    tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    tcp().expires_after(std::chrono::seconds(5));
    buffer_.clear();
    drain(8u << 20);
  }
}

template <typename Stream>
void Session<Stream>::drain(std::size_t budget) {
  auto buf = buffer_.prepare(64 << 10);
  tcp().async_read_some(buf, [self = this->shared_from_this(), budget](beast::error_code ec, std::size_t n) {
    if (ec || n >= budget) return;  // EOF, timeout or enough: the session ends and the socket closes
    self->drain(budget - n);
  });
}

template <typename Stream>
void Session<Stream>::do_close() {
  beast::error_code ec;
  if constexpr (kTls) {
    tcp().expires_after(std::chrono::seconds(2));
    stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
      beast::error_code e;
      self->tcp().socket().shutdown(tcp::socket::shutdown_both, e);
    });
  } else {
    tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
  }
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& options, HttpHandler handler) {
  auto server = std::make_unique<ServerImpl>(options, std::move(handler));
  STSVEND_RETURN_IF_ERROR(server->listen());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace stsvend::api
