// Random identifiers; see random_ids.h.
#include "service/random_ids.h"

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cassert>

#include <botan/chacha_rng.h>
#include <botan/system_rng.h>

namespace stsvend::service {

namespace {

// Identifiers and token RNDs are drawn several times per vend: a per-thread ChaCha20 generator,
// seeded (and periodically reseeded) from the operating system. Botan's generator checks for a
// fork (a getpid system call) on every draw, which showed as ~3% of an I/O thread's vend; so draws
// come from a per-thread buffer of its output, refilled 256 bytes at a time. A fork discards every
// thread's buffer (the child must not repeat the parent's bytes) through the generation below.
std::atomic<std::uint64_t> fork_generation{0};

struct RandomBuffer {
  std::uint8_t bytes[256];
  std::size_t used = sizeof(bytes);  // empty
  std::uint64_t generation = 0;
};

void fill(std::uint8_t* out, std::size_t n) {
  static const bool registered = [] {
    pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1, std::memory_order_relaxed); });
    return true;
  }();
  (void)registered;
  thread_local Botan::ChaCha_RNG generator(Botan::system_rng(), 1024);
  thread_local RandomBuffer buffer;
  if (const std::uint64_t g = fork_generation.load(std::memory_order_relaxed); g != buffer.generation) {
    buffer.generation = g;
    buffer.used = sizeof(buffer.bytes);
  }
  while (n > 0) {
    if (buffer.used == sizeof(buffer.bytes)) {
      generator.randomize(buffer.bytes, sizeof(buffer.bytes));
      buffer.used = 0;
    }
    const std::size_t take = std::min(n, sizeof(buffer.bytes) - buffer.used);
    std::copy_n(buffer.bytes + buffer.used, take, out);
    // Handed-out bytes are not kept: a later leak of this memory reveals nothing already used.
    std::fill_n(buffer.bytes + buffer.used, take, std::uint8_t{0});
    buffer.used += take;
    out += take;
    n -= take;
  }
}

std::string format_uuid(const std::uint8_t (&b)[16]) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0xF];
  }
  return out;
}

}  // namespace

std::string random_uuid_v4() {
  std::uint8_t b[16];
  fill(b, sizeof b);
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return format_uuid(b);
}

std::string time_ordered_uuid(std::int64_t unix_ms) {
  // RFC 9562 method 3: the 12 bits after the millisecond count calls within one millisecond, so ids
  // made by this process sort in the order they were made (listings order by them). A counter that
  // runs out borrows the next millisecond.
  static std::atomic<std::uint64_t> last{0};
  const std::uint64_t floor = static_cast<std::uint64_t>(unix_ms < 0 ? 0 : unix_ms) << 12;
  std::uint64_t prev = last.load(std::memory_order_relaxed);
  std::uint64_t next = 0;
  do {
    next = std::max(prev + 1, floor);
  } while (!last.compare_exchange_weak(prev, next, std::memory_order_relaxed));
  const std::uint64_t ms = next >> 12;
  const auto seq = static_cast<unsigned>(next & 0xFFF);
  std::uint8_t b[16];
  fill(b, sizeof b);
  for (int i = 0; i < 6; ++i) b[i] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<std::uint8_t>(0x70 | (seq >> 8));     // version 7, counter high bits
  b[7] = static_cast<std::uint8_t>(seq & 0xFF);            // counter low bits
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);  // RFC 9562 variant
  return format_uuid(b);
}

std::uint8_t random_below(unsigned bound) {
  assert(bound > 0 && bound <= 256);
  // Rejection sampling keeps the distribution uniform for bounds that do not divide 256.
  const unsigned limit = 256 - (256 % bound);
  for (;;) {
    std::uint8_t b = 0;
    fill(&b, 1);
    if (b < limit) return static_cast<std::uint8_t>(b % bound);
  }
}

std::string random_password(std::size_t length) {
  static constexpr char kAlphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  constexpr unsigned kSize = sizeof(kAlphabet) - 1;
  std::string out;
  out.reserve(length);
  for (std::size_t i = 0; i < length; ++i) out += kAlphabet[random_below(kSize)];
  return out;
}

}  // namespace stsvend::service
