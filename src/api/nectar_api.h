// The Nectar v1 API (plus stsvend extras) over a service::Service: routing, authentication,
// handlers, metrics. Transport-agnostic: HttpServer calls handle() on a worker thread.
// Wire contract: NECTAR-V1.md; what we chose where it leaves room: docs/api.md.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
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

  // Thread-safe; blocks on the service. Never throws for bad input (errors are replies).
  HttpResponse handle(HttpRequest& request, const std::string& remote);

  Metrics& metrics() { return metrics_; }

  // Per-request state handed to a handler.
  struct Ctx {
    const HttpRequest& req;
    std::string path;                          // raw path, no query
    std::map<std::string, std::string> query;  // percent-decoded; malformed pieces ignored
    std::string path_param;                    // the {token_no} segment
    std::string request_id;
    Caller caller;
    const std::string* q(const std::string& name) const {
      const auto it = query.find(name);
      return it == query.end() ? nullptr : &it->second;
    }
  };

 private:
  using Fn = Reply (NectarApi::*)(Ctx&);
  struct Route {
    std::string_view method;
    std::string_view pattern;  // exact path, or prefix ending in "/{}" for one trailing segment
    std::string_view permission;  // empty: unauthenticated
    Fn fn;
  };

  std::int64_t now_ms() const;
  const Route* match(std::string_view method, std::string_view path, std::string* param, bool* path_known) const;
  std::string_view permission_for(const Route& route, const Ctx& ctx) const;

  // Public routes.
  Reply get_health(Ctx& c);
  Reply get_metrics(Ctx& c);
  Reply get_openapi(Ctx& c);
  Reply get_docs(Ctx& c);
  Reply get_server_public_key(Ctx& c);
  // Tokens.
  Reply post_tokens(Ctx& c);
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

  // Helpers shared by handlers.
  Reply error(const Ctx& c, const Status& s);
  Reply missing_query(const Ctx& c, std::string_view name);
  Reply set_active(Ctx& c, std::string_view what, bool active,
                   Status (service::Service::*fn)(std::string_view, std::string_view, bool));

  service::Service& service_;
  ApiOptions options_;
  Metrics metrics_;
  std::vector<Route> routes_;
};

// An RFC 4122 version-4 UUID string from a per-thread generator (request ids; not secrets).
std::string random_request_id();

// Splits "a=1&b=x%20y" into a map; empty or unparseable pieces (`?`, `?null`) are ignored.
std::map<std::string, std::string> parse_query(std::string_view query);

// The OpenAPI 3 document and the /docs page (openapi.cc).
std::string_view openapi_json();
std::string_view docs_html();

}  // namespace stsvend::api
