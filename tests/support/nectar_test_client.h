// A small signing client for the integration tests and the API fuzzer: NECTAR-V1 §2 exactly
// (Content-MD5 uppercase, string to sign, HMAC-SHA256 → hex → base64), with switches for every SDK
// variant and for each way a request can be wrong.
#pragma once

#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "api/nectar_signature.h"

namespace stsvend::testing {

struct Creds {
  std::string key;
  std::string secret;
};

struct CallOptions {
  std::string scheme = "nectar";
  bool java_form = false;              // strip leading zero nibbles (J21/J24)
  std::optional<std::string> date;     // default: Java Date.toString() of now, UTC
  std::optional<std::string> nonce;    // default: 32 random hex digits
  std::string content_type = "application/json";
  std::optional<std::string> content_md5;  // override the header (the signature uses it as sent)
  std::optional<std::string> signature;    // override the signature
  std::optional<std::string> signed_path;  // sign a different path than the one requested
  std::vector<std::pair<std::string, std::string>> headers;
  std::set<std::string> omit;  // header names not to send
};

struct Response {
  unsigned status = 0;
  std::string body;
  boost::json::value json;
  std::map<std::string, std::string> headers;
  // status.code of a Nectar envelope (0 when the body is not one).
  long long code() const {
    if (!json.is_object()) return 0;
    const auto* s = json.as_object().if_contains("status");
    if (s == nullptr || !s->is_object()) return 0;
    return s->as_object().at("code").to_number<long long>();
  }
  std::string message() const {
    if (!json.is_object()) return "";
    const auto& o = json.as_object();
    if (const auto* s = o.if_contains("status"); s != nullptr && s->is_object()) {
      return std::string(s->as_object().at("message").as_string());
    }
    if (const auto* m = o.if_contains("message")) return std::string(m->as_string());
    return "";
  }
  std::string field() const {
    if (!json.is_object()) return "";
    const auto* s = json.as_object().if_contains("status");
    if (s == nullptr || !s->is_object()) return "";
    const auto* f = s->as_object().if_contains("field");
    return f == nullptr ? "" : std::string(f->as_string());
  }
  const boost::json::value& data() const { return json.as_object().at("data").as_object().at("data"); }
};

inline std::string java_date_now(long long offset_seconds = 0) {
  const std::time_t t = std::time(nullptr) + offset_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%a %b %d %H:%M:%S UTC %Y", &tm);
  return buf;
}

inline std::string random_nonce() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

class NectarClient {
 public:
  explicit NectarClient(unsigned short port) : port_(port) {}

  Response call(const std::string& method, const std::string& target, const std::string& body,
                const std::optional<Creds>& creds, const CallOptions& o = {}) const {
    auto req = build(method, target, body, creds, o);
    return send(req);
  }

  // The signed request call() would send.
  static boost::beast::http::request<boost::beast::http::string_body> build(const std::string& method,
                                                                            const std::string& target,
                                                                            const std::string& body,
                                                                            const std::optional<Creds>& creds,
                                                                            const CallOptions& o = {}) {
    namespace http = boost::beast::http;
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.body() = body;
    if (creds) {
      const std::string path = target.substr(0, target.find('?'));
      const std::string md5 = o.content_md5.value_or(api::content_md5_hex(body));
      const std::string date = o.date.value_or(java_date_now());
      const std::string nonce = o.nonce.value_or(random_nonce());
      const std::string sts = api::string_to_sign(method, o.signed_path.value_or(path), md5, o.content_type, date, nonce);
      const auto* s = reinterpret_cast<const std::uint8_t*>(creds->secret.data());
      const std::string sig =
          o.signature.value_or(api::signature_for({s, creds->secret.size()}, sts, o.java_form));
      const std::pair<std::string, std::string> hs[] = {{"Authorization", o.scheme + " " + creds->key + ":" + sig},
                                                        {"Content-Type", o.content_type},
                                                        {"Content-MD5", md5},
                                                        {"Date", date},
                                                        {"nonce", nonce},
                                                        {"User-Agent", "nectar-java-sdk"}};
      for (const auto& [k, v] : hs) {
        if (o.omit.count(k) == 0) req.set(k, v);
      }
    }
    for (const auto& [k, v] : o.headers) req.set(k, v);
    req.prepare_payload();
    return req;
  }

  static Response parse(const boost::beast::http::response<boost::beast::http::string_body>& res) {
    Response out;
    out.status = res.result_int();
    out.body = res.body();
    for (const auto& f : res) out.headers[std::string(f.name_string())] = std::string(f.value());
    boost::system::error_code ec;
    out.json = boost::json::parse(out.body, ec);
    if (ec) out.json = nullptr;
    return out;
  }

  Response send(boost::beast::http::request<boost::beast::http::string_body>& req) const {
    namespace http = boost::beast::http;
    boost::asio::io_context ioc;
    boost::beast::tcp_stream stream(ioc);
    stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port_));
    http::write(stream, req);
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    http::read(stream, buffer, parser);
    Response out = parse(parser.get());
    boost::system::error_code ec;
    stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    return out;
  }

  unsigned short port() const { return port_; }

 private:
  unsigned short port_;
};

}  // namespace stsvend::testing
