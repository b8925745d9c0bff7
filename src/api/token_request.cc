// Token generation request parsing; NECTAR-V1.md §3.1.2–3.1.3.
#include "api/token_request.h"

#include <algorithm>
#include <memory>
#include <vector>

#include <botan/hash.h>
#include <botan/hex.h>

#include "api/json_io.h"
#include "stsvend/sts/amount.h"
#include "stsvend/sts/tid.h"
#include "stsvend/sts/types.h"

namespace stsvend::api {

namespace {

std::string canonical_fingerprint(const boost::json::object& body, bool skip_subclass) {
  std::vector<std::pair<std::string, std::string>> fields;
  fields.reserve(body.size());
  std::size_t size = 16;
  for (const auto& kv : body) {
    std::string key(kv.key());
    if (skip_subclass && key == "subclass") continue;
    auto text = scalar_text(body, key);
    std::string value = text.ok() && text.value() ? *std::move(text).value() : boost::json::serialize(kv.value());
    size += key.size() + value.size() + 2;
    fields.emplace_back(std::move(key), std::move(value));
  }
  std::sort(fields.begin(), fields.end());
  std::string canonical = "POST /v1/tokens\n";
  canonical.reserve(size);
  for (const auto& [k, v] : fields) canonical.append(k).append(1, '=').append(v).append(1, '\n');
  // One hash object per thread: Botan's create() parses the name on every call (request profile).
  thread_local const std::unique_ptr<Botan::HashFunction> sha = Botan::HashFunction::create_or_throw("SHA-256");
  sha->update(canonical);
  std::uint8_t digest[32];
  sha->final(digest);
  return Botan::hex_encode(digest, sizeof(digest), false);
}

Result<std::uint32_t> required_u32(const boost::json::object& body, std::string_view field, std::uint64_t max) {
  STSVEND_ASSIGN_OR_RETURN(auto v, required<std::uint64_t>(uint_field(body, field, 0, max), field));
  return static_cast<std::uint32_t>(v);
}

Status parse_key_change(const boost::json::object& body, sts::TokenRequest& token) {
  sts::KeyChange kc;
  STSVEND_ASSIGN_OR_RETURN(auto vk_text, required<std::string>(text_field(body, "new_vending_key"), "new_vending_key"));
  if (!parse_hex(vk_text, &kc.new_vending_key) || kc.new_vending_key.empty()) {
    return Status::InvalidArgument("new_vending_key", "must be hexadecimal (16 digits; 40 for DKGA-04)");
  }
  STSVEND_ASSIGN_OR_RETURN(auto sgc, required<std::string>(digits_field(body, "new_supply_group_code", 6, 6),
                                                           "new_supply_group_code"));
  kc.new_supply_group_code = static_cast<std::uint32_t>(std::stoul(sgc));
  STSVEND_ASSIGN_OR_RETURN(auto ti, required<std::string>(digits_field(body, "new_tariff_index", 1, 2),
                                                          "new_tariff_index"));
  kc.new_tariff_index = static_cast<std::uint8_t>(std::stoul(ti));
  STSVEND_ASSIGN_OR_RETURN(auto krn, required<std::uint64_t>(uint_field(body, "new_key_revision_no", 1, 9),
                                                             "new_key_revision_no"));
  kc.new_key_revision_no = static_cast<std::uint8_t>(krn);
  STSVEND_ASSIGN_OR_RETURN(auto kt, required<std::uint64_t>(uint_field(body, "new_key_type", 0, 3), "new_key_type"));
  kc.new_key_type = static_cast<sts::KeyType>(kt);
  STSVEND_ASSIGN_OR_RETURN(auto ken, uint_field(body, "new_key_expiry_no", 0, 255));
  kc.new_key_expiry_no = static_cast<std::uint8_t>(ken.value_or(255));
  STSVEND_ASSIGN_OR_RETURN(auto new_drn, drn_field(body, "new_drn", "new_decoder_reference_number"));
  if (new_drn) kc.new_drn = *new_drn;
  STSVEND_ASSIGN_OR_RETURN(auto iin, text_field(body, "new_issuer_identification_no"));
  if (iin) {
    if (*iin != "600727" && *iin != "0000") {
      return Status::InvalidArgument("new_issuer_identification_no", "must be 600727 or 0000");
    }
    kc.new_issuer_identification_no = *iin;
  }
  STSVEND_ASSIGN_OR_RETURN(auto ro, bool_field(body, "ro"));
  kc.ro = ro.value_or(false);
  token.key_change = std::move(kc);
  return Status::Ok();
}

}  // namespace

Result<std::optional<std::string>> drn_field(const boost::json::object& body, std::string_view legacy,
                                             std::string_view modern) {
  STSVEND_ASSIGN_OR_RETURN(auto a, digits_field(body, modern, 11, 13));
  STSVEND_ASSIGN_OR_RETURN(auto b, digits_field(body, legacy, 11, 13));
  if (a && b && *a != *b) return Status::InvalidArgument(modern, std::string("differs from ") + std::string(legacy));
  return a ? a : b;
}

Result<ParsedTokenRequest> parse_token_request(const boost::json::object& body) {
  ParsedTokenRequest out;
  out.dialect = detect_dialect(body);
  STSVEND_ASSIGN_OR_RETURN(auto type, text_field(body, "type"));
  if (type && *type != "native") {
    if (*type == "prism-thrift") return Status::InvalidArgument("type", "prism-thrift is not supported; use native");
    return Status::InvalidArgument("type", "must be native or prism-thrift");
  }
  STSVEND_ASSIGN_OR_RETURN(auto cls, required<std::uint64_t>(uint_field(body, "class", 0, 2), "class"));
  STSVEND_ASSIGN_OR_RETURN(auto sub, required<std::uint64_t>(uint_field(body, "subclass", 0, 7), "subclass"));
  if (sts::token_type_name(static_cast<unsigned>(cls), static_cast<unsigned>(sub)).empty()) {
    return Status::InvalidArgument("subclass", "is not a defined token type for class " + std::to_string(cls));
  }
  STSVEND_ASSIGN_OR_RETURN(auto drn, drn_field(body, "drn", "decoder_reference_number"));
  if (!drn) {
    return Status::InvalidArgument(out.dialect == Dialect::kArray ? "decoder_reference_number" : "drn",
                                   "is required (11 to 13 digits)");
  }
  STSVEND_ASSIGN_OR_RETURN(auto config_ref, required<std::string>(text_field(body, "config_ref"), "config_ref"));
  STSVEND_ASSIGN_OR_RETURN(auto token_id, text_field(body, "token_id"));
  if (token_id) {
    STSVEND_ASSIGN_OR_RETURN(auto secs, sts::parse_instant(*token_id, "token_id"));
    out.vend.token_id = secs;
  }
  STSVEND_ASSIGN_OR_RETURN(auto rnd, uint_field(body, "random_no", 0, 15));
  if (rnd) out.vend.random_no = static_cast<std::uint8_t>(*rnd);
  STSVEND_ASSIGN_OR_RETURN(auto is_stid, bool_field(body, "is_stid"));
  STSVEND_ASSIGN_OR_RETURN(auto debug, bool_field(body, "debug"));
  STSVEND_ASSIGN_OR_RETURN(auto replay, bool_field(body, "allow_tid_replay"));
  (void)is_stid;  // accepted for compatibility; the server owns TID allocation (docs/api.md)
  (void)debug;    // accepted; no visible effect, as in the OSS services
  out.vend.allow_tid_replay = replay.value_or(false);

  sts::TokenRequest& token = out.vend.token;
  token.token_class = static_cast<unsigned>(cls);
  token.subclass = static_cast<unsigned>(sub);
  out.requested_subclass = token.subclass;
  if (cls == 0) {
    STSVEND_ASSIGN_OR_RETURN(auto amount, required<std::string>(scalar_text(body, "amount"), "amount"));
    STSVEND_ASSIGN_OR_RETURN(token.amount_tenths, sts::parse_amount_units(amount, "amount"));
  } else if (cls == 1) {
    STSVEND_ASSIGN_OR_RETURN(auto control, required<std::string>(digits_field(body, "control", 1, 12), "control"));
    token.control = std::stoull(control);
    STSVEND_ASSIGN_OR_RETURN(token.manufacturer_code, required_u32(body, "manufacturer_code", sub == 0 ? 99 : 9999));
  } else {
    switch (sub) {
      case 0: {
        STSVEND_ASSIGN_OR_RETURN(token.maximum_power_limit, required_u32(body, "maximum_power_limit", 0xFFFFFFFFu));
        break;
      }
      case 1: {
        STSVEND_ASSIGN_OR_RETURN(token.register_no, required_u32(body, "register", 7));
        break;
      }
      case 2: {
        STSVEND_ASSIGN_OR_RETURN(token.tariff_rate, required_u32(body, "tariff_rate", 0xFFFF));
        break;
      }
      case 3:
      case 4: {
        out.key_change = true;
        token.subclass = 3;  // the engine produces the whole set from the 1st section's request
        STSVEND_RETURN_IF_ERROR(parse_key_change(body, token));
        break;
      }
      case 5: {
        STSVEND_ASSIGN_OR_RETURN(token.pad, required_u32(body, "pad", 0xFFFF));
        break;
      }
      case 6: {
        STSVEND_ASSIGN_OR_RETURN(token.mppul, required_u32(body, "mppul", 0xFFFFFFFFu));
        break;
      }
      case 7: {
        STSVEND_ASSIGN_OR_RETURN(token.wm_factor, required_u32(body, "wm_factor", 0xFFFF));
        break;
      }
      default:
        return Status::InvalidArgument("subclass", "is not a defined token type for class 2");
    }
  }
  out.vend.config_ref = std::move(config_ref);
  out.vend.drn = std::move(*drn);
  return out;
}

std::vector<service::TokenRecord> select_for_dialect(const ParsedTokenRequest& request,
                                                     std::vector<service::TokenRecord> tokens) {
  if (request.dialect == Dialect::kArray || tokens.size() <= 1) return tokens;
  std::size_t index = 0;
  if (request.key_change && request.requested_subclass == 4 && tokens.size() >= 2) index = 1;
  std::vector<service::TokenRecord> one;
  one.push_back(std::move(tokens[index]));
  return one;
}

std::string token_request_fingerprint(const boost::json::object& body, const ParsedTokenRequest& request) {
  return canonical_fingerprint(body, request.key_change && request.dialect == Dialect::kLegacy);
}

std::string legacy_kct_idempotency_key(std::string_view fingerprint, std::int64_t now_unix_seconds) {
  return "j21-kct:" + std::to_string(now_unix_seconds / 86400) + ":" + std::string(fingerprint);
}

}  // namespace stsvend::api
