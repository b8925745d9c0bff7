// What vend write jobs remember between jobs, on the storage writer thread only: the configurations
// and meters that vends touch. With it a vend reads nothing from SQLite on its hot path and writes
// only its nonce, its debit and its token rows. docs/storage.md ("The vend write path").
//
// Correctness rests on two rules: every entry is the committed-or-current-batch state of its row
// (write jobs that change a configuration or a meter update or drop the entry in the same job), and
// the whole ledger is dropped whenever the repository's writer generation moves (another process
// committed, or a batch was rolled back and its jobs' changes are gone).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/repository.h"
#include "stsvend/result.h"

namespace stsvend::service {

class VendLedger {
 public:
  explicit VendLedger(std::size_t max_meters = 1 << 20) : max_meters_(max_meters) {}

  // Call at the start of every write job that uses the ledger.
  void sync(store::Repository& repo);

  // The user's configuration, or nullptr when `config_ref` is not one of the user's.
  Result<const store::ConfigurationInfo*> configuration(store::Repository& repo, std::string_view user_ref,
                                                        std::string_view config_ref);
  // The user's registered meter, or nullptr when it is not registered yet.
  Result<const store::Meter*> meter(store::Repository& repo, std::string_view user_ref, std::string_view drn);
  // Records the meter's state after a write job changed it (registry fields or its last TID).
  void put_meter(store::Meter meter);

  // For write jobs that change rows behind the ledger's back (activation, explicit registration).
  void forget_configuration(std::string_view config_ref) { configs_.erase(std::string(config_ref)); }
  void forget_meter(std::string_view user_ref, std::string_view drn) { meters_.erase(meter_key(user_ref, drn)); }
  void clear();

 private:
  static std::string meter_key(std::string_view user_ref, std::string_view drn);

  std::size_t max_meters_;
  std::uint64_t generation_ = 0;
  std::unordered_map<std::string, store::ConfigurationInfo> configs_;  // by config ref
  // Negative entries too: a meter that is not registered yet is remembered as absent.
  struct MeterSlot {
    bool registered = false;
    store::Meter meter;
  };
  std::unordered_map<std::string, MeterSlot> meters_;  // by user_ref '\n' drn
};

}  // namespace stsvend::service
