// The SQLite schema as an ordered list of migrations; PRAGMA user_version records how many ran.
// docs/storage.md lists the tables and why each constraint is there.
#pragma once

#include "store/sqlite/connection.h"
#include "stsvend/status.h"

namespace stsvend::store::sqlite {

// Number of migrations this build knows.
int schema_version() noexcept;

// Applies every migration above the database's user_version, each in its own transaction.
// A database newer than this build is refused (FailedPrecondition), never downgraded.
// `up_to` stops at that version (tests of a migration start from the version before it).
Status migrate(Connection& db, int up_to = -1);

}  // namespace stsvend::store::sqlite
