// Token generation for every class and subclass, including key change sets (see token.h).
#include "stsvend/sts/token.h"

#include <cassert>
#include <cstdio>

#include "stsvend/sts/amount.h"
#include "stsvend/sts/cipher.h"
#include "stsvend/sts/meter_id.h"
#include "stsvend/sts/tid.h"
#include "sts/crc16.h"
#include "sts/token_format.h"
#include "sts/token_number.h"

namespace stsvend::sts {

namespace {

using namespace format;

std::uint64_t with_crc(std::uint64_t block, unsigned token_class) {
  const std::uint64_t top50 = (std::uint64_t{token_class} << 48) | (block >> 16);
  return block | token_crc(top50);
}

Status check_16_bits(std::uint32_t v, std::string_view field) {
  if (v > 0xFFFF) return Status::InvalidArgument(field, "must be a whole number from 0 to 65535");
  return Status::Ok();
}

// RND, TID and a 16-bit value: the shape of class 0 and of class 2 subclasses 0, 1, 2, 5, 6, 7.
Result<std::uint64_t> value_block(const TokenRequest& r, std::uint16_t value) {
  if (r.random_no > 15) return Status::InvalidArgument("random_no", "must be from 0 to 15");
  if (r.tid > kMaxTid) return Status::InvalidArgument("token_id", "must be within 2^24 minutes of the base date");
  return std::uint64_t{r.subclass} << kSubclassShift | std::uint64_t{r.random_no} << kRndShift |
         std::uint64_t{r.tid} << kTidShift | std::uint64_t{value} << kValueShift;
}

Status rename_for_new_key(Status s) {
  if (s.ok()) return s;
  static constexpr std::pair<std::string_view, std::string_view> kRename[] = {
      {"vending_key", "new_vending_key"}, {"drn", "new_drn"},
      {"issuer_identification_no", "new_issuer_identification_no"}};
  for (const auto& [from, to] : kRename) {
    if (s.field() == from) return Status::InvalidArgument(to, s.rule());
  }
  return s;
}

Token make_token(std::uint64_t plain, unsigned token_class, unsigned subclass, const TokenCipher& cipher,
                 std::optional<std::uint32_t> tid) {
  Token t;
  t.token_class = token_class;
  t.subclass = subclass;
  t.token_type = token_type_name(token_class, subclass);
  t.plain_block = plain;
  t.tid = tid;
  const std::uint64_t e = token_class == 1 ? plain : cipher.encrypt(plain);
  t.number = format_token_number(transpose_class(e, token_class));
  return t;
}

Result<std::vector<Token>> key_change_set(const Config& config, const TokenCipher& cipher, std::string_view drn,
                                          const KeyChange& change) {
  STSVEND_ASSIGN_OR_RETURN(DecoderKey new_key, derive_new_decoder_key(config, drn, change));
  const std::uint64_t ken_hi = change.new_key_expiry_no >> 4;
  const std::uint64_t ken_lo = change.new_key_expiry_no & 0xF;
  std::vector<Token> set;
  if (new_key.size() == 8) {
    const std::uint64_t nk = new_key.sta_integer();
    const std::uint64_t first = std::uint64_t{3} << kSubclassShift | ken_hi << kKenNibbleShift |
                                std::uint64_t{change.new_key_revision_no} << kKrnShift |
                                std::uint64_t{change.ro} << kRoBit |
                                std::uint64_t{static_cast<unsigned>(change.new_key_type)} << kKtShift |
                                (nk >> 32) << kKeyPartShift;
    const std::uint64_t second = std::uint64_t{4} << kSubclassShift | ken_lo << kKenNibbleShift |
                                 std::uint64_t{change.new_tariff_index} << kTiShift |
                                 (nk & 0xFFFFFFFF) << kKeyPartShift;
    set.push_back(make_token(with_crc(first, 2), 2, 3, cipher, std::nullopt));
    set.push_back(make_token(with_crc(second, 2), 2, 4, cipher, std::nullopt));
    return set;
  }
  // 128-bit key: NKHO = K[0..3], NKMO2 = K[4..7] (3rd section), NKMO1 = K[8..11] (4th), NKLO = K[12..15].
  const auto k = new_key.stored_bytes();
  const auto word = [&](std::size_t at) {
    return std::uint64_t{k[at]} << 24 | std::uint64_t{k[at + 1]} << 16 | std::uint64_t{k[at + 2]} << 8 | k[at + 3];
  };
  const std::uint64_t sgc = change.new_supply_group_code;
  const std::uint64_t first = std::uint64_t{3} << kSubclassShift | ken_hi << kKenNibbleShift |
                              std::uint64_t{change.new_key_revision_no} << kKrnShift |
                              std::uint64_t{change.ro} << kRoBit |
                              std::uint64_t{static_cast<unsigned>(change.new_key_type)} << kKtShift |
                              word(0) << kKeyPartShift;
  const std::uint64_t second = std::uint64_t{4} << kSubclassShift | ken_lo << kKenNibbleShift |
                               std::uint64_t{change.new_tariff_index} << kTiShift | word(12) << kKeyPartShift;
  const std::uint64_t third = std::uint64_t{8} << kSubclassShift | (sgc & 0xFFF) << kSgcPartShift |
                              word(4) << kKeyPartShift;
  const std::uint64_t fourth = std::uint64_t{9} << kSubclassShift | ((sgc >> 12) & 0xFFF) << kSgcPartShift |
                               word(8) << kKeyPartShift;
  set.push_back(make_token(with_crc(first, 2), 2, 3, cipher, std::nullopt));
  set.push_back(make_token(with_crc(second, 2), 2, 4, cipher, std::nullopt));
  set.push_back(make_token(with_crc(third, 2), 2, 8, cipher, std::nullopt));
  set.push_back(make_token(with_crc(fourth, 2), 2, 9, cipher, std::nullopt));
  return set;
}

bool is_key_change(unsigned token_class, unsigned subclass) {
  return token_class == 2 && (subclass == 3 || subclass == 4 || subclass == 8 || subclass == 9);
}

}  // namespace

KeyChange KeyChange::clone() const {
  KeyChange c;
  c.new_vending_key = new_vending_key.clone();
  c.new_supply_group_code = new_supply_group_code;
  c.new_tariff_index = new_tariff_index;
  c.new_key_revision_no = new_key_revision_no;
  c.new_key_type = new_key_type;
  c.new_key_expiry_no = new_key_expiry_no;
  c.new_drn = new_drn;
  c.new_issuer_identification_no = new_issuer_identification_no;
  c.ro = ro;
  return c;
}

std::string Token::data_block_hex() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%u%016llx", token_class, static_cast<unsigned long long>(plain_block));
  return buf;
}

Result<std::uint64_t> build_data_block(const TokenRequest& r) {
  if (r.token_class > 2) return Status::InvalidArgument("class", "must be 0, 1 or 2");
  if (r.subclass > 15 || token_type_name(r.token_class, r.subclass).empty()) {
    return Status::InvalidArgument("subclass", "is not a token subclass of class " + std::to_string(r.token_class));
  }
  std::uint64_t block = 0;
  switch (r.token_class) {
    case 0: {
      STSVEND_ASSIGN_OR_RETURN(const std::uint16_t amount, encode_amount(r.amount_tenths, "amount"));
      STSVEND_ASSIGN_OR_RETURN(block, value_block(r, amount));
      break;
    }
    case 1:
      if (r.subclass == 0) {
        if (r.control > kControl36Max) return Status::InvalidArgument("control", "must fit in 36 bits for subclass 0");
        if (r.manufacturer_code > 99) return Status::InvalidArgument("manufacturer_code", "must be a 2-digit manufacturer code (0 to 99) for subclass 0");
        block = std::uint64_t{0} << kSubclassShift | r.control << kControl36Shift |
                std::uint64_t{r.manufacturer_code} << kMfr8Shift;
      } else {
        if (r.control > kControl28Max) return Status::InvalidArgument("control", "must fit in 28 bits for subclass 1");
        if (r.manufacturer_code > 9999) return Status::InvalidArgument("manufacturer_code", "must be a 4-digit manufacturer code (0 to 9999) for subclass 1");
        block = std::uint64_t{1} << kSubclassShift | r.control << kControl28Shift |
                std::uint64_t{r.manufacturer_code} << kMfr16Shift;
      }
      break;
    case 2: {
      std::uint16_t value = 0;
      switch (r.subclass) {
        case 0: {
          STSVEND_ASSIGN_OR_RETURN(value, encode_amount(r.maximum_power_limit, "maximum_power_limit"));
          break;
        }
        case 1: STSVEND_RETURN_IF_ERROR(check_16_bits(r.register_no, "register")); value = static_cast<std::uint16_t>(r.register_no); break;
        case 2: STSVEND_RETURN_IF_ERROR(check_16_bits(r.tariff_rate, "tariff_rate")); value = static_cast<std::uint16_t>(r.tariff_rate); break;
        case 5: STSVEND_RETURN_IF_ERROR(check_16_bits(r.pad, "pad")); value = static_cast<std::uint16_t>(r.pad); break;
        case 6: {
          STSVEND_ASSIGN_OR_RETURN(value, encode_amount(r.mppul, "mppul"));
          break;
        }
        case 7: STSVEND_RETURN_IF_ERROR(check_16_bits(r.wm_factor, "wm_factor")); value = static_cast<std::uint16_t>(r.wm_factor); break;
        default:
          return Status::InvalidArgument("subclass", "key change tokens are made as a set by generate_tokens");
      }
      STSVEND_ASSIGN_OR_RETURN(block, value_block(r, value));
      break;
    }
    default: break;
  }
  return with_crc(block, r.token_class);
}

std::string encrypt_and_format(std::uint64_t plain_block, unsigned token_class, const TokenCipher& cipher) {
  const std::uint64_t e = token_class == 1 ? plain_block : cipher.encrypt(plain_block);
  return format_token_number(transpose_class(e, token_class));
}

std::string encrypt_and_format(std::uint64_t plain_block, unsigned token_class, const DecoderKey& key,
                               EncryptionAlgorithm ea) {
  if (token_class == 1) return format_token_number(transpose_class(plain_block, 1));
  auto cipher = TokenCipher::create(key, ea);
  assert(cipher.ok() && "key length must suit the algorithm");
  return encrypt_and_format(plain_block, token_class, *cipher);
}

Result<DecoderKey> derive_new_decoder_key(const Config& config, std::string_view drn, const KeyChange& change) {
  if (change.new_supply_group_code > 999999) return Status::InvalidArgument("new_supply_group_code", "must be 6 decimal digits");
  if (change.new_tariff_index > 99) return Status::InvalidArgument("new_tariff_index", "must be 2 decimal digits");
  if (change.new_key_revision_no < 1 || change.new_key_revision_no > 9) return Status::InvalidArgument("new_key_revision_no", "must be 1 to 9");
  if (static_cast<unsigned>(change.new_key_type) > 3) return Status::InvalidArgument("new_key_type", "must be 0 to 3");
  KeyDerivationInput in;
  in.dkga = config.decoder_key_generation_algorithm;
  in.encryption_algorithm = config.encryption_algorithm;
  in.base_date = config.base_date;
  in.vending_key = change.new_vending_key.span();
  in.supply_group_code = change.new_supply_group_code;
  in.tariff_index = change.new_tariff_index;
  in.key_revision_no = change.new_key_revision_no;
  in.key_type = change.new_key_type;
  in.issuer_identification_no = change.new_issuer_identification_no.empty()
                                    ? std::string_view(config.issuer_identification_no)
                                    : std::string_view(change.new_issuer_identification_no);
  in.drn = change.new_drn.empty() ? drn : std::string_view(change.new_drn);
  auto key = derive_decoder_key(in);
  if (!key.ok()) return rename_for_new_key(std::move(key).take_status());
  return key;
}

Result<std::vector<Token>> generate_tokens(const Config& config, const TokenCipher& cipher, std::string_view drn,
                                           const TokenRequest& r) {
  STSVEND_RETURN_IF_ERROR(validate_drn(config.issuer_identification_no, drn));
  if (r.token_class > 2) return Status::InvalidArgument("class", "must be 0, 1 or 2");
  if (is_key_change(r.token_class, r.subclass)) {
    if (!r.key_change) return Status::InvalidArgument("new_vending_key", "is required for a key change");
    return key_change_set(config, cipher, drn, *r.key_change);
  }
  if (carries_tid(r.token_class, r.subclass) && r.tid > kMaxTid) {
    return Status::InvalidArgument("token_id", "must be within 2^24 minutes of the base date");
  }
  if (carries_tid(r.token_class, r.subclass) && key_expired(r.tid, config.key_expiry_no)) {
    return Status::FailedPrecondition(
        "key_expiry_no", "key expired: the token identifier " + std::to_string(r.tid) + " (" +
                             format_instant(unix_from_tid(r.tid, config.base_date)) +
                             ") is past the key expiry number " + std::to_string(config.key_expiry_no) +
                             "; a key change to a key with a later expiry is needed");
  }
  STSVEND_ASSIGN_OR_RETURN(const std::uint64_t plain, build_data_block(r));
  std::vector<Token> out;
  out.push_back(make_token(plain, r.token_class, r.subclass, cipher,
                           carries_tid(r.token_class, r.subclass) ? std::optional<std::uint32_t>(r.tid) : std::nullopt));
  return out;
}

Result<std::vector<Token>> generate_tokens(const Config& config, const DecoderKey& key, std::string_view drn,
                                           const TokenRequest& request) {
  STSVEND_ASSIGN_OR_RETURN(TokenCipher cipher, TokenCipher::create(key, config.encryption_algorithm));
  return generate_tokens(config, cipher, drn, request);
}

}  // namespace stsvend::sts
