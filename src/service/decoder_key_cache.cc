// LRU cache of meter keys; see decoder_key_cache.h.
#include "service/decoder_key_cache.h"

namespace stsvend::service {

std::string DecoderKeyCache::key_of(std::string_view config_ref, std::string_view drn) {
  std::string k;
  k.reserve(config_ref.size() + 1 + drn.size());
  k.append(config_ref).append(1, '/').append(drn);
  return k;
}

std::shared_ptr<const MeterKey> DecoderKeyCache::find(std::string_view config_ref, std::string_view drn) {
  const std::string k = key_of(config_ref, drn);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(k);
  if (it == map_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.lru_pos);
  return it->second.entry;
}

void DecoderKeyCache::put(std::string_view config_ref, std::string_view drn, std::shared_ptr<const MeterKey> entry) {
  std::string k = key_of(config_ref, drn);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(k);
  if (it != map_.end()) {
    it->second.entry = std::move(entry);
    lru_.splice(lru_.begin(), lru_, it->second.lru_pos);
    return;
  }
  while (map_.size() >= capacity_) {
    map_.erase(lru_.back());
    lru_.pop_back();
  }
  lru_.push_front(k);
  map_.emplace(std::move(k), Slot{std::move(entry), lru_.begin()});
}

std::size_t DecoderKeyCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return map_.size();
}

}  // namespace stsvend::service
