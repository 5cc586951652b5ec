#include "ledger/params.h"

namespace thunder::ledger {

Result<void> validateParams(const Params& params) {
  const uint32_t sum =
      uint32_t{params.node_share_bps} + params.service_share_bps + params.protocol_share_bps;
  if (sum != kBasisPoints) {
    return fail(ErrorCode::kInvalidArgument,
                "params: node_share_bps + service_share_bps + protocol_share_bps = {}, must be {}",
                sum, kBasisPoints);
  }
  if (params.max_dack_batch == 0 || params.max_dack_batch > kMaxDackBatchLimit) {
    return fail(ErrorCode::kInvalidArgument, "params: max_dack_batch {} is outside 1..{}",
                params.max_dack_batch, kMaxDackBatchLimit);
  }
  return {};
}

void writeParams(WireWriter& w, const Params& params) {
  w.u64(params.epoch_length_blocks);
  w.u64(params.epoch_length_ms);
  w.u16(params.node_share_bps);
  w.u16(params.service_share_bps);
  w.u16(params.protocol_share_bps);
  w.u64(params.min_stake);
  w.u64(params.unstake_lock_ms);
  w.u32(params.max_dack_batch);
  w.bytes(params.treasury.bytes());
}

Result<Params> readParams(WireReader& r) {
  Params p;
  THUNDER_ASSIGN_OR_RETURN(p.epoch_length_blocks, r.u64("epoch_length_blocks"));
  THUNDER_ASSIGN_OR_RETURN(p.epoch_length_ms, r.u64("epoch_length_ms"));
  THUNDER_ASSIGN_OR_RETURN(p.node_share_bps, r.u16("node_share_bps"));
  THUNDER_ASSIGN_OR_RETURN(p.service_share_bps, r.u16("service_share_bps"));
  THUNDER_ASSIGN_OR_RETURN(p.protocol_share_bps, r.u16("protocol_share_bps"));
  THUNDER_ASSIGN_OR_RETURN(p.min_stake, r.u64("min_stake"));
  THUNDER_ASSIGN_OR_RETURN(p.unstake_lock_ms, r.u64("unstake_lock_ms"));
  THUNDER_ASSIGN_OR_RETURN(p.max_dack_batch, r.u32("max_dack_batch"));
  THUNDER_TRY(r.bytes("treasury", p.treasury.mutableBytes()));
  return p;
}

std::vector<uint8_t> encodeParams(const Params& params) {
  WireWriter w;
  writeParams(w, params);
  return w.take();
}

Result<Params> decodeParams(std::span<const uint8_t> bytes) {
  WireReader r(bytes, "params");
  THUNDER_ASSIGN_OR_RETURN(Params p, readParams(r));
  THUNDER_TRY(r.expectEnd());
  return p;
}

}  // namespace thunder::ledger
