// Engine throughput on one core: class 0 tokens/s per encryption algorithm with a prepared cipher
// (what a vending server caches per meter), decoder key derivations/s per DKGA, decodes/s, and the
// raw Botan single-block ciphers for comparison. Every benchmark reports items_per_second.
#include <benchmark/benchmark.h>
#include <botan/block_cipher.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "stsvend/secret.h"
#include "stsvend/sts/cipher.h"
#include "stsvend/sts/config.h"
#include "stsvend/sts/decode.h"
#include "stsvend/sts/decoder_key.h"
#include "stsvend/sts/token.h"

namespace {

using namespace stsvend;
using namespace stsvend::sts;

constexpr const char* kDrn = "47500150231";

Config make_config(EncryptionAlgorithm ea, Dkga dkga, const char* vk) {
  Config c;
  c.name = "bench";
  c.encryption_algorithm = ea;
  c.decoder_key_generation_algorithm = dkga;
  if (!parse_hex(vk, &c.vending_key)) std::abort();
  c.supply_group_code = 123456;
  c.tariff_index = 1;
  c.key_revision_no = 1;
  return c;
}

const Config& config_for(EncryptionAlgorithm ea) {
  static const Config sta = make_config(EncryptionAlgorithm::kSta, Dkga::k02, "abababababababab");
  static const Config dea = make_config(EncryptionAlgorithm::kDea, Dkga::k02, "abababababababab");
  static const Config misty =
      make_config(EncryptionAlgorithm::kMisty1, Dkga::k04, "abababababababab949494949494949401234567");
  return ea == EncryptionAlgorithm::kSta ? sta : ea == EncryptionAlgorithm::kDea ? dea : misty;
}

// Class 0 credit tokens through generate_tokens with a cached cipher; TID and amount vary.
void class0_tokens(benchmark::State& state, EncryptionAlgorithm ea) {
  const Config& config = config_for(ea);
  auto key = derive_decoder_key(config, kDrn);
  auto cipher = TokenCipher::create(*key, ea);
  if (!key.ok() || !cipher.ok()) {
    state.SkipWithError("setup failed");
    return;
  }
  TokenRequest req;
  req.token_class = 0;
  req.subclass = 0;
  std::uint32_t i = 0;
  for (auto _ : state) {
    req.tid = 1'000'000 + (i & 0xFFFFF);
    req.random_no = static_cast<std::uint8_t>(i & 0xF);
    req.amount_tenths = 100 + (i & 0x3FFF);
    auto tokens = generate_tokens(config, *cipher, kDrn, req);
    benchmark::DoNotOptimize(tokens);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_class0_tokens_sta(benchmark::State& s) { class0_tokens(s, EncryptionAlgorithm::kSta); }
void BM_class0_tokens_dea(benchmark::State& s) { class0_tokens(s, EncryptionAlgorithm::kDea); }
void BM_class0_tokens_misty(benchmark::State& s) { class0_tokens(s, EncryptionAlgorithm::kMisty1); }
BENCHMARK(BM_class0_tokens_sta);
BENCHMARK(BM_class0_tokens_dea);
BENCHMARK(BM_class0_tokens_misty);

// The token number alone: data block -> cipher -> transposition -> 20 digits.
void encrypt_format(benchmark::State& state, EncryptionAlgorithm ea) {
  auto key = derive_decoder_key(config_for(ea), kDrn);
  auto cipher = TokenCipher::create(*key, ea);
  std::uint64_t block = 0x05599863000119E6ULL;
  for (auto _ : state) {
    benchmark::DoNotOptimize(encrypt_and_format(block, 0, *cipher));
    block += 0x10000;
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_encrypt_format_sta(benchmark::State& s) { encrypt_format(s, EncryptionAlgorithm::kSta); }
void BM_encrypt_format_misty(benchmark::State& s) { encrypt_format(s, EncryptionAlgorithm::kMisty1); }
BENCHMARK(BM_encrypt_format_sta);
BENCHMARK(BM_encrypt_format_misty);

void derive(benchmark::State& state, EncryptionAlgorithm ea, Dkga dkga, const char* vk) {
  const Config config = make_config(ea, dkga, vk);
  for (auto _ : state) {
    auto key = derive_decoder_key(config, kDrn);
    benchmark::DoNotOptimize(key);
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_dkga02(benchmark::State& s) { derive(s, EncryptionAlgorithm::kSta, Dkga::k02, "abababababababab"); }
void BM_dkga03(benchmark::State& s) {
  derive(s, EncryptionAlgorithm::kSta, Dkga::k03, "5533d4be14220f3b4c6c7560450789df");
}
void BM_dkga04(benchmark::State& s) {
  derive(s, EncryptionAlgorithm::kMisty1, Dkga::k04, "abababababababab949494949494949401234567");
}
BENCHMARK(BM_dkga02);
BENCHMARK(BM_dkga03);
BENCHMARK(BM_dkga04);

// Meter-side decode of 20-digit tokens with a prepared cipher.
void decode(benchmark::State& state, EncryptionAlgorithm ea) {
  const Config& config = config_for(ea);
  auto key = derive_decoder_key(config, kDrn);
  auto cipher = TokenCipher::create(*key, ea);
  std::vector<std::string> tokens;
  TokenRequest req;
  for (std::uint32_t i = 0; i < 1024; ++i) {
    req.tid = 2'000'000 + i;
    req.amount_tenths = i;
    tokens.push_back(generate_tokens(config, *cipher, kDrn, req)->front().number);
  }
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(decode_token(tokens[i++ & 1023], *cipher));
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_decode_sta(benchmark::State& s) { decode(s, EncryptionAlgorithm::kSta); }
void BM_decode_misty(benchmark::State& s) { decode(s, EncryptionAlgorithm::kMisty1); }
BENCHMARK(BM_decode_sta);
BENCHMARK(BM_decode_misty);

void raw_block(benchmark::State& state, const char* algo, std::size_t key_bytes) {
  auto cipher = Botan::BlockCipher::create_or_throw(algo);
  std::vector<std::uint8_t> key(key_bytes, 0xAB);
  cipher->set_key(key.data(), key.size());
  std::array<std::uint8_t, 8> block{0x05, 0x59, 0x98, 0x63, 0x00, 0x01, 0x19, 0xE6};
  for (auto _ : state) {
    cipher->encrypt(block.data());
    benchmark::DoNotOptimize(block);
  }
  state.SetItemsProcessed(state.iterations());
}
void BM_raw_des(benchmark::State& s) { raw_block(s, "DES", 8); }
void BM_raw_misty(benchmark::State& s) { raw_block(s, "MISTY1", 16); }
BENCHMARK(BM_raw_des);
BENCHMARK(BM_raw_misty);

}  // namespace

BENCHMARK_MAIN();
