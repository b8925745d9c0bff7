// NonceIndex; see nonce_index.h.
#include "store/nonce_index.h"

#include <botan/hash.h>

#include <array>
#include <memory>
#include <new>

namespace stsvend::store {
namespace {

constexpr std::size_t kMinCapacity = 64;  // per shard: 256 KiB for an empty index

}  // namespace

std::uint64_t nonce_digest(std::string_view credential_key, std::string_view nonce) {
  // One hash object per thread: the writer digests every signed request's nonce.
  thread_local const std::unique_ptr<Botan::HashFunction> sha256 = Botan::HashFunction::create_or_throw("SHA-256");
  static constexpr std::uint8_t kSeparator = 0;
  sha256->update(reinterpret_cast<const std::uint8_t*>(credential_key.data()), credential_key.size());
  sha256->update(&kSeparator, 1);
  sha256->update(reinterpret_cast<const std::uint8_t*>(nonce.data()), nonce.size());
  std::array<std::uint8_t, 32> out{};
  sha256->final(out.data());
  std::uint64_t digest = 0;
  for (int i = 7; i >= 0; --i) digest = (digest << 8) | out[static_cast<std::size_t>(i)];
  return digest;
}

NonceIndex::Shard::Shard() { rehash(kMinCapacity); }

std::size_t NonceIndex::Shard::probe(std::uint64_t digest) const noexcept {
  std::size_t i = home(digest);
  while (slots_[i].digest != 0 && slots_[i].digest != digest) i = (i + 1) & mask_;
  return i;
}

std::optional<NonceIndex::Millis> NonceIndex::Shard::find(std::uint64_t digest) const noexcept {
  const Slot& s = slots_[probe(digest)];
  if (s.digest == 0) return std::nullopt;
  return s.seen_at;
}

std::optional<NonceIndex::Millis> NonceIndex::Shard::put(std::uint64_t digest, Millis seen_at) {
  if ((size_ + 1) * 4 > slots_.size() * 3) rehash(slots_.size() * 2);
  Slot& s = slots_[probe(digest)];
  if (s.digest != 0) {
    const Millis previous = s.seen_at;
    s.seen_at = seen_at;
    return previous;
  }
  s = Slot{digest, seen_at};
  ++size_;
  return std::nullopt;
}

void NonceIndex::Shard::forget_if_not_after(std::uint64_t digest, Millis seen_at) noexcept {
  const std::size_t i = probe(digest);
  if (slots_[i].digest == 0 || slots_[i].seen_at > seen_at) return;
  erase_at(i);
  if (slots_.size() > kMinCapacity && size_ * 16 < slots_.size()) {
    try {
      rehash(slots_.size() / 2);
    } catch (const std::bad_alloc&) {
      // Keeping the larger table is correct, only bigger than it needs to be.
    }
  }
}

void NonceIndex::Shard::restore(std::uint64_t digest, std::optional<Millis> previous) noexcept {
  const std::size_t i = probe(digest);
  if (slots_[i].digest == 0) return;  // already forgotten: it had expired before this put
  if (previous) {
    slots_[i].seen_at = *previous;
  } else {
    erase_at(i);
  }
}

// Backward-shift deletion: every entry after the hole that may move into it does, so that a probe
// never stops early at an empty slot that used to hold a deleted entry.
void NonceIndex::Shard::erase_at(std::size_t hole) noexcept {
  std::size_t j = hole;
  for (;;) {
    j = (j + 1) & mask_;
    if (slots_[j].digest == 0) break;
    const std::size_t want = home(slots_[j].digest);
    // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
    const bool stays = hole <= j ? (hole < want && want <= j) : (hole < want || want <= j);
    if (!stays) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{};
  --size_;
}

void NonceIndex::Shard::rehash(std::size_t capacity) {
  std::vector<Slot> old(capacity);
  old.swap(slots_);
  mask_ = capacity - 1;
  for (const Slot& s : old) {
    if (s.digest != 0) slots_[probe(s.digest)] = s;
  }
}

std::optional<NonceIndex::Millis> NonceIndex::put(std::uint64_t digest, Millis seen_at) {
  Shard& s = shard(digest);
  const Share before = share(s);
  const std::optional<Millis> previous = s.put(stored(digest), seen_at);  // a throwing put changed nothing
  carry(s, before);
  return previous;
}

void NonceIndex::forget_if_not_after(std::uint64_t digest, Millis seen_at) noexcept {
  Shard& s = shard(digest);
  const Share before = share(s);
  s.forget_if_not_after(stored(digest), seen_at);
  carry(s, before);
}

void NonceIndex::restore(std::uint64_t digest, std::optional<Millis> previous) noexcept {
  Shard& s = shard(digest);
  const Share before = share(s);
  s.restore(stored(digest), previous);
  carry(s, before);
}

}  // namespace stsvend::store
