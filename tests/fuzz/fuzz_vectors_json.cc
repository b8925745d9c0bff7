// Fuzzes the vectors runner (`stsvend vectors check`) on arbitrary JSON: no crash, and the counts
// always add up.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cli/vectors_runner.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto report = stsvend::cli::run_vectors_json(text);
  if (report.ok() && report->passed + report->failed != report->cases.size()) std::abort();
  return 0;
}
