// The vectors.json runner: rebuilds each case's configuration and request from JSON, runs the
// engine both ways and lists every difference. Schema: shared/sts/vectors.json; docs/cli.md.
#include "cli/vectors_runner.h"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>
#include <utility>

#include <boost/json.hpp>

#include "stsvend/secret.h"
#include "stsvend/sts/amount.h"
#include "stsvend/sts/config.h"
#include "stsvend/sts/decode.h"
#include "stsvend/sts/decoder_key.h"
#include "stsvend/sts/tid.h"
#include "stsvend/sts/token.h"
#include "stsvend/sts/types.h"

namespace stsvend::cli {

namespace json = boost::json;

namespace {

// ---- JSON access without exceptions -------------------------------------------------------------

// The member `key`, or nullptr when absent or null.
const json::value* member(const json::object& o, std::string_view key) {
  const auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

// A scalar as text, for messages and for fields that may come as numbers or strings.
std::string scalar_text(const json::value& v) {
  if (const auto* s = v.if_string()) return std::string(s->data(), s->size());
  if (const auto* i = v.if_int64()) return std::to_string(*i);
  if (const auto* u = v.if_uint64()) return std::to_string(*u);
  if (const auto* d = v.if_double()) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, *d);
    return std::string(buf, r.ptr);
  }
  if (const auto* b = v.if_bool()) return *b ? "true" : "false";
  return json::serialize(v);
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A non-negative integer given as a JSON number or a string of decimal digits, at most `max`.
Result<std::uint64_t> to_unsigned(const json::value& v, std::string_view field, std::uint64_t max) {
  std::uint64_t out = 0;
  if (const auto* i = v.if_int64()) {
    if (*i < 0) return Status::InvalidArgument(field, "must not be negative");
    out = static_cast<std::uint64_t>(*i);
  } else if (const auto* u = v.if_uint64()) {
    out = *u;
  } else if (const auto* d = v.if_double()) {
    if (!(*d >= 0) || *d >= 18446744073709551616.0 || static_cast<double>(static_cast<std::uint64_t>(*d)) != *d) {
      return Status::InvalidArgument(field, "must be a whole non-negative number");
    }
    out = static_cast<std::uint64_t>(*d);
  } else if (const auto* s = v.if_string()) {
    const std::string_view text(s->data(), s->size());
    if (!all_digits(text)) return Status::InvalidArgument(field, "must be decimal digits");
    const auto r = std::from_chars(text.data(), text.data() + text.size(), out);
    if (r.ec != std::errc() || r.ptr != text.data() + text.size()) {
      return Status::InvalidArgument(field, "number too large");
    }
  } else if (const auto* b = v.if_bool()) {
    out = *b ? 1 : 0;
  } else {
    return Status::InvalidArgument(field, "must be a number");
  }
  if (out > max) return Status::InvalidArgument(field, std::string("at most ").append(std::to_string(max)));
  return out;
}

Result<std::uint64_t> required_unsigned(const json::object& o, std::string_view key, std::uint64_t max) {
  const json::value* v = member(o, key);
  if (v == nullptr) return Status::InvalidArgument(key, "missing");
  return to_unsigned(*v, key, max);
}

Result<std::string> required_text(const json::object& o, std::string_view key) {
  const json::value* v = member(o, key);
  if (v == nullptr) return Status::InvalidArgument(key, "missing");
  return scalar_text(*v);
}

Result<SecretBytes> hex_key(const json::object& o, std::string_view key) {
  const json::value* v = member(o, key);
  if (v == nullptr) return Status::InvalidArgument(key, "missing");
  const auto* s = v->if_string();
  if (s == nullptr) return Status::InvalidArgument(key, "must be a hex string");
  SecretBytes bytes;
  if (!parse_hex(std::string_view(s->data(), s->size()), &bytes)) {
    return Status::InvalidArgument(key, "must be an even number of hex digits");
  }
  return bytes;
}

SecretBytes concat(const SecretBytes& a, const SecretBytes& b) {
  SecretBytes out(a.size() + b.size());
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = a[i];
  for (std::size_t i = 0; i < b.size(); ++i) out[a.size() + i] = b[i];
  return out;
}

// DKGA-03 keys come as key_1 + key_2 (the plain key then repeats key 1); otherwise the plain key.
Result<SecretBytes> vending_key_from(const json::object& o, std::string_view plain, std::string_view part1,
                                     std::string_view part2, bool dkga03) {
  if (dkga03 && member(o, part1) != nullptr && member(o, part2) != nullptr) {
    STSVEND_ASSIGN_OR_RETURN(SecretBytes k1, hex_key(o, part1));
    STSVEND_ASSIGN_OR_RETURN(SecretBytes k2, hex_key(o, part2));
    return concat(k1, k2);
  }
  return hex_key(o, plain);
}

// IINs are digit strings; a number loses leading zeros ("0000" arrives as 0).
std::string iin_text(const json::value& v) {
  if (const auto* i = v.if_int64(); i != nullptr && *i == 0) return "0000";
  if (const auto* u = v.if_uint64(); u != nullptr && *u == 0) return "0000";
  return scalar_text(v);
}

std::optional<sts::EncryptionAlgorithm> encryption_algorithm_from(const json::value& v) {
  const std::string text = scalar_text(v);
  if (auto ea = sts::parse_encryption_algorithm(text)) return ea;
  // The standard's numeric codes, as some files write them.
  if (text == "7" || text == "07") return sts::EncryptionAlgorithm::kSta;
  if (text == "9" || text == "09") return sts::EncryptionAlgorithm::kDea;
  if (text == "11") return sts::EncryptionAlgorithm::kMisty1;
  return std::nullopt;
}

// ---- case inputs --------------------------------------------------------------------------------

// `default_name`: the case id, since vector configs are usually unnamed and the engine wants a name.
Result<sts::Config> config_from_json(const json::object& o, std::string_view default_name) {
  sts::Config config;
  config.name = std::string(default_name.empty() ? std::string_view("vectors") : default_name.substr(0, 255));
  if (const json::value* v = member(o, "name")) config.name = scalar_text(*v);
  if (const json::value* v = member(o, "type")) config.type = scalar_text(*v);
  if (const json::value* v = member(o, "token_carrier_type")) config.token_carrier_type = scalar_text(*v);

  const json::value* ea = member(o, "encryption_algorithm");
  if (ea == nullptr) return Status::InvalidArgument("encryption_algorithm", "missing");
  const auto parsed_ea = encryption_algorithm_from(*ea);
  if (!parsed_ea) return Status::InvalidArgument("encryption_algorithm", "one of sta, dea, misty");
  config.encryption_algorithm = *parsed_ea;

  STSVEND_ASSIGN_OR_RETURN(const std::uint64_t dkga_no,
                           required_unsigned(o, "decoder_key_generation_algorithm", 99));
  const std::string dkga_text = (dkga_no < 10 ? "0" : "") + std::to_string(dkga_no);
  const auto dkga = sts::parse_dkga(dkga_text);
  if (!dkga) return Status::InvalidArgument("decoder_key_generation_algorithm", "one of 01, 02, 03, 04");
  config.decoder_key_generation_algorithm = *dkga;

  STSVEND_ASSIGN_OR_RETURN(const std::uint64_t year, required_unsigned(o, "base_date", 9999));
  const auto base_date = sts::base_date_from_year(static_cast<int>(year));
  if (!base_date) return Status::InvalidArgument("base_date", "one of 1993, 2014, 2035");
  config.base_date = *base_date;

  STSVEND_ASSIGN_OR_RETURN(const std::uint64_t sgc, required_unsigned(o, "supply_group_code", 0xFFFFFFFF));
  config.supply_group_code = static_cast<std::uint32_t>(sgc);
  STSVEND_ASSIGN_OR_RETURN(const std::uint64_t ti, required_unsigned(o, "tariff_index", 255));
  config.tariff_index = static_cast<std::uint8_t>(ti);
  STSVEND_ASSIGN_OR_RETURN(const std::uint64_t krn, required_unsigned(o, "key_revision_no", 255));
  config.key_revision_no = static_cast<std::uint8_t>(krn);
  STSVEND_ASSIGN_OR_RETURN(const std::uint64_t kt, required_unsigned(o, "key_type", 3));
  config.key_type = static_cast<sts::KeyType>(kt);
  STSVEND_ASSIGN_OR_RETURN(const std::uint64_t ken, required_unsigned(o, "key_expiry_no", 255));
  config.key_expiry_no = static_cast<std::uint8_t>(ken);

  const json::value* iin = member(o, "issuer_identification_no");
  if (iin == nullptr) return Status::InvalidArgument("issuer_identification_no", "missing");
  config.issuer_identification_no = iin_text(*iin);

  STSVEND_ASSIGN_OR_RETURN(config.vending_key,
                           vending_key_from(o, "vending_key", "vending_key_1", "vending_key_2",
                                            config.decoder_key_generation_algorithm == sts::Dkga::k03));
  STSVEND_RETURN_IF_ERROR(sts::validate_config(config));
  return config;
}

Result<sts::KeyChange> key_change_from_json(const json::object& r, const sts::Config& config) {
  sts::KeyChange change;
  STSVEND_ASSIGN_OR_RETURN(change.new_vending_key,
                           vending_key_from(r, "new_vending_key", "new_vending_key_1", "new_vending_key_2",
                                            config.decoder_key_generation_algorithm == sts::Dkga::k03));
  change.new_supply_group_code = config.supply_group_code;
  change.new_tariff_index = config.tariff_index;
  change.new_key_revision_no = config.key_revision_no;
  change.new_key_type = config.key_type;
  change.new_key_expiry_no = config.key_expiry_no;
  if (const json::value* v = member(r, "new_supply_group_code")) {
    STSVEND_ASSIGN_OR_RETURN(const std::uint64_t x, to_unsigned(*v, "new_supply_group_code", 0xFFFFFFFF));
    change.new_supply_group_code = static_cast<std::uint32_t>(x);
  }
  if (const json::value* v = member(r, "new_tariff_index")) {
    STSVEND_ASSIGN_OR_RETURN(const std::uint64_t x, to_unsigned(*v, "new_tariff_index", 255));
    change.new_tariff_index = static_cast<std::uint8_t>(x);
  }
  if (const json::value* v = member(r, "new_key_revision_no")) {
    STSVEND_ASSIGN_OR_RETURN(const std::uint64_t x, to_unsigned(*v, "new_key_revision_no", 255));
    change.new_key_revision_no = static_cast<std::uint8_t>(x);
  }
  if (const json::value* v = member(r, "new_key_type")) {
    STSVEND_ASSIGN_OR_RETURN(const std::uint64_t x, to_unsigned(*v, "new_key_type", 3));
    change.new_key_type = static_cast<sts::KeyType>(x);
  }
  if (const json::value* v = member(r, "new_key_expiry_no")) {
    STSVEND_ASSIGN_OR_RETURN(const std::uint64_t x, to_unsigned(*v, "new_key_expiry_no", 255));
    change.new_key_expiry_no = static_cast<std::uint8_t>(x);
  }
  if (const json::value* v = member(r, "new_drn")) change.new_drn = scalar_text(*v);
  else if (const json::value* w = member(r, "new_decoder_reference_number")) change.new_drn = scalar_text(*w);
  if (const json::value* v = member(r, "new_issuer_identification_no")) {
    change.new_issuer_identification_no = iin_text(*v);
  }
  if (const json::value* v = member(r, "ro")) {
    STSVEND_ASSIGN_OR_RETURN(const std::uint64_t x, to_unsigned(*v, "ro", 1));
    change.ro = x == 1;
  }
  return change;
}

bool is_key_change(unsigned token_class, unsigned subclass) {
  return token_class == 2 && (subclass == 3 || subclass == 4 || subclass == 8 || subclass == 9);
}

Result<std::uint32_t> amount_from(const json::value& v) {
  return sts::parse_amount_units(scalar_text(v), "amount");
}

// The class 2 value subclasses and the request key each one needs.
std::string_view class2_value_key(unsigned subclass) {
  switch (subclass) {
    case 0: return "maximum_power_limit";
    case 1: return "register";
    case 2: return "tariff_rate";
    case 5: return "pad";
    case 6: return "mppul";
    case 7: return "wm_factor";
    default: return {};
  }
}

Result<sts::TokenRequest> request_from_json(const json::object& r, const sts::Config& config) {
  sts::TokenRequest req;
  STSVEND_ASSIGN_OR_RETURN(const std::uint64_t cls, required_unsigned(r, "class", 3));
  STSVEND_ASSIGN_OR_RETURN(const std::uint64_t sub, required_unsigned(r, "subclass", 15));
  req.token_class = static_cast<unsigned>(cls);
  req.subclass = static_cast<unsigned>(sub);

  if (sts::carries_tid(req.token_class, req.subclass)) {
    if (const json::value* v = member(r, "tid_minutes")) {
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t tid, to_unsigned(*v, "tid_minutes", sts::kMaxTid));
      req.tid = static_cast<std::uint32_t>(tid);
    } else {
      STSVEND_ASSIGN_OR_RETURN(const std::string instant, required_text(r, "token_id"));
      STSVEND_ASSIGN_OR_RETURN(const std::int64_t unix_seconds, sts::parse_instant(instant, "token_id"));
      STSVEND_ASSIGN_OR_RETURN(req.tid, sts::tid_from_unix(unix_seconds, config.base_date, "token_id"));
    }
    STSVEND_ASSIGN_OR_RETURN(const std::uint64_t rnd, required_unsigned(r, "random_no", 255));
    req.random_no = static_cast<std::uint8_t>(rnd);
  }

  if (req.token_class == 0) {
    const json::value* v = member(r, "amount");
    if (v == nullptr) return Status::InvalidArgument("amount", "missing");
    STSVEND_ASSIGN_OR_RETURN(req.amount_tenths, amount_from(*v));
  } else if (req.token_class == 1) {
    STSVEND_ASSIGN_OR_RETURN(req.control, required_unsigned(r, "control", UINT64_MAX));
    STSVEND_ASSIGN_OR_RETURN(const std::uint64_t mc, required_unsigned(r, "manufacturer_code", 0xFFFFFFFF));
    req.manufacturer_code = static_cast<std::uint32_t>(mc);
  } else if (req.token_class == 2) {
    if (is_key_change(req.token_class, req.subclass)) {
      STSVEND_ASSIGN_OR_RETURN(sts::KeyChange change, key_change_from_json(r, config));
      req.key_change = std::move(change);
    } else if (const std::string_view key = class2_value_key(req.subclass); !key.empty()) {
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t value, required_unsigned(r, key, 0xFFFFFFFF));
      const auto v32 = static_cast<std::uint32_t>(value);
      switch (req.subclass) {
        case 0: req.maximum_power_limit = v32; break;
        case 1: req.register_no = v32; break;
        case 2: req.tariff_rate = v32; break;
        case 5: req.pad = v32; break;
        case 6: req.mppul = v32; break;
        case 7: req.wm_factor = v32; break;
        default: break;
      }
    }
  }
  return req;
}

// ---- comparison helpers -------------------------------------------------------------------------

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A string or a list of strings as a list; nullopt when absent or of another shape.
std::optional<std::vector<std::string>> string_list(const json::object& o, std::string_view key) {
  const json::value* v = member(o, key);
  if (v == nullptr) return std::nullopt;
  std::vector<std::string> out;
  if (const auto* a = v->if_array()) {
    for (const json::value& e : *a) out.push_back(scalar_text(e));
  } else {
    out.push_back(scalar_text(*v));
  }
  return out;
}

std::string join(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ",";
    out += items[i];
  }
  return out + "]";
}

class Differences {
 public:
  template <typename A, typename B>
  void expect_eq(const std::string& what, const A& expected, const B& got) {
    if (!(expected == got)) add(what, to_text(expected), to_text(got));
  }
  void add(const std::string& what, const std::string& expected, const std::string& got) {
    list_.push_back(what + ": expected " + expected + ", got " + got);
  }
  void note(std::string text) { list_.push_back(std::move(text)); }
  std::vector<std::string> take() && { return std::move(list_); }

 private:
  static std::string to_text(const std::string& s) { return s; }
  static std::string to_text(std::string_view s) { return std::string(s); }
  static std::string to_text(const char* s) { return s; }
  static std::string to_text(bool b) { return b ? "1" : "0"; }
  template <typename T>
  static std::string to_text(const T& v) { return std::to_string(v); }

  std::vector<std::string> list_;
};

std::string status_text(const Status& s) {
  return refusal_category(s) + " (" + s.message() + ")";
}

// 17 hex digits -> the low 64 bits of the 66-bit block (the class digit is checked separately).
std::optional<std::uint64_t> block_low64(std::string_view hex) {
  if (hex.size() != 17) return std::nullopt;
  std::uint64_t out = 0;
  const auto r = std::from_chars(hex.data() + 1, hex.data() + hex.size(), out, 16);
  if (r.ec != std::errc() || r.ptr != hex.data() + hex.size()) return std::nullopt;
  return out;
}

std::uint32_t be32(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint32_t>(b[at]) << 24 | static_cast<std::uint32_t>(b[at + 1]) << 16 |
         static_cast<std::uint32_t>(b[at + 2]) << 8 | static_cast<std::uint32_t>(b[at + 3]);
}

// The 32-bit key part a key change section carries, from the new decoder key (docs/meter.md).
std::optional<std::uint32_t> expected_key_part(const sts::DecoderKey& nk, unsigned subclass) {
  if (nk.size() == 8) {
    const std::uint64_t k = nk.sta_integer();
    if (subclass == 3) return static_cast<std::uint32_t>(k >> 32);
    if (subclass == 4) return static_cast<std::uint32_t>(k & 0xFFFFFFFF);
    return std::nullopt;
  }
  if (nk.size() == 16) {
    const auto b = nk.stored_bytes();
    switch (subclass) {
      case 3: return be32(b, 0);
      case 8: return be32(b, 4);
      case 9: return be32(b, 8);
      case 4: return be32(b, 12);
      default: return std::nullopt;
    }
  }
  return std::nullopt;
}

template <typename T>
std::string opt_text(const std::optional<T>& v) {
  return v ? std::to_string(*v) : std::string("(none)");
}

// Compares what a decoded token carries with the request that produced it.
void check_decoded(Differences& diff, const std::string& where, const sts::DecodedToken& d,
                   const sts::TokenRequest& req, const sts::DecoderKey* new_key) {
  diff.expect_eq(where + " class", req.token_class, d.token_class);
  const unsigned sub = d.subclass;
  if (sts::carries_tid(d.token_class, sub)) {
    if (!d.random_no || *d.random_no != req.random_no) {
      diff.add(where + " random_no", std::to_string(req.random_no), opt_text(d.random_no));
    }
    if (!d.tid || *d.tid != req.tid) diff.add(where + " tid", std::to_string(req.tid), opt_text(d.tid));
  }
  if (d.token_class == 0) {
    diff.expect_eq(where + " subclass", req.subclass, sub);
    const auto encoded = sts::encode_amount(req.amount_tenths);
    if (!encoded.ok()) {
      diff.note(where + " amount: request not encodable: " + encoded.status().message());
      return;
    }
    if (!d.value_field || *d.value_field != *encoded) {
      diff.add(where + " amount field", std::to_string(*encoded), opt_text(d.value_field));
    }
    const std::uint32_t credited = sts::decode_amount(*encoded);
    if (!d.amount_tenths || *d.amount_tenths != credited) {
      diff.add(where + " amount", sts::format_tenths(credited),
               d.amount_tenths ? sts::format_tenths(*d.amount_tenths) : "(none)");
    }
    return;
  }
  if (d.token_class == 1) {
    diff.expect_eq(where + " subclass", req.subclass, sub);
    if (!d.control || *d.control != req.control) {
      diff.add(where + " control", std::to_string(req.control), opt_text(d.control));
    }
    if (!d.manufacturer_code || *d.manufacturer_code != req.manufacturer_code) {
      diff.add(where + " manufacturer_code", std::to_string(req.manufacturer_code), opt_text(d.manufacturer_code));
    }
    return;
  }
  // Class 2.
  if (!req.key_change) {
    diff.expect_eq(where + " subclass", req.subclass, sub);
    auto check_plain = [&](const char* name, std::uint32_t expected, const std::optional<std::uint32_t>& got) {
      if (!got || *got != expected) diff.add(where + " " + name, std::to_string(expected), opt_text(got));
    };
    auto check_amount_coded = [&](const char* name, std::uint32_t requested, const std::optional<std::uint32_t>& got) {
      const auto encoded = sts::encode_amount(requested, name);
      if (!encoded.ok()) {
        diff.note(where + " " + name + ": request not encodable: " + encoded.status().message());
        return;
      }
      if (!d.value_field || *d.value_field != *encoded) {
        diff.add(where + " " + name + " field", std::to_string(*encoded), opt_text(d.value_field));
      }
      check_plain(name, sts::decode_amount(*encoded), got);
    };
    switch (sub) {
      case 0: check_amount_coded("maximum_power_limit", req.maximum_power_limit, d.maximum_power_limit); break;
      case 1: check_plain("register", req.register_no, d.register_no); break;
      case 2: check_plain("tariff_rate", req.tariff_rate, d.tariff_rate); break;
      case 5: check_plain("pad", req.pad, d.pad); break;
      case 6: check_amount_coded("mppul", req.mppul, d.mppul); break;
      case 7: check_plain("wm_factor", req.wm_factor, d.wm_factor); break;
      default: diff.note(where + std::string(": unexpected class 2 subclass ").append(std::to_string(sub))); break;
    }
    return;
  }
  const sts::KeyChange& kc = *req.key_change;
  auto check_u = [&](const char* name, unsigned expected, auto got) {
    if (!got || static_cast<unsigned>(*got) != expected) {
      diff.add(where + " " + name, std::to_string(expected),
               got ? std::to_string(static_cast<unsigned>(*got)) : std::string("(none)"));
    }
  };
  switch (sub) {
    case 3:
      check_u("key_expiry_number_high_order", kc.new_key_expiry_no >> 4, d.key_expiry_nibble);
      check_u("key_revision_number", kc.new_key_revision_no, d.key_revision_no);
      check_u("roll_over_key_change", kc.ro ? 1u : 0u, d.ro);
      check_u("key_type", static_cast<unsigned>(kc.new_key_type), d.key_type);
      break;
    case 4:
      check_u("key_expiry_number_low_order", kc.new_key_expiry_no & 0xFu, d.key_expiry_nibble);
      check_u("tariff_index", kc.new_tariff_index, d.tariff_index);
      break;
    case 8: check_u("supply_group_code_low_order", kc.new_supply_group_code & 0xFFFu, d.sgc_part); break;
    case 9: check_u("supply_group_code_high_order", (kc.new_supply_group_code >> 12) & 0xFFFu, d.sgc_part); break;
    default: diff.note(where + std::string(": unexpected key change subclass ").append(std::to_string(sub))); return;
  }
  if (new_key != nullptr) {
    const auto part = expected_key_part(*new_key, sub);
    if (!part) {
      diff.note(where + std::string(": section ").append(std::to_string(sub)) + " does not fit a " +
                std::to_string(new_key->size() * 8) + "-bit key");
    } else if (!d.key_part || *d.key_part != *part) {
      diff.add(where + " key part", std::to_string(*part), opt_text(d.key_part));
    }
  }
}

// `decoded` in the file: one object, or a list with one object per token.
const json::object* decoded_entry(const json::object& c, std::size_t index) {
  const json::value* v = member(c, "decoded");
  if (v == nullptr) return nullptr;
  if (const auto* o = v->if_object()) return index == 0 ? o : nullptr;
  if (const auto* a = v->if_array()) {
    if (index < a->size()) return (*a)[index].if_object();
  }
  return nullptr;
}

VectorCaseResult run_case(const json::object& c, std::size_t index) {
  VectorCaseResult result;
  if (const json::value* id = member(c, "id")) result.id = scalar_text(*id);
  else result.id = std::string("#").append(std::to_string(index + 1));
  Differences diff;

  const json::value* config_v = member(c, "config");
  const json::value* request_v = member(c, "request");
  const std::optional<std::string> expected_error =
      member(c, "expected_error") ? std::optional<std::string>(scalar_text(*member(c, "expected_error")))
                                  : std::nullopt;
  if (config_v == nullptr || !config_v->is_object() || request_v == nullptr || !request_v->is_object()) {
    diff.note("case: needs a config object and a request object");
    result.differences = std::move(diff).take();
    return result;
  }
  const json::object& request_o = request_v->get_object();
  const std::string drn = member(c, "drn") ? scalar_text(*member(c, "drn")) : std::string();

  // Every step that may refuse; the first refusal is the case's outcome.
  auto run = [&]() -> Result<std::vector<sts::Token>> {
    STSVEND_ASSIGN_OR_RETURN(sts::Config config, config_from_json(config_v->get_object(), result.id));
    STSVEND_ASSIGN_OR_RETURN(sts::DecoderKey key, sts::derive_decoder_key(config, drn));
    STSVEND_ASSIGN_OR_RETURN(sts::TokenRequest req, request_from_json(request_o, config));
    return sts::generate_tokens(config, key, drn, req);
  };

  if (expected_error) {
    auto outcome = run();
    if (outcome.ok()) {
      std::vector<std::string> numbers;
      for (const auto& t : *outcome) numbers.push_back(t.number);
      diff.add("refusal", *expected_error, "tokens " + join(numbers));
    } else if (refusal_category(outcome.status()) != *expected_error) {
      diff.add("refusal", *expected_error, status_text(outcome.status()));
    }
    result.differences = std::move(diff).take();
    return result;
  }

  auto config = config_from_json(config_v->get_object(), result.id);
  if (!config.ok()) {
    diff.note("config refused: " + status_text(config.status()));
    result.differences = std::move(diff).take();
    return result;
  }
  auto key = sts::derive_decoder_key(*config, drn);
  if (!key.ok()) {
    diff.note("decoder key refused: " + status_text(key.status()));
    result.differences = std::move(diff).take();
    return result;
  }
  bool checked_something = false;
  if (const json::value* dk = member(c, "decoder_key")) {
    diff.expect_eq("decoder_key", lower(scalar_text(*dk)), key->hex_for_test());
    checked_something = true;
  }
  auto req = request_from_json(request_o, *config);
  if (!req.ok()) {
    diff.note("request refused: " + status_text(req.status()));
    result.differences = std::move(diff).take();
    return result;
  }

  std::optional<sts::DecoderKey> new_key;
  if (req->key_change) {
    auto nk = sts::derive_new_decoder_key(*config, drn, *req->key_change);
    if (!nk.ok()) {
      diff.note("new decoder key refused: " + status_text(nk.status()));
    } else {
      if (const json::value* v = member(c, "new_decoder_key")) {
        diff.expect_eq("new_decoder_key", lower(scalar_text(*v)), nk->hex_for_test());
        checked_something = true;
      }
      new_key = std::move(nk).value();
    }
  } else if (member(c, "new_decoder_key") != nullptr) {
    diff.note("new_decoder_key given but the request is not a key change");
  }

  auto tokens = sts::generate_tokens(*config, *key, drn, *req);
  if (!tokens.ok()) {
    diff.note("generation refused: " + status_text(tokens.status()));
    result.differences = std::move(diff).take();
    return result;
  }
  std::vector<std::string> got_numbers;
  for (const auto& t : *tokens) got_numbers.push_back(t.number);

  const auto expected_tokens = string_list(c, "tokens");
  if (expected_tokens) {
    diff.expect_eq("tokens", join(*expected_tokens), join(got_numbers));
    checked_something = checked_something || !expected_tokens->empty();
  }
  if (const auto types = string_list(c, "token_type")) {
    std::vector<std::string> got_types;
    for (const auto& t : *tokens) got_types.emplace_back(t.token_type);
    diff.expect_eq("token_type", join(*types), join(got_types));
  }
  const auto blocks = string_list(c, "data_block_hex");
  if (blocks) {
    std::vector<std::string> expected_blocks;
    for (const auto& b : *blocks) expected_blocks.push_back(lower(b));
    std::vector<std::string> got_blocks;
    for (const auto& t : *tokens) got_blocks.push_back(t.data_block_hex());
    diff.expect_eq("data_block_hex", join(expected_blocks), join(got_blocks));
    checked_something = true;
  }
  if (!checked_something) diff.note("case: nothing to compare (no decoder_key, tokens or data_block_hex)");

  // Decode the file's tokens when it lists them (an independent check of the decoder), else ours.
  const std::vector<std::string>& to_decode =
      expected_tokens && !expected_tokens->empty() ? *expected_tokens : got_numbers;
  for (std::size_t i = 0; i < to_decode.size(); ++i) {
    const std::string where = std::string("decode[").append(std::to_string(i)) + "]";
    const sts::DecodeOutcome out = sts::decode_token(to_decode[i], *key, config->encryption_algorithm);
    if (out.result != sts::TokenResult::kAccepted) {
      diff.add(where, "accepted", std::string(sts::token_result_name(out.result)));
      continue;
    }
    if (blocks && i < blocks->size()) {
      const auto low = block_low64(lower((*blocks)[i]));
      if (!low || *low != out.token.plain_block) {
        char buf[17];
        const auto r = std::to_chars(buf, buf + 16, out.token.plain_block, 16);
        diff.add(where + " plain block", lower((*blocks)[i]), std::string(buf, r.ptr));
      }
    }
    check_decoded(diff, where, out.token, *req, new_key ? &*new_key : nullptr);
    if (const json::object* dec = decoded_entry(c, i)) {
      if (const json::value* amount = member(*dec, "amount"); amount != nullptr && out.token.amount_tenths) {
        diff.expect_eq(where + " decoded.amount", scalar_text(*amount), sts::format_tenths(*out.token.amount_tenths));
      }
    }
  }
  result.differences = std::move(diff).take();
  return result;
}

}  // namespace

std::string VectorCaseResult::failure_line() const {
  std::string line = id + ":";
  for (std::size_t i = 0; i < differences.size(); ++i) {
    line += i ? "; " : " ";
    line += differences[i];
  }
  return line;
}

std::string refusal_category(const Status& status) {
  const std::string_view f = status.field();
  if (f == "amount") return "invalid_amount";
  if (f == "vending_key" || f == "vending_key_1" || f == "vending_key_2" || f == "new_vending_key" ||
      f == "new_vending_key_1" || f == "new_vending_key_2") {
    return "invalid_vending_key";
  }
  if (f == "key_expiry_no") return "key_expired";
  if (f == "drn" || f == "new_drn") return "invalid_drn";
  if (f == "encryption_algorithm") return "incompatible_algorithms";
  return "other:" + std::string(f.empty() ? std::string_view("-") : f);
}

Result<VectorRunReport> run_vectors_json(std::string_view json_text) {
  boost::system::error_code ec;
  json::value doc = json::parse(json_text, ec);
  if (ec) return Status::InvalidArgument("file", "not valid JSON: " + ec.message());
  const json::array* cases = nullptr;
  if (const auto* o = doc.if_object()) {
    if (const json::value* v = member(*o, "cases")) cases = v->if_array();
  } else {
    cases = doc.if_array();
  }
  if (cases == nullptr) return Status::InvalidArgument("file", "needs a \"cases\" array");

  VectorRunReport report;
  for (std::size_t i = 0; i < cases->size(); ++i) {
    const json::value& c = (*cases)[i];
    VectorCaseResult r;
    if (const auto* o = c.if_object()) {
      r = run_case(*o, i);
    } else {
      r.id = std::string("#").append(std::to_string(i + 1));
      r.differences.push_back("case: not a JSON object");
    }
    if (r.passed()) ++report.passed;
    else ++report.failed;
    report.cases.push_back(std::move(r));
  }
  return report;
}

Result<VectorRunReport> run_vectors_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("file", "cannot open " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::InvalidArgument("file", "cannot read " + path);
  return run_vectors_json(text.str());
}

}  // namespace stsvend::cli
