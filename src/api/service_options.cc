// CLI flags → service::Options.
#include "api/service_options.h"

#include <cstdlib>

namespace stsvend::api {

Result<service::Options> make_service_options(const VaultFlags& flags) {
  service::Options options;
  std::string dir = flags.data_dir;
  if (dir.empty()) {
    const char* env = std::getenv("STSVEND_DATA_DIR");
    dir = env != nullptr && *env != '\0' ? env : "./data";
  }
  options.data_dir = dir;
  if (flags.vault == "file") return options;
  if (flags.vault != "pkcs11") return Status::InvalidArgument("--vault", "must be file or pkcs11");
  if (flags.pkcs11_module.empty()) return Status::InvalidArgument("--pkcs11-module", "is required with --vault pkcs11");
  if (flags.pkcs11_token.empty()) return Status::InvalidArgument("--pkcs11-token", "is required with --vault pkcs11");
  const char* pin = std::getenv(flags.pkcs11_pin_env.c_str());
  if (pin == nullptr || *pin == '\0') {
    return Status::InvalidArgument("--pkcs11-pin-env", "names an environment variable that is not set");
  }
  vault::Pkcs11Options p;
  p.module_path = flags.pkcs11_module;
  p.token_label = flags.pkcs11_token;
  p.pin = pin;
  if (!flags.pkcs11_key_label.empty()) p.key_label = flags.pkcs11_key_label;
  options.pkcs11 = std::move(p);
  return options;
}

}  // namespace stsvend::api
