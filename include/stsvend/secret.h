// SecretBytes: key material that zeroises itself and is never copied by accident.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace stsvend {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::span<const std::uint8_t> bytes) : bytes_(bytes.begin(), bytes.end()) {}
  explicit SecretBytes(std::size_t n) : bytes_(n, 0) {}
  ~SecretBytes() { wipe(); }

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) { other.bytes_.clear(); }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      wipe();
      bytes_ = std::move(other.bytes_);
      other.bytes_.clear();
    }
    return *this;
  }

  // An explicit copy, so every duplication of key material is visible at the call site.
  SecretBytes clone() const { return SecretBytes(std::span<const std::uint8_t>(bytes_)); }

  std::span<const std::uint8_t> span() const noexcept { return bytes_; }
  std::uint8_t* data() noexcept { return bytes_.data(); }
  const std::uint8_t* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return bytes_.size(); }
  bool empty() const noexcept { return bytes_.empty(); }
  std::uint8_t operator[](std::size_t i) const noexcept { return bytes_[i]; }
  std::uint8_t& operator[](std::size_t i) noexcept { return bytes_[i]; }

  void wipe() noexcept {
    volatile std::uint8_t* p = bytes_.data();
    for (std::size_t i = 0; i < bytes_.size(); ++i) p[i] = 0;
  }

 private:
  std::vector<std::uint8_t> bytes_;
};

// Hex helpers for key material (no exceptions; false on bad input).
bool parse_hex(std::string_view hex, SecretBytes* out);

}  // namespace stsvend
