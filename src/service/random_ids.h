// Random identifiers and small random numbers from a per-thread ChaCha20 CSPRNG seeded by the
// system's (getrandom).
#pragma once

#include <cstdint>
#include <string>

namespace stsvend::service {

// RFC 4122 version 4 UUID, lower case: refs, credential keys and secrets.
std::string random_uuid_v4();
// RFC 9562 version 7 UUID: 48-bit Unix milliseconds, a 12-bit counter, then 62 random bits.
// Strictly increasing within the process, so listings can order by it. For high-volume rows
// (tokens, notifications): index inserts land on the B-tree's right edge instead of a random
// leaf, which keeps each group commit's WAL write small. Still unguessable (62 bits) and every
// lookup is tenant-scoped anyway.
std::string time_ordered_uuid(std::int64_t unix_ms);
// Uniform in [0, bound). REQUIRES: 0 < bound <= 256.
std::uint8_t random_below(unsigned bound);
// A password of `length` characters from an unambiguous alphabet (bootstrap admin).
std::string random_password(std::size_t length);

}  // namespace stsvend::service
