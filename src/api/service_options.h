// Service options as `stsvend serve` and `stsvend admin …` take them: data directory (flag, then
// STSVEND_DATA_DIR, then ./data) and the vault backend (file, or PKCS#11 with the PIN read from an
// environment variable so it never appears in argv or shell history).
#pragma once

#include <string>

#include "service/service.h"
#include "stsvend/result.h"

namespace stsvend::api {

struct VaultFlags {
  std::string config_file;     // --config: settings file (cli/settings.h); empty: $STSVEND_CONFIG, else none
  std::string data_dir;        // empty: $STSVEND_DATA_DIR, else ./data
  std::string vault = "file";  // "file" | "pkcs11"
  std::string pkcs11_module;
  std::string pkcs11_token;
  std::string pkcs11_pin_env = "STSVEND_PKCS11_PIN";
  std::string pkcs11_key_label;  // empty: the vault's default
};

// Errors are InvalidArgument naming the flag ("--vault", "--pkcs11-module", "--pkcs11-pin-env").
Result<service::Options> make_service_options(const VaultFlags& flags);

}  // namespace stsvend::api
