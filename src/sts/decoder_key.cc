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

Result<DecoderKey> derive_decoder_key(const KeyDerivationInput& in) {
  STSVEND_RETURN_IF_ERROR(validate_drn(in.issuer_identification_no, in.drn));
  if (in.encryption_algorithm == EncryptionAlgorithm::kMisty1 && in.dkga != Dkga::k04) {
    return Status::InvalidArgument("encryption_algorithm",
                                   "MISTY1 (EA11) needs a 128-bit decoder key, which only DKGA-04 produces");
  }
  Result<SecretBytes> key = Status::Internal("unreachable");
  switch (in.dkga) {
    case Dkga::k01:
      return Status::InvalidArgument("decoder_key_generation_algorithm",
                                     "DKGA-01 is not supported (its definition is not publicly available); use 02 or 04");
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
