// The writer's in-memory record of the nonces seen within the replay window: which (credential key,
// nonce) pairs were seen, and when. The durable record is an append-only log in the database
// (docs/storage.md, "Replay protection"); this index answers "seen before?" without a B-tree keyed by
// a random nonce, whose random leaf per request was the largest write of a vend after its token.
//
// Keys are 64-bit digests (nonce_digest), not the nonces themselves: 16 bytes a slot whatever the nonce's
// length. Two different nonces with one digest make the second look replayed (refused, never accepted);
// with SHA-256 that takes either luck (about 1 in 10^12 per request with 15 million nonces remembered) or
// a second preimage of a nonce the attacker would have to know before its owner sends it.
//
// 256 shards by the digest's top byte, each an open-addressing table with linear probing, deletion by
// backward shift (no tombstones), its capacity a power of two grown at 3/4 full and shrunk at 1/16.
// Sharding bounds the pause of a growth: one table of 12 million nonces took 490 ms to double, a
// shard takes 1/256 of that, and the shards cross their thresholds at different moments. Not
// thread-safe: it belongs to the writer thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace stsvend::store {

// The first 8 bytes of SHA-256(credential_key, NUL, nonce), little-endian. Stable across versions and
// restarts: the database stores it.
std::uint64_t nonce_digest(std::string_view credential_key, std::string_view nonce);

class NonceIndex {
 public:
  using Millis = std::int64_t;

  // When `digest` was last seen, if it is remembered.
  std::optional<Millis> find(std::uint64_t digest) const noexcept { return shard(digest).find(stored(digest)); }
  // Remembers `digest` as seen at `seen_at`; returns when it was seen before, if it was.
  std::optional<Millis> put(std::uint64_t digest, Millis seen_at);
  // Forgets `digest` if it was last seen at or before `seen_at` (a later sighting stays).
  void forget_if_not_after(std::uint64_t digest, Millis seen_at) noexcept;
  // Undoes a put: `previous` is what put returned.
  void restore(std::uint64_t digest, std::optional<Millis> previous) noexcept;

  // Totals kept up to date by every change (read after each batch, for /metrics).
  std::size_t size() const noexcept { return size_; }
  std::size_t memory_bytes() const noexcept { return memory_bytes_; }

 private:
  // One open-addressing table. Digests are never 0 here (0 marks an empty slot).
  class Shard {
   public:
    Shard();
    std::optional<Millis> find(std::uint64_t digest) const noexcept;
    std::optional<Millis> put(std::uint64_t digest, Millis seen_at);
    void forget_if_not_after(std::uint64_t digest, Millis seen_at) noexcept;
    void restore(std::uint64_t digest, std::optional<Millis> previous) noexcept;
    std::size_t size() const noexcept { return size_; }
    std::size_t memory_bytes() const noexcept { return slots_.size() * sizeof(Slot); }

   private:
    struct Slot {
      std::uint64_t digest = 0;
      Millis seen_at = 0;
    };
    std::size_t home(std::uint64_t digest) const noexcept { return static_cast<std::size_t>(digest) & mask_; }
    // The slot holding `digest`, or the empty slot where it would go.
    std::size_t probe(std::uint64_t digest) const noexcept;
    void erase_at(std::size_t i) noexcept;
    void rehash(std::size_t capacity);

    std::vector<Slot> slots_;
    std::size_t mask_ = 0;
    std::size_t size_ = 0;
  };

  static std::uint64_t stored(std::uint64_t digest) noexcept { return digest == 0 ? 1 : digest; }
  Shard& shard(std::uint64_t digest) noexcept { return shards_[digest >> 56]; }
  const Shard& shard(std::uint64_t digest) const noexcept { return shards_[digest >> 56]; }

  // A shard's share of the totals, taken before a change and carried over after it.
  struct Share {
    std::size_t size;
    std::size_t bytes;
  };
  static Share share(const Shard& s) noexcept { return {s.size(), s.memory_bytes()}; }
  void carry(const Shard& s, Share before) noexcept {
    size_ = size_ + s.size() - before.size;
    memory_bytes_ = memory_bytes_ + s.memory_bytes() - before.bytes;
  }

  std::array<Shard, 256> shards_;
  std::size_t size_ = 0;
  std::size_t memory_bytes_ = shards_.size() * shards_[0].memory_bytes();
};

}  // namespace stsvend::store
