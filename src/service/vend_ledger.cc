// VendLedger; see vend_ledger.h.
#include "service/vend_ledger.h"

namespace stsvend::service {

void VendLedger::sync(store::Repository& repo) {
  const std::uint64_t generation = repo.writer_generation();
  if (generation != generation_) {
    clear();
    generation_ = generation;
  }
}

void VendLedger::clear() {
  configs_.clear();
  meters_.clear();
}

std::string VendLedger::meter_key(std::string_view user_ref, std::string_view drn) {
  std::string key;
  key.reserve(user_ref.size() + 1 + drn.size());
  key.append(user_ref).append(1, '\n').append(drn);
  return key;
}

Result<const store::ConfigurationInfo*> VendLedger::configuration(store::Repository& repo,
                                                                  std::string_view user_ref,
                                                                  std::string_view config_ref) {
  if (const auto it = configs_.find(std::string(config_ref)); it != configs_.end()) {
    // Refs are global; the owner check is what keeps tenants apart.
    return it->second.user_ref == user_ref ? &it->second : nullptr;
  }
  STSVEND_ASSIGN_OR_RETURN(auto stored, repo.find_configuration(user_ref, config_ref));
  if (!stored) return static_cast<const store::ConfigurationInfo*>(nullptr);
  auto [it, inserted] = configs_.insert_or_assign(std::string(config_ref), std::move(stored->info));
  return &it->second;
}

Result<const store::Meter*> VendLedger::meter(store::Repository& repo, std::string_view user_ref,
                                              std::string_view drn) {
  std::string key = meter_key(user_ref, drn);
  if (const auto it = meters_.find(key); it != meters_.end()) {
    return it->second.registered ? &it->second.meter : nullptr;
  }
  STSVEND_ASSIGN_OR_RETURN(auto found, repo.find_meter(user_ref, drn));
  if (meters_.size() >= max_meters_) meters_.clear();  // bounded; entries reload on demand
  MeterSlot slot;
  if (found) {
    slot.registered = true;
    slot.meter = std::move(*found);
  }
  auto [it, inserted] = meters_.insert_or_assign(std::move(key), std::move(slot));
  return it->second.registered ? &it->second.meter : nullptr;
}

void VendLedger::put_meter(store::Meter meter) {
  std::string key = meter_key(meter.user_ref, meter.drn);
  if (meters_.size() >= max_meters_ && meters_.find(key) == meters_.end()) meters_.clear();
  meters_.insert_or_assign(std::move(key), MeterSlot{true, std::move(meter)});
}

}  // namespace stsvend::service
