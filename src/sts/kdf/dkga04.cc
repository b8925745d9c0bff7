// DKGA-04: HMAC-SHA-256 under a 160-bit vending key over a label/context message
// (REFERENCE.md §6.4; the byte layout is pinned by the published DKGA-04 vectors).
#include <botan/mac.h>

#include <cstdio>
#include <string>
#include <vector>

#include "stsvend/sts/meter_id.h"
#include "sts/kdf/dkga.h"

namespace stsvend::sts::kdf {

namespace {
void append_field(std::vector<std::uint8_t>& m, std::string_view text) {
  m.push_back(static_cast<std::uint8_t>(text.size()));
  m.insert(m.end(), text.begin(), text.end());
}
std::string two_digits(unsigned v) {
  char b[3];
  std::snprintf(b, sizeof b, "%02u", v % 100);
  return b;
}
}  // namespace

Result<SecretBytes> dkga04(const KeyDerivationInput& in) {
  if (in.vending_key.size() != 20) {
    return Status::InvalidArgument("vending_key", "DKGA-04 needs a 160-bit vending key (40 hex digits)");
  }
  const bool misty = in.encryption_algorithm == EncryptionAlgorithm::kMisty1;
  const unsigned key_bits = misty ? 128 : 64;
  char sgc[7], kt[2], krn[2];
  std::snprintf(sgc, sizeof sgc, "%06u", static_cast<unsigned>(in.supply_group_code));
  std::snprintf(kt, sizeof kt, "%x", static_cast<unsigned>(in.key_type) & 0xF);
  std::snprintf(krn, sizeof krn, "%x", static_cast<unsigned>(in.key_revision_no) & 0xF);

  std::vector<std::uint8_t> m;
  m.reserve(64);
  m.push_back(4);  // four label fields
  append_field(m, "04");
  append_field(m, two_digits(static_cast<unsigned>(in.base_date)));
  append_field(m, two_digits(static_cast<unsigned>(in.encryption_algorithm)));
  append_field(m, two_digits(in.tariff_index));
  m.push_back(0);  // separator
  m.push_back(4);  // four context fields
  append_field(m, sgc);
  append_field(m, kt);
  append_field(m, krn);
  append_field(m, meter_pan(in.issuer_identification_no, in.drn));
  for (int shift = 24; shift >= 0; shift -= 8) m.push_back(static_cast<std::uint8_t>(key_bits >> shift));

  SecretBytes mac(32);
  try {
    auto hmac = Botan::MessageAuthenticationCode::create_or_throw("HMAC(SHA-256)");
    hmac->set_key(in.vending_key.data(), in.vending_key.size());
    hmac->update(m.data(), m.size());
    hmac->final(mac.data());
  } catch (...) {
    return Status::Internal("HMAC-SHA-256 failed in Botan");
  }
  if (misty) return SecretBytes(mac.span().first(16));
  // 64-bit keys are stored reversed, like DKGA-02, so STA's little-endian load sees H[0..7] big-endian.
  SecretBytes stored(8);
  for (int i = 0; i < 8; ++i) stored[i] = mac[7 - i];
  return stored;
}

}  // namespace stsvend::sts::kdf
