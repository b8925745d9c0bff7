// Process-level protection for key material held in memory; see docs/vault.md ("What is protected").
#pragma once

namespace stsvend::vault {

// Stops the process from writing core dumps (RLIMIT_CORE soft and hard limit 0) and marks it
// non-dumpable (PR_SET_DUMPABLE 0), which also blocks ptrace attach and /proc/<pid>/mem reads by
// other processes of the same (non-root) user. Decoder and vending keys live in this process's
// memory in clear while it runs, so the server calls this first thing in main().
// Cannot fail: lowering a limit and clearing the dumpable flag are always permitted (see the .cc).
// Idempotent; affects the whole process, including threads started earlier.
void disable_core_dumps() noexcept;

}  // namespace stsvend::vault
