// Stateless meter-side decoding (see decode.h).
#include "stsvend/sts/decode.h"

#include "stsvend/sts/amount.h"
#include "sts/crc16.h"
#include "sts/token_format.h"
#include "sts/token_number.h"

namespace stsvend::sts {

namespace {
using namespace format;

DecodeOutcome decode_block(std::uint64_t plain, unsigned token_class) {
  DecodeOutcome out;
  DecodedToken& t = out.token;
  t.token_class = token_class;
  t.plain_block = plain;
  t.crc = static_cast<std::uint16_t>(plain & 0xFFFF);
  t.subclass = static_cast<unsigned>(plain >> kSubclassShift);
  const std::uint64_t top50 = (std::uint64_t{token_class} << 48) | (plain >> 16);
  if (token_crc(top50) != t.crc) {
    out.result = TokenResult::kCrc;
    return out;
  }
  t.token_type = token_type_name(token_class, t.subclass);
  if (t.token_type.empty()) {
    out.result = TokenResult::kFunction;
    return out;
  }
  const auto value = static_cast<std::uint16_t>(plain >> kValueShift);
  if (carries_tid(token_class, t.subclass)) {
    t.random_no = static_cast<std::uint8_t>((plain >> kRndShift) & 0xF);
    t.tid = static_cast<std::uint32_t>((plain >> kTidShift) & kTidMask);
    t.value_field = value;
  }
  const auto key_part = static_cast<std::uint32_t>(plain >> kKeyPartShift);
  switch (token_class) {
    case 0:
      t.amount_tenths = decode_amount(value);
      break;
    case 1:
      if (t.subclass == 0) {
        t.control = (plain >> kControl36Shift) & kControl36Max;
        t.manufacturer_code = static_cast<std::uint32_t>((plain >> kMfr8Shift) & 0xFF);
      } else {
        t.control = (plain >> kControl28Shift) & kControl28Max;
        t.manufacturer_code = static_cast<std::uint32_t>((plain >> kMfr16Shift) & 0xFFFF);
      }
      break;
    case 2:
      switch (t.subclass) {
        case 0: t.maximum_power_limit = decode_amount(value); break;
        case 1: t.register_no = value; break;
        case 2: t.tariff_rate = value; break;
        case 5: t.pad = value; break;
        case 6: t.mppul = decode_amount(value); break;
        case 7: t.wm_factor = value; break;
        case 3:
          t.key_expiry_nibble = static_cast<std::uint8_t>((plain >> kKenNibbleShift) & 0xF);
          t.key_revision_no = static_cast<std::uint8_t>((plain >> kKrnShift) & 0xF);
          t.ro = ((plain >> kRoBit) & 1) != 0;
          t.res_3kct = ((plain >> kRes3KctBit) & 1) != 0;
          t.key_type = static_cast<std::uint8_t>((plain >> kKtShift) & 3);
          t.key_part = key_part;
          break;
        case 4:
          t.key_expiry_nibble = static_cast<std::uint8_t>((plain >> kKenNibbleShift) & 0xF);
          t.tariff_index = static_cast<std::uint8_t>((plain >> kTiShift) & 0xFF);
          t.key_part = key_part;
          break;
        case 8:
        case 9:
          t.sgc_part = static_cast<std::uint16_t>((plain >> kSgcPartShift) & 0xFFF);
          t.key_part = key_part;
          break;
        default: break;
      }
      break;
    default: break;
  }
  out.result = TokenResult::kAccepted;
  return out;
}
}  // namespace

std::string_view token_result_name(TokenResult r) noexcept {
  switch (r) {
    case TokenResult::kAccepted: return "accepted";
    case TokenResult::kFormat: return "FORMAT";
    case TokenResult::kCrc: return "CRC";
    case TokenResult::kFunction: return "FUNCTION";
    case TokenResult::kOld: return "OLD";
    case TokenResult::kUsed: return "USED";
    case TokenResult::kKeyExpired: return "KEY_EXPIRED";
    case TokenResult::kKeyType: return "KEY_TYPE";
    case TokenResult::kDdtk: return "DDTK";
    case TokenResult::kRange: return "RANGE";
    case TokenResult::kOverflow: return "OVERFLOW";
    case TokenResult::kAuthentication: return "AUTHENTICATION";
    case TokenResult::kKeyChangePending: return "KEY_CHANGE_PENDING";
  }
  return "";
}

DecodeOutcome decode_token(std::string_view digits, const TokenCipher& cipher) {
  Token66 t;
  if (!parse_token_number(digits, &t)) return DecodeOutcome{};
  unsigned token_class = 0;
  const std::uint64_t e = untranspose_class(t, &token_class);
  if (token_class == 3) {
    DecodeOutcome out;
    out.token.token_class = 3;
    return out;  // class 3 is reserved: FORMAT
  }
  const std::uint64_t plain = token_class == 1 ? e : cipher.decrypt(e);
  return decode_block(plain, token_class);
}

DecodeOutcome decode_token(std::string_view digits, const DecoderKey& key, EncryptionAlgorithm ea) {
  auto cipher = TokenCipher::create(key, ea);
  if (!cipher.ok()) return DecodeOutcome{};  // a key that cannot drive the algorithm decodes nothing
  return decode_token(digits, *cipher);
}

}  // namespace stsvend::sts
