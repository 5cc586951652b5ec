#include "handshake/wire.h"

#include <cstring>

namespace thunder::handshake {

Result<uint64_t> ByteReader::le(std::string_view field, size_t width) {
  if (remaining() < width) {
    return fail(ErrorCode::kCorruption, "{}: truncated at {} (offset {}: need {} bytes, have {})",
                what_, field, pos_, width, remaining());
  }
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= static_cast<uint64_t>(in_[pos_ + i]) << (8 * i);
  pos_ += width;
  return value;
}

Result<uint8_t> ByteReader::u8(std::string_view field) {
  THUNDER_ASSIGN_OR_RETURN(const uint64_t v, le(field, 1));
  return static_cast<uint8_t>(v);
}

Result<uint16_t> ByteReader::u16(std::string_view field) {
  THUNDER_ASSIGN_OR_RETURN(const uint64_t v, le(field, 2));
  return static_cast<uint16_t>(v);
}

Result<uint32_t> ByteReader::u32(std::string_view field) {
  THUNDER_ASSIGN_OR_RETURN(const uint64_t v, le(field, 4));
  return static_cast<uint32_t>(v);
}

Result<uint64_t> ByteReader::u64(std::string_view field) {
  return le(field, 8);
}

Result<std::span<const uint8_t>> ByteReader::view(std::string_view field, size_t n) {
  if (remaining() < n) {
    return fail(ErrorCode::kCorruption, "{}: truncated at {} (offset {}: need {} bytes, have {})",
                what_, field, pos_, n, remaining());
  }
  const auto out = in_.subspan(pos_, n);
  pos_ += n;
  return out;
}

Result<void> ByteReader::bytes(std::string_view field, std::span<uint8_t> out) {
  THUNDER_ASSIGN_OR_RETURN(const auto src, view(field, out.size()));
  if (!out.empty()) std::memcpy(out.data(), src.data(), out.size());
  return {};
}

Result<void> ByteReader::expectEnd() const {
  if (remaining() != 0) {
    return fail(ErrorCode::kCorruption, "{}: {} trailing bytes after offset {}", what_, remaining(),
                pos_);
  }
  return {};
}

bool constantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  volatile uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = diff | (a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace thunder::handshake
