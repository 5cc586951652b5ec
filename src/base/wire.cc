#include "base/wire.h"

#include <cstring>

#include "base/check.h"

namespace thunder {

void WireWriter::str8(std::string_view value) {
  THUNDER_CHECK(value.size() <= 0xff, "str8 longer than 255 bytes (validate before encoding)");
  u8(static_cast<uint8_t>(value.size()));
  out_.insert(out_.end(), value.begin(), value.end());
}

void WireWriter::str16(std::string_view value) {
  THUNDER_CHECK(value.size() <= 0xffff, "str16 longer than 65535 bytes (validate before encoding)");
  u16(static_cast<uint16_t>(value.size()));
  out_.insert(out_.end(), value.begin(), value.end());
}

Result<uint64_t> WireReader::le(std::string_view field, size_t width) {
  if (remaining() < width) {
    return fail(ErrorCode::kCorruption, "{}: truncated at {} (offset {}: need {} bytes, have {})",
                what_, field, pos_, width, remaining());
  }
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= static_cast<uint64_t>(in_[pos_ + i]) << (8 * i);
  pos_ += width;
  return value;
}

Result<uint8_t> WireReader::u8(std::string_view field) {
  THUNDER_ASSIGN_OR_RETURN(const uint64_t v, le(field, 1));
  return static_cast<uint8_t>(v);
}

Result<uint16_t> WireReader::u16(std::string_view field) {
  THUNDER_ASSIGN_OR_RETURN(const uint64_t v, le(field, 2));
  return static_cast<uint16_t>(v);
}

Result<uint32_t> WireReader::u32(std::string_view field) {
  THUNDER_ASSIGN_OR_RETURN(const uint64_t v, le(field, 4));
  return static_cast<uint32_t>(v);
}

Result<uint64_t> WireReader::u64(std::string_view field) {
  return le(field, 8);
}

Result<std::span<const uint8_t>> WireReader::view(std::string_view field, size_t n) {
  if (remaining() < n) {
    return fail(ErrorCode::kCorruption, "{}: truncated at {} (offset {}: need {} bytes, have {})",
                what_, field, pos_, n, remaining());
  }
  const auto out = in_.subspan(pos_, n);
  pos_ += n;
  return out;
}

Result<void> WireReader::bytes(std::string_view field, std::span<uint8_t> out) {
  THUNDER_ASSIGN_OR_RETURN(const auto src, view(field, out.size()));
  if (!out.empty()) std::memcpy(out.data(), src.data(), out.size());
  return {};
}

Result<std::string> WireReader::str(std::string_view field, size_t length, size_t max) {
  if (length > max) {
    return fail(ErrorCode::kCorruption, "{}: {} of {} bytes exceeds the limit of {} bytes", what_,
                field, length, max);
  }
  THUNDER_ASSIGN_OR_RETURN(const auto src, view(field, length));
  return std::string(src.begin(), src.end());
}

Result<std::string> WireReader::str8(std::string_view field, size_t max) {
  THUNDER_ASSIGN_OR_RETURN(const uint8_t length, u8(field));
  return str(field, length, max);
}

Result<std::string> WireReader::str16(std::string_view field, size_t max) {
  THUNDER_ASSIGN_OR_RETURN(const uint16_t length, u16(field));
  return str(field, length, max);
}

Result<void> WireReader::expectEnd() const {
  if (remaining() != 0) {
    return fail(ErrorCode::kCorruption, "{}: {} trailing bytes after offset {}", what_, remaining(),
                pos_);
  }
  return {};
}

}  // namespace thunder
