// Settings that a command takes from its flags, the environment (STSVEND_<FLAG>) or a settings file
// (--config FILE or $STSVEND_CONFIG), in that order. `serve` and every `admin` command read the same
// file: the admin commands take the data directory and vault settings from it, so that they find
// the server's data without repeating them. Format and rules: api/settings_file.h.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "api/service_options.h"
#include "stsvend/status.h"

namespace stsvend::cli {

// One flag a setting may fill: its long name without the dashes and where its value goes.
struct Setting {
  std::string name;
  std::string* text = nullptr;
  unsigned* count = nullptr;  // a whole number from 0 to 4096
};

// --config, --data-dir, --vault and the PKCS#11 flags, as `serve` and every `admin` command have them.
void add_vault_flags(CLI::App* cmd, api::VaultFlags& v);
// The settings behind add_vault_flags.
std::vector<Setting> vault_settings(api::VaultFlags& v);

// Fills every target that `cmd` did not get on its command line from STSVEND_<NAME>, else from the
// settings file `config_file` (else $STSVEND_CONFIG; none: no file). Any name `serve` knows may be
// in the file. Errors are InvalidArgument naming the flag or "--config".
Status apply_settings(const CLI::App& cmd, const std::string& config_file, const std::vector<Setting>& targets);

}  // namespace stsvend::cli
