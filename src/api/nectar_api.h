// The Nectar v1 API (plus stsvend extras) over a service::Service: routing, authentication,
// handlers, metrics. Transport-agnostic: HttpServer calls handle() on a connection's I/O thread, where
// the cheap routes are answered at once, POST /v1/tokens is authenticated and handed to
// Service::vend_async, and every other route moves to the worker pool because the service blocks.
// Wire contract: NECTAR-V1.md; what we chose where it leaves room: docs/api.md ("Transport").
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "api/authenticator.h"
#include "api/envelope.h"
#include "api/http_server.h"
#include "api/metrics.h"
#include "service/service.h"

namespace stsvend::api {

struct ApiOptions {
  std::function<std::int64_t()> now_ms;  // empty: the system clock (Unix milliseconds)
};

class NectarApi {
 public:
  NectarApi(service::Service& service, ApiOptions options = {});

  // The HttpHandler: called on the connection's I/O thread and never blocks it (see the file comment);
  // answers through `responder`, possibly later and from another thread. `request` and `remote` must
  // stay valid until then (HttpServer guarantees it). Thread-safe. Never throws for bad input (errors
  // are replies). REQUIRES: this and the service outlive every answer: stop the server (which waits
  // for all of them) before destroying either.
  void handle(HttpRequest& request, const std::string& remote, Responder responder);

  Metrics& metrics() { return metrics_; }

  // What answering needs once the request itself may be gone (an asynchronous vend outlives it).
  struct RequestInfo {
    std::chrono::steady_clock::time_point start;  // when handle() was called
    std::string_view label;                       // metrics: the route template, or "unmatched"
    std::string_view method;                      // a matched route's (static), else the request's
    std::string path;                             // raw path, no query
    std::string request_id;
  };

  // Per-request state handed to a handler.
  struct Ctx : RequestInfo {
    Ctx(RequestInfo info, const HttpRequest& request) : RequestInfo(std::move(info)), req(request) {}
    const HttpRequest& req;
    std::map<std::string, std::string> query;  // percent-decoded; malformed pieces ignored
    std::string path_param;                    // the "{}" segment ({token_no}, a J24 {ref})
    Caller caller;
    const std::string* q(const std::string& name) const {
      const auto it = query.find(name);
      return it == query.end() ? nullptr : &it->second;
    }
  };

 private:
  using Fn = Reply (NectarApi::*)(Ctx&);
  // A route answered asynchronously: on the I/O thread, must not block, answers through the responder.
  using AsyncFn = void (NectarApi::*)(Ctx&, Responder);
  // Where a route's handler runs: kIo only for what never blocks (no service call that may wait on
  // SQLite or the writer); kWorker for everything else; kAsync handlers start a non-blocking service
  // call and answer from its completion.
  enum class Runs { kWorker, kIo, kAsync };
  struct Route {
    std::string_view method;
    std::string_view pattern;  // exact path, or with one "{}" segment (see match_path)
    std::string_view permission;  // empty: unauthenticated
    Runs runs;
    Fn fn;                // kWorker, kIo
    AsyncFn async_fn;     // kAsync
  };
  // A request whose answer waits on a service completion (which may run on the storage writer thread).
  struct Pending {
    NectarApi* api;
    Responder responder;
    RequestInfo info;
    std::thread::id io_thread;  // where handle() ran: a completion running there ran inline
  };
  struct PendingVend;
  struct PendingNonce;

  std::int64_t now_ms() const;
  const Route* match(std::string_view method, std::string_view path, bool* path_known) const;
  std::string_view permission_for(const Route& route, const Ctx& ctx) const;
  // Builds the request's context (query, path parameter) for `route`.
  Ctx make_ctx(RequestInfo info, const HttpRequest& request, const Route& route) const;
  // Authenticates, runs the route and answers; on a worker thread for kWorker routes.
  void serve_sync(const HttpRequest& request, const std::string& remote, const Route& route, RequestInfo info,
                  Responder responder);
  // Authentication for the route; an error reply when it fails.
  std::optional<Reply> authenticate_ctx(Ctx& ctx, const Route& route, const std::string& remote);
  // Turns `reply` into the HTTP response, records the request's metrics, answers. Call it last: the
  // request may be gone once it returns.
  void finish(Responder responder, const RequestInfo& info, Reply reply);
  // Answers `reply` after recording the deferred nonce of an async route that failed before its service
  // call (so not even a rejected request can be replayed); a replayed nonce turns it into the 401.
  void answer_burning_nonce(Ctx& c, Responder responder, Reply reply);
  void finish_nonce(PendingNonce& p);
  void finish_vend(PendingVend& p);
  // Continues `p` on its connection's I/O thread: inline when the completion runs there already (it
  // ran before the service call returned), else posted to the connection's strand.
  // Pending state is shared with the completion the service holds: should the service drop it
  // uncalled (or throw), the state dies with it and its Responder answers 500 instead of hanging.
  template <typename P>
  static void resume_on_io(const std::shared_ptr<P>& p, void (NectarApi::*then)(P&)) noexcept;

  // Public routes.
  Reply get_health(Ctx& c);
  Reply get_metrics(Ctx& c);
  Reply get_openapi(Ctx& c);
  Reply get_docs(Ctx& c);
  Reply get_server_public_key(Ctx& c);
  // Tokens.
  void post_tokens(Ctx& c, Responder responder);
  Reply get_tokens(Ctx& c);
  Reply post_decode(Ctx& c);
  // Users, credentials, public keys, configurations, credits, notifications, meters.
  Reply get_user(Ctx& c);
  Reply post_user(Ctx& c);
  Reply put_user(Ctx& c);
  Reply delete_user(Ctx& c);
  Reply get_credential(Ctx& c);
  Reply post_credential(Ctx& c);
  Reply put_credential(Ctx& c);
  Reply delete_credential(Ctx& c);
  Reply get_public_keys(Ctx& c);
  Reply post_public_key(Ctx& c);
  Reply put_public_key(Ctx& c);
  Reply delete_public_key(Ctx& c);
  Reply get_configurations(Ctx& c);
  Reply post_configuration(Ctx& c);
  Reply put_configuration(Ctx& c);
  Reply delete_configuration(Ctx& c);
  Reply get_credits(Ctx& c);
  Reply get_transactions(Ctx& c);
  Reply get_notifications(Ctx& c);
  Reply put_notification(Ctx& c);
  Reply get_meters(Ctx& c);
  Reply post_meter(Ctx& c);
  // J24 extras (handlers_oss.cc): meters (beside the registry on /v1/meters), subscribers, utilities.
  Reply get_oss_meter(Ctx& c, const std::string& ref);
  Reply post_oss_meter(Ctx& c, const boost::json::object& body);
  Reply get_meter_types(Ctx& c);
  Reply put_meter(Ctx& c);
  Reply activate_meter(Ctx& c);
  Reply deactivate_meter(Ctx& c);
  Reply get_subscriber(Ctx& c);
  Reply post_subscriber(Ctx& c);
  Reply put_subscriber(Ctx& c);
  Reply activate_subscriber(Ctx& c);
  Reply deactivate_subscriber(Ctx& c);
  Reply get_utilities(Ctx& c);
  Reply get_utility_meters(Ctx& c);
  Reply post_utility(Ctx& c);
  Reply put_utility(Ctx& c);
  Reply activate_utility(Ctx& c);
  Reply deactivate_utility(Ctx& c);

  // Helpers shared by handlers.
  Reply error(const RequestInfo& c, const Status& s);
  Reply missing_query(const RequestInfo& c, std::string_view name);
  Reply set_active(Ctx& c, std::string_view what, bool active,
                   Status (service::Service::*fn)(std::string_view, std::string_view, bool));
  // The same for the J24 routes that name the ref in the path (/v1/<things>/{ref}).
  Reply set_active_by_path(Ctx& c, std::string_view what, bool active,
                           Status (service::Service::*fn)(std::string_view, std::string_view, bool));

  service::Service& service_;
  ApiOptions options_;
  Metrics metrics_;
  std::vector<Route> routes_;
};

template <typename P>
void NectarApi::resume_on_io(const std::shared_ptr<P>& p, void (NectarApi::*then)(P&)) noexcept {
  // Runs where a service completion runs (maybe the storage writer thread): nothing may escape, and
  // nothing here touches the NectarApi after the post (the server may be stopped once it is answered).
  try {
    if (p->io_thread == std::this_thread::get_id()) {
      (p->api->*then)(*p);
      return;
    }
    Responder r = std::move(p->responder);
    std::move(r).post([p, then](Responder back) {
      p->responder = std::move(back);
      (p->api->*then)(*p);
    });
  } catch (...) {
    detail::log_handler_exception(std::current_exception());  // an unanswered responder answers 500
  }
}

// An RFC 4122 version-4 UUID string from a per-thread generator (request ids; not secrets).
std::string random_request_id();

// Whether `path` matches the route `pattern`: equal, or equal segment by segment where a "{}" segment
// (at most one) matches any one non-empty segment, stored in *param. "/v1/utilities/{}/meters" matches
// "/v1/utilities/abc/meters" but not "/v1/utilities/abc" or "/v1/utilities//meters".
bool match_path(std::string_view pattern, std::string_view path, std::string* param);

// Splits "a=1&b=x%20y" into a map; empty or unparseable pieces (`?`, `?null`) are ignored.
std::map<std::string, std::string> parse_query(std::string_view query);

// The OpenAPI 3 document and the /docs page (openapi.cc).
std::string_view openapi_json();
std::string_view docs_html();

}  // namespace stsvend::api
