// `stsvend token generate` and `stsvend token decode`: the engine on the command line, for one
// meter described by a configuration file and a DRN. Options and output formats: docs/cli.md.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "cli/commands.h"
#include "stsvend/secret.h"
#include "stsvend/sts/amount.h"
#include "stsvend/sts/config.h"
#include "stsvend/sts/decode.h"
#include "stsvend/sts/decoder_key.h"
#include "stsvend/sts/meter.h"
#include "stsvend/sts/meter_id.h"
#include "stsvend/sts/tid.h"
#include "stsvend/sts/token.h"
#include "stsvend/sts/types.h"

namespace stsvend::cli {

namespace json = boost::json;

namespace {

constexpr int kExitBadInput = 2;

// Prints the one-line error for bad input and returns the exit code for it.
int bad_input(const Status& s) {
  std::fprintf(stderr, "stsvend: %s\n", s.message().c_str());
  return kExitBadInput;
}

Result<std::uint64_t> parse_uint(const std::string& text, std::string_view field, std::uint64_t max) {
  std::uint64_t v = 0;
  if (text.empty()) return Status::InvalidArgument(field, "must be a decimal number");
  for (const char c : text) {
    if (c < '0' || c > '9') return Status::InvalidArgument(field, "must be a decimal number");
  }
  const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc()) return Status::InvalidArgument(field, "number too large");
  if (v > max) return Status::InvalidArgument(field, std::string("at most ").append(std::to_string(max)));
  return v;
}

Result<sts::Config> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument("config", "cannot open " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::InvalidArgument("config", "cannot read " + path);
  auto config = sts::parse_config_text(text.str());
  if (!config.ok()) {
    // Say which file; the engine's field and rule stay as they are.
    const Status& s = config.status();
    return Status::InvalidArgument(s.field().empty() ? std::string("config") : std::string(s.field()),
                                   std::string(s.rule()) + " (in " + path + ")");
  }
  return config;
}

// "12345678901234567890" -> "1234-5678-9012-3456-7890".
std::string grouped(std::string_view digits) {
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && i % 4 == 0) out += '-';
    out += digits[i];
  }
  return out;
}

// ---- token generate -----------------------------------------------------------------------------

struct GenerateOptions {
  std::string config_file, drn, token_class, subclass, token_id, random_no;
  // Type fields, named as the Nectar API names them.
  std::string amount, control, manufacturer_code, maximum_power_limit, register_no, tariff_rate, wm_factor, pad,
      mppul;
  std::string new_vending_key, new_supply_group_code, new_tariff_index, new_key_revision_no, new_key_type,
      new_key_expiry_no, new_drn, new_issuer_identification_no, ro;
  bool json = false;
  // Which of the optional strings were given on the command line.
  std::vector<std::pair<std::string, CLI::Option*>> given;

  bool has(std::string_view name) const {
    for (const auto& [n, o] : given) {
      if (n == name) return o->count() > 0;
    }
    return false;
  }
};

Result<std::uint32_t> require_u32(const GenerateOptions& o, std::string_view name, const std::string& value,
                                  std::uint64_t max = 0xFFFFFFFF) {
  if (!o.has(name)) return Status::InvalidArgument(name, "required for this class and subclass");
  STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, parse_uint(value, name, max));
  return static_cast<std::uint32_t>(v);
}

Result<sts::KeyChange> key_change_from_options(const GenerateOptions& o, const sts::Config& config) {
  if (!o.has("new_vending_key")) return Status::InvalidArgument("new_vending_key", "required for a key change");
  sts::KeyChange change;
  if (!parse_hex(o.new_vending_key, &change.new_vending_key)) {
    return Status::InvalidArgument("new_vending_key", "must be an even number of hex digits");
  }
  // Unchanged attributes default to the current configuration's (docs/cli.md).
  change.new_supply_group_code = config.supply_group_code;
  change.new_tariff_index = config.tariff_index;
  change.new_key_revision_no = config.key_revision_no;
  change.new_key_type = config.key_type;
  change.new_key_expiry_no = config.key_expiry_no;
  if (o.has("new_supply_group_code")) {
    STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, parse_uint(o.new_supply_group_code, "new_supply_group_code", 999999));
    change.new_supply_group_code = static_cast<std::uint32_t>(v);
  }
  if (o.has("new_tariff_index")) {
    STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, parse_uint(o.new_tariff_index, "new_tariff_index", 99));
    change.new_tariff_index = static_cast<std::uint8_t>(v);
  }
  if (o.has("new_key_revision_no")) {
    STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, parse_uint(o.new_key_revision_no, "new_key_revision_no", 15));
    change.new_key_revision_no = static_cast<std::uint8_t>(v);
  }
  if (o.has("new_key_type")) {
    STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, parse_uint(o.new_key_type, "new_key_type", 3));
    change.new_key_type = static_cast<sts::KeyType>(v);
  }
  if (o.has("new_key_expiry_no")) {
    STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, parse_uint(o.new_key_expiry_no, "new_key_expiry_no", 255));
    change.new_key_expiry_no = static_cast<std::uint8_t>(v);
  }
  if (o.has("new_drn")) change.new_drn = o.new_drn;
  if (o.has("new_issuer_identification_no")) change.new_issuer_identification_no = o.new_issuer_identification_no;
  if (o.has("ro")) {
    STSVEND_ASSIGN_OR_RETURN(const std::uint64_t v, parse_uint(o.ro, "ro", 1));
    change.ro = v == 1;
  }
  return change;
}

Result<sts::TokenRequest> request_from_options(const GenerateOptions& o, const sts::Config& config) {
  sts::TokenRequest req;
  STSVEND_ASSIGN_OR_RETURN(const std::uint64_t cls, parse_uint(o.token_class, "class", 2));
  STSVEND_ASSIGN_OR_RETURN(const std::uint64_t sub, parse_uint(o.subclass, "subclass", 15));
  req.token_class = static_cast<unsigned>(cls);
  req.subclass = static_cast<unsigned>(sub);
  if (sts::token_type_name(req.token_class, req.subclass).empty()) {
    return Status::InvalidArgument("subclass", std::string("not a defined token type for class ").append(std::to_string(cls)));
  }

  if (sts::carries_tid(req.token_class, req.subclass)) {
    std::int64_t unix_seconds = 0;
    if (o.has("token_id")) {
      STSVEND_ASSIGN_OR_RETURN(unix_seconds, sts::parse_instant(o.token_id, "token_id"));
    } else {
      unix_seconds = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    }
    STSVEND_ASSIGN_OR_RETURN(req.tid, sts::tid_from_unix(unix_seconds, config.base_date, "token_id"));
    if (o.has("random_no")) {
      STSVEND_ASSIGN_OR_RETURN(const std::uint64_t rnd, parse_uint(o.random_no, "random_no", 15));
      req.random_no = static_cast<std::uint8_t>(rnd);
    } else {
      // The engine takes no RNG: the front end picks RND.
      std::random_device device;
      std::uniform_int_distribution<unsigned> dist(0, 15);
      req.random_no = static_cast<std::uint8_t>(dist(device));
    }
  }

  // Each case is its own block: STSVEND_ASSIGN_OR_RETURN declares a temporary.
  if (req.token_class == 0) {
    if (!o.has("amount")) return Status::InvalidArgument("amount", "required for class 0");
    STSVEND_ASSIGN_OR_RETURN(req.amount_tenths, sts::parse_amount_units(o.amount, "amount"));
  } else if (req.token_class == 1) {
    if (!o.has("control")) return Status::InvalidArgument("control", "required for class 1");
    STSVEND_ASSIGN_OR_RETURN(req.control, parse_uint(o.control, "control", UINT64_MAX));
    STSVEND_ASSIGN_OR_RETURN(req.manufacturer_code, require_u32(o, "manufacturer_code", o.manufacturer_code));
  } else if (req.subclass == 0) {
    STSVEND_ASSIGN_OR_RETURN(req.maximum_power_limit, require_u32(o, "maximum_power_limit", o.maximum_power_limit));
  } else if (req.subclass == 1) {
    STSVEND_ASSIGN_OR_RETURN(req.register_no, require_u32(o, "register", o.register_no, 0xFFFF));
  } else if (req.subclass == 2) {
    STSVEND_ASSIGN_OR_RETURN(req.tariff_rate, require_u32(o, "tariff_rate", o.tariff_rate, 0xFFFF));
  } else if (req.subclass == 5) {
    // The standard's pad value is 0; the option exists for completeness.
    if (o.has("pad")) {
      STSVEND_ASSIGN_OR_RETURN(req.pad, require_u32(o, "pad", o.pad, 0xFFFF));
    }
  } else if (req.subclass == 6) {
    STSVEND_ASSIGN_OR_RETURN(req.mppul, require_u32(o, "mppul", o.mppul));
  } else if (req.subclass == 7) {
    STSVEND_ASSIGN_OR_RETURN(req.wm_factor, require_u32(o, "wm_factor", o.wm_factor, 0xFFFF));
  } else {
    STSVEND_ASSIGN_OR_RETURN(sts::KeyChange change, key_change_from_options(o, config));
    req.key_change = std::move(change);
  }
  return req;
}

int run_generate(const GenerateOptions& o) {
  auto config = load_config(o.config_file);
  if (!config.ok()) return bad_input(config.status());
  const Status drn_ok = sts::validate_drn(config->issuer_identification_no, o.drn);
  if (!drn_ok.ok()) return bad_input(drn_ok);
  auto request = request_from_options(o, *config);
  if (!request.ok()) return bad_input(request.status());
  auto key = sts::derive_decoder_key(*config, o.drn);
  if (!key.ok()) return bad_input(key.status());
  auto tokens = sts::generate_tokens(*config, *key, o.drn, *request);
  if (!tokens.ok()) return bad_input(tokens.status());

  if (!o.json) {
    for (const sts::Token& t : *tokens) std::printf("%s\n", grouped(t.number).c_str());
    return 0;
  }
  json::array list;
  for (const sts::Token& t : *tokens) {
    json::object e;
    e["token_no"] = t.number;
    e["token_type"] = std::string(t.token_type);
    e["class"] = t.token_class;
    e["subclass"] = t.subclass;
    if (t.tid) {
      e["tid"] = *t.tid;
      e["token_id"] = sts::format_instant(sts::unix_from_tid(*t.tid, config->base_date));
      e["random_no"] = request->random_no;
    }
    list.push_back(std::move(e));
  }
  json::object doc;
  doc["tokens"] = std::move(list);
  std::printf("%s\n", json::serialize(doc).c_str());
  return 0;
}

// ---- token decode -------------------------------------------------------------------------------

struct DecodeOptions {
  std::string config_file, drn, state_file;
  std::vector<std::string> tokens;
  bool json = false;
};

// Only digits with optional '-' or ' ' separators, exactly 20 digits: anything else is a typing
// error we report before the meter sees it. Returns the plain digits.
Result<std::string> token_digits(const std::string& text) {
  std::string digits;
  for (const char c : text) {
    if (c >= '0' && c <= '9') digits += c;
    else if (c != '-' && c != ' ') return Status::InvalidArgument("TOKEN", "'" + text + "' has a character other than digits, '-' and ' '");
  }
  if (digits.size() != 20) return Status::InvalidArgument("TOKEN", "'" + text + "' is not 20 digits");
  return digits;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<std::string> read_file(const std::string& path, std::string_view field) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(field, "cannot open " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::InvalidArgument(field, "cannot read " + path);
  return text.str();
}

// Writes the meter state next to `path` and renames it into place, so a crash never leaves half a
// state file; the file holds the decoder key, hence mode 0600 whatever the umask.
Status write_state(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::InvalidArgument("state", "cannot write " + tmp + ": " + std::strerror(errno));
  bool ok = ::fchmod(fd, 0600) == 0;
  std::size_t done = 0;
  while (ok && done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    else done += static_cast<std::size_t>(n);
  }
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return Status::InvalidArgument("state", "cannot write " + path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

// The decoded fields by their Nectar names. New key parts (new_key_*_order) are the next decoder
// key, i.e. key material, and are deliberately left out.
json::object decoded_json(const std::string& digits, const sts::DecodeOutcome& out, sts::BaseDate base_date) {
  json::object o;
  o["token_no"] = digits;
  o["result"] = out.result == sts::TokenResult::kAccepted ? std::string("accepted")
                                                           : std::string(sts::token_result_name(out.result));
  if (out.result == sts::TokenResult::kFormat || out.result == sts::TokenResult::kCrc) return o;
  const sts::DecodedToken& t = out.token;
  o["class"] = t.token_class;
  o["subclass"] = t.subclass;
  o["token_type"] = std::string(t.token_type);
  if (t.tid) {
    o["tid"] = *t.tid;
    o["token_id"] = sts::format_instant(sts::unix_from_tid(*t.tid, base_date));
  }
  if (t.random_no) o["random_no"] = *t.random_no;
  if (t.amount_tenths) o["amount"] = sts::format_tenths(*t.amount_tenths);
  if (t.control) o["control"] = *t.control;
  if (t.manufacturer_code) o["manufacturer_code"] = *t.manufacturer_code;
  if (t.maximum_power_limit) o["maximum_power_limit"] = *t.maximum_power_limit;
  if (t.register_no) o["register"] = *t.register_no;
  if (t.tariff_rate) o["tariff_rate"] = *t.tariff_rate;
  if (t.pad) o["pad"] = *t.pad;
  if (t.mppul) o["mppul"] = *t.mppul;
  if (t.wm_factor) o["wm_factor"] = *t.wm_factor;
  if (t.key_expiry_nibble) {
    o[t.subclass == 3 ? "key_expiry_number_high_order" : "key_expiry_number_low_order"] = *t.key_expiry_nibble;
  }
  if (t.key_revision_no) o["key_revision_number"] = *t.key_revision_no;
  if (t.ro) o["roll_over_key_change"] = *t.ro ? 1 : 0;
  if (t.res_3kct) o["3_kct"] = *t.res_3kct ? 1 : 0;
  if (t.key_type) o["key_type"] = *t.key_type;
  if (t.tariff_index) o["tariff_index"] = *t.tariff_index;
  if (t.sgc_part) {
    o[t.subclass == 8 ? "supply_group_code_low_order" : "supply_group_code_high_order"] = *t.sgc_part;
  }
  o["crc"] = t.crc;
  return o;
}

std::string decoded_line(const json::object& o) {
  // "<token>: <result> <type> key=value ..." for people; the JSON form has the same content.
  std::string line;
  for (const auto& kv : o) {
    const std::string value = kv.value().is_string() ? std::string(kv.value().get_string()) : json::serialize(kv.value());
    if (kv.key() == "token_no") {
      line = grouped(value) + ":";
    } else if (kv.key() == "result" || kv.key() == "token_type") {
      line += " " + value;
    } else {
      line += " " + std::string(kv.key()) + "=" + value;
    }
  }
  return line;
}

int run_decode(const DecodeOptions& o) {
  auto config = load_config(o.config_file);
  if (!config.ok()) return bad_input(config.status());
  const Status drn_ok = sts::validate_drn(config->issuer_identification_no, o.drn);
  if (!drn_ok.ok()) return bad_input(drn_ok);
  std::vector<std::string> digits;
  for (const std::string& t : o.tokens) {
    auto d = token_digits(t);
    if (!d.ok()) return bad_input(d.status());
    digits.push_back(std::move(d).value());
  }

  std::optional<sts::VirtualMeter> meter;
  if (!o.state_file.empty() && file_exists(o.state_file)) {
    auto text = read_file(o.state_file, "state");
    if (!text.ok()) return bad_input(text.status());
    auto loaded = sts::VirtualMeter::deserialize(*text);
    if (!loaded.ok()) {
      const Status& s = loaded.status();
      return bad_input(Status::InvalidArgument("state", std::string(s.message()) + " (in " + o.state_file + ")"));
    }
    meter.emplace(std::move(loaded).value());
  } else {
    auto commissioned = sts::VirtualMeter::commission(*config, o.drn);
    if (!commissioned.ok()) return bad_input(commissioned.status());
    meter.emplace(std::move(commissioned).value());
  }

  bool all_ok = true;
  json::array results;
  for (const std::string& d : digits) {
    const sts::DecodeOutcome out = meter->enter(d);
    if (out.result != sts::TokenResult::kAccepted && out.result != sts::TokenResult::kKeyChangePending) {
      all_ok = false;
    }
    json::object entry = decoded_json(d, out, meter->state().base_date);
    if (o.json) results.push_back(std::move(entry));
    else std::printf("%s\n", decoded_line(entry).c_str());
  }
  if (o.json) std::printf("%s\n", json::serialize(results).c_str());
  std::fflush(stdout);

  if (!o.state_file.empty()) {
    const Status saved = write_state(o.state_file, meter->serialize());
    if (!saved.ok()) {
      std::fprintf(stderr, "stsvend: %s\n", saved.message().c_str());
      return 1;
    }
  }
  return all_ok ? 0 : 1;
}

}  // namespace

void add_token_commands(CLI::App& app, Context& ctx) {
  CLI::App* token = app.add_subcommand("token", "Generate and decode STS tokens for one meter");
  token->require_subcommand(1);

  // generate
  auto g = std::make_shared<GenerateOptions>();
  CLI::App* gen = token->add_subcommand("generate", "Generate the token(s) of one request");
  gen->add_option("--config", g->config_file, "STS configuration file (key: value lines)")->required();
  gen->add_option("--drn", g->drn, "Meter number (DRN): 11 digits with IIN 600727, 13 with 0000")->required();
  gen->add_option("--class", g->token_class, "Token class: 0 credit, 1 test/display, 2 management")->required();
  gen->add_option("--subclass", g->subclass, "Token subclass (0..15, by class)")->required();
  auto opt = [&](const char* flag, const char* name, std::string& target, const char* help) {
    g->given.emplace_back(name, gen->add_option(flag, target, help));
  };
  opt("--token-id", "token_id", g->token_id, "Issue instant, e.g. 2026-11-22T23:10Z (default: now, UTC)");
  opt("--random-no", "random_no", g->random_no, "RND 0..15 (default: random)");
  opt("--amount", "amount", g->amount, "Class 0: units, decimal (e.g. 25.5)");
  opt("--control", "control", g->control, "Class 1: control field");
  opt("--manufacturer-code", "manufacturer_code", g->manufacturer_code, "Class 1: manufacturer code");
  opt("--maximum-power-limit", "maximum_power_limit", g->maximum_power_limit, "2/0: watts");
  opt("--register", "register", g->register_no, "2/1: register to clear (0xFFFF = 65535: all)");
  opt("--tariff-rate", "tariff_rate", g->tariff_rate, "2/2: tariff rate");
  opt("--pad", "pad", g->pad, "2/5: pad (default 0)");
  opt("--mppul", "mppul", g->mppul, "2/6: maximum phase power unbalance limit, watts");
  opt("--wm-factor", "wm_factor", g->wm_factor, "2/7: water meter factor");
  opt("--new-vending-key", "new_vending_key", g->new_vending_key, "2/3: new vending key (hex)");
  opt("--new-supply-group-code", "new_supply_group_code", g->new_supply_group_code, "2/3: new SGC (default: current)");
  opt("--new-tariff-index", "new_tariff_index", g->new_tariff_index, "2/3: new TI (default: current)");
  opt("--new-key-revision-no", "new_key_revision_no", g->new_key_revision_no, "2/3: new KRN (default: current)");
  opt("--new-key-type", "new_key_type", g->new_key_type, "2/3: new KT 1..3 (default: current)");
  opt("--new-key-expiry-no", "new_key_expiry_no", g->new_key_expiry_no, "2/3: new KEN (default: current)");
  opt("--new-drn", "new_drn", g->new_drn, "2/3: new DRN (default: the meter's)");
  opt("--new-issuer-identification-no", "new_issuer_identification_no", g->new_issuer_identification_no,
      "2/3: new IIN (default: current)");
  opt("--ro", "ro", g->ro, "2/3: roll-over flag 0/1 (meter clears its TID store)");
  gen->add_flag("--json", g->json, "Print {\"tokens\": [...]} instead of grouped numbers");
  gen->footer(
      "Prints one token per line, grouped 4-4-4-4-4 (a key change prints its whole set in entry order).\n"
      "With --json: {\"tokens\":[{\"token_no\",\"token_type\",\"class\",\"subclass\",\"tid\",\"token_id\",\"random_no\"}]}.\n"
      "Exit 2 on bad input (one line on stderr naming the field).\n"
      "\n"
      "Examples:\n"
      "  stsvend token generate --config meter.cfg --drn 47500150231 --class 0 --subclass 0 --amount 25.5\n"
      "  stsvend token generate --config meter.cfg --drn 47500150231 --class 2 --subclass 0 \\\n"
      "      --maximum-power-limit 5000 --token-id 2026-11-22T23:10Z --random-no 3 --json\n"
      "  stsvend token generate --config meter.cfg --drn 47500150231 --class 2 --subclass 3 \\\n"
      "      --new-vending-key 0123456789abcdef --new-key-revision-no 2 --new-key-type 2");
  gen->callback([g, &ctx] { ctx.exit_code = run_generate(*g); });

  // decode
  auto d = std::make_shared<DecodeOptions>();
  CLI::App* dec = token->add_subcommand("decode", "Enter tokens into a virtual meter and show what it does");
  dec->add_option("--config", d->config_file, "STS configuration file the meter is commissioned with")->required();
  dec->add_option("--drn", d->drn, "Meter number (DRN)")->required();
  dec->add_option("TOKEN", d->tokens, "20-digit token(s), '-' or ' ' between groups allowed")->required();
  dec->add_option("--state", d->state_file,
                  "Meter state file: loaded if it exists (else commissioned), saved back after (mode 0600)");
  dec->add_flag("--json", d->json, "Print a JSON array, one object per token");
  dec->footer(
      "Each token is entered in order, as on a meter keypad: TID store, key expiry, key change sets.\n"
      "Exit 0 when every token was accepted (or stored as part of a key change set), 1 when the\n"
      "meter refused one, 2 on bad input. The state file holds the meter's decoder key: keep it private.\n"
      "\n"
      "Examples:\n"
      "  stsvend token decode --config meter.cfg --drn 47500150231 1234-5678-9012-3456-7890\n"
      "  stsvend token decode --config meter.cfg --drn 47500150231 --state meter.state --json TOKEN1 TOKEN2");
  dec->callback([d, &ctx] { ctx.exit_code = run_decode(*d); });
}

}  // namespace stsvend::cli
