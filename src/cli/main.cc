// stsvend: one executable, subcommands for vending, decoding, vectors, the server and admin tasks.
#include <csignal>
#include <cstdio>
#include <exception>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // Every subcommand writes files (the database, key files, meter state). A write past the file size
  // limit (ulimit -f) must fail with EFBIG, which the command reports like a full disk (the server
  // fails that batch as a whole and charges nothing), instead of SIGXFSZ killing it mid-write.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"stsvend - STS prepaid token vending server (IEC 62055-41)", "stsvend"};
  app.require_subcommand(1);
  app.footer(
      "Examples:\n"
      "  stsvend token generate --config meter.cfg --drn 47500150231 --class 0 --subclass 0 --amount 25.5\n"
      "  stsvend token decode --config meter.cfg --drn 47500150231 0123-4567-8901-2345-6789\n"
      "  stsvend vectors check ../shared/sts/vectors.json\n"
      "  stsvend serve --data-dir ./data --listen 127.0.0.1:8080");
  stsvend::cli::Context ctx;
  stsvend::cli::add_token_commands(app, ctx);
  stsvend::cli::add_vectors_commands(app, ctx);
#ifdef STSVEND_HAVE_SERVER
  stsvend::cli::add_serve_command(app, ctx);
  stsvend::cli::add_admin_commands(app, ctx);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One clear line naming what was wrong, exit 2 (bad input).
    std::fprintf(stderr, "stsvend: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stsvend: internal error: %s\n", e.what());
    return 1;
  }
  return ctx.exit_code;
}
