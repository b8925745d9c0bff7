// Registration of the `stsvend` subcommands. Each family lives in its own file.
#pragma once

#include <CLI/CLI.hpp>

namespace stsvend::cli {

// Shared by every command: the process exit code a command chose (0 ok, 1 failure, 2 bad input).
struct Context {
  int exit_code = 0;
};

void add_token_commands(CLI::App& app, Context& ctx);    // token generate | decode
void add_vectors_commands(CLI::App& app, Context& ctx);  // vectors check
void add_serve_command(CLI::App& app, Context& ctx);     // serve
void add_admin_commands(CLI::App& app, Context& ctx);    // admin ...

}  // namespace stsvend::cli
