// The Nectar response envelope and how a Status becomes one. NECTAR-V1.md §1; docs/api.md ("Errors").
//   {"status":{"code":200,"message":…,"request_id":…},"data":{"data":…}}
// Application errors are HTTP 200 with status.code 400 (bad input), 405 (unknown ref), 700 (already
// exists) or 500 (everything else, as GW does); status also carries `field` and `rule` when the
// error is about one input. Auth errors are HTTP 401/403 with a Spring-shaped body instead.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "stsvend/status.h"

namespace stsvend::api {

// What a handler answers; the router turns it into an HTTP response.
struct Reply {
  unsigned http_status = 200;
  int nectar_code = 200;  // status.code for envelope replies; 0 for non-envelope bodies
  std::string_view content_type = "application/json";  // a string literal (static storage)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra response headers
};

// Nectar status.code for an error Status.
int nectar_code_for(const Status& status) noexcept;

// Success with `data.data = value`. `sp`: where the envelope's JSON tree is built (a hot path passes a
// stack monotonic_resource; give `value` the same one or it is copied).
Reply envelope_data(std::string_view message, const std::string& request_id, boost::json::value value,
                    const boost::json::storage_ptr& sp = {});
// Success with `data = object` (create-user's data.user_ref, create-meter's data.ref).
Reply envelope_raw_data(std::string_view message, const std::string& request_id, boost::json::object data,
                        const boost::json::storage_ptr& sp = {});
// Success whose `data.data` is appended to text() piece by piece: the listings that grow with every
// vend write their rows as they are read (json_mapping.h *JsonWriter). On an error midway the
// unfinished envelope is dropped and an error reply sent instead.
class WrittenEnvelope {
 public:
  WrittenEnvelope(std::string_view message, const std::string& request_id);
  std::string& text() { return text_; }
  Reply finish() &&;

 private:
  std::string text_;
};
// Success without a data key (activate, deactivate, update, delete).
Reply envelope_no_data(std::string_view message, const std::string& request_id);
// An application error: HTTP 200, status.code by nectar_code_for; Unauthenticated/PermissionDenied
// become HTTP 401/403 Spring bodies instead.
Reply envelope_error(const Status& status, const std::string& request_id, std::string_view path);
// A Spring-shaped framework error (401, 403, 400 missing query parameter, 404, 405).
Reply spring_reply(unsigned http_status, std::string_view message, std::string_view path);

}  // namespace stsvend::api
