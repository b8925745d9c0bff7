// DKGA-02: single DES under a 64-bit vending key (REFERENCE.md §6.2).
#include <botan/block_cipher.h>

#include "sts/kdf/dkga.h"

namespace stsvend::sts::kdf {

Result<SecretBytes> dkga02(const KeyDerivationInput& in) {
  if (in.vending_key.size() != 8) {
    return Status::InvalidArgument("vending_key", "DKGA-02 needs a 64-bit vending key (16 hex digits)");
  }
  const auto pan = pan_block(in);
  const auto control = control_block(in);
  std::uint8_t x[8], c[8];
  for (int i = 0; i < 8; ++i) x[i] = static_cast<std::uint8_t>(pan[i] ^ control[i]);
  try {
    auto des = Botan::BlockCipher::create_or_throw("DES");
    des->set_key(in.vending_key.data(), 8);  // DES ignores parity bits; they are not "fixed"
    des->encrypt_n(x, c, 1);
  } catch (...) {
    return Status::Internal("DES failed in Botan");
  }
  // D = C xor X xor VK; stored reversed (D[7] .. D[0]), as the published vectors print it.
  SecretBytes stored(8);
  for (int i = 0; i < 8; ++i) stored[7 - i] = static_cast<std::uint8_t>(c[i] ^ x[i] ^ in.vending_key[i]);
  volatile std::uint8_t* wipe = c;
  for (int i = 0; i < 8; ++i) wipe[i] = 0;
  return stored;
}

}  // namespace stsvend::sts::kdf
