// Router, auth dispatch, metrics and the unauthenticated routes; handlers live in handlers_*.cc.
#include "api/nectar_api.h"

#include <cassert>
#include <chrono>
#include <cstdio>
#include <initializer_list>
#include <random>
#include <string_view>
#include <utility>

#include "api/json_io.h"
#include "api/log.h"

namespace stsvend::api {

namespace http = boost::beast::http;

std::string random_request_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const std::uint64_t a = rng();
  const std::uint64_t b = rng();
  // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx (y in 8..b), lowercase; written by hand, snprintf showed in
  // the request profile.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');
  const auto put = [&id](std::size_t at, std::uint64_t v, std::size_t digits) {
    for (std::size_t i = digits; i-- > 0; v >>= 4) id[at + i] = kHex[v & 0xF];
  };
  put(0, a >> 32, 8);
  put(9, (a >> 16) & 0xFFFF, 4);
  id[14] = '4';
  put(15, a & 0x0FFF, 3);
  put(19, 0x8000 | ((b >> 48) & 0x3FFF), 4);
  put(24, b & 0xFFFFFFFFFFFFull, 12);
  return id;
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
  constexpr Runs kIo = Runs::kIo;
  constexpr Runs kWorker = Runs::kWorker;
  routes_ = {
      {"GET", "/health", "", kIo, &NectarApi::get_health, nullptr},
      {"GET", "/metrics", "", kWorker, &NectarApi::get_metrics, nullptr},
      {"GET", "/v1/openapi.json", "", kIo, &NectarApi::get_openapi, nullptr},
      {"GET", "/docs", "", kIo, &NectarApi::get_docs, nullptr},
      {"GET", "/resources/nectar_public.pub", "", kIo, &NectarApi::get_server_public_key, nullptr},
      {"POST", "/v1/tokens", "generate_token", Runs::kAsync, nullptr, &NectarApi::post_tokens},
      {"GET", "/v1/tokens", "get_token", kWorker, &NectarApi::get_tokens, nullptr},
      {"POST", "/v1/tokens/{}", "decode_token", kWorker, &NectarApi::post_decode, nullptr},
      {"GET", "/v1/users", "get_user", kWorker, &NectarApi::get_user, nullptr},
      {"POST", "/v1/users", "create_user", kWorker, &NectarApi::post_user, nullptr},
      {"PUT", "/v1/users", "update_user", kWorker, &NectarApi::put_user, nullptr},
      {"DELETE", "/v1/users", "delete_user", kWorker, &NectarApi::delete_user, nullptr},
      {"GET", "/v1/credentials", "get_credentials", kWorker, &NectarApi::get_credential, nullptr},
      {"POST", "/v1/credentials", "create_credentials", kWorker, &NectarApi::post_credential, nullptr},
      {"PUT", "/v1/credentials", "activate_credentials", kWorker, &NectarApi::put_credential, nullptr},
      {"DELETE", "/v1/credentials", "deactivate_credentials", kWorker, &NectarApi::delete_credential, nullptr},
      {"GET", "/v1/public_keys", "get_public_keys", kWorker, &NectarApi::get_public_keys, nullptr},
      {"POST", "/v1/public_keys", "create_public_keys", kWorker, &NectarApi::post_public_key, nullptr},
      {"PUT", "/v1/public_keys", "activate_public_keys", kWorker, &NectarApi::put_public_key, nullptr},
      {"DELETE", "/v1/public_keys", "deactivate_public_keys", kWorker, &NectarApi::delete_public_key, nullptr},
      {"GET", "/v1/configurations", "get_configurations", kWorker, &NectarApi::get_configurations, nullptr},
      {"POST", "/v1/configurations", "create_configurations", kWorker, &NectarApi::post_configuration, nullptr},
      {"PUT", "/v1/configurations", "activate_configurations", kWorker, &NectarApi::put_configuration, nullptr},
      {"DELETE", "/v1/configurations", "deactivate_configurations", kWorker, &NectarApi::delete_configuration,
       nullptr},
      {"GET", "/v1/credits", "get_credits", kWorker, &NectarApi::get_credits, nullptr},
      {"GET", "/v1/transactions", "get_transactions", kWorker, &NectarApi::get_transactions, nullptr},
      {"GET", "/v1/notifications", "get_notifications", kWorker, &NectarApi::get_notifications, nullptr},
      {"PUT", "/v1/notifications", "set_notifications_read_status", kWorker, &NectarApi::put_notification,
       nullptr},
      {"GET", "/v1/meters", "get_meters", kWorker, &NectarApi::get_meters, nullptr},
      {"POST", "/v1/meters", "create_meter", kWorker, &NectarApi::post_meter, nullptr},
      // J24 extras (NECTAR-V1 §3.8); GET and POST /v1/meters above serve them too (see permission_for).
      {"GET", "/v1/meters/types", "get_meter_types", kWorker, &NectarApi::get_meter_types, nullptr},
      {"PUT", "/v1/meters", "update_meter", kWorker, &NectarApi::put_meter, nullptr},
      {"PUT", "/v1/meters/{}", "activate_meter", kWorker, &NectarApi::activate_meter, nullptr},
      {"DELETE", "/v1/meters/{}", "deactivate_meter", kWorker, &NectarApi::deactivate_meter, nullptr},
      {"GET", "/v1/subscribers", "get_subscriber", kWorker, &NectarApi::get_subscriber, nullptr},
      {"POST", "/v1/subscribers", "add_subscriber", kWorker, &NectarApi::post_subscriber, nullptr},
      {"PUT", "/v1/subscribers", "update_subscriber", kWorker, &NectarApi::put_subscriber, nullptr},
      {"PUT", "/v1/subscribers/{}", "activate_subscriber", kWorker, &NectarApi::activate_subscriber, nullptr},
      {"DELETE", "/v1/subscribers/{}", "deactivate_subscriber", kWorker, &NectarApi::deactivate_subscriber,
       nullptr},
      {"GET", "/v1/utilities", "get_utilities", kWorker, &NectarApi::get_utilities, nullptr},
      {"GET", "/v1/utilities/{}/meters", "get_utility_meters", kWorker, &NectarApi::get_utility_meters, nullptr},
      {"POST", "/v1/utilities", "create_utility", kWorker, &NectarApi::post_utility, nullptr},
      {"PUT", "/v1/utilities", "update_utility", kWorker, &NectarApi::put_utility, nullptr},
      // J24 (and GW) use activate_utility for both directions.
      {"PUT", "/v1/utilities/{}", "activate_utility", kWorker, &NectarApi::activate_utility, nullptr},
      {"DELETE", "/v1/utilities/{}", "activate_utility", kWorker, &NectarApi::deactivate_utility, nullptr},
  };
  for ([[maybe_unused]] const auto& r : routes_) {
    assert((r.runs == Runs::kAsync) == (r.async_fn != nullptr) && (r.fn == nullptr) == (r.async_fn != nullptr));
    // Authentication may consume a nonce (a durable write): only the async route defers it.
    assert(r.runs != Runs::kIo || r.permission.empty());
  }
}

std::int64_t NectarApi::now_ms() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool match_path(std::string_view pattern, std::string_view path, std::string* param) {
  if (pattern.find("{}") == std::string_view::npos) return path == pattern;
  std::string_view captured;
  std::size_t i = 0;  // start of the current segment in pattern
  std::size_t j = 0;  // ... and in path
  for (;;) {
    const std::size_t pe = pattern.find('/', i);
    const std::size_t qe = path.find('/', j);
    const std::string_view ps = pattern.substr(i, pe == std::string_view::npos ? std::string_view::npos : pe - i);
    const std::string_view qs = path.substr(j, qe == std::string_view::npos ? std::string_view::npos : qe - j);
    if (ps == "{}") {
      if (qs.empty()) return false;
      captured = qs;
    } else if (ps != qs) {
      return false;
    }
    if ((pe == std::string_view::npos) != (qe == std::string_view::npos)) return false;  // segment counts differ
    if (pe == std::string_view::npos) break;
    i = pe + 1;
    j = qe + 1;
  }
  if (param != nullptr) *param = std::string(captured);
  return true;
}

const NectarApi::Route* NectarApi::match(std::string_view method, std::string_view path, bool* path_known) const {
  *path_known = false;
  for (const auto& r : routes_) {
    if (!match_path(r.pattern, path, nullptr)) continue;
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
  // GET /v1/meters?ref= reads one J24 meter (the registry answers ?drn= and the list).
  if (route.fn == &NectarApi::get_meters && ctx.q("ref") != nullptr) return "get_meter";
  // GET /v1/utilities?utility_ref= reads one utility; without it the caller's are listed.
  if (route.fn == &NectarApi::get_utilities && ctx.q("utility_ref") != nullptr) return "get_utility";
  return route.permission;
}

NectarApi::Ctx NectarApi::make_ctx(RequestInfo info, const HttpRequest& request, const Route& route) const {
  const std::string_view target(request.target().data(), request.target().size());
  const std::size_t qmark = target.find('?');
  Ctx ctx(std::move(info), request);
  if (qmark != std::string_view::npos) ctx.query = parse_query(target.substr(qmark + 1));
  match_path(route.pattern, ctx.path, &ctx.path_param);
  return ctx;
}

void NectarApi::handle(HttpRequest& request, const std::string& remote, Responder responder) {
  RequestInfo info;
  info.start = std::chrono::steady_clock::now();
  const std::string_view target(request.target().data(), request.target().size());
  info.path = std::string(target.substr(0, target.find('?')));
  info.request_id = random_request_id();
  const std::string_view method(request.method_string().data(), request.method_string().size());
  bool path_known = false;
  const Route* route = match(method, info.path, &path_known);
  if (route == nullptr) {
    info.label = "unmatched";
    info.method = method;
    const std::string m(method);
    Reply reply = path_known ? spring_reply(405, "Request method '" + m + "' is not supported", info.path)
                             : spring_reply(404, "No handler found for " + m + " " + info.path, info.path);
    finish(std::move(responder), info, std::move(reply));
    return;
  }
  info.label = route->pattern;
  info.method = route->method;
  switch (route->runs) {
    case Runs::kWorker:
      std::move(responder).run_blocking(
          [this, &request, &remote, route, info = std::move(info)](Responder r) mutable {
            serve_sync(request, remote, *route, std::move(info), std::move(r));
          });
      return;
    case Runs::kIo:
      serve_sync(request, remote, *route, std::move(info), std::move(responder));
      return;
    case Runs::kAsync: {
      Ctx ctx = make_ctx(std::move(info), request, *route);
      if (std::optional<Reply> rejected = authenticate_ctx(ctx, *route, remote)) {
        finish(std::move(responder), ctx, std::move(*rejected));
        return;
      }
      (this->*(route->async_fn))(ctx, std::move(responder));
      return;
    }
  }
}

std::optional<Reply> NectarApi::authenticate_ctx(Ctx& ctx, const Route& route, const std::string& remote) {
  if (route.permission.empty()) return std::nullopt;
  // An async vend records its nonce inside its own transaction (one durable write per vend), and the
  // I/O thread it authenticates on must not wait for a nonce write anyway.
  const bool defer_nonce = route.runs == Runs::kAsync;
  auto caller = authenticate(service_, ctx.req, ctx.path, permission_for(route, ctx), now_ms() / 1000, defer_nonce);
  if (caller.ok()) {
    ctx.caller = std::move(caller).value();
    return std::nullopt;
  }
  const Status& s = caller.status();
  if (s.code() != Status::Code::kUnauthenticated && s.code() != Status::Code::kPermissionDenied) {
    // The auth store failed (e.g. database unavailable): not the client's fault.
    log_line(LogLevel::kError, "auth lookup failed: " + s.message() + " " + std::string(s.detail()));
    return error(ctx, s);
  }
  log_line(LogLevel::kInfo, "auth rejected " + std::string(ctx.method) + " " + ctx.path + " from " + remote + ": " +
                                std::string(s.rule()));
  return envelope_error(s, ctx.request_id, ctx.path);
}

void NectarApi::serve_sync(const HttpRequest& request, const std::string& remote, const Route& route,
                           RequestInfo info, Responder responder) {
  Ctx ctx = make_ctx(std::move(info), request, route);
  std::optional<Reply> reply = authenticate_ctx(ctx, route, remote);
  if (!reply) {
    reply = (this->*(route.fn))(ctx);
    // Synchronous routes never defer the nonce (authenticate consumed it).
    assert(ctx.caller.pending_nonce.empty());
  }
  finish(std::move(responder), ctx, std::move(*reply));
}

void NectarApi::finish(Responder responder, const RequestInfo& info, Reply reply) {
  HttpResponse res{static_cast<http::status>(reply.http_status), 11};
  res.set(http::field::content_type, reply.content_type);
  res.set(http::field::server, "stsvend");
  res.set("X-Request-Id", info.request_id);
  for (const auto& [name, value] : reply.headers) res.set(name, value);
  res.body() = std::move(reply.body);

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - info.start).count();
  metrics_.record_request(info.label, reply.http_status, seconds);
  if (reply.nectar_code != 0 && reply.nectar_code != 200) metrics_.record_nectar_error(reply.nectar_code);
  if (log_enabled(LogLevel::kDebug)) {
    log_line(LogLevel::kDebug, std::string(info.method) + " " + info.path + " -> " +
                                   std::to_string(reply.http_status) + "/" + std::to_string(reply.nectar_code) +
                                   " request_id=" + info.request_id);
  }
  std::move(responder).send(std::move(res));
}

struct NectarApi::PendingNonce : Pending {
  Reply reply;
  std::optional<Status> status;  // consume_nonce_async's answer
};

void NectarApi::answer_burning_nonce(Ctx& c, Responder responder, Reply reply) {
  if (c.caller.pending_nonce.empty()) {
    finish(std::move(responder), c, std::move(reply));
    return;
  }
  auto p = std::make_shared<PendingNonce>();
  p->api = this;
  p->responder = std::move(responder);
  p->info = std::move(static_cast<RequestInfo&>(c));
  p->io_thread = std::this_thread::get_id();
  p->reply = std::move(reply);
  // `done` may run inline, before this call returns: nothing after it may touch `c`.
  const std::int64_t dated = c.caller.nonce_dated;
  service_.consume_nonce_async(std::move(c.caller.key), std::move(c.caller.pending_nonce), dated, [p](Status s) {
    p->status = std::move(s);
    resume_on_io(p, &NectarApi::finish_nonce);
  });
}

void NectarApi::finish_nonce(PendingNonce& p) {
  const Status& s = *p.status;
  if (s.code() == Status::Code::kAlreadyExists) {
    p.reply = envelope_error(Status::Unauthenticated("nonce already used"), p.info.request_id, p.info.path);
  } else if (!s.ok()) {
    p.reply = error(p.info, s);
  }
  finish(std::move(p.responder), p.info, std::move(p.reply));
}

Reply NectarApi::error(const RequestInfo& c, const Status& s) {
  if (s.code() == Status::Code::kInternal || s.code() == Status::Code::kCorruption ||
      s.code() == Status::Code::kUnavailable) {
    log_line(LogLevel::kError, "request " + c.request_id + " " + c.path + " failed: " + s.message() + " " +
                                   std::string(s.detail()));
  }
  return envelope_error(s, c.request_id, c.path);
}

Reply NectarApi::missing_query(const RequestInfo& c, std::string_view name) {
  return spring_reply(400, "Required request parameter '" + std::string(name) + "' is not present", c.path);
}

Reply NectarApi::get_health(Ctx&) {
  return Reply{200, 0, "application/json", R"({"status":"UP"})", {}};
}

Reply NectarApi::get_metrics(Ctx&) {
  std::string text = metrics_.render();
  const service::StorageStats st = service_.storage_stats();
  const auto seconds = [](std::uint64_t nanos) { return std::to_string(static_cast<double>(nanos) / 1e9); };
  // One family: its HELP and TYPE lines, then one sample per {labels, value}.
  const auto family = [&text](std::string_view name, std::string_view type, std::string_view help,
                              std::initializer_list<std::pair<std::string_view, std::string>> samples) {
    text.append("# HELP ").append(name).append(" ").append(help).append("\n");
    text.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    for (const auto& [labels, value] : samples) text.append(name).append(labels).append(" ").append(value).append("\n");
  };
  // Group commit and checkpoints: docs/storage.md.
  family("stsvend_store_batches_total", "counter", "Group commits (one COMMIT each; WAL fsyncs are counted apart).",
         {{"", std::to_string(st.batches)}});
  family("stsvend_store_jobs_total", "counter", "Write jobs committed (vends, nonces, ...).",
         {{"", std::to_string(st.jobs)}});
  family("stsvend_store_batch_seconds_total", "counter", "Writer time in group commits (jobs + COMMIT).",
         {{"", seconds(st.batch_nanos)}});
  family("stsvend_store_batch_seconds_max", "gauge", "Longest single group commit since start.",
         {{"", seconds(st.max_batch_nanos)}});
  family("stsvend_store_commit_seconds_total", "counter", "Time spent in COMMIT (WAL append; no fsync, no checkpoint).",
         {{"", seconds(st.commit_nanos)}});
  family("stsvend_store_syncs_total", "counter", "WAL fsyncs, each making every group commit before it durable.",
         {{"", std::to_string(st.syncs)}});
  family("stsvend_store_sync_seconds_total", "counter", "Time in WAL fsyncs (overlaps the next group commits).",
         {{"", seconds(st.sync_nanos)}});
  family("stsvend_store_sync_seconds_max", "gauge", "Longest single WAL fsync since start.",
         {{"", seconds(st.max_sync_nanos)}});
  family("stsvend_store_checkpoints_total", "counter",
         "WAL checkpoints: on their own thread (background), or by the writer between group commits (catch-up, forced).",
         {{"{thread=\"background\"}", std::to_string(st.checkpoints)},
          {"{thread=\"writer\"}", std::to_string(st.writer_checkpoints)}});
  family("stsvend_store_checkpoint_seconds_total", "counter",
         "Time in WAL checkpoints; the writer's delay its next group commit.",
         {{"{thread=\"background\"}", seconds(st.checkpoint_nanos)},
          {"{thread=\"writer\"}", seconds(st.writer_checkpoint_nanos)}});
  // Replay protection: docs/storage.md.
  family("stsvend_nonces_remembered", "gauge", "Nonces held in memory for replay protection (the last TTL's).",
         {{"", std::to_string(st.nonces_remembered)}});
  family("stsvend_nonce_index_bytes", "gauge", "Memory of the table holding them.",
         {{"", std::to_string(st.nonce_index_bytes)}});
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
