// Frames: the typed, length-prefixed records of a handshake session (docs/protocol/handshake.md).
//
//   frame = type (u8) ‖ length (u32 LE) ‖ payload (length bytes)
//
// encodeFrame() writes one frame; decodeFrame() parses exactly one frame from a complete buffer;
// FrameDecoder parses a byte stream incrementally and never buffers more than one frame of at
// most the limit for its type. Also here: the bodies of the small control frames (TokenRefresh,
// Termination, UsageProposal). All functions are pure; a FrameDecoder is a value used by one
// thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "handshake/clock.h"
#include "handshake/dack.h"
#include "handshake/termination.h"
#include "handshake/types.h"

namespace thunder::handshake {

enum class FrameType : uint8_t {
  kHello = 0x01,          // client → node, first frame (hello.h)
  kWelcome = 0x02,        // node → client, answer to Hello (hello.h)
  kPayload = 0x03,        // either way: opaque service bytes
  kDack = 0x04,           // client → node: a signed delivery acknowledgement (dack.h)
  kTokenRefresh = 0x05,   // node → client: a new resumption token (TokenRefresh)
  kTermination = 0x06,    // either way: the session ends (Termination), last frame
  kUsageProposal = 0x07,  // node → client: usage the client may acknowledge (UsageProposal)
};

inline constexpr size_t kFrameHeaderSize = 5;
inline constexpr uint32_t kDefaultMaxPayload = 256 * 1024;
inline constexpr uint32_t kMaxPayloadLimit = 16 * 1024 * 1024;
inline constexpr size_t kMaxTerminationMessage = 1024;

struct FrameLimits {
  // Largest payload of a kPayload frame this side accepts (1 .. kMaxPayloadLimit). The other
  // frame types have fixed protocol limits (maxFramePayload()).
  uint32_t max_payload = kDefaultMaxPayload;
};

struct Frame {
  FrameType type = FrameType::kPayload;
  std::vector<uint8_t> payload;

  friend bool operator==(const Frame&, const Frame&) = default;
};

// The stable name of a frame type ("hello", ...); "unknown" for any other value.
std::string_view frameTypeName(FrameType type);

// True iff `value` is one of the FrameType codes above.
bool isKnownFrameType(uint8_t value);

// The largest payload a frame of `type` may carry under `limits`.
uint32_t maxFramePayload(FrameType type, const FrameLimits& limits);

// Appends one frame to `out`. Precondition (checked): payload.size() <= kMaxPayloadLimit.
// The sender is responsible for staying within the receiver's limit.
void appendFrame(std::vector<uint8_t>& out, FrameType type, std::span<const uint8_t> payload);
std::vector<uint8_t> encodeFrame(FrameType type, std::span<const uint8_t> payload);

// Parses exactly one frame that fills `bytes`. kCorruption on an unknown type, a truncated
// frame or trailing bytes; kInvalidArgument on a length above the limit of its type.
Result<Frame> decodeFrame(std::span<const uint8_t> bytes, const FrameLimits& limits);

class FrameDecoder {
 public:
  // Precondition (checked): 1 <= limits.max_payload <= kMaxPayloadLimit.
  explicit FrameDecoder(FrameLimits limits = {});

  // Consumes bytes from the front of `input` (advancing it) until one frame is complete or the
  // input is exhausted. Returns the frame, or nullopt when more bytes are needed (then `input`
  // is empty). Errors, checked as soon as the 5-byte header is complete, before any payload is
  // buffered: kCorruption for an unknown type, kInvalidArgument for a length above the limit of
  // its type. After an error the decoder is failed and returns the same error forever.
  Result<std::optional<Frame>> next(std::span<const uint8_t>& input);

  // True iff no partial frame is buffered (the stream may end here).
  bool atBoundary() const { return header_fill_ == 0; }

  // Call when the stream ends: kCorruption if it ended inside a frame (a truncated frame).
  Result<void> finish() const;

  const FrameLimits& limits() const { return limits_; }

 private:
  FrameLimits limits_;
  uint8_t header_[kFrameHeaderSize] = {};
  size_t header_fill_ = 0;
  FrameType type_ = FrameType::kPayload;
  uint32_t length_ = 0;
  std::vector<uint8_t> payload_;
  std::optional<Error> error_;
};

// TokenRefresh body: token (32) ‖ expires_at (u64 LE, Unix ms).
struct TokenRefresh {
  SessionToken token;
  TimePoint expires_at;

  friend bool operator==(const TokenRefresh&, const TokenRefresh&) = default;
};
inline constexpr size_t kTokenRefreshSize = 40;
std::vector<uint8_t> encodeTokenRefresh(const TokenRefresh& refresh);
// kCorruption on a wrong length.
Result<TokenRefresh> parseTokenRefresh(std::span<const uint8_t> payload);

// Termination body: reason (u16 LE) ‖ message length (u16 LE) ‖ message (UTF-8, <= 1024 bytes).
struct Termination {
  TerminationReason reason = TerminationReason::kNormal;
  std::string message;

  friend bool operator==(const Termination&, const Termination&) = default;
};
// Truncates the message to kMaxTerminationMessage bytes.
std::vector<uint8_t> encodeTermination(const Termination& termination);
// kCorruption on a truncated body, a message over the limit or trailing bytes. Unknown reason
// codes are accepted (a newer peer may send them).
Result<Termination> parseTermination(std::span<const uint8_t> payload);

// UsageProposal body: commodity (u8) ‖ cumulative_amount (u64 LE) ‖ commitment, the commitment
// encoded as in a DACK: kind (u8) ‖ hash (32) ‖ [range_start (u64) ‖ range_end (u64), content
// range only]. 42 or 58 bytes.
struct UsageProposal {
  Commodity commodity = Commodity::kComputeMs;
  uint64_t cumulative_amount = 0;  // over the lane session, in the commodity's unit
  Commitment commitment;

  friend bool operator==(const UsageProposal&, const UsageProposal&) = default;
};
inline constexpr size_t kUsageProposalMaxSize = 58;
std::vector<uint8_t> encodeUsageProposal(const UsageProposal& proposal);
// kCorruption on truncation, an unknown commodity or commitment kind, non-zero range fields of
// a request hash (they are not encoded, so never), range_start > range_end, or trailing bytes.
Result<UsageProposal> parseUsageProposal(std::span<const uint8_t> payload);

}  // namespace thunder::handshake
