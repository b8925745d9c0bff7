// The virtual meter: token acceptance rules, register effects, key change assembly and the state
// text format. REFERENCE.md §5.3 and §8.1, STANDARD-NOTES §9; every open choice in docs/meter.md.
#include "stsvend/sts/meter.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>
#include <utility>

#include "stsvend/secret.h"
#include "stsvend/sts/tid.h"
#include "stsvend/sts/types.h"

namespace stsvend::sts {

namespace {

// The largest credit a register holds, in tenths: what an 8-digit display with one decimal shows
// (9 999 999.9 units). The standard leaves the register size to the meter; docs/meter.md.
constexpr std::uint64_t kCreditRegisterMaxTenths = 99'999'999;
// ClearCredit register selector meaning "every register".
constexpr std::uint32_t kAllRegisters = 0xFFFF;
// Credit registers exist for class 0 subclasses 0..7 (electricity, water, gas, time and their
// currency forms); ClearCredit may name any of them.
constexpr std::uint32_t kCreditRegisterCount = 8;

bool is_key_change_section(unsigned token_class, unsigned subclass) {
  return token_class == 2 && (subclass == 3 || subclass == 4 || subclass == 8 || subclass == 9);
}

// Bits of a buffered key change section (the 64-bit plain block; layout in token_format.h).
unsigned field(std::uint64_t block, unsigned shift, std::uint64_t mask) {
  return static_cast<unsigned>((block >> shift) & mask);
}
std::uint32_t key_part_of(std::uint64_t block) { return static_cast<std::uint32_t>(block >> 16); }

void put_be32(SecretBytes& out, std::size_t at, std::uint32_t v) {
  out[at] = static_cast<std::uint8_t>(v >> 24);
  out[at + 1] = static_cast<std::uint8_t>(v >> 16);
  out[at + 2] = static_cast<std::uint8_t>(v >> 8);
  out[at + 3] = static_cast<std::uint8_t>(v);
}

// The sections a complete set needs for a key of `key_bytes` bytes.
std::set<unsigned> required_sections(std::size_t key_bytes) {
  if (key_bytes == 16) return {3, 4, 8, 9};
  return {3, 4};
}

DecodeOutcome refuse(DecodeOutcome out, TokenResult why) {
  out.result = why;
  return out;
}

}  // namespace

Result<VirtualMeter> VirtualMeter::commission(const Config& config, std::string_view drn,
                                             std::uint32_t manufacturer_code) {
  STSVEND_RETURN_IF_ERROR(validate_config(config));
  STSVEND_ASSIGN_OR_RETURN(DecoderKey key, derive_decoder_key(config, drn));
  MeterState s;
  s.key = std::move(key);
  s.encryption_algorithm = config.encryption_algorithm;
  s.base_date = config.base_date;
  s.key_expiry_no = config.key_expiry_no;
  s.key_revision_no = config.key_revision_no;
  s.key_type = config.key_type;
  s.tariff_index = config.tariff_index;
  s.supply_group_code = config.supply_group_code;
  s.manufacturer_code = manufacturer_code;
  return VirtualMeter(std::move(s));
}

DecodeOutcome VirtualMeter::enter(std::string_view digits) {
  DecodeOutcome out = decode_token(digits, state_.key, state_.encryption_algorithm);
  if (out.result != TokenResult::kAccepted) return out;  // FORMAT, CRC, FUNCTION: nothing changes
  const DecodedToken& t = out.token;

  if (t.token_class == 1) {
    // Test/display tokens are not encrypted; the manufacturer code is their only gate.
    if (state_.manufacturer_code != 0 && t.manufacturer_code && *t.manufacturer_code != 0 &&
        *t.manufacturer_code != state_.manufacturer_code) {
      return refuse(std::move(out), TokenResult::kAuthentication);
    }
    state_.pending_key_change.clear();
    return out;
  }

  if (is_key_change_section(t.token_class, t.subclass)) {
    const std::set<unsigned> needed = required_sections(state_.key.size());
    // 3rd/4th sections only exist for 128-bit keys.
    if (needed.count(t.subclass) == 0) return refuse(std::move(out), TokenResult::kFunction);
    // A key change may never install an initialisation key.
    if (t.subclass == 3 && t.key_type && *t.key_type == static_cast<std::uint8_t>(KeyType::kDitk)) {
      return refuse(std::move(out), TokenResult::kKeyType);
    }
    std::map<unsigned, std::uint64_t> sections = state_.pending_key_change;
    sections[t.subclass] = t.plain_block;  // a re-entered section replaces the earlier one
    for (const unsigned s : needed) {
      if (sections.count(s) == 0) {
        state_.pending_key_change = std::move(sections);
        return refuse(std::move(out), TokenResult::kKeyChangePending);
      }
    }
    // Complete: commit everything at once.
    const std::uint64_t first = sections.at(3);
    const std::uint64_t second = sections.at(4);
    SecretBytes new_key(state_.key.size());
    if (new_key.size() == 16) {
      put_be32(new_key, 0, key_part_of(first));
      put_be32(new_key, 4, key_part_of(sections.at(8)));   // NKMO2
      put_be32(new_key, 8, key_part_of(sections.at(9)));   // NKMO1
      put_be32(new_key, 12, key_part_of(second));
      state_.supply_group_code = field(sections.at(9), 48, 0xFFF) << 12 | field(sections.at(8), 48, 0xFFF);
    } else {
      // 64-bit keys travel as the STA integer NK = NKHO << 32 | NKLO; stored bytes are its
      // little-endian form (decoder_key.h).
      const std::uint64_t nk = std::uint64_t{key_part_of(first)} << 32 | key_part_of(second);
      for (std::size_t i = 0; i < new_key.size(); ++i) new_key[i] = static_cast<std::uint8_t>(nk >> (8 * i));
    }
    state_.key = DecoderKey(std::move(new_key));
    state_.key_expiry_no = static_cast<std::uint8_t>(field(first, 56, 0xF) << 4 | field(second, 56, 0xF));
    state_.key_revision_no = static_cast<std::uint8_t>(field(first, 52, 0xF));
    state_.key_type = static_cast<KeyType>(field(first, 48, 0x3));
    state_.tariff_index = static_cast<std::uint8_t>(field(second, 48, 0xFF));
    if (field(first, 51, 1) == 1) state_.tid_store.clear();  // roll-over
    state_.pending_key_change.clear();
    return out;
  }

  // Tokens with a TID: class 0 and class 2 value subclasses.
  if (!t.tid) return refuse(std::move(out), TokenResult::kFunction);
  const std::uint32_t tid = *t.tid;
  auto& store = state_.tid_store;
  if (std::binary_search(store.begin(), store.end(), tid)) return refuse(std::move(out), TokenResult::kUsed);
  if (store.size() >= MeterState::kTidStoreSize && tid < store.front()) {
    return refuse(std::move(out), TokenResult::kOld);
  }
  if (key_expired(tid, state_.key_expiry_no)) return refuse(std::move(out), TokenResult::kKeyExpired);
  if (t.token_class == 0 && state_.key_type == KeyType::kDdtk) return refuse(std::move(out), TokenResult::kDdtk);

  // Range and overflow, before anything changes.
  if (t.token_class == 0) {
    const std::uint64_t now = state_.credit_tenths.count(t.subclass) ? state_.credit_tenths.at(t.subclass) : 0;
    const std::uint64_t add = t.amount_tenths.value_or(0);
    if (now + add > kCreditRegisterMaxTenths) return refuse(std::move(out), TokenResult::kOverflow);
    state_.credit_tenths[t.subclass] = now + add;
  } else {
    switch (t.subclass) {
      case 0: state_.maximum_power_limit = t.maximum_power_limit.value_or(0); break;
      case 1: {
        const std::uint32_t reg = t.register_no.value_or(0);
        if (reg == kAllRegisters) {
          for (auto& [sub, tenths] : state_.credit_tenths) tenths = 0;
        } else if (reg < kCreditRegisterCount) {
          if (state_.credit_tenths.count(reg)) state_.credit_tenths[reg] = 0;
        } else {
          return refuse(std::move(out), TokenResult::kRange);
        }
        break;
      }
      case 2: state_.tariff_rate = t.tariff_rate.value_or(0); break;
      case 5: state_.tamper = false; break;
      case 6: state_.mppul = t.mppul.value_or(0); break;
      case 7: state_.wm_factor = t.wm_factor.value_or(0); break;
      default: return refuse(std::move(out), TokenResult::kFunction);
    }
  }

  store.insert(std::upper_bound(store.begin(), store.end(), tid), tid);
  if (store.size() > MeterState::kTidStoreSize) store.erase(store.begin());  // forget the oldest
  state_.pending_key_change.clear();  // an accepted non-key-change token abandons a partial set
  return out;
}

// ---- state text ---------------------------------------------------------------------------------
//
// One "key value..." line each, in this order, after the header line "stsvend-meter 1":
//   encryption_algorithm sta|dea|misty        base_date 1993|2014|2035
//   decoder_key <hex>                          key_expiry_no N   key_revision_no N   key_type N
//   tariff_index N   supply_group_code N       manufacturer_code N
//   tid_store [TID...]  (ascending)            credit <subclass> <tenths>   (0 or more lines)
//   maximum_power_limit N  mppul N  tariff_rate N  wm_factor N  tamper 0|1
//   pending <subclass> <16 hex digits>         (0 or more lines)

namespace {

std::string hex64(std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kDigits[v & 0xF];
    v >>= 4;
  }
  return out;
}

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

Result<std::uint64_t> number(std::string_view word, std::string_view key, std::uint64_t max, int base = 10) {
  std::uint64_t v = 0;
  const auto r = std::from_chars(word.data(), word.data() + word.size(), v, base);
  if (word.empty() || r.ec != std::errc() || r.ptr != word.data() + word.size() || v > max) {
    return Status::Corruption(key, "bad value \"" + std::string(word) + "\"");
  }
  return v;
}

}  // namespace

std::string VirtualMeter::serialize() const {
  const MeterState& s = state_;
  std::string out = "stsvend-meter 1\n";
  auto line = [&out](std::string_view key, const std::string& value) {
    out.append(key).append(" ").append(value).append("\n");
  };
  line("encryption_algorithm", std::string(encryption_algorithm_name(s.encryption_algorithm)));
  line("base_date", std::to_string(static_cast<unsigned>(s.base_date)));
  line("decoder_key", s.key.hex_for_test());
  line("key_expiry_no", std::to_string(s.key_expiry_no));
  line("key_revision_no", std::to_string(s.key_revision_no));
  line("key_type", std::to_string(static_cast<unsigned>(s.key_type)));
  line("tariff_index", std::to_string(s.tariff_index));
  line("supply_group_code", std::to_string(s.supply_group_code));
  line("manufacturer_code", std::to_string(s.manufacturer_code));
  out.append("tid_store");
  for (const std::uint32_t tid : s.tid_store) out.append(" ").append(std::to_string(tid));
  out.append("\n");
  for (const auto& [sub, tenths] : s.credit_tenths) line("credit", std::to_string(sub) + std::string(" ").append(std::to_string(tenths)));
  line("maximum_power_limit", std::to_string(s.maximum_power_limit));
  line("mppul", std::to_string(s.mppul));
  line("tariff_rate", std::to_string(s.tariff_rate));
  line("wm_factor", std::to_string(s.wm_factor));
  line("tamper", s.tamper ? "1" : "0");
  for (const auto& [sub, block] : s.pending_key_change) line("pending", std::to_string(sub) + " " + hex64(block));
  return out;
}

Result<VirtualMeter> VirtualMeter::deserialize(std::string_view text) {
  MeterState s;
  std::set<std::string, std::less<>> seen;
  bool header = false;
  std::size_t line_no = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_no;
    const std::vector<std::string_view> w = split_words(raw);
    if (w.empty()) continue;
    const std::string where = std::string("line ").append(std::to_string(line_no));
    if (!header) {
      if (w.size() != 2 || w[0] != "stsvend-meter" || w[1] != "1") {
        return Status::Corruption("state", where + ": expected header \"stsvend-meter 1\"");
      }
      header = true;
      continue;
    }
    const std::string_view key = w[0];
    const bool repeatable = key == "credit" || key == "pending";
    if (!repeatable && !seen.insert(std::string(key)).second) {
      return Status::Corruption(key, where + ": duplicate key");
    }
    const bool list_key = key == "tid_store";
    if (!list_key && w.size() != (repeatable ? 3u : 2u)) {
      return Status::Corruption(key, where + ": wrong number of values");
    }
    if (key == "encryption_algorithm") {
      const auto ea = parse_encryption_algorithm(w[1]);
      if (!ea) return Status::Corruption(key, where + ": unknown algorithm");
      s.encryption_algorithm = *ea;
    } else if (key == "base_date") {
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t y, number(w[1], key, 9999));
      const auto bd = base_date_from_year(static_cast<int>(y));
      if (!bd) return Status::Corruption(key, where + ": not 1993, 2014 or 2035");
      s.base_date = *bd;
    } else if (key == "decoder_key") {
      SecretBytes bytes;
      if (!parse_hex(w[1], &bytes)) return Status::Corruption(key, where + ": not hex");
      s.key = DecoderKey(std::move(bytes));
    } else if (key == "key_expiry_no") {
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, number(w[1], key, 255));
      s.key_expiry_no = static_cast<std::uint8_t>(v);
    } else if (key == "key_revision_no") {
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, number(w[1], key, 15));
      s.key_revision_no = static_cast<std::uint8_t>(v);
    } else if (key == "key_type") {
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, number(w[1], key, 3));
      s.key_type = static_cast<KeyType>(v);
    } else if (key == "tariff_index") {
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, number(w[1], key, 255));
      s.tariff_index = static_cast<std::uint8_t>(v);
    } else if (key == "supply_group_code") {
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, number(w[1], key, 0xFFFFFF));
      s.supply_group_code = static_cast<std::uint32_t>(v);
    } else if (key == "manufacturer_code") {
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, number(w[1], key, 0xFFFF));
      s.manufacturer_code = static_cast<std::uint32_t>(v);
    } else if (key == "tid_store") {
      if (w.size() - 1 > MeterState::kTidStoreSize) return Status::Corruption(key, where + ": more than 50 TIDs");
      for (std::size_t i = 1; i < w.size(); ++i) {
        STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, number(w[i], key, kMaxTid));
        const auto tid = static_cast<std::uint32_t>(v);
        if (!s.tid_store.empty() && tid <= s.tid_store.back()) {
          return Status::Corruption(key, where + ": TIDs must be strictly ascending");
        }
        s.tid_store.push_back(tid);
      }
    } else if (key == "credit") {
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t sub, number(w[1], key, kCreditRegisterCount - 1));
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t tenths, number(w[2], key, kCreditRegisterMaxTenths));
      if (!s.credit_tenths.emplace(static_cast<unsigned>(sub), tenths).second) {
        return Status::Corruption(key, where + ": register listed twice");
      }
    } else if (key == "maximum_power_limit" || key == "mppul" || key == "tariff_rate" || key == "wm_factor") {
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, number(w[1], key, std::numeric_limits<std::uint32_t>::max()));
      const auto v32 = static_cast<std::uint32_t>(v);
      if (key == "maximum_power_limit") s.maximum_power_limit = v32;
      else if (key == "mppul") s.mppul = v32;
      else if (key == "tariff_rate") s.tariff_rate = v32;
      else s.wm_factor = v32;
    } else if (key == "tamper") {
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, number(w[1], key, 1));
      s.tamper = v == 1;
    } else if (key == "pending") {
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t sub, number(w[1], key, 15));
      if (!is_key_change_section(2, static_cast<unsigned>(sub))) {
        return Status::Corruption(key, where + ": not a key change section");
      }
      if (w[2].size() != 16) return Status::Corruption(key, where + ": block must be 16 hex digits");
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t block, number(w[2], key, std::numeric_limits<std::uint64_t>::max(), 16));
      if (!s.pending_key_change.emplace(static_cast<unsigned>(sub), block).second) {
        return Status::Corruption(key, where + ": section listed twice");
      }
    } else {
      return Status::Corruption(key, where + ": unknown key");
    }
  }
  if (!header) return Status::Corruption("state", "empty: expected header \"stsvend-meter 1\"");
  for (const char* required : {"encryption_algorithm", "base_date", "decoder_key", "key_expiry_no",
                               "key_revision_no", "key_type", "tariff_index", "supply_group_code", "tid_store"}) {
    if (seen.count(required) == 0) return Status::Corruption(required, "missing");
  }
  if (s.key.size() != decoder_key_bytes(s.encryption_algorithm)) {
    return Status::Corruption("decoder_key", "length does not suit the encryption algorithm");
  }
  return VirtualMeter(std::move(s));
}

}  // namespace stsvend::sts
