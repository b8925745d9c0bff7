// A bounded LRU cache of meter keys: per (configuration ref, DRN) the configuration's public
// parameters, the derived decoder key and its prepared cipher. Vending reads the vault only on
// a miss. Thread-safe. Entries are immutable and shared, so a hit costs one lock and a map probe.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "stsvend/sts/cipher.h"
#include "stsvend/sts/config.h"
#include "stsvend/sts/decoder_key.h"

namespace stsvend::service {

struct MeterKey {
  sts::Config config;  // vending_key wiped: generation and decoding need only the public fields
  sts::DecoderKey key;
  sts::TokenCipher cipher;
};

class DecoderKeyCache {
 public:
  explicit DecoderKeyCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  std::shared_ptr<const MeterKey> find(std::string_view config_ref, std::string_view drn);
  void put(std::string_view config_ref, std::string_view drn, std::shared_ptr<const MeterKey> entry);
  std::size_t size() const;

 private:
  static std::string key_of(std::string_view config_ref, std::string_view drn);

  struct Slot {
    std::shared_ptr<const MeterKey> entry;
    std::list<std::string>::iterator lru_pos;
  };
  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::list<std::string> lru_;  // front = most recently used
  std::unordered_map<std::string, Slot> map_;
};

}  // namespace stsvend::service
