// Router, auth dispatch, metrics and the unauthenticated routes; handlers live in handlers_*.cc.
#include "api/nectar_api.h"

#include <chrono>
#include <cstdio>
#include <random>

#include "api/json_io.h"
#include "api/log.h"

namespace stsvend::api {

namespace http = boost::beast::http;

std::string random_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t a = rng();
  const std::uint64_t b = rng();
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0x0FFF),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3FFF)),
                static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
  return buf;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string* out) {
  out->clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      *out += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      *out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      *out += in[i];
    }
  }
  return true;
}

}  // namespace

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view piece = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = piece.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;  // "?", "?null": ignored
    std::string key;
    std::string value;
    if (!percent_decode(piece.substr(0, eq), &key) || !percent_decode(piece.substr(eq + 1), &value)) continue;
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

NectarApi::NectarApi(service::Service& service, ApiOptions options)
    : service_(service), options_(std::move(options)) {
  routes_ = {
      {"GET", "/health", "", &NectarApi::get_health},
      {"GET", "/metrics", "", &NectarApi::get_metrics},
      {"GET", "/v1/openapi.json", "", &NectarApi::get_openapi},
      {"GET", "/docs", "", &NectarApi::get_docs},
      {"GET", "/resources/nectar_public.pub", "", &NectarApi::get_server_public_key},
      {"POST", "/v1/tokens", "generate_token", &NectarApi::post_tokens},
      {"GET", "/v1/tokens", "get_token", &NectarApi::get_tokens},
      {"POST", "/v1/tokens/{}", "decode_token", &NectarApi::post_decode},
      {"GET", "/v1/users", "get_user", &NectarApi::get_user},
      {"POST", "/v1/users", "create_user", &NectarApi::post_user},
      {"PUT", "/v1/users", "update_user", &NectarApi::put_user},
      {"DELETE", "/v1/users", "delete_user", &NectarApi::delete_user},
      {"GET", "/v1/credentials", "get_credentials", &NectarApi::get_credential},
      {"POST", "/v1/credentials", "create_credentials", &NectarApi::post_credential},
      {"PUT", "/v1/credentials", "activate_credentials", &NectarApi::put_credential},
      {"DELETE", "/v1/credentials", "deactivate_credentials", &NectarApi::delete_credential},
      {"GET", "/v1/public_keys", "get_public_keys", &NectarApi::get_public_keys},
      {"POST", "/v1/public_keys", "create_public_keys", &NectarApi::post_public_key},
      {"PUT", "/v1/public_keys", "activate_public_keys", &NectarApi::put_public_key},
      {"DELETE", "/v1/public_keys", "deactivate_public_keys", &NectarApi::delete_public_key},
      {"GET", "/v1/configurations", "get_configurations", &NectarApi::get_configurations},
      {"POST", "/v1/configurations", "create_configurations", &NectarApi::post_configuration},
      {"PUT", "/v1/configurations", "activate_configurations", &NectarApi::put_configuration},
      {"DELETE", "/v1/configurations", "deactivate_configurations", &NectarApi::delete_configuration},
      {"GET", "/v1/credits", "get_credits", &NectarApi::get_credits},
      {"GET", "/v1/transactions", "get_transactions", &NectarApi::get_transactions},
      {"GET", "/v1/notifications", "get_notifications", &NectarApi::get_notifications},
      {"PUT", "/v1/notifications", "set_notifications_read_status", &NectarApi::put_notification},
      {"GET", "/v1/meters", "get_meters", &NectarApi::get_meters},
      {"POST", "/v1/meters", "create_meter", &NectarApi::post_meter},
  };
}

std::int64_t NectarApi::now_ms() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const NectarApi::Route* NectarApi::match(std::string_view method, std::string_view path, std::string* param,
                                         bool* path_known) const {
  *path_known = false;
  for (const auto& r : routes_) {
    bool ok = false;
    if (r.pattern.size() > 3 && r.pattern.substr(r.pattern.size() - 3) == "/{}") {
      const std::string_view prefix = r.pattern.substr(0, r.pattern.size() - 2);  // keeps the '/'
      if (path.size() > prefix.size() && path.substr(0, prefix.size()) == prefix &&
          path.find('/', prefix.size()) == std::string_view::npos) {
        ok = true;
        *param = std::string(path.substr(prefix.size()));
      }
    } else {
      ok = path == r.pattern;
    }
    if (!ok) continue;
    *path_known = true;
    if (r.method == method) return &r;
  }
  return nullptr;
}

std::string_view NectarApi::permission_for(const Route& route, const Ctx& ctx) const {
  // GET /v1/tokens lists a meter's tokens with ?meter= (stsvend's list_tokens), else it reprints one.
  if (route.fn == &NectarApi::get_tokens && ctx.q("ref") == nullptr && ctx.q("meter") != nullptr) {
    return "list_tokens";
  }
  return route.permission;
}

HttpResponse NectarApi::handle(HttpRequest& request, const std::string& remote) {
  const auto start = std::chrono::steady_clock::now();
  const std::string_view target(request.target().data(), request.target().size());
  const std::size_t qmark = target.find('?');
  Ctx ctx{request, std::string(target.substr(0, qmark)), {}, {}, random_request_id(), {}};
  if (qmark != std::string_view::npos) ctx.query = parse_query(target.substr(qmark + 1));

  const std::string method(request.method_string());
  bool path_known = false;
  const Route* route = match(method, ctx.path, &ctx.path_param, &path_known);
  std::string_view label = route ? route->pattern : std::string_view("unmatched");
  Reply reply;
  if (route == nullptr) {
    reply = path_known ? spring_reply(405, "Request method '" + method + "' is not supported", ctx.path)
                       : spring_reply(404, "No handler found for " + method + " " + ctx.path, ctx.path);
  } else {
    Status auth_status;
    if (!route->permission.empty()) {
      // A vend records its nonce inside its own transaction (one durable write per vend).
      const bool defer_nonce = route->fn == &NectarApi::post_tokens;
      auto caller =
          authenticate(service_, request, ctx.path, permission_for(*route, ctx), now_ms() / 1000, defer_nonce);
      if (caller.ok()) {
        ctx.caller = std::move(caller).value();
      } else {
        auth_status = std::move(caller).take_status();
      }
    }
    if (!auth_status.ok()) {
      if (auth_status.code() != Status::Code::kUnauthenticated &&
          auth_status.code() != Status::Code::kPermissionDenied) {
        // The auth store failed (e.g. database unavailable): not the client's fault.
        log_line(LogLevel::kError, "auth lookup failed: " + auth_status.message() + " " +
                                       std::string(auth_status.detail()));
        reply = error(ctx, auth_status);
      } else {
        log_line(LogLevel::kInfo, "auth rejected " + method + " " + ctx.path + " from " + remote + ": " +
                                      std::string(auth_status.rule()));
        reply = envelope_error(auth_status, ctx.request_id, ctx.path);
      }
    } else {
      reply = (this->*(route->fn))(ctx);
      if (!ctx.caller.pending_nonce.empty()) {
        // The handler answered without recording the nonce (an error before or inside the vend):
        // record it now, so not even a failed request can be replayed.
        Status s = service_.consume_nonce(ctx.caller.key, ctx.caller.pending_nonce);
        if (s.code() == Status::Code::kAlreadyExists) {
          reply = envelope_error(Status::Unauthenticated("nonce already used"), ctx.request_id, ctx.path);
        } else if (!s.ok()) {
          reply = error(ctx, s);
        }
      }
    }
  }

  HttpResponse res{static_cast<http::status>(reply.http_status), request.version()};
  res.set(http::field::content_type, reply.content_type);
  res.set(http::field::server, "stsvend");
  res.set("X-Request-Id", ctx.request_id);
  for (const auto& [name, value] : reply.headers) res.set(name, value);
  res.body() = std::move(reply.body);
  res.keep_alive(request.keep_alive());
  res.prepare_payload();

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.record_request(label, reply.http_status, seconds);
  if (reply.nectar_code != 0 && reply.nectar_code != 200) metrics_.record_nectar_error(reply.nectar_code);
  if (log_enabled(LogLevel::kDebug)) {
    log_line(LogLevel::kDebug, method + " " + ctx.path + " -> " + std::to_string(reply.http_status) + "/" +
                                   std::to_string(reply.nectar_code) + " request_id=" + ctx.request_id);
  }
  return res;
}

Reply NectarApi::error(const Ctx& c, const Status& s) {
  if (s.code() == Status::Code::kInternal || s.code() == Status::Code::kCorruption ||
      s.code() == Status::Code::kUnavailable) {
    log_line(LogLevel::kError, "request " + c.request_id + " " + c.path + " failed: " + s.message() + " " +
                                   std::string(s.detail()));
  }
  return envelope_error(s, c.request_id, c.path);
}

Reply NectarApi::missing_query(const Ctx& c, std::string_view name) {
  return spring_reply(400, "Required request parameter '" + std::string(name) + "' is not present", c.path);
}

Reply NectarApi::get_health(Ctx&) {
  return Reply{200, 0, "application/json", R"({"status":"UP"})", {}};
}

Reply NectarApi::get_metrics(Ctx&) {
  std::string text = metrics_.render();
  const service::StorageStats st = service_.storage_stats();
  text += "# HELP stsvend_store_batches_total Group commits (one COMMIT + fsync each).\n"
          "# TYPE stsvend_store_batches_total counter\n"
          "stsvend_store_batches_total " + std::to_string(st.batches) + "\n"
          "# HELP stsvend_store_jobs_total Write jobs committed (vends, nonces, ...).\n"
          "# TYPE stsvend_store_jobs_total counter\n"
          "stsvend_store_jobs_total " + std::to_string(st.jobs) + "\n"
          "# HELP stsvend_store_commit_seconds_total Time spent in COMMIT (WAL write + fsync).\n"
          "# TYPE stsvend_store_commit_seconds_total counter\n"
          "stsvend_store_commit_seconds_total " + std::to_string(static_cast<double>(st.commit_nanos) / 1e9) + "\n";
  return Reply{200, 0, "text/plain; version=0.0.4", std::move(text), {}};
}

Reply NectarApi::get_openapi(Ctx&) {
  return Reply{200, 0, "application/json", std::string(openapi_json()), {}};
}

Reply NectarApi::get_docs(Ctx&) {
  return Reply{200, 0, "text/html; charset=utf-8", std::string(docs_html()), {}};
}

Reply NectarApi::get_server_public_key(Ctx&) {
  return Reply{200, 0, "application/x-pem-file", service_.server_public_key_pem(), {}};
}

}  // namespace stsvend::api
