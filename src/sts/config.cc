// STS configuration: validation and the seeds' "key: value" text format (see config.h).
#include "stsvend/sts/config.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>

namespace stsvend::sts {

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<unsigned> parse_uint(std::string_view s, unsigned max) {
  if (!all_digits(s) || s.size() > 9) return std::nullopt;
  unsigned v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  if (v > max) return std::nullopt;
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string_view unquote(std::string_view s) {
  if (s.size() >= 2 && (s.front() == '"' || s.front() == '\'') && s.back() == s.front()) {
    return s.substr(1, s.size() - 2);
  }
  return s;
}

constexpr std::array<std::string_view, 15> kKnownKeys = {
    "name", "type", "key_expiry_no", "encryption_algorithm", "token_carrier_type",
    "decoder_key_generation_algorithm", "tariff_index", "key_revision_no", "vending_key", "vending_key_1",
    "vending_key_2", "supply_group_code", "key_type", "base_date", "issuer_identification_no"};

constexpr std::array<std::string_view, 11> kRequiredKeys = {
    "name", "key_expiry_no", "encryption_algorithm", "token_carrier_type", "decoder_key_generation_algorithm",
    "tariff_index", "key_revision_no", "supply_group_code", "key_type", "base_date", "issuer_identification_no"};

Status parse_vending_key(std::string_view field, std::string_view hex, std::size_t bytes_wanted_or_0, SecretBytes* out) {
  if (!parse_hex(hex, out) || hex.empty()) {
    return Status::InvalidArgument(field, "must be hexadecimal (16 digits for DKGA-02, 2 x 16 for DKGA-03, 40 for DKGA-04)");
  }
  if (bytes_wanted_or_0 != 0 && out->size() != bytes_wanted_or_0) {
    return Status::InvalidArgument(field, "must be " + std::to_string(bytes_wanted_or_0 * 2) + " hexadecimal digits");
  }
  if (bytes_wanted_or_0 == 0 && out->size() != 8 && out->size() != 16 && out->size() != 20) {
    return Status::InvalidArgument(field, "must be 16, 32 or 40 hexadecimal digits (64-bit, 2 x 64-bit or 160-bit key)");
  }
  return Status::Ok();
}

}  // namespace

Config Config::clone() const {
  Config c;
  c.name = name;
  c.type = type;
  c.key_expiry_no = key_expiry_no;
  c.encryption_algorithm = encryption_algorithm;
  c.token_carrier_type = token_carrier_type;
  c.decoder_key_generation_algorithm = decoder_key_generation_algorithm;
  c.tariff_index = tariff_index;
  c.key_revision_no = key_revision_no;
  c.vending_key = vending_key.clone();
  c.supply_group_code = supply_group_code;
  c.key_type = key_type;
  c.base_date = base_date;
  c.issuer_identification_no = issuer_identification_no;
  return c;
}

Status validate_config(const Config& c) {
  if (c.name.empty() || c.name.size() > 255) return Status::InvalidArgument("name", "must be 1 to 255 characters");
  if (c.type != "native") {
    return Status::InvalidArgument("type", "must be native (prism-thrift configurations are not served by stsvend)");
  }
  if (c.token_carrier_type != "numeric") return Status::InvalidArgument("token_carrier_type", "must be numeric");
  if (c.tariff_index > 99) return Status::InvalidArgument("tariff_index", "must be 2 decimal digits");
  if (c.key_revision_no < 1 || c.key_revision_no > 9) return Status::InvalidArgument("key_revision_no", "must be 1 to 9");
  if (c.supply_group_code > 999999) return Status::InvalidArgument("supply_group_code", "must be 6 decimal digits");
  if (static_cast<unsigned>(c.key_type) > 3) return Status::InvalidArgument("key_type", "must be 0 to 3");
  // The configuration file format admits 600727 and 0000 only (checked by parse_config_text); the
  // model also takes any 6- or 4-digit IIN, as the published compliance vectors use IIN 000001.
  const std::string& iin = c.issuer_identification_no;
  if ((iin.size() != 6 && iin.size() != 4) || !all_digits(iin)) {
    return Status::InvalidArgument("issuer_identification_no", "must be 600727 or 0000");
  }
  const std::size_t vk = c.vending_key.size();
  if (vk != 8 && vk != 16 && vk != 20) {
    return Status::InvalidArgument("vending_key", "must be 16, 32 or 40 hexadecimal digits (64-bit, 2 x 64-bit or 160-bit key)");
  }
  // Whether the key length suits the DKGA, and the DKGA the EA, is checked when a decoder key is
  // derived (derive_decoder_key): the seeds' own example pairs DKGA-04 with a 64-bit key and must
  // still load, but it can never vend.
  return Status::Ok();
}

Result<Config> parse_config_text(std::string_view text) {
  std::map<std::string, std::string, std::less<>> kv;
  std::size_t line_no = 0;
  bool first_content = true;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    if (first_content && line == "---") {
      first_content = false;
      continue;
    }
    first_content = false;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument("line " + std::to_string(line_no), "must be \"key: value\"");
    }
    const std::string_view key = trim(line.substr(0, colon));
    const std::string_view value = unquote(trim(line.substr(colon + 1)));
    if (std::find(kKnownKeys.begin(), kKnownKeys.end(), key) == kKnownKeys.end()) {
      return Status::InvalidArgument(key.empty() ? std::string("line ") + std::to_string(line_no) : std::string(key),
                                     "is not a configuration key");
    }
    if (!kv.emplace(std::string(key), std::string(value)).second) {
      return Status::InvalidArgument(key, "appears more than once");
    }
  }
  for (std::string_view key : kRequiredKeys) {
    if (!kv.contains(key)) return Status::InvalidArgument(key, "is missing");
  }

  Config c;
  c.name = kv["name"];
  if (c.name.empty()) return Status::InvalidArgument("name", "must not be empty");
  if (auto it = kv.find("type"); it != kv.end()) c.type = it->second;

  const auto u = [&](std::string_view key, unsigned max) { return parse_uint(kv.find(key)->second, max); };
  if (auto v = u("key_expiry_no", 255)) c.key_expiry_no = static_cast<std::uint8_t>(*v);
  else return Status::InvalidArgument("key_expiry_no", "must be a whole number from 0 to 255");

  if (auto ea = parse_encryption_algorithm(kv["encryption_algorithm"]); ea && kv["encryption_algorithm"].size() > 2) c.encryption_algorithm = *ea;
  else return Status::InvalidArgument("encryption_algorithm", "must be sta, dea or misty");

  c.token_carrier_type = kv["token_carrier_type"];
  if (c.token_carrier_type != "numeric") return Status::InvalidArgument("token_carrier_type", "must be numeric");

  const std::string& dkga = kv["decoder_key_generation_algorithm"];
  if (auto d = parse_dkga(dkga); d && dkga.size() == 2) c.decoder_key_generation_algorithm = *d;
  else return Status::InvalidArgument("decoder_key_generation_algorithm", "must be 01, 02, 03 or 04");

  const std::string& ti = kv["tariff_index"];
  if (ti.size() == 2 && all_digits(ti)) c.tariff_index = static_cast<std::uint8_t>((ti[0] - '0') * 10 + (ti[1] - '0'));
  else return Status::InvalidArgument("tariff_index", "must be exactly 2 decimal digits");

  if (auto v = u("key_revision_no", 9); v && *v >= 1) c.key_revision_no = static_cast<std::uint8_t>(*v);
  else return Status::InvalidArgument("key_revision_no", "must be a whole number from 1 to 9");

  const std::string& sgc = kv["supply_group_code"];
  if (sgc.size() == 6 && all_digits(sgc)) c.supply_group_code = static_cast<std::uint32_t>(std::stoul(sgc));
  else return Status::InvalidArgument("supply_group_code", "must be exactly 6 decimal digits");

  if (auto v = u("key_type", 3)) c.key_type = static_cast<KeyType>(*v);
  else return Status::InvalidArgument("key_type", "must be a whole number from 0 to 3");

  const auto year = u("base_date", 9999);
  if (auto bd = year ? base_date_from_year(static_cast<int>(*year)) : std::nullopt) c.base_date = *bd;
  else return Status::InvalidArgument("base_date", "must be 1993, 2014 or 2035");

  c.issuer_identification_no = kv["issuer_identification_no"];
  if (c.issuer_identification_no != "600727" && c.issuer_identification_no != "0000") {
    return Status::InvalidArgument("issuer_identification_no", "must be 600727 or 0000");
  }

  const bool has_vk = kv.contains("vending_key");
  const bool has_split = kv.contains("vending_key_1") || kv.contains("vending_key_2");
  if (has_split) {
    if (c.decoder_key_generation_algorithm != Dkga::k03) {
      return Status::InvalidArgument("vending_key_1", "is only used with decoder_key_generation_algorithm 03");
    }
    if (!kv.contains("vending_key_1")) return Status::InvalidArgument("vending_key_1", "is missing");
    if (!kv.contains("vending_key_2")) return Status::InvalidArgument("vending_key_2", "is missing");
    SecretBytes k1, k2;
    STSVEND_RETURN_IF_ERROR(parse_vending_key("vending_key_1", kv["vending_key_1"], 8, &k1));
    STSVEND_RETURN_IF_ERROR(parse_vending_key("vending_key_2", kv["vending_key_2"], 8, &k2));
    SecretBytes both(16);
    for (std::size_t i = 0; i < 8; ++i) {
      both[i] = k1[i];
      both[8 + i] = k2[i];
    }
    c.vending_key = std::move(both);
  } else if (has_vk) {
    STSVEND_RETURN_IF_ERROR(parse_vending_key("vending_key", kv["vending_key"], 0, &c.vending_key));
  } else {
    return Status::InvalidArgument("vending_key", "is missing");
  }
  // Wipe the text copies of the key material.
  for (auto& [key, value] : kv) {
    if (key.starts_with("vending_key")) {
      volatile char* p = value.data();
      for (std::size_t i = 0; i < value.size(); ++i) p[i] = 0;
    }
  }
  STSVEND_RETURN_IF_ERROR(validate_config(c));
  return c;
}

std::string format_config_text(const Config& c) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string vk;
  for (std::uint8_t b : c.vending_key.span()) {
    vk.push_back(kHex[b >> 4]);
    vk.push_back(kHex[b & 15]);
  }
  char buf[64];
  std::string out = "---\n";
  out += "name: " + c.name + "\n";
  out += "type: " + c.type + "\n";
  out += "key_expiry_no: " + std::to_string(c.key_expiry_no) + "\n";
  out += "encryption_algorithm: " + std::string(encryption_algorithm_name(c.encryption_algorithm)) + "\n";
  out += "token_carrier_type: " + c.token_carrier_type + "\n";
  out += "decoder_key_generation_algorithm: " + std::string(dkga_name(c.decoder_key_generation_algorithm)) + "\n";
  std::snprintf(buf, sizeof buf, "tariff_index: %02u\n", static_cast<unsigned>(c.tariff_index));
  out += buf;
  out += "key_revision_no: " + std::to_string(c.key_revision_no) + "\n";
  out += "vending_key: " + vk + "\n";
  std::snprintf(buf, sizeof buf, "supply_group_code: %06u\n", static_cast<unsigned>(c.supply_group_code));
  out += buf;
  out += "key_type: " + std::to_string(static_cast<unsigned>(c.key_type)) + "\n";
  out += "base_date: " + std::to_string(static_cast<unsigned>(c.base_date)) + "\n";
  out += "issuer_identification_no: " + c.issuer_identification_no + "\n";
  volatile char* p = vk.data();
  for (std::size_t i = 0; i < vk.size(); ++i) p[i] = 0;
  return out;
}

}  // namespace stsvend::sts
