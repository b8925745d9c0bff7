// Private files (mode 0600) written atomically: the vault master key and the sealed server key.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <vector>

#include "stsvend/result.h"
#include "stsvend/secret.h"

namespace stsvend::vault {

enum class Overwrite { kNo, kYes };

// Writes `bytes` to a temporary file in the same directory (mode 0600), fsyncs it, moves it into
// place and fsyncs the directory, so a crash leaves either the old file or the new one.
// With Overwrite::kNo the move is link(2), which fails with AlreadyExists("path", ...) if another
// process created `path` first: two servers starting together must not replace each other's key.
Status write_private_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes,
                          Overwrite overwrite);

// Reads a file written by write_private_file, into zeroising storage (it may be a key). Refuses (FailedPrecondition, field "path") a file that
// is not a regular file, is a symlink, is group/other accessible (mode wider than 0600), is owned
// by another user, or whose size is not `expected_size` (when non-zero) or exceeds `max_size`.
// A missing file is NotFound("path", ...).
Result<SecretBytes> read_private_file(const std::filesystem::path& path,
                                      std::size_t expected_size, std::size_t max_size);

// Creates `dir` (and parents) with mode 0700 when absent.
Status ensure_private_dir(const std::filesystem::path& dir);

}  // namespace stsvend::vault
