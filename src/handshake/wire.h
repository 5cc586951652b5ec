// Canonical binary encoding helpers for the handshake protocol (docs/protocol/handshake.md).
//
// ByteWriter appends little-endian fixed-width integers and raw bytes to a growing buffer.
// ByteReader reads them back from a borrowed span and names the field and offset when the input
// is too short. Both are plain values for one thread; the reader borrows its input, which must
// outlive it. Parsers built on them reject every byte they do not consume (expectEnd()).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace thunder::handshake {

class ByteWriter {
 public:
  void u8(uint8_t value) { out_.push_back(value); }
  void u16(uint16_t value) { le(value, 2); }
  void u32(uint32_t value) { le(value, 4); }
  void u64(uint64_t value) { le(value, 8); }
  void bytes(std::span<const uint8_t> value) {
    out_.insert(out_.end(), value.begin(), value.end());
  }

  std::span<const uint8_t> view() const { return out_; }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  void le(uint64_t value, int width) {
    for (int i = 0; i < width; ++i) out_.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }

  std::vector<uint8_t> out_;
};

class ByteReader {
 public:
  // `what` names the structure being parsed in error messages ("hello", "dack", ...).
  ByteReader(std::span<const uint8_t> input, std::string_view what) : in_(input), what_(what) {}

  // Each read fails with kCorruption ("<what>: truncated at <field> ...") if fewer bytes remain.
  Result<uint8_t> u8(std::string_view field);
  Result<uint16_t> u16(std::string_view field);
  Result<uint32_t> u32(std::string_view field);
  Result<uint64_t> u64(std::string_view field);
  Result<void> bytes(std::string_view field, std::span<uint8_t> out);
  // The next `n` bytes, borrowed from the input.
  Result<std::span<const uint8_t>> view(std::string_view field, size_t n);

  // kCorruption naming the count of unread bytes if any remain.
  Result<void> expectEnd() const;

  size_t offset() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  Result<uint64_t> le(std::string_view field, size_t width);

  std::span<const uint8_t> in_;
  std::string_view what_;
  size_t pos_ = 0;
};

// Constant-time equality of two byte strings of the same length (false if lengths differ).
bool constantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b);

}  // namespace thunder::handshake
