// POST /v1/tokens body → a service::VendRequest: field spellings of every SDK generation, values as
// strings or native JSON, the required-field rule, and the J21 key change convention (subclass 3 and
// 4 as two calls, one set). NECTAR-V1.md §3.1.2–3.1.4; docs/api.md ("Tokens").
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "api/dialect.h"
#include "service/service.h"
#include "stsvend/result.h"

namespace stsvend::api {

struct ParsedTokenRequest {
  service::VendRequest vend;  // user_ref, request_id, idempotency_key not set here
  Dialect dialect = Dialect::kLegacy;
  unsigned requested_subclass = 0;  // as sent: 3 or 4 pick the J21 section
  bool key_change = false;          // 2/3 or 2/4: the service produces the whole set

  ParsedTokenRequest() = default;
  ParsedTokenRequest(ParsedTokenRequest&&) noexcept = default;
  ParsedTokenRequest& operator=(ParsedTokenRequest&&) noexcept = default;
};

// A DRN under either spelling (`drn` / `decoder_reference_number`, `new_drn` /
// `new_decoder_reference_number`): 11-13 digits; both present and different is an error.
Result<std::optional<std::string>> drn_field(const boost::json::object& body, std::string_view legacy,
                                             std::string_view modern);

// Errors are InvalidArgument naming the field as sent ("amount", "decoder_reference_number", ...).
Result<ParsedTokenRequest> parse_token_request(const boost::json::object& body);

// The token(s) of a set the caller's dialect expects: all of them (array dialect), or for the legacy
// object dialect the section the subclass names (3 → 1st, 4 → 2nd) or the first token.
std::vector<service::TokenRecord> select_for_dialect(const ParsedTokenRequest& request,
                                                     std::vector<service::TokenRecord> tokens);

// What an idempotent retry must repeat exactly: SHA-256 (hex) of the canonical fields, the sorted
// `name=value` lines of every body field. For a legacy key change `subclass` is left out, so that the
// J21 subclass-3 and subclass-4 calls match. Only computed for requests that have an idempotency key.
std::string token_request_fingerprint(const boost::json::object& body, const ParsedTokenRequest& request);

// The server-side idempotency key that ties J21's two key change calls to one set (and one charge):
// "j21-kct:<UTC day>:<fingerprint>". Same-day repeats of identical key change parameters return the
// same set, which is what the meter would accept anyway (KCTs carry no TID).
std::string legacy_kct_idempotency_key(std::string_view fingerprint, std::int64_t now_unix_seconds);

}  // namespace stsvend::api
