#include "handshake/dack.h"

#include "crypto/blake3.h"
#include "handshake/wire.h"

namespace thunder::handshake {
namespace {

void writeDackBody(ByteWriter& w, const Dack& dack) {
  w.u16(dack.version);
  w.bytes(dack.scope.node_pk.bytes());
  w.bytes(dack.scope.client_pk.bytes());
  w.u32(dack.scope.service.value());
  w.u32(dack.scope.lane);
  w.bytes(dack.scope.session_nonce.bytes());
  w.u8(static_cast<uint8_t>(dack.commodity));
  w.u64(dack.amount);
  w.u8(static_cast<uint8_t>(dack.commitment.kind));
  w.bytes(dack.commitment.hash.bytes());
  if (dack.commitment.kind == CommitmentKind::kContentRange) {
    w.u64(dack.commitment.range_start);
    w.u64(dack.commitment.range_end);
  }
  w.u64(dack.counter);
}

}  // namespace

uint64_t DackProgress::amountOf(Commodity commodity) const {
  return commodity == Commodity::kComputeMs ? compute_ms : bandwidth_bytes;
}

void DackProgress::record(const Dack& dack) {
  counter = dack.counter;
  (dack.commodity == Commodity::kComputeMs ? compute_ms : bandwidth_bytes) = dack.amount;
}

std::vector<uint8_t> encodeDack(const Dack& dack) {
  ByteWriter w;
  writeDackBody(w, dack);
  w.bytes(dack.signature.bytes());
  return w.take();
}

Result<Dack> parseDack(std::span<const uint8_t> bytes) {
  ByteReader r(bytes, "dack");
  Dack d;
  THUNDER_ASSIGN_OR_RETURN(d.version, r.u16("version"));
  THUNDER_TRY(r.bytes("node_pk", d.scope.node_pk.mutableBytes()));
  THUNDER_TRY(r.bytes("client_pk", d.scope.client_pk.mutableBytes()));
  THUNDER_ASSIGN_OR_RETURN(const uint32_t service, r.u32("service_id"));
  d.scope.service = ServiceId(service);
  THUNDER_ASSIGN_OR_RETURN(d.scope.lane, r.u32("lane"));
  THUNDER_TRY(r.bytes("session_nonce", d.scope.session_nonce.mutableBytes()));
  THUNDER_ASSIGN_OR_RETURN(const uint8_t commodity, r.u8("commodity"));
  if (commodity != static_cast<uint8_t>(Commodity::kBandwidthBytes) &&
      commodity != static_cast<uint8_t>(Commodity::kComputeMs)) {
    return fail(ErrorCode::kCorruption, "dack: unknown commodity {}", commodity);
  }
  d.commodity = static_cast<Commodity>(commodity);
  THUNDER_ASSIGN_OR_RETURN(d.amount, r.u64("amount"));
  THUNDER_ASSIGN_OR_RETURN(const uint8_t kind, r.u8("commitment kind"));
  THUNDER_TRY(r.bytes("commitment hash", d.commitment.hash.mutableBytes()));
  if (kind == static_cast<uint8_t>(CommitmentKind::kContentRange)) {
    d.commitment.kind = CommitmentKind::kContentRange;
    THUNDER_ASSIGN_OR_RETURN(d.commitment.range_start, r.u64("range start"));
    THUNDER_ASSIGN_OR_RETURN(d.commitment.range_end, r.u64("range end"));
    if (d.commitment.range_start > d.commitment.range_end) {
      return fail(ErrorCode::kCorruption, "dack: range start {} is after range end {}",
                  d.commitment.range_start, d.commitment.range_end);
    }
  } else if (kind == static_cast<uint8_t>(CommitmentKind::kRequestHash)) {
    d.commitment.kind = CommitmentKind::kRequestHash;
  } else {
    return fail(ErrorCode::kCorruption, "dack: unknown commitment kind {}", kind);
  }
  THUNDER_ASSIGN_OR_RETURN(d.counter, r.u64("counter"));
  THUNDER_TRY(r.bytes("signature", d.signature.mutableBytes()));
  THUNDER_TRY(r.expectEnd());
  return d;
}

Hash32 dackDigest(const Dack& dack) {
  ByteWriter w;
  writeDackBody(w, dack);
  auto hasher = crypto::Blake3Hasher::deriveKey(kDackContext);
  hasher.update(w.view());
  return Hash32(hasher.finalize().bytes());
}

Dack makeDack(const crypto::SigningKey& client_key, DackScope scope, Commodity commodity,
              uint64_t amount, const Commitment& commitment, uint64_t counter) {
  Dack dack;
  dack.scope = scope;
  dack.scope.client_pk = client_key.publicKey();
  dack.commodity = commodity;
  dack.amount = amount;
  dack.commitment = commitment;
  if (dack.commitment.kind == CommitmentKind::kRequestHash) {
    dack.commitment.range_start = dack.commitment.range_end = 0;
  }
  dack.counter = counter;
  dack.signature = client_key.sign(dackDigest(dack).bytes());
  return dack;
}

Result<void> verifyDack(const Dack& dack, const DackScope& expected, const DackProgress& progress) {
  if (dack.version != kProtocolVersion) {
    return fail(ErrorCode::kPermissionDenied, "dack version {} (this node speaks {})", dack.version,
                kProtocolVersion);
  }
  if (dack.scope.node_pk != expected.node_pk) {
    return fail(ErrorCode::kPermissionDenied, "dack for node {}, not this node",
                dack.scope.node_pk.hex());
  }
  if (dack.scope.client_pk != expected.client_pk) {
    return fail(ErrorCode::kPermissionDenied, "dack signed for client {}, not the session client",
                dack.scope.client_pk.hex());
  }
  if (dack.scope.service != expected.service) {
    return fail(ErrorCode::kPermissionDenied, "dack for service {}, session serves {}",
                dack.scope.service.value(), expected.service.value());
  }
  if (dack.scope.lane != expected.lane) {
    return fail(ErrorCode::kPermissionDenied, "dack for lane {}, session holds lane {}",
                dack.scope.lane, expected.lane);
  }
  if (dack.scope.session_nonce != expected.session_nonce) {
    return fail(ErrorCode::kPermissionDenied, "dack for another session of lane {}",
                dack.scope.lane);
  }
  if (dack.counter <= progress.counter) {
    return fail(ErrorCode::kInvalidArgument, "dack counter {} is not above the last accepted {}",
                dack.counter, progress.counter);
  }
  const uint64_t last = progress.amountOf(dack.commodity);
  if (dack.amount < last) {
    return fail(ErrorCode::kInvalidArgument, "dack amount {} is below the last accepted {}",
                dack.amount, last);
  }
  if (!crypto::verifySignature(dack.scope.client_pk, dackDigest(dack).bytes(), dack.signature)) {
    return fail(ErrorCode::kPermissionDenied, "dack signature does not verify");
  }
  return {};
}

}  // namespace thunder::handshake
