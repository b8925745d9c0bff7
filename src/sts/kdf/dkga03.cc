// DKGA-03: two-key triple DES under VK1 || VK2 (REFERENCE.md §6.3; withdrawn in edition 3, kept
// for meters already in the field). Output is kept in natural byte order, as the peer does.
#include <botan/block_cipher.h>

#include "sts/kdf/dkga.h"

namespace stsvend::sts::kdf {

Result<SecretBytes> dkga03(const KeyDerivationInput& in) {
  if (in.vending_key.size() != 16) {
    return Status::InvalidArgument("vending_key", "DKGA-03 needs two 64-bit vending keys (vending_key_1 and vending_key_2, 16 hex digits each)");
  }
  const auto pan = pan_block(in);
  const auto control = control_block(in);
  std::uint8_t x[8], c[8];
  for (int i = 0; i < 8; ++i) x[i] = static_cast<std::uint8_t>(pan[i] ^ control[i]);
  try {
    auto tdes = Botan::BlockCipher::create_or_throw("TripleDES");
    tdes->set_key(in.vending_key.data(), 16);  // 2-key EDE: K1 K2 K1
    tdes->encrypt_n(x, c, 1);
  } catch (...) {
    return Status::Internal("TripleDES failed in Botan");
  }
  SecretBytes stored(8);
  for (int i = 0; i < 8; ++i) stored[i] = static_cast<std::uint8_t>(c[i] ^ x[i]);
  volatile std::uint8_t* wipe = c;
  for (int i = 0; i < 8; ++i) wipe[i] = 0;
  return stored;
}

}  // namespace stsvend::sts::kdf
