// `stsvend vectors check [FILE]`: runs a vectors.json-shaped known-answer file and reports
// failing cases. The checks themselves are in vectors_runner.cc; docs/cli.md.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "cli/vectors_runner.h"

namespace stsvend::cli {

namespace {

struct VectorsCheckOptions {
  std::string file;
};

int run_vectors_check(const VectorsCheckOptions& opt) {
  std::string path = opt.file;
  if (path.empty()) {
    const char* env = std::getenv("STS_VECTORS");
    if (env == nullptr || *env == '\0') {
      std::fprintf(stderr, "stsvend: FILE: no vectors file given and STS_VECTORS is not set\n");
      return 2;
    }
    path = env;
  }
  auto report = run_vectors_file(path);
  if (!report.ok()) {
    std::fprintf(stderr, "stsvend: %s\n", report.status().message().c_str());
    return 2;
  }
  for (const VectorCaseResult& c : report->cases) {
    if (!c.passed()) std::printf("FAIL %s\n", c.failure_line().c_str());
  }
  std::printf("%zu passed, %zu failed\n", report->passed, report->failed);
  std::fflush(stdout);
  return report->failed == 0 ? 0 : 1;
}

}  // namespace

void add_vectors_commands(CLI::App& app, Context& ctx) {
  CLI::App* vectors = app.add_subcommand("vectors", "Known-answer vector files");
  vectors->require_subcommand(1);

  auto opt = std::make_shared<VectorsCheckOptions>();
  CLI::App* check = vectors->add_subcommand(
      "check", "Run a vectors.json-shaped file: derive keys, generate, compare, decode back");
  check->add_option("FILE", opt->file, "Vector file (default: $STS_VECTORS)");
  check->footer(
      "Each case: decoder key (and new decoder key), every token in order, data blocks, decoding\n"
      "each token back and comparing its fields with the request, and refusals (expected_error).\n"
      "Prints one line per failing case, then exactly \"N passed, M failed\"; exit 0 only if M is 0.\n"
      "Exit 2 when the file cannot be read or is not a vector file.\n"
      "\n"
      "Examples:\n"
      "  stsvend vectors check ../shared/sts/vectors.json\n"
      "  STS_VECTORS=../shared/sts/vectors.json stsvend vectors check");
  check->callback([opt, &ctx] { ctx.exit_code = run_vectors_check(*opt); });
}

}  // namespace stsvend::cli
