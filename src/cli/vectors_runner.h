// Runs a known-answer file shaped like shared/sts/vectors.json through the engine: key derivation,
// generation, data blocks, decoding back, and refusals. Used by `stsvend vectors check` and the tests.
// The file schema and what is compared: docs/cli.md ("vectors check").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "stsvend/result.h"
#include "stsvend/status.h"

namespace stsvend::cli {

// The outcome of one case. A case passes when nothing differed.
struct VectorCaseResult {
  std::string id;
  // One entry per difference, "what: expected X, got Y". Decoder keys appear here (test data only).
  std::vector<std::string> differences;

  bool passed() const noexcept { return differences.empty(); }
  // "<id>: <difference>; <difference>..." for the failure listing.
  std::string failure_line() const;
};

struct VectorRunReport {
  std::vector<VectorCaseResult> cases;  // in file order
  std::size_t passed = 0;
  std::size_t failed = 0;
};

// Runs every case of a JSON document: either {"cases": [...]} or a bare array of cases.
// Errors only when the document as a whole is unusable (not JSON, no case list); a case that
// cannot be run is a failed case, never skipped.
Result<VectorRunReport> run_vectors_json(std::string_view json_text);
// Reads `path` and runs it. Errors name field "file" when it cannot be read.
Result<VectorRunReport> run_vectors_file(const std::string& path);

// The refusal category the vectors use for an engine error, by the Status field:
// amount -> invalid_amount; vending_key, vending_key_1, vending_key_2, new_vending_key ->
// invalid_vending_key; key_expiry_no -> key_expired; drn, new_drn -> invalid_drn;
// encryption_algorithm -> incompatible_algorithms. Any other field: "other:<field>".
std::string refusal_category(const Status& status);

}  // namespace stsvend::cli
