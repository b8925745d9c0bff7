// Which SDK generation sent a token request, and so which response shape it can read.
// NECTAR-V1.md §3.1.3 "Response shape selection".
#pragma once

#include <boost/json/object.hpp>

namespace stsvend::api {

enum class Dialect {
  kLegacy,  // J21/P21/PHP21: `drn`; data.data is ONE token object
  kArray,   // J24/P24/PHP24/portal: `decoder_reference_number` or `type`; data.data is an array
};

// `decoder_reference_number` or `type` present → kArray; otherwise kLegacy.
Dialect detect_dialect(const boost::json::object& body) noexcept;

}  // namespace stsvend::api
