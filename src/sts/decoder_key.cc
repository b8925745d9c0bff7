// Decoder key derivation dispatch and the DecoderKey accessors (see decoder_key.h).
#include "stsvend/sts/decoder_key.h"

#include "stsvend/sts/meter_id.h"
#include "sts/kdf/dkga.h"

namespace stsvend::sts {

std::uint64_t DecoderKey::sta_integer() const noexcept {
  std::uint64_t k = 0;
  const auto b = bytes_.span();
  for (std::size_t i = 0; i < b.size() && i < 8; ++i) k |= std::uint64_t{b[i]} << (8 * i);
  return k;
}

std::string DecoderKey::hex_for_test() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes_.size() * 2);
  for (std::uint8_t b : bytes_.span()) {
    s.push_back(kHex[b >> 4]);
    s.push_back(kHex[b & 15]);
  }
  return s;
}

Status check_key_combination(Dkga dkga, EncryptionAlgorithm ea, std::size_t vending_key_bytes) {
  switch (dkga) {
    case Dkga::k01:
      return Status::InvalidArgument("decoder_key_generation_algorithm",
                                     "DKGA-01 is not supported (its definition is not publicly available); use 02 or 04");
    case Dkga::k02:
      if (vending_key_bytes != 8) return Status::InvalidArgument("vending_key", "DKGA-02 needs a 64-bit vending key (16 hex digits)");
      break;
    case Dkga::k03:
      if (vending_key_bytes != 16) {
        return Status::InvalidArgument("vending_key", "DKGA-03 needs two 64-bit vending keys (vending_key_1 and vending_key_2, 16 hex digits each)");
      }
      break;
    case Dkga::k04:
      if (vending_key_bytes != 20) return Status::InvalidArgument("vending_key", "DKGA-04 needs a 160-bit vending key (40 hex digits)");
      break;
  }
  if (ea == EncryptionAlgorithm::kMisty1 && dkga != Dkga::k04) {
    return Status::InvalidArgument("encryption_algorithm",
                                   "MISTY1 (EA11) needs a 128-bit decoder key, which only DKGA-04 produces");
  }
  return Status::Ok();
}

Result<DecoderKey> derive_decoder_key(const KeyDerivationInput& in) {
  STSVEND_RETURN_IF_ERROR(validate_drn(in.issuer_identification_no, in.drn));
  STSVEND_RETURN_IF_ERROR(check_key_combination(in.dkga, in.encryption_algorithm, in.vending_key.size()));
  Result<SecretBytes> key = Status::Internal("unreachable");
  switch (in.dkga) {
    case Dkga::k01: break;  // refused by check_key_combination
    case Dkga::k02: key = kdf::dkga02(in); break;
    case Dkga::k03: key = kdf::dkga03(in); break;
    case Dkga::k04: key = kdf::dkga04(in); break;
  }
  if (!key.ok()) return std::move(key).take_status();
  return DecoderKey(std::move(key).value());
}

Result<DecoderKey> derive_decoder_key(const Config& config, std::string_view drn) {
  KeyDerivationInput in;
  in.dkga = config.decoder_key_generation_algorithm;
  in.encryption_algorithm = config.encryption_algorithm;
  in.base_date = config.base_date;
  in.vending_key = config.vending_key.span();
  in.supply_group_code = config.supply_group_code;
  in.tariff_index = config.tariff_index;
  in.key_revision_no = config.key_revision_no;
  in.key_type = config.key_type;
  in.issuer_identification_no = config.issuer_identification_no;
  in.drn = drn;
  return derive_decoder_key(in);
}

}  // namespace stsvend::sts
