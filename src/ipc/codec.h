// Codec: IPC messages (message.h) to framed bytes and back (docs/protocol/ipc.md §2).
//
//   frame = type (u8) ‖ fd_count (u8) ‖ length (u32 LE) ‖ body (length bytes)
//
// Decoding is strict and canonical: an unknown type, a type not allowed on the channel, a wrong
// fd count, a length above the type's limit, a truncated body, an unknown enum value, a field
// above its limit or trailing bytes are each a precise kCorruption error (a length over the
// limit is kInvalidArgument, as in the handshake framing). So one message has exactly one
// encoding and re-encoding a decoded frame gives back its bytes. Pure functions, any thread.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "ipc/message.h"

namespace thunder::ipc {

inline constexpr size_t kFrameHeaderSize = 6;

struct FrameHeader {
  MessageType type = MessageType::kHello;
  uint8_t fd_count = 0;
  uint32_t length = 0;
};

// Checks every field limit and enum of `message` (the rules decoding enforces). kInvalidArgument
// naming the field on a violation.
Result<void> validate(const Message& message);

// The body of `message` (no header). kInvalidArgument if validate() fails or the body would
// exceed maxBody() of its type.
Result<std::vector<uint8_t>> encodeBody(const Message& message);
// Header ‖ body; the header's fd_count is fdCount(type), the number of fds the sender must pass
// with the frame. Same errors as encodeBody().
Result<std::vector<uint8_t>> encodeFrame(const Message& message);

// Parses and checks a complete 6-byte header for `channel`: kCorruption on an unknown type, a
// type not allowed on the channel or an fd count other than fdCount(type); kInvalidArgument on a
// length above maxBody(type).
Result<FrameHeader> parseFrameHeader(Channel channel, std::span<const uint8_t> header);

// Decodes the body of a frame whose header parseFrameHeader() accepted. kCorruption on any
// malformed, out-of-limit or trailing byte.
Result<Message> decodeBody(const FrameHeader& header, std::span<const uint8_t> body);

// Decodes exactly one frame filling `bytes` (header and body). Errors as above, plus kCorruption
// for a truncated frame or trailing bytes.
Result<Message> decodeFrame(Channel channel, std::span<const uint8_t> bytes);

// Wire value of an ErrorCode (1..11, docs/protocol/ipc.md §3.3) and back (nullopt if unknown).
uint16_t errorCodeToWire(ErrorCode code);
std::optional<ErrorCode> errorCodeFromWire(uint16_t value);

}  // namespace thunder::ipc
