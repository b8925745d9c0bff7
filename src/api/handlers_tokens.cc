// /v1/tokens: generate (with dialects, Idempotency-Key, server-owned TIDs), reprint, list, decode.
// NECTAR-V1.md §3.1; stsvend extras in docs/api.md.
#include <boost/json.hpp>

#include "api/json_io.h"
#include "api/json_mapping.h"
#include "api/nectar_api.h"
#include "api/token_request.h"

namespace stsvend::api {

namespace {

// Idempotency keys are opaque client strings; bound their size and alphabet so they can be stored
// and logged safely.
Status check_idempotency_key(std::string_view key) {
  if (key.empty() || key.size() > 200) return Status::InvalidArgument("Idempotency-Key", "must be 1 to 200 characters");
  for (char c : key) {
    if (c < 0x21 || c > 0x7E) return Status::InvalidArgument("Idempotency-Key", "must be printable ASCII without spaces");
  }
  return Status::Ok();
}

}  // namespace

Reply NectarApi::post_tokens(Ctx& c) {
  auto body = parse_json_object(c.req.body());
  if (!body.ok()) return error(c, body.status());
  auto parsed = parse_token_request(*body);
  if (!parsed.ok()) return error(c, parsed.status());
  ParsedTokenRequest& request = parsed.value();
  if (request.vend.allow_tid_replay && !c.caller.has("admin")) {
    return spring_reply(403, "allow_tid_replay needs credentials with the admin permission", c.path);
  }
  service::VendRequest& vend = request.vend;
  vend.user_ref = c.caller.user_ref;
  vend.request_id = c.request_id;
  vend.request_fingerprint = request.fingerprint;
  if (const auto it = c.req.find("Idempotency-Key"); it != c.req.end()) {
    const std::string key(it->value());
    if (Status s = check_idempotency_key(key); !s.ok()) return error(c, s);
    vend.idempotency_key = key;
  } else if (request.key_change && request.dialect == Dialect::kLegacy) {
    // J21 asks for the 1st and 2nd section in two calls; tie them to one set and one charge.
    vend.idempotency_key = legacy_kct_idempotency_key(request, now_ms() / 1000);
  }
  vend.nonce_key = c.caller.key;
  vend.nonce = c.caller.pending_nonce;
  auto result = service_.vend(vend);
  if (!result.ok()) {
    if (result.status().code() == Status::Code::kUnauthenticated) {
      c.caller.pending_nonce.clear();  // it was a replay: the nonce is on record already
      return envelope_error(result.status(), c.request_id, c.path);
    }
    return error(c, result.status());
  }
  c.caller.pending_nonce.clear();  // recorded by the vend transaction
  if (!result->replayed) {
    for (const auto& t : result->tokens) metrics_.record_tokens(t.token_type, 1);
  }
  const bool replayed = result->replayed;
  auto tokens = select_for_dialect(request, std::move(result->tokens));
  if (tokens.empty()) return error(c, Status::Internal("the service returned no token"));
  Reply reply;
  if (request.dialect == Dialect::kArray) {
    boost::json::array arr;
    for (const auto& t : tokens) arr.push_back(token_json(t));
    reply = envelope_data("Successfully generated token", c.request_id, std::move(arr));
  } else {
    reply = envelope_data("Successfully generated token", c.request_id, token_json(tokens.front()));
  }
  if (replayed) reply.headers.emplace_back("Idempotent-Replayed", "true");
  return reply;
}

Reply NectarApi::get_tokens(Ctx& c) {
  if (const std::string* ref = c.q("ref")) {
    auto set = service_.get_token_set(c.caller.user_ref, *ref);
    if (!set.ok()) return error(c, set.status());
    const service::TokenRecord* hit = nullptr;
    for (const auto& t : *set) {
      if (t.ref == *ref) hit = &t;
    }
    if (hit == nullptr) return error(c, Status::NotFound("ref", "no such token"));
    boost::json::object o = token_json(*hit);
    if (set->size() > 1) {
      boost::json::array all;
      for (const auto& t : *set) all.push_back(token_json(t));
      o["tokens"] = std::move(all);
    }
    return envelope_data("Successfully retrieved token", c.request_id, std::move(o));
  }
  if (const std::string* meter = c.q("meter")) {
    auto list = service_.list_tokens_by_meter(c.caller.user_ref, *meter);
    if (!list.ok()) return error(c, list.status());
    boost::json::array arr;
    for (const auto& t : *list) arr.push_back(token_json(t));
    return envelope_data("Successfully retrieved tokens", c.request_id, std::move(arr));
  }
  return missing_query(c, "ref");
}

Reply NectarApi::post_decode(Ctx& c) {
  auto body = parse_json_object(c.req.body());
  if (!body.ok()) return error(c, body.status());
  auto drn = drn_field(*body, "drn", "decoder_reference_number");
  if (!drn.ok()) return error(c, drn.status());
  if (!drn.value()) return error(c, Status::InvalidArgument("decoder_reference_number", "is required (11 to 13 digits)"));
  auto config_ref = required<std::string>(text_field(*body, "config_ref"), "config_ref");
  if (!config_ref.ok()) return error(c, config_ref.status());
  auto debug = bool_field(*body, "debug");
  if (!debug.ok()) return error(c, debug.status());
  // decode() checks that the configuration is the caller's and names `config_ref` when it is not.
  auto decoded = service_.decode(c.caller.user_ref, *config_ref, **drn, c.path_param);
  if (!decoded.ok()) return error(c, decoded.status());
  std::optional<int> base_date;
  if (auto config = service_.get_configuration(c.caller.user_ref, *config_ref); config.ok()) {
    base_date = config->base_date;
  }
  switch (decoded->outcome.result) {
    case sts::TokenResult::kFormat:
      return error(c, Status::InvalidArgument("token_no", "must be 20 digits below 2^66 and not class 3"));
    case sts::TokenResult::kCrc:
      return error(c, Status::InvalidArgument("token_no", "CRC mismatch: wrong configuration or meter, or a mistyped token"));
    default:
      break;
  }
  return envelope_data("Successfully decoded token", c.request_id, decoded_json(*decoded, base_date));
}

}  // namespace stsvend::api
