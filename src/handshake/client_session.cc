#include "handshake/client_session.h"

#include <algorithm>

#include "base/check.h"
#include "base/log.h"

namespace thunder::handshake {
namespace {

void sendFrame(Actions& out, FrameType type, std::span<const uint8_t> payload) {
  out.push_back(SendBytes{encodeFrame(type, payload)});
}

}  // namespace

ClientSession::ClientSession(const crypto::SigningKey& client_key, ClientTarget target,
                             TransportBinding binding, const Clock& clock, ClientOptions options)
    : client_key_(client_key),
      target_(target),
      binding_(std::move(binding)),
      clock_(clock),
      options_(options),
      decoder_(options.frames) {
  THUNDER_CHECK(options.frames.max_payload >= kMaxSendChunk,
                "ClientOptions::frames.max_payload below the protocol minimum of 64 KiB");
}

Actions ClientSession::start() {
  const TimePoint now = clock_.now();
  const Hello hello = makeHello(client_key_, target_.service, target_.lane, now, binding_);
  hello_transcript_ = helloTranscript(hello, binding_);
  handshake_deadline_ = now + options_.handshake_timeout;
  Actions out;
  sendFrame(out, FrameType::kHello, encodeHello(hello));
  return out;
}

Actions ClientSession::onBytes(std::span<const uint8_t> bytes) {
  Actions out;
  while (state_ != SessionState::kClosed && !bytes.empty()) {
    auto frame = decoder_.next(bytes);
    if (!frame) {
      const auto reason = frame.error().code == ErrorCode::kInvalidArgument
                              ? TerminationReason::kFrameTooLarge
                              : TerminationReason::kProtocolError;
      fail(reason, frame.error().message, out);
      break;
    }
    if (!*frame) break;
    handleFrame(std::move(**frame), out);
  }
  return out;
}

void ClientSession::handleFrame(Frame frame, Actions& out) {
  if (frame.type == FrameType::kTermination) {
    auto termination = parseTermination(frame.payload);
    if (!termination)
      return fail(TerminationReason::kProtocolError, termination.error().message, out);
    state_ = SessionState::kClosed;
    out.push_back(
        Terminated{termination->reason, TerminationOrigin::kPeer, std::move(termination->message)});
    return;
  }
  if (state_ == SessionState::kHandshaking) {
    if (frame.type != FrameType::kWelcome) {
      return fail(TerminationReason::kProtocolError,
                  fmt::format("expected a welcome frame, got {}", frameTypeName(frame.type)), out);
    }
    return handleWelcome(frame.payload, out);
  }
  switch (frame.type) {
    case FrameType::kPayload: {
      received_bytes_ += frame.payload.size();
      out.push_back(DeliverPayload{std::move(frame.payload)});
      if (options_.dack_every_bytes > 0 &&
          received_bytes_ - dacked_bytes_ >= options_.dack_every_bytes) {
        sendDack(Commodity::kBandwidthBytes, received_bytes_, commitment_, out);
      }
      return;
    }
    case FrameType::kTokenRefresh: {
      auto refresh = parseTokenRefresh(frame.payload);
      if (!refresh) return fail(TerminationReason::kProtocolError, refresh.error().message, out);
      welcome_->token = refresh->token;
      welcome_->token_expires_at = refresh->expires_at;
      out.push_back(TokenUpdated{welcome_->lane, refresh->token, refresh->expires_at});
      return;
    }
    case FrameType::kUsageProposal: return handleUsageProposal(frame.payload, out);
    default:
      return fail(TerminationReason::kProtocolError,
                  fmt::format("unexpected {} frame from a node", frameTypeName(frame.type)), out);
  }
}

void ClientSession::handleWelcome(std::span<const uint8_t> payload, Actions& out) {
  auto welcome = parseWelcome(payload);
  if (!welcome) return fail(TerminationReason::kProtocolError, welcome.error().message, out);
  if (welcome->version != kProtocolVersion) {
    return fail(TerminationReason::kUnsupportedVersion,
                fmt::format("welcome version {}, this client speaks {}", welcome->version,
                            kProtocolVersion),
                out);
  }
  if (welcome->node_pk != target_.node_pk) {
    return fail(TerminationReason::kUnexpectedNodeKey,
                fmt::format("welcome from node {}, expected {}", welcome->node_pk.hex(),
                            target_.node_pk.hex()),
                out);
  }
  if (!verifyWelcome(*welcome, hello_transcript_)) {
    return fail(TerminationReason::kBadSignature, "welcome signature does not verify", out);
  }
  if (target_.lane.kind == LaneRequestKind::kResume && welcome->lane != target_.lane.lane) {
    return fail(TerminationReason::kProtocolError,
                fmt::format("resumed lane {} but the welcome names lane {}", target_.lane.lane,
                            welcome->lane),
                out);
  }
  scope_ = DackScope{welcome->node_pk, client_key_.publicKey(), target_.service, welcome->lane,
                     welcome->session_nonce};
  counter_ = welcome->acked_counter;
  received_bytes_ = dacked_bytes_ = welcome->acked_bandwidth;
  dacked_compute_ms_ = welcome->acked_compute_ms;
  state_ = SessionState::kOpen;
  welcome_ = std::move(*welcome);
  out.push_back(TokenUpdated{welcome_->lane, welcome_->token, welcome_->token_expires_at});
  out.push_back(SessionOpened{scope_.client_pk, welcome_->node_pk, target_.service, welcome_->lane,
                              welcome_->acked_bandwidth});
}

void ClientSession::sendDack(Commodity commodity, uint64_t amount, const Commitment& commitment,
                             Actions& out) {
  const Dack dack = makeDack(client_key_, scope_, commodity, amount, commitment, ++counter_);
  if (commodity == Commodity::kBandwidthBytes) dacked_bytes_ = std::max(dacked_bytes_, amount);
  if (commodity == Commodity::kComputeMs) {
    dacked_compute_ms_ = std::max(dacked_compute_ms_, amount);
  }
  sendFrame(out, FrameType::kDack, encodeDack(dack));
}

void ClientSession::handleUsageProposal(std::span<const uint8_t> payload, Actions& out) {
  auto proposal = parseUsageProposal(payload);
  if (!proposal) return fail(TerminationReason::kProtocolError, proposal.error().message, out);
  uint64_t amount = 0;
  uint64_t acked = 0;
  if (proposal->commodity == Commodity::kComputeMs) {
    amount = std::min(proposal->cumulative_amount, options_.max_compute_ms);
    acked = dacked_compute_ms_;
  } else {
    // Bandwidth is acknowledged automatically; an application that acknowledges only what it
    // verified (dack_every_bytes = 0) is never asked to sign more by the node.
    if (options_.dack_every_bytes == 0) return;
    amount = std::min(proposal->cumulative_amount, received_bytes_);
    acked = dacked_bytes_;
  }
  // A proposal at or below what is already acknowledged is ignored.
  if (amount <= acked) return;
  sendDack(proposal->commodity, amount, proposal->commitment, out);
}

Actions ClientSession::sendPayload(std::span<const uint8_t> payload) {
  Actions out;
  if (state_ != SessionState::kOpen) return out;
  std::vector<uint8_t> bytes;
  do {
    const size_t n = std::min(payload.size(), kMaxSendChunk);
    appendFrame(bytes, FrameType::kPayload, payload.first(n));
    payload = payload.subspan(n);
  } while (!payload.empty());
  out.push_back(SendBytes{std::move(bytes)});
  return out;
}

Actions ClientSession::acknowledge(Commodity commodity, uint64_t amount,
                                   const Commitment& commitment) {
  Actions out;
  if (state_ == SessionState::kOpen) sendDack(commodity, amount, commitment, out);
  return out;
}

Actions ClientSession::terminate(TerminationReason reason, std::string_view message) {
  Actions out;
  if (state_ != SessionState::kClosed) fail(reason, std::string(message), out);
  return out;
}

void ClientSession::fail(TerminationReason reason, std::string message, Actions& out) {
  THUNDER_LOG(debug, "handshake", "client session terminated ({}): {}",
              terminationReasonName(reason), message);
  sendFrame(out, FrameType::kTermination, encodeTermination({reason, message}));
  state_ = SessionState::kClosed;
  out.push_back(Terminated{reason, TerminationOrigin::kLocal, std::move(message)});
}

std::optional<TimePoint> ClientSession::nextDeadline() const {
  if (state_ != SessionState::kHandshaking) return std::nullopt;
  return handshake_deadline_;
}

Actions ClientSession::onTimer(TimePoint now) {
  Actions out;
  if (state_ == SessionState::kHandshaking && now >= handshake_deadline_) {
    fail(TerminationReason::kHandshakeTimeout, "no welcome before the handshake deadline", out);
  }
  return out;
}

}  // namespace thunder::handshake
