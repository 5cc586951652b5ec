#include "handshake/frame.h"

#include <algorithm>
#include <cstring>

#include "base/check.h"
#include "handshake/wire.h"

namespace thunder::handshake {

std::string_view frameTypeName(FrameType type) {
  switch (type) {
    case FrameType::kHello: return "hello";
    case FrameType::kWelcome: return "welcome";
    case FrameType::kPayload: return "payload";
    case FrameType::kDack: return "dack";
    case FrameType::kTokenRefresh: return "token_refresh";
    case FrameType::kTermination: return "termination";
    case FrameType::kUsageProposal: return "usage_proposal";
  }
  return "unknown";
}

bool isKnownFrameType(uint8_t value) {
  return value >= 0x01 && value <= 0x07;
}

uint32_t maxFramePayload(FrameType type, const FrameLimits& limits) {
  switch (type) {
    case FrameType::kHello: return kHelloResumeSize;
    case FrameType::kWelcome: return kWelcomeSize;
    case FrameType::kPayload: return limits.max_payload;
    case FrameType::kDack: return kDackMaxSize;
    case FrameType::kTokenRefresh: return kTokenRefreshSize;
    case FrameType::kTermination: return 4 + kMaxTerminationMessage;
    case FrameType::kUsageProposal: return kUsageProposalMaxSize;
  }
  return 0;
}

void appendFrame(std::vector<uint8_t>& out, FrameType type, std::span<const uint8_t> payload) {
  THUNDER_CHECK(payload.size() <= kMaxPayloadLimit, "frame payload above the protocol maximum");
  const auto length = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<uint8_t>(type));
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(length >> (8 * i)));
  out.insert(out.end(), payload.begin(), payload.end());
}

std::vector<uint8_t> encodeFrame(FrameType type, std::span<const uint8_t> payload) {
  std::vector<uint8_t> out;
  out.reserve(kFrameHeaderSize + payload.size());
  appendFrame(out, type, payload);
  return out;
}

namespace {

// Validates a complete header; returns the frame type.
Result<FrameType> checkHeader(uint8_t type_byte, uint32_t length, const FrameLimits& limits) {
  if (!isKnownFrameType(type_byte)) {
    return fail(ErrorCode::kCorruption, "unknown frame type 0x{:02x}", type_byte);
  }
  const auto type = static_cast<FrameType>(type_byte);
  const uint32_t limit = maxFramePayload(type, limits);
  if (length > limit) {
    return fail(ErrorCode::kInvalidArgument, "{} frame of {} bytes exceeds the limit of {} bytes",
                frameTypeName(type), length, limit);
  }
  return type;
}

uint32_t headerLength(const uint8_t* header) {
  return static_cast<uint32_t>(header[1]) | static_cast<uint32_t>(header[2]) << 8 |
         static_cast<uint32_t>(header[3]) << 16 | static_cast<uint32_t>(header[4]) << 24;
}

}  // namespace

Result<Frame> decodeFrame(std::span<const uint8_t> bytes, const FrameLimits& limits) {
  if (bytes.size() < kFrameHeaderSize) {
    return fail(ErrorCode::kCorruption, "truncated frame header ({} of {} bytes)", bytes.size(),
                kFrameHeaderSize);
  }
  const uint32_t length = headerLength(bytes.data());
  THUNDER_ASSIGN_OR_RETURN(const FrameType type, checkHeader(bytes[0], length, limits));
  const size_t available = bytes.size() - kFrameHeaderSize;
  if (available < length) {
    return fail(ErrorCode::kCorruption, "truncated {} frame ({} of {} payload bytes)",
                frameTypeName(type), available, length);
  }
  if (available > length) {
    return fail(ErrorCode::kCorruption, "{} trailing bytes after a {} frame", available - length,
                frameTypeName(type));
  }
  const auto payload = bytes.subspan(kFrameHeaderSize);
  return Frame{type, {payload.begin(), payload.end()}};
}

FrameDecoder::FrameDecoder(FrameLimits limits) : limits_(limits) {
  THUNDER_CHECK(limits.max_payload >= 1 && limits.max_payload <= kMaxPayloadLimit,
                "FrameLimits::max_payload out of range (validate options at start-up)");
}

Result<std::optional<Frame>> FrameDecoder::next(std::span<const uint8_t>& input) {
  if (error_) return fail(*error_);
  if (header_fill_ < kFrameHeaderSize) {
    const size_t n = std::min(kFrameHeaderSize - header_fill_, input.size());
    std::copy_n(input.begin(), n, header_ + header_fill_);
    header_fill_ += n;
    input = input.subspan(n);
    if (header_fill_ < kFrameHeaderSize) return std::nullopt;
    length_ = headerLength(header_);
    auto type = checkHeader(header_[0], length_, limits_);
    if (!type) {
      error_ = type.error();
      return fail(*error_);
    }
    type_ = *type;
    payload_.clear();
    payload_.reserve(length_);
  }
  const size_t n = std::min(static_cast<size_t>(length_) - payload_.size(), input.size());
  payload_.insert(payload_.end(), input.begin(), input.begin() + static_cast<ptrdiff_t>(n));
  input = input.subspan(n);
  if (payload_.size() < length_) return std::nullopt;
  header_fill_ = 0;
  return Frame{type_, std::move(payload_)};
}

Result<void> FrameDecoder::finish() const {
  if (error_) return fail(*error_);
  if (header_fill_ == 0) return {};
  if (header_fill_ < kFrameHeaderSize) {
    return fail(ErrorCode::kCorruption, "stream ended inside a frame header ({} of {} bytes)",
                header_fill_, kFrameHeaderSize);
  }
  return fail(ErrorCode::kCorruption, "stream ended inside a {} frame ({} of {} payload bytes)",
              frameTypeName(type_), payload_.size(), length_);
}

std::vector<uint8_t> encodeTokenRefresh(const TokenRefresh& refresh) {
  ByteWriter w;
  w.bytes(refresh.token.bytes());
  w.u64(toUnixMs(refresh.expires_at));
  return w.take();
}

Result<TokenRefresh> parseTokenRefresh(std::span<const uint8_t> payload) {
  ByteReader r(payload, "token refresh");
  TokenRefresh out;
  THUNDER_TRY(r.bytes("token", out.token.mutableBytes()));
  THUNDER_ASSIGN_OR_RETURN(const uint64_t expires, r.u64("expires_at"));
  THUNDER_TRY(r.expectEnd());
  out.expires_at = fromUnixMs(expires);
  return out;
}

std::vector<uint8_t> encodeTermination(const Termination& termination) {
  const size_t n = std::min(termination.message.size(), kMaxTerminationMessage);
  const auto reason = static_cast<uint16_t>(termination.reason);
  std::vector<uint8_t> out(4 + n);
  out[0] = static_cast<uint8_t>(reason);
  out[1] = static_cast<uint8_t>(reason >> 8);
  out[2] = static_cast<uint8_t>(n);
  out[3] = static_cast<uint8_t>(n >> 8);
  if (n > 0) std::memcpy(out.data() + 4, termination.message.data(), n);
  return out;
}

Result<Termination> parseTermination(std::span<const uint8_t> payload) {
  ByteReader r(payload, "termination");
  THUNDER_ASSIGN_OR_RETURN(const uint16_t reason, r.u16("reason"));
  THUNDER_ASSIGN_OR_RETURN(const uint16_t length, r.u16("message length"));
  if (length > kMaxTerminationMessage) {
    return fail(ErrorCode::kCorruption, "termination: message of {} bytes exceeds {} bytes", length,
                kMaxTerminationMessage);
  }
  THUNDER_ASSIGN_OR_RETURN(const auto message, r.view("message", length));
  THUNDER_TRY(r.expectEnd());
  return Termination{static_cast<TerminationReason>(reason),
                     std::string(message.begin(), message.end())};
}

std::vector<uint8_t> encodeUsageProposal(const UsageProposal& proposal) {
  ByteWriter w;
  w.u8(static_cast<uint8_t>(proposal.commodity));
  w.u64(proposal.cumulative_amount);
  w.u8(static_cast<uint8_t>(proposal.commitment.kind));
  w.bytes(proposal.commitment.hash.bytes());
  if (proposal.commitment.kind == CommitmentKind::kContentRange) {
    w.u64(proposal.commitment.range_start);
    w.u64(proposal.commitment.range_end);
  }
  return w.take();
}

Result<UsageProposal> parseUsageProposal(std::span<const uint8_t> payload) {
  ByteReader r(payload, "usage proposal");
  UsageProposal out;
  THUNDER_ASSIGN_OR_RETURN(const uint8_t commodity, r.u8("commodity"));
  if (commodity != static_cast<uint8_t>(Commodity::kBandwidthBytes) &&
      commodity != static_cast<uint8_t>(Commodity::kComputeMs)) {
    return fail(ErrorCode::kCorruption, "usage proposal: unknown commodity {}", commodity);
  }
  out.commodity = static_cast<Commodity>(commodity);
  THUNDER_ASSIGN_OR_RETURN(out.cumulative_amount, r.u64("cumulative_amount"));
  THUNDER_ASSIGN_OR_RETURN(const uint8_t kind, r.u8("commitment kind"));
  THUNDER_TRY(r.bytes("commitment hash", out.commitment.hash.mutableBytes()));
  if (kind == static_cast<uint8_t>(CommitmentKind::kContentRange)) {
    out.commitment.kind = CommitmentKind::kContentRange;
    THUNDER_ASSIGN_OR_RETURN(out.commitment.range_start, r.u64("range start"));
    THUNDER_ASSIGN_OR_RETURN(out.commitment.range_end, r.u64("range end"));
    if (out.commitment.range_start > out.commitment.range_end) {
      return fail(ErrorCode::kCorruption, "usage proposal: range start {} is after range end {}",
                  out.commitment.range_start, out.commitment.range_end);
    }
  } else if (kind == static_cast<uint8_t>(CommitmentKind::kRequestHash)) {
    out.commitment.kind = CommitmentKind::kRequestHash;
  } else {
    return fail(ErrorCode::kCorruption, "usage proposal: unknown commitment kind {}", kind);
  }
  THUNDER_TRY(r.expectEnd());
  return out;
}

}  // namespace thunder::handshake
