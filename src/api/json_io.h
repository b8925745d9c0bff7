// JSON in and out for the Nectar wire: a serializer that always writes doubles with a decimal point
// (org.json in J21/J24 casts credits/value/units to BigDecimal and fails on "100"), and request
// field readers that accept numbers and booleans as JSON strings or native values (TOK binds the
// body as a map of strings). NECTAR-V1.md §1 "Numbers", §3.1.2.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "stsvend/result.h"

namespace stsvend::api {

// Compact JSON; doubles as the shortest round-trip decimal in fixed notation with at least one
// fractional digit ("100.0", "98.5", "0.0005"). Integers stay integers. Strings are escaped as Boost.JSON does.
std::string write_json(const boost::json::value& v);
// The same text appended to `out`: a long listing is written one row at a time into the reply.
void append_json(const boost::json::value& v, std::string& out);

// The field of the errors parse_json_object gives a body that is not a JSON object: envelope_error answers
// them as a framework error (HTTP 400), as GW's Spring does before any controller runs.
inline constexpr std::string_view kBodyField = "body";

// Parses a request body. Empty body → empty object. Errors: InvalidArgument(kBodyField, ...).
// `sp`: where the tree lives (a hot path passes a stack monotonic_resource that outlives the result).
Result<boost::json::object> parse_json_object(std::string_view body, const boost::json::storage_ptr& sp = {});

// The text of a scalar field: strings as-is, integers in decimal, doubles in shortest form, booleans
// "true"/"false". nullopt when absent or JSON null. Objects/arrays: InvalidArgument(field, "must be a
// string, number or boolean").
Result<std::optional<std::string>> scalar_text(const boost::json::object& o, std::string_view field);

// Unsigned integer in [min, max]; accepts 7, "7", 7.0 and "07". Error rule names the range.
Result<std::optional<std::uint64_t>> uint_field(const boost::json::object& o, std::string_view field,
                                                std::uint64_t min, std::uint64_t max);
// true/false/1/0 in any case, native or string.
Result<std::optional<bool>> bool_field(const boost::json::object& o, std::string_view field);
// A string of digits whose length is within [min_len, max_len] (numbers are accepted and printed).
Result<std::optional<std::string>> digits_field(const boost::json::object& o, std::string_view field,
                                                std::size_t min_len, std::size_t max_len);
// A non-empty string (numbers accepted as their text).
Result<std::optional<std::string>> text_field(const boost::json::object& o, std::string_view field);

// Wraps an optional field as required: missing → InvalidArgument(field, "is required").
template <typename T>
Result<T> required(Result<std::optional<T>> r, std::string_view field) {
  if (!r.ok()) return std::move(r).take_status();
  if (!r.value()) return Status::InvalidArgument(field, "is required");
  return std::move(*std::move(r).value());
}

// Query-string booleans: true|false|1|0 in any case; nullopt for anything else.
std::optional<bool> parse_bool_text(std::string_view s);
// A query flag (`value` from Ctx::q): false when absent or empty, else parse_bool_text's answer;
// InvalidArgument(name, ...) for any other text.
Result<bool> query_flag(const std::string* value, std::string_view name);

// ISO-8601 UTC with milliseconds and Z: "2026-11-22T23:10:04.512Z".
std::string iso_millis(std::int64_t unix_millis);

}  // namespace stsvend::api
