// SecretBytes<Tag, N>: N bytes of secret key material that are wiped when they die.
//
// Move-only: a secret is never duplicated by accident. Moving copies the bytes into the target
// and wipes the source, so a moved-from value holds zeros. The bytes live inline (no heap), and
// are wiped with sodium_memzero, which the compiler may not optimise away. Not thread-safe for
// concurrent mutation; const access from several threads is fine.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <span>

namespace thunder::crypto {

namespace detail {
// sodium_memzero, kept out of this header so that users need not include <sodium.h>.
void wipe(void* data, size_t size);
}  // namespace detail

template <typename Tag, size_t N>
class SecretBytes {
 public:
  static constexpr size_t kSize = N;

  // All zeros; fill it through mutableBytes().
  SecretBytes() = default;
  explicit SecretBytes(std::span<const uint8_t, N> bytes) {
    std::memcpy(bytes_.data(), bytes.data(), N);
  }
  ~SecretBytes() { detail::wipe(bytes_.data(), N); }

  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept : bytes_(other.bytes_) {
    detail::wipe(other.bytes_.data(), N);
  }
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      bytes_ = other.bytes_;
      detail::wipe(other.bytes_.data(), N);
    }
    return *this;
  }

  std::span<const uint8_t, N> bytes() const { return bytes_; }
  std::span<uint8_t, N> mutableBytes() { return bytes_; }
  const uint8_t* data() const { return bytes_.data(); }
  uint8_t* data() { return bytes_.data(); }

 private:
  std::array<uint8_t, N> bytes_{};
};

}  // namespace thunder::crypto
