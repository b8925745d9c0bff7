// A virtual STS meter: decoder key and key attributes, TID store and registers. It accepts tokens
// as a real meter does (decrypt, CRC, TID rules, key expiry, key type, range) and applies them.
// IEC 62055-41 clause 8; behaviour and the choices the public texts leave open: docs/meter.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "stsvend/result.h"
#include "stsvend/sts/config.h"
#include "stsvend/sts/decode.h"
#include "stsvend/sts/decoder_key.h"

namespace stsvend::sts {

struct MeterState {
  DecoderKey key;
  EncryptionAlgorithm encryption_algorithm = EncryptionAlgorithm::kSta;
  BaseDate base_date = BaseDate::k1993;
  std::uint8_t key_expiry_no = 255;
  std::uint8_t key_revision_no = 1;
  KeyType key_type = KeyType::kDutk;
  std::uint8_t tariff_index = 0;
  std::uint32_t supply_group_code = 0;
  std::uint32_t manufacturer_code = 0;       // for class 1 authentication; 0 accepts any
  std::vector<std::uint32_t> tid_store;      // ascending, at most kTidStoreSize entries
  // Registers (tenths of a unit for credit, by class 0 subclass).
  std::map<unsigned, std::uint64_t> credit_tenths;
  std::uint32_t maximum_power_limit = 0;
  std::uint32_t mppul = 0;
  std::uint32_t tariff_rate = 0;
  std::uint32_t wm_factor = 0;
  bool tamper = false;
  // Key change sections received under the current key, by subclass (3, 4, 8, 9).
  std::map<unsigned, std::uint64_t> pending_key_change;

  static constexpr std::size_t kTidStoreSize = 50;
};

class VirtualMeter {
 public:
  // A meter as commissioned with `config` for `drn` (key derived here). manufacturer_code 0
  // accepts class 1 tokens of any manufacturer.
  static Result<VirtualMeter> commission(const Config& config, std::string_view drn,
                                         std::uint32_t manufacturer_code = 0);
  explicit VirtualMeter(MeterState state) : state_(std::move(state)) {}

  // Enters one token. Changes state only when the result is kAccepted or kKeyChangePending.
  DecodeOutcome enter(std::string_view digits);

  const MeterState& state() const noexcept { return state_; }

  // Text form for `stsvend token decode --state FILE`. Contains the decoder key in hex: the file is
  // a test meter's memory and must be protected like one (written 0600).
  std::string serialize() const;
  static Result<VirtualMeter> deserialize(std::string_view text);

 private:
  MeterState state_;
};

}  // namespace stsvend::sts
