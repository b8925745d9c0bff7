// TokenCipher: dispatch to EA07 (ours), EA09 and EA11 (Botan). See include/stsvend/sts/cipher.h.
#include "stsvend/sts/cipher.h"

#include <array>

#include "sts/crypto/block_cipher64.h"
#include "sts/crypto/sta.h"

namespace stsvend::sts {

class TokenCipher::Impl {
 public:
  crypto::StaSchedule sta;  // EA07 only
  std::unique_ptr<crypto::BlockCipher64> block;  // EA09, EA11
  ~Impl() { sta.wipe(); }
};

TokenCipher::TokenCipher(EncryptionAlgorithm ea, std::unique_ptr<Impl> impl) : ea_(ea), impl_(std::move(impl)) {}
TokenCipher::TokenCipher(TokenCipher&&) noexcept = default;
TokenCipher& TokenCipher::operator=(TokenCipher&&) noexcept = default;
TokenCipher::~TokenCipher() = default;

Result<TokenCipher> TokenCipher::create(const DecoderKey& key, EncryptionAlgorithm ea) {
  if (key.size() != decoder_key_bytes(ea)) {
    return Status::InvalidArgument("encryption_algorithm",
                                   ea == EncryptionAlgorithm::kMisty1
                                       ? "MISTY1 (EA11) needs a 128-bit decoder key: use DKGA-04"
                                       : "STA (EA07) and DEA (EA09) need a 64-bit decoder key");
  }
  auto impl = std::make_unique<Impl>();
  switch (ea) {
    case EncryptionAlgorithm::kSta:
      impl->sta = crypto::sta_schedule(key.sta_integer());
      break;
    case EncryptionAlgorithm::kDea: {
      // DES is keyed with the big-endian bytes of the same 64-bit key integer STA uses, i.e. the
      // stored bytes reversed (REFERENCE.md §7.2; no third-party EA09 vector exists).
      std::array<std::uint8_t, 8> natural;
      const auto stored = key.stored_bytes();
      for (std::size_t i = 0; i < 8; ++i) natural[i] = stored[7 - i];
      impl->block = crypto::BlockCipher64::create("DES", natural);
      natural.fill(0);
      if (!impl->block) return Status::Internal("DES is not available in this Botan build");
      break;
    }
    case EncryptionAlgorithm::kMisty1:
      impl->block = crypto::BlockCipher64::create("MISTY1", key.stored_bytes());
      if (!impl->block) return Status::Internal("MISTY1 is not available in this Botan build");
      break;
  }
  return TokenCipher(ea, std::move(impl));
}

std::uint64_t TokenCipher::encrypt(std::uint64_t block) const noexcept {
  if (ea_ == EncryptionAlgorithm::kSta) return crypto::sta_encrypt(impl_->sta, block);
  return impl_->block->encrypt(block);
}

std::uint64_t TokenCipher::decrypt(std::uint64_t block) const noexcept {
  if (ea_ == EncryptionAlgorithm::kSta) return crypto::sta_decrypt(impl_->sta, block);
  return impl_->block->decrypt(block);
}

}  // namespace stsvend::sts
