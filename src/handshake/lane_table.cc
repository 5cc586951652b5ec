#include "handshake/lane_table.h"

#include "base/check.h"
#include "crypto/random.h"
#include "handshake/wire.h"

namespace thunder::handshake {

LaneTable::LaneTable(LaneTableOptions options, const Clock& clock)
    : options_(options), clock_(clock) {
  THUNDER_CHECK(options.max_lanes_per_client >= 1 && options.max_lanes_total >= 1 &&
                    options.token_ttl.count() >= 1,
                "LaneTableOptions limits must be >= 1 (validate options at start-up)");
}

LaneTable::Lane* LaneTable::find(const PublicKey& client, LaneId lane) {
  const auto c = clients_.find(client);
  if (c == clients_.end()) return nullptr;
  const auto l = c->second.find(lane);
  return l == c->second.end() ? nullptr : &l->second;
}

void LaneTable::erase(const PublicKey& client, LaneId lane) {
  const auto c = clients_.find(client);
  if (c == clients_.end()) return;
  if (c->second.erase(lane) == 1) --total_;
  if (c->second.empty()) clients_.erase(c);
}

SessionToken LaneTable::issueToken(Lane& lane) {
  crypto::randomBytes(lane.token.mutableBytes());
  lane.token_expires_at = clock_.now() + options_.token_ttl;
  return lane.token;
}

LaneGrant LaneTable::grant(LaneId id, const Lane& lane) const {
  return {id, lane.token, lane.token_expires_at, lane.state};
}

size_t LaneTable::expireClient(const PublicKey& client) {
  const auto c = clients_.find(client);
  if (c == clients_.end()) return 0;
  const TimePoint now = clock_.now();
  size_t freed = 0;
  for (auto it = c->second.begin(); it != c->second.end();) {
    if (!it->second.attached && it->second.token_expires_at <= now) {
      it = c->second.erase(it);
      ++freed;
    } else {
      ++it;
    }
  }
  total_ -= freed;
  if (c->second.empty()) clients_.erase(c);
  return freed;
}

size_t LaneTable::expire() {
  size_t freed = 0;
  for (auto it = clients_.begin(); it != clients_.end();) {
    const PublicKey client = it->first;
    ++it;  // expireClient may erase the current entry
    freed += expireClient(client);
  }
  return freed;
}

Result<LaneGrant> LaneTable::open(const PublicKey& client, ServiceId service) {
  if (lanesOf(client) >= options_.max_lanes_per_client) expireClient(client);
  if (lanesOf(client) >= options_.max_lanes_per_client) {
    return fail(ErrorCode::kResourceExhausted,
                "client {} already holds its limit of {} lanes; terminate one or wait for a "
                "detached lane to expire",
                client.hex(), options_.max_lanes_per_client);
  }
  if (total_ >= options_.max_lanes_total) expire();
  if (total_ >= options_.max_lanes_total) {
    return fail(ErrorCode::kUnavailable, "node holds its limit of {} lanes",
                options_.max_lanes_total);
  }
  ClientLanes& lanes = clients_[client];
  LaneId id = 0;
  for (const auto& [used, lane] : lanes) {  // lowest free id; the map is sorted
    if (used != id) break;
    ++id;
  }
  Lane& lane = lanes[id];
  ++total_;
  lane.state.service = service;
  crypto::randomBytes(lane.state.session_nonce.mutableBytes());
  lane.attached = true;
  issueToken(lane);
  return grant(id, lane);
}

Result<LaneGrant> LaneTable::resume(const PublicKey& client, LaneId id, const SessionToken& token,
                                    ServiceId service) {
  Lane* lane = find(client, id);
  if (lane == nullptr || !constantTimeEqual(lane->token.bytes(), token.bytes())) {
    return fail(ErrorCode::kPermissionDenied, "no lane {} with this token for client {}", id,
                client.hex());
  }
  if (lane->state.service != service) {
    return fail(ErrorCode::kPermissionDenied, "lane {} serves service {}, not {}", id,
                lane->state.service.value(), service.value());
  }
  if (lane->attached) {
    return fail(ErrorCode::kAlreadyExists, "lane {} is in use by another connection", id);
  }
  if (lane->token_expires_at <= clock_.now()) {
    erase(client, id);
    return fail(ErrorCode::kPermissionDenied, "the token of lane {} has expired", id);
  }
  lane->attached = true;
  issueToken(*lane);
  return grant(id, *lane);
}

Result<TokenRefresh> LaneTable::refreshToken(const PublicKey& client, LaneId id) {
  Lane* lane = find(client, id);
  if (lane == nullptr) return fail(ErrorCode::kNotFound, "no lane {}", id);
  const SessionToken token = issueToken(*lane);
  return TokenRefresh{token, lane->token_expires_at};
}

LaneState* LaneTable::state(const PublicKey& client, LaneId id) {
  Lane* lane = find(client, id);
  return lane == nullptr ? nullptr : &lane->state;
}

void LaneTable::detach(const PublicKey& client, LaneId id) {
  if (Lane* lane = find(client, id)) lane->attached = false;
}

void LaneTable::release(const PublicKey& client, LaneId id) {
  erase(client, id);
}

size_t LaneTable::lanesOf(const PublicKey& client) const {
  const auto c = clients_.find(client);
  return c == clients_.end() ? 0 : c->second.size();
}

}  // namespace thunder::handshake
