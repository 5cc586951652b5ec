// DACKs: delivery acknowledgements, the cumulative vouchers a client signs for what a node
// delivered on one lane (DESIGN.md, docs/protocol/handshake.md "DACK").
//
// A DACK states the cumulative amount of one commodity delivered in one lane session; a later
// DACK (higher counter) supersedes earlier ones, so a node keeps only the latest per lane and
// commodity. makeDack() is the client's signing helper; verifyDack() is the node's check against
// the session it belongs to and the last DACK it accepted. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "crypto/signing.h"
#include "handshake/types.h"

namespace thunder::handshake {

// BLAKE3 derive-key context of the signed DACK digest.
inline constexpr std::string_view kDackContext = "thunder handshake v1 dack";

enum class Commodity : uint8_t {
  kBandwidthBytes = 1,  // service payload bytes delivered to the client
  kComputeMs = 2,       // service CPU milliseconds spent for the client
};

enum class CommitmentKind : uint8_t {
  kContentRange = 1,  // hash = BLAKE3 root of a blob, [range_start, range_end) bytes of it
  kRequestHash = 2,   // hash = a hash of the request served (service-defined)
};

// What the acknowledged amount was for.
struct Commitment {
  CommitmentKind kind = CommitmentKind::kRequestHash;
  Hash32 hash;
  uint64_t range_start = 0;  // kContentRange only (zero otherwise); range_start <= range_end
  uint64_t range_end = 0;

  static Commitment contentRange(const Hash32& root, uint64_t start, uint64_t end) {
    return {CommitmentKind::kContentRange, root, start, end};
  }
  static Commitment requestHash(const Hash32& hash) {
    return {CommitmentKind::kRequestHash, hash, 0, 0};
  }
  friend bool operator==(const Commitment&, const Commitment&) = default;
};

// The session a DACK must belong to.
struct DackScope {
  PublicKey node_pk;
  PublicKey client_pk;
  ServiceId service;
  LaneId lane = 0;
  SessionNonce session_nonce;

  friend bool operator==(const DackScope&, const DackScope&) = default;
};

struct Dack {
  uint16_t version = kProtocolVersion;
  DackScope scope;
  Commodity commodity = Commodity::kBandwidthBytes;
  uint64_t amount = 0;  // cumulative over the lane session, in the commodity's unit
  Commitment commitment;
  uint64_t counter = 0;  // strictly increasing per lane session, starting at 1
  Signature signature;   // by scope.client_pk over dackDigest()

  friend bool operator==(const Dack&, const Dack&) = default;
};

// What a node last accepted on a lane (counter over both commodities, amount per commodity).
struct DackProgress {
  uint64_t counter = 0;  // 0: nothing accepted yet
  uint64_t bandwidth_bytes = 0;
  uint64_t compute_ms = 0;

  uint64_t amountOf(Commodity commodity) const;
  // Records an accepted DACK (precondition: it passed verifyDack against this progress).
  void record(const Dack& dack);
  friend bool operator==(const DackProgress&, const DackProgress&) = default;
};

// Canonical encoding (signature last) and its strict parser. parseDack() takes untrusted
// input: kCorruption on truncation, an unknown commodity or commitment kind, non-zero range
// fields of a request hash, range_start > range_end, or trailing bytes.
std::vector<uint8_t> encodeDack(const Dack& dack);
Result<Dack> parseDack(std::span<const uint8_t> bytes);

// BLAKE3-derive-key(kDackContext, the encoding without its signature): the signed message.
Hash32 dackDigest(const Dack& dack);

// Client side: a signed DACK. Precondition: scope.client_pk is client_key's public key (set
// by this function anyway).
Dack makeDack(const crypto::SigningKey& client_key, DackScope scope, Commodity commodity,
              uint64_t amount, const Commitment& commitment, uint64_t counter);

// Node side. Checks, in this order:
//   version == kProtocolVersion, scope == expected         else kPermissionDenied
//   counter > progress.counter (so a replay fails),
//   amount >= progress amount of its commodity            else kInvalidArgument
//   the client signature                                  else kPermissionDenied
Result<void> verifyDack(const Dack& dack, const DackScope& expected, const DackProgress& progress);

}  // namespace thunder::handshake
