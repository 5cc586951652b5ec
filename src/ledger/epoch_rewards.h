// Epoch end: splits the epoch's revenue between node owners, service owners and the protocol
// treasury, and records the reward history (docs/protocol/ledger.md §7).
//
//   node_pool    = floor(R * node_share_bps / 10000)
//   service_pool = floor(R * service_share_bps / 10000)
//   protocol     = R - node_pool - service_pool
//   node i       : floor(node_pool * revenue_i / R)      (revenue_i: what node i's DACKs paid)
//   service j    : floor(service_pool * revenue_j / R)
//   treasury     : protocol + (node_pool - Σ node rewards) + (service_pool - Σ service rewards)
//
// so the epoch's revenue is paid out exactly: no token is created or lost. Pure state logic.
#pragma once

#include <cstdint>

#include "base/result.h"
#include "ledger/params.h"
#include "ledger/records.h"
#include "ledger/state_overlay.h"

namespace thunder::ledger {

// The block an EndEpoch is applied in.
struct BlockContext {
  uint64_t height = 0;
  uint64_t timestamp_ms = 0;
};

// True if `epoch` may end in a block at `block`: at least epoch_length_blocks blocks (when
// non-zero) or epoch_length_ms of block time (when non-zero) since the epoch began.
bool epochDue(const EpochState& epoch, const Params& params, const BlockContext& block);

// Pays the current epoch's rewards, writes its summary and reward entries, clears the served
// counters and starts the next epoch at `block`. kCorruption if the served counters do not
// add up to the epoch's revenue or name an unregistered node or service; kInvalidArgument if
// a reward would overflow a balance.
Result<EpochSummary> endEpoch(StateOverlay& state, const BlockContext& block);

}  // namespace thunder::ledger
