// Strong types for ids and keys, so a BlobId cannot be passed where a PublicKey is expected.
//
//   FixedBytes<Tag, N>  N bytes with value semantics, ordering, hashing and hex text form.
//   StrongInt<Tag, T>   an integer that does not mix with other integers.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "base/hex.h"
#include "base/result.h"

namespace thunder {

template <typename Tag, size_t N>
class FixedBytes {
 public:
  static constexpr size_t kSize = N;

  constexpr FixedBytes() = default;
  explicit FixedBytes(std::span<const uint8_t, N> bytes) {
    std::memcpy(bytes_.data(), bytes.data(), N);
  }

  // Parses exactly 2*N hex digits.
  static Result<FixedBytes> fromHex(std::string_view hex) {
    FixedBytes out;
    THUNDER_TRY(::thunder::fromHex(hex, out.bytes_));
    return out;
  }

  std::string hex() const { return toHex(bytes_); }
  std::span<const uint8_t, N> bytes() const { return bytes_; }
  std::span<uint8_t, N> mutableBytes() { return bytes_; }
  const uint8_t* data() const { return bytes_.data(); }
  uint8_t* data() { return bytes_.data(); }

  friend auto operator<=>(const FixedBytes&, const FixedBytes&) = default;

 private:
  std::array<uint8_t, N> bytes_{};
};

template <typename Tag, typename T>
class StrongInt {
 public:
  constexpr StrongInt() = default;
  constexpr explicit StrongInt(T value) : value_(value) {}
  constexpr T value() const { return value_; }
  friend auto operator<=>(const StrongInt&, const StrongInt&) = default;

 private:
  T value_{};
};

// Content id: BLAKE3-256 of the bytes, as printed by b3sum.
using BlobId = FixedBytes<struct BlobIdTag, 32>;
// Ed25519 public key of a node or a client.
using PublicKey = FixedBytes<struct PublicKeyTag, 32>;
// Ed25519 signature.
using Signature = FixedBytes<struct SignatureTag, 64>;
// Numeric id of a service on the network.
using ServiceId = StrongInt<struct ServiceIdTag, uint32_t>;

}  // namespace thunder

template <typename Tag, size_t N>
struct std::hash<thunder::FixedBytes<Tag, N>> {
  size_t operator()(const thunder::FixedBytes<Tag, N>& v) const noexcept {
    size_t h;
    static_assert(N >= sizeof(size_t));
    std::memcpy(&h, v.data(), sizeof h);
    return h;
  }
};
