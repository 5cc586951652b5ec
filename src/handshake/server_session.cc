#include "handshake/server_session.h"

#include <algorithm>

#include "base/check.h"
#include "base/log.h"

namespace thunder::handshake {
namespace {

void sendFrame(Actions& out, FrameType type, std::span<const uint8_t> payload) {
  out.push_back(SendBytes{encodeFrame(type, payload)});
}

// Maps a LaneTable error (lane_table.h documents the codes) to a termination reason.
TerminationReason laneRefusal(ErrorCode code) {
  switch (code) {
    case ErrorCode::kResourceExhausted: return TerminationReason::kLaneLimit;
    case ErrorCode::kUnavailable: return TerminationReason::kNodeBusy;
    case ErrorCode::kAlreadyExists: return TerminationReason::kLaneBusy;
    default: return TerminationReason::kBadToken;
  }
}

TerminationReason replayRefusal(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument: return TerminationReason::kClockSkew;
    case ErrorCode::kAlreadyExists: return TerminationReason::kReplay;
    default: return TerminationReason::kNodeBusy;
  }
}

// Half of the remaining token validity: a connected client always holds a fresh token.
TimePoint refreshTime(TimePoint now, TimePoint expires_at) {
  return now + std::max<Duration>((expires_at - now) / 2, Duration(1));
}

}  // namespace

ServerSession::ServerSession(const ServerContext& context, TransportBinding binding)
    : context_(context),
      binding_(std::move(binding)),
      decoder_(context.options.frames),
      handshake_deadline_(context.clock.now() + context.options.handshake_timeout) {
  THUNDER_CHECK(context.options.frames.max_payload >= kMaxSendChunk,
                "ServerOptions::frames.max_payload below the protocol minimum of 64 KiB");
}

ServerSession::~ServerSession() {
  onTransportClosed();
}

Actions ServerSession::onBytes(std::span<const uint8_t> bytes) {
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
    idle_deadline_ = context_.clock.now() + context_.options.idle_timeout;
    handleFrame(std::move(**frame), out);
  }
  return out;
}

void ServerSession::handleFrame(Frame frame, Actions& out) {
  if (state_ == SessionState::kHandshaking) {
    if (frame.type != FrameType::kHello) {
      return fail(TerminationReason::kProtocolError,
                  fmt::format("expected a hello frame, got {}", frameTypeName(frame.type)), out);
    }
    return handleHello(frame.payload, out);
  }
  switch (frame.type) {
    case FrameType::kPayload: out.push_back(DeliverPayload{std::move(frame.payload)}); return;
    case FrameType::kDack: return handleDack(frame.payload, out);
    case FrameType::kTermination: {
      auto termination = parseTermination(frame.payload);
      if (!termination)
        return fail(TerminationReason::kProtocolError, termination.error().message, out);
      close();
      if (lane_) context_.lanes.release(client_pk_, *lane_);
      lane_.reset();
      out.push_back(Terminated{termination->reason, TerminationOrigin::kPeer,
                               std::move(termination->message)});
      return;
    }
    default:
      return fail(TerminationReason::kProtocolError,
                  fmt::format("unexpected {} frame from a client", frameTypeName(frame.type)), out);
  }
}

void ServerSession::handleHello(std::span<const uint8_t> payload, Actions& out) {
  auto hello = parseHello(payload);
  if (!hello) return fail(TerminationReason::kProtocolError, hello.error().message, out);
  if (hello->version != kProtocolVersion) {
    return fail(
        TerminationReason::kUnsupportedVersion,
        fmt::format("hello version {}, this node speaks {}", hello->version, kProtocolVersion),
        out);
  }
  if (!verifyHello(*hello, binding_)) {
    return fail(TerminationReason::kBadSignature,
                "hello signature does not verify for this connection", out);
  }
  if (auto admitted = context_.replay.admit(hello->nonce, hello->timestamp); !admitted) {
    return fail(replayRefusal(admitted.error().code), admitted.error().message, out);
  }
  if (!context_.services.hasService(hello->service)) {
    return fail(TerminationReason::kUnknownService,
                fmt::format("this node runs no service {}", hello->service.value()), out);
  }
  client_pk_ = hello->client_pk;
  auto grant =
      hello->lane.kind == LaneRequestKind::kNew
          ? context_.lanes.open(client_pk_, hello->service)
          : context_.lanes.resume(client_pk_, hello->lane.lane, hello->lane.token, hello->service);
  if (!grant) return fail(laneRefusal(grant.error().code), grant.error().message, out);
  lane_ = grant->lane;
  // Bytes after the last acknowledged offset are sent again: the client never paid for them.
  LaneState* lane_state = context_.lanes.state(client_pk_, grant->lane);
  THUNDER_CHECK(lane_state != nullptr, "a granted lane must exist");
  lane_state->delivered_bytes = lane_state->acked.bandwidth_bytes;
  lane_state->delivered_compute_ms =
      std::max(lane_state->delivered_compute_ms, lane_state->acked.compute_ms);

  Welcome welcome;
  welcome.lane = grant->lane;
  welcome.session_nonce = grant->state.session_nonce;
  welcome.token = grant->token;
  welcome.token_expires_at = grant->token_expires_at;
  welcome.acked_counter = grant->state.acked.counter;
  welcome.acked_bandwidth = grant->state.acked.bandwidth_bytes;
  welcome.acked_compute_ms = grant->state.acked.compute_ms;
  signWelcome(welcome, context_.node_key, helloTranscript(*hello, binding_));
  sendFrame(out, FrameType::kWelcome, encodeWelcome(welcome));

  scope_ = DackScope{welcome.node_pk, client_pk_, hello->service, grant->lane,
                     grant->state.session_nonce};
  opened_acked_ = grant->state.acked;
  state_ = SessionState::kOpen;
  const TimePoint now = context_.clock.now();
  idle_deadline_ = now + context_.options.idle_timeout;
  refresh_deadline_ = refreshTime(now, grant->token_expires_at);
  out.push_back(SessionOpened{client_pk_, welcome.node_pk, hello->service, grant->lane,
                              welcome.acked_bandwidth});
}

void ServerSession::handleDack(std::span<const uint8_t> payload, Actions& out) {
  auto dack = parseDack(payload);
  if (!dack) return fail(TerminationReason::kProtocolError, dack.error().message, out);
  LaneState* lane_state = context_.lanes.state(client_pk_, *lane_);
  THUNDER_CHECK(lane_state != nullptr, "an open session's lane must exist");
  if (auto ok = verifyDack(*dack, scope_, lane_state->acked); !ok) {
    const auto reason = ok.error().code == ErrorCode::kInvalidArgument
                            ? TerminationReason::kDackNotMonotonic
                            : TerminationReason::kBadDack;
    return fail(reason, ok.error().message, out);
  }
  lane_state->acked.record(*dack);
  lane_state->last_dack = *dack;
  out.push_back(StoreDack{std::move(*dack)});
}

Actions ServerSession::sendPayload(std::span<const uint8_t> payload) {
  Actions out;
  if (state_ != SessionState::kOpen) return out;
  const uint64_t payload_size = payload.size();
  std::vector<uint8_t> bytes;
  bytes.reserve(payload.size() + kFrameHeaderSize * (payload.size() / kMaxSendChunk + 1));
  do {
    const size_t n = std::min(payload.size(), kMaxSendChunk);
    appendFrame(bytes, FrameType::kPayload, payload.first(n));
    payload = payload.subspan(n);
  } while (!payload.empty());
  if (LaneState* lane_state = context_.lanes.state(client_pk_, *lane_)) {
    lane_state->delivered_bytes += payload_size;
  }
  out.push_back(SendBytes{std::move(bytes)});
  return out;
}

void ServerSession::recordCompute(uint64_t ms) {
  if (state_ != SessionState::kOpen) return;
  if (LaneState* lane_state = context_.lanes.state(client_pk_, *lane_)) {
    lane_state->delivered_compute_ms += ms;
  }
}

Actions ServerSession::proposeUsage(Commodity commodity, uint64_t connection_amount,
                                    const Commitment& commitment) {
  Actions out;
  if (state_ != SessionState::kOpen) return out;
  LaneState* lane_state = context_.lanes.state(client_pk_, *lane_);
  if (lane_state == nullptr) return out;
  const uint64_t base = opened_acked_.amountOf(commodity);
  const uint64_t amount =
      connection_amount > UINT64_MAX - base ? UINT64_MAX : base + connection_amount;
  uint64_t& proposed =
      commodity == Commodity::kComputeMs ? proposed_compute_ms_ : proposed_bandwidth_;
  if (commodity == Commodity::kComputeMs) {
    lane_state->delivered_compute_ms = std::max(lane_state->delivered_compute_ms, amount);
  }
  if (amount <= proposed || amount <= lane_state->acked.amountOf(commodity)) return out;
  proposed = amount;
  sendFrame(out, FrameType::kUsageProposal,
            encodeUsageProposal(UsageProposal{commodity, amount, commitment}));
  return out;
}

Actions ServerSession::terminate(TerminationReason reason, std::string_view message) {
  Actions out;
  if (state_ != SessionState::kClosed) fail(reason, std::string(message), out);
  return out;
}

void ServerSession::fail(TerminationReason reason, std::string message, Actions& out) {
  THUNDER_LOG(debug, "handshake", "session terminated ({}): {}", terminationReasonName(reason),
              message);
  sendFrame(out, FrameType::kTermination, encodeTermination({reason, message}));
  if (lane_) context_.lanes.release(client_pk_, *lane_);
  lane_.reset();
  close();
  out.push_back(Terminated{reason, TerminationOrigin::kLocal, std::move(message)});
}

void ServerSession::close() {
  state_ = SessionState::kClosed;
}

void ServerSession::onTransportClosed() {
  if (state_ == SessionState::kOpen && lane_) context_.lanes.detach(client_pk_, *lane_);
  lane_.reset();
  close();
}

std::optional<TimePoint> ServerSession::nextDeadline() const {
  switch (state_) {
    case SessionState::kHandshaking: return handshake_deadline_;
    case SessionState::kOpen: return std::min(idle_deadline_, refresh_deadline_);
    case SessionState::kClosed: return std::nullopt;
  }
  return std::nullopt;
}

Actions ServerSession::onTimer(TimePoint now) {
  Actions out;
  if (state_ == SessionState::kHandshaking && now >= handshake_deadline_) {
    fail(TerminationReason::kHandshakeTimeout, "no hello before the handshake deadline", out);
  } else if (state_ == SessionState::kOpen && now >= idle_deadline_) {
    fail(TerminationReason::kIdleTimeout, "no frame from the client before the idle deadline", out);
  } else if (state_ == SessionState::kOpen && now >= refresh_deadline_) {
    auto refresh = context_.lanes.refreshToken(client_pk_, *lane_);
    THUNDER_CHECK(refresh.has_value(), "an open session's lane must exist");
    sendFrame(out, FrameType::kTokenRefresh, encodeTokenRefresh(*refresh));
    refresh_deadline_ = refreshTime(now, refresh->expires_at);
  }
  return out;
}

}  // namespace thunder::handshake
