// Canonical little-endian encoding helpers shared by the wire protocols (handshake, IPC).
//
// WireWriter appends fixed-width little-endian integers, raw bytes and length-prefixed strings to
// a growing buffer. WireReader reads them back from a borrowed span, names the message, field
// and offset when the input is too short or a length exceeds its limit, and rejects unread bytes
// (expectEnd()). Plain values for one thread; the reader borrows its input, which must outlive it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace thunder {

class WireWriter {
 public:
  void u8(uint8_t value) { out_.push_back(value); }
  void u16(uint16_t value) { le(value, 2); }
  void u32(uint32_t value) { le(value, 4); }
  void u64(uint64_t value) { le(value, 8); }
  void bytes(std::span<const uint8_t> value) {
    out_.insert(out_.end(), value.begin(), value.end());
  }
  // u8 length ‖ bytes. Precondition (checked): value.size() <= 255.
  void str8(std::string_view value);
  // u16 length ‖ bytes. Precondition (checked): value.size() <= 65535.
  void str16(std::string_view value);

  std::span<const uint8_t> view() const { return out_; }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  void le(uint64_t value, int width) {
    for (int i = 0; i < width; ++i) out_.push_back(static_cast<uint8_t>(value >> (8 * i)));
  }

  std::vector<uint8_t> out_;
};

class WireReader {
 public:
  // `what` names the message being parsed in error messages ("hello", "open_blob_request", ...).
  WireReader(std::span<const uint8_t> input, std::string_view what) : in_(input), what_(what) {}

  // Each read fails with kCorruption ("<what>: truncated at <field> ...") if too few bytes remain.
  Result<uint8_t> u8(std::string_view field);
  Result<uint16_t> u16(std::string_view field);
  Result<uint32_t> u32(std::string_view field);
  Result<uint64_t> u64(std::string_view field);
  Result<void> bytes(std::string_view field, std::span<uint8_t> out);
  // The next `n` bytes, borrowed from the input.
  Result<std::span<const uint8_t>> view(std::string_view field, size_t n);
  // A u8/u16 length-prefixed string; kCorruption if the length exceeds `max`.
  Result<std::string> str8(std::string_view field, size_t max);
  Result<std::string> str16(std::string_view field, size_t max);

  // kCorruption naming the count of unread bytes if any remain.
  Result<void> expectEnd() const;

  size_t offset() const { return pos_; }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  Result<uint64_t> le(std::string_view field, size_t width);
  Result<std::string> str(std::string_view field, size_t length, size_t max);

  std::span<const uint8_t> in_;
  std::string_view what_;
  size_t pos_ = 0;
};

}  // namespace thunder
