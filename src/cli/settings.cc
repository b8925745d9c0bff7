// Settings from flags, environment and file; see settings.h.
#include "cli/settings.h"

#include <cstdlib>
#include <set>

#include "api/settings_file.h"

namespace stsvend::cli {
namespace {

// Every setting a file may hold: the flags of `serve` (which has the vault flags and its own).
const std::set<std::string, std::less<>>& known_names() {
  static const std::set<std::string, std::less<>> names = {
      "data-dir", "listen", "tls-cert", "tls-key", "path-prefix", "log-level", "price-per-token", "nonce-ttl",
      "threads", "workers", "vault", "pkcs11-module", "pkcs11-token", "pkcs11-pin-env"};
  return names;
}

Status set_count(const Setting& s, const std::string& value, const std::string& origin) {
  bool digits = !value.empty() && value.size() <= 6;
  for (char c : value) digits = digits && c >= '0' && c <= '9';
  const unsigned long n = digits ? std::stoul(value) : 0;
  if (!digits || n > 4096) {
    return Status::InvalidArgument("--" + s.name, "(from " + origin + ") must be a whole number from 0 to 4096");
  }
  *s.count = static_cast<unsigned>(n);
  return Status::Ok();
}

}  // namespace

void add_vault_flags(CLI::App* cmd, api::VaultFlags& v) {
  cmd->add_option("--config", v.config_file,
                  "Settings file: `name = value` lines, names as the flags without `--` (default $STSVEND_CONFIG); "
                  "a flag not given is taken from STSVEND_<FLAG>, then from this file");
  // Given but empty (`--data-dir "$DIR"` with DIR unset) is refused: falling back to the default would
  // quietly serve, or create, another directory than the caller named.
  cmd->add_option("--data-dir", v.data_dir, "Data directory (default $STSVEND_DATA_DIR or ./data)")
      ->check(CLI::Validator([](const std::string& value) { return value.empty() ? "must not be empty" : ""; },
                             "DIR", "NonEmpty"));
  cmd->add_option("--vault", v.vault, "file|pkcs11 (default file)");
  cmd->add_option("--pkcs11-module", v.pkcs11_module, "PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so");
  cmd->add_option("--pkcs11-token", v.pkcs11_token, "PKCS#11 token label");
  cmd->add_option("--pkcs11-pin-env", v.pkcs11_pin_env,
                  "Environment variable holding the PKCS#11 user PIN (default STSVEND_PKCS11_PIN)");
}

std::vector<Setting> vault_settings(api::VaultFlags& v) {
  return {{"data-dir", &v.data_dir},
          {"vault", &v.vault},
          {"pkcs11-module", &v.pkcs11_module},
          {"pkcs11-token", &v.pkcs11_token},
          {"pkcs11-pin-env", &v.pkcs11_pin_env}};
}

Status apply_settings(const CLI::App& cmd, const std::string& config_file, const std::vector<Setting>& targets) {
  std::string config = config_file;
  if (config.empty()) {
    const char* env = std::getenv("STSVEND_CONFIG");
    if (env != nullptr) config = env;
  }
  api::Settings from_file;
  if (!config.empty()) {
    STSVEND_ASSIGN_OR_RETURN(from_file, api::read_settings_file(config, known_names()));
  }
  for (const Setting& s : targets) {
    if (!known_names().contains(s.name)) return Status::Internal("setting --" + s.name + " is not in known_names");
    if (cmd.count("--" + s.name) > 0) continue;
    std::string value;
    std::string origin;
    const std::string env_name = api::setting_env_name(s.name);
    if (const char* env = std::getenv(env_name.c_str()); env != nullptr && *env != '\0') {
      value = env;
      origin = env_name;
    } else if (const auto it = from_file.find(s.name); it != from_file.end()) {
      value = it->second;
      origin = config + ": " + s.name;
    } else {
      continue;
    }
    if (s.text != nullptr) {
      *s.text = std::move(value);
    } else {
      STSVEND_RETURN_IF_ERROR(set_count(s, value, origin));
    }
  }
  return Status::Ok();
}

}  // namespace stsvend::cli
