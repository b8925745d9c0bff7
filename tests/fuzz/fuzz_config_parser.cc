// Fuzzes sts::parse_config_text: any bytes must give a Config or a Status naming a field, never a
// crash, and an accepted Config must survive format_config_text -> parse_config_text unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "stsvend/sts/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = stsvend::sts::parse_config_text(text);
  if (!config.ok()) {
    if (config.status().rule().empty()) std::abort();  // every refusal says which rule
    return 0;
  }
  if (!stsvend::sts::validate_config(*config).ok()) std::abort();  // parse validates
  const std::string canonical = stsvend::sts::format_config_text(*config);
  auto again = stsvend::sts::parse_config_text(canonical);
  if (!again.ok() || stsvend::sts::format_config_text(*again) != canonical) std::abort();
  return 0;
}
