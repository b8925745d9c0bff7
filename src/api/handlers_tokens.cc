// /v1/tokens: generate (with dialects, Idempotency-Key, server-owned TIDs), reprint, list, decode.
// NECTAR-V1.md §3.1; stsvend extras in docs/api.md.
#include <memory>
#include <optional>
#include <string_view>
#include <thread>

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

// A vend waiting for Service::vend_async's completion.
struct NectarApi::PendingVend : Pending {
  ParsedTokenRequest request;  // `vend` moved out: the dialect and the J21 section
  std::optional<Result<service::VendResult>> result;
};

// Runs on the I/O thread (see NectarApi::handle); never blocks. Every error answered before the vend
// starts goes through answer_burning_nonce; once vend_async is called, the service records the nonce.
void NectarApi::post_tokens(Ctx& c, Responder responder) {
  const auto reject = [&](Reply reply) { answer_burning_nonce(c, std::move(responder), std::move(reply)); };
  // The body's JSON tree lives on this frame: a typical vend body needs no heap allocation.
  unsigned char json_buffer[2048];
  boost::json::monotonic_resource json_memory(json_buffer, sizeof(json_buffer));
  auto body = parse_json_object(c.req.body(), &json_memory);
  if (!body.ok()) return reject(error(c, body.status()));
  auto parsed = parse_token_request(*body);
  if (!parsed.ok()) return reject(error(c, parsed.status()));
  ParsedTokenRequest& request = parsed.value();
  if (request.vend.allow_tid_replay && !c.caller.has("admin")) {
    return reject(spring_reply(403, "allow_tid_replay needs credentials with the admin permission", c.path));
  }
  service::VendRequest& vend = request.vend;
  // The fingerprint is only needed where a retry is recognised by its key (4% of a vend's I/O-thread time).
  if (const auto it = c.req.find("Idempotency-Key"); it != c.req.end()) {
    const std::string_view key(it->value().data(), it->value().size());
    if (Status s = check_idempotency_key(key); !s.ok()) return reject(error(c, s));
    vend.idempotency_key = std::string(key);
    vend.request_fingerprint = token_request_fingerprint(*body, request);
  } else if (request.key_change && request.dialect == Dialect::kLegacy) {
    // J21 asks for the 1st and 2nd section in two calls; tie them to one set and one charge.
    vend.request_fingerprint = token_request_fingerprint(*body, request);
    vend.idempotency_key = legacy_kct_idempotency_key(vend.request_fingerprint, now_ms() / 1000);
  }
  vend.user_ref = std::move(c.caller.user_ref);
  vend.request_id = c.request_id;
  vend.nonce_key = std::move(c.caller.key);
  vend.nonce = std::move(c.caller.pending_nonce);
  vend.nonce_dated = c.caller.nonce_dated;

  auto p = std::make_shared<PendingVend>();
  p->api = this;
  p->responder = std::move(responder);
  p->info = std::move(static_cast<RequestInfo&>(c));
  p->io_thread = std::this_thread::get_id();
  service::VendRequest to_vend = std::move(request.vend);
  p->request = std::move(request);
  // `done` may run inline, before vend_async returns: nothing after it may touch `c` or the request.
  service_.vend_async(std::move(to_vend), [p](Result<service::VendResult> r) {
    p->result.emplace(std::move(r));
    resume_on_io(p, &NectarApi::finish_vend);
  });
}

// On the I/O thread: renders the vend's answer. The nonce is on record whatever the outcome (or was
// already: Unauthenticated, a replay), except after Unavailable, where nothing was committed.
void NectarApi::finish_vend(PendingVend& p) {
  Result<service::VendResult>& result = *p.result;
  const RequestInfo& info = p.info;
  Reply reply;
  if (!result.ok()) {
    reply = result.status().code() == Status::Code::kUnauthenticated
                ? envelope_error(result.status(), info.request_id, info.path)
                : error(info, result.status());
    finish(std::move(p.responder), info, std::move(reply));
    return;
  }
  if (!result->replayed) {
    for (const auto& t : result->tokens) metrics_.record_tokens(t.token_type, 1);
  }
  const bool replayed = result->replayed;
  auto tokens = select_for_dialect(p.request, std::move(result->tokens));
  // The answer's JSON tree lives on this frame (a four-token key change set fits too).
  unsigned char json_buffer[4096];
  boost::json::monotonic_resource json_memory(json_buffer, sizeof(json_buffer));
  const boost::json::storage_ptr sp(&json_memory);
  if (tokens.empty()) {
    reply = error(info, Status::Internal("the service returned no token"));
  } else if (p.request.dialect == Dialect::kArray) {
    boost::json::array arr(sp);
    arr.reserve(tokens.size());
    for (const auto& t : tokens) arr.push_back(token_json(t, sp));
    reply = envelope_data("Successfully generated token", info.request_id, std::move(arr), sp);
  } else {
    reply = envelope_data("Successfully generated token", info.request_id, token_json(tokens.front(), sp), sp);
  }
  if (replayed) reply.headers.emplace_back("Idempotent-Replayed", "true");
  finish(std::move(p.responder), info, std::move(reply));
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
  return envelope_data("Successfully decoded token", c.request_id, decoded_json(*decoded, base_date));
}

}  // namespace stsvend::api
