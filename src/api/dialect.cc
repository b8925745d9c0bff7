// Token response dialect; NECTAR-V1.md §3.1.3.
#include "api/dialect.h"

namespace stsvend::api {

Dialect detect_dialect(const boost::json::object& body) noexcept {
  if (body.contains("decoder_reference_number") || body.contains("type")) return Dialect::kArray;
  return Dialect::kLegacy;
}

}  // namespace stsvend::api
