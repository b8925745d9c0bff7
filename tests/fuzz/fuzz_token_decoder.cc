// Fuzzes the meter side: sts::decode_token and VirtualMeter::enter on arbitrary strings, under an
// STA and a MISTY1 meter. Invariants: no crash; FORMAT/CRC/FUNCTION never change the meter; the TID
// store stays sorted and bounded; the state text round-trips.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "stsvend/secret.h"
#include "stsvend/sts/config.h"
#include "stsvend/sts/decode.h"
#include "stsvend/sts/meter.h"

namespace {

using namespace stsvend::sts;

Config make(EncryptionAlgorithm ea, Dkga dkga, const char* vk) {
  Config c;
  c.name = "fuzz";
  c.encryption_algorithm = ea;
  c.decoder_key_generation_algorithm = dkga;
  if (!stsvend::parse_hex(vk, &c.vending_key)) std::abort();
  c.supply_group_code = 123456;
  c.tariff_index = 1;
  c.key_revision_no = 1;
  return c;
}

// Commissioning derives a key (DES / HMAC); do it once and restore the state text per input.
std::string commissioned_text(const Config& c) {
  auto m = VirtualMeter::commission(c, "00000000000");
  if (!m.ok()) std::abort();
  return m->serialize();
}

VirtualMeter restore(const std::string& text) {
  auto m = VirtualMeter::deserialize(text);
  if (!m.ok()) std::abort();
  return std::move(m).value();
}

void check(const VirtualMeter& m) {
  const auto& store = m.state().tid_store;
  if (store.size() > MeterState::kTidStoreSize || !std::is_sorted(store.begin(), store.end())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string sta =
      commissioned_text(make(EncryptionAlgorithm::kSta, Dkga::k02, "abababababababab"));
  static const std::string misty =
      commissioned_text(make(EncryptionAlgorithm::kMisty1, Dkga::k04, "abababababababab949494949494949401234567"));
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  for (const std::string* initial : {&sta, &misty}) {
    VirtualMeter meter = restore(*initial);
    // The input as a sequence of tokens separated by newlines (a keypad session).
    std::string_view rest = input;
    while (true) {
      const std::size_t nl = rest.find('\n');
      const std::string_view token = rest.substr(0, nl);
      const DecodeOutcome stateless = decode_token(token, meter.state().key, meter.state().encryption_algorithm);
      const std::string before = meter.serialize();
      const DecodeOutcome out = meter.enter(token);
      if (stateless.result != TokenResult::kAccepted) {
        if (out.result != stateless.result || meter.serialize() != before) std::abort();
      }
      if (out.result != TokenResult::kAccepted && out.result != TokenResult::kKeyChangePending &&
          meter.serialize() != before) {
        std::abort();  // only acceptance (or a stored key change section) changes the meter
      }
      check(meter);
      if (nl == std::string_view::npos) break;
      rest = rest.substr(nl + 1);
    }
    auto back = VirtualMeter::deserialize(meter.serialize());
    if (!back.ok() || back->serialize() != meter.serialize()) std::abort();
  }
  // The state parser itself on arbitrary text.
  auto parsed = VirtualMeter::deserialize(input);
  if (parsed.ok()) {
    auto again = VirtualMeter::deserialize(parsed->serialize());
    if (!again.ok() || again->serialize() != parsed->serialize()) std::abort();
  }
  return 0;
}
