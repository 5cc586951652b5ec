// Protocol parameters: the governance-controlled knobs of epochs, rewards, staking and DACK
// batches, with their canonical encoding (docs/protocol/ledger.md §4.2). Plain value.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/wire.h"
#include "ledger/types.h"

namespace thunder::ledger {

struct Params {
  // An epoch may end once this many blocks passed since it began (0: no block rule).
  uint64_t epoch_length_blocks = 0;
  // ... or once this much block time passed (0: no time rule). With both 0, only governance
  // ends epochs.
  uint64_t epoch_length_ms = 60'000;
  // Shares of an epoch's revenue, in basis points; they sum to kBasisPoints.
  uint16_t node_share_bps = 7'000;
  uint16_t service_share_bps = 2'000;
  uint16_t protocol_share_bps = 1'000;
  // A node is paid for DACKs only while its stake is at least this.
  Amount min_stake = 1'000;
  // Unstaked funds become withdrawable this long (block time) after the last Unstake.
  uint64_t unstake_lock_ms = 60'000;
  // Most DACKs in one SubmitDacks transaction (1 .. kMaxDackBatchLimit).
  uint32_t max_dack_batch = 1'000;
  // The account the protocol share and every rounding remainder are paid to.
  AccountId treasury;

  friend bool operator==(const Params&, const Params&) = default;
};

// kInvalidArgument naming the field if the shares do not sum to kBasisPoints or max_dack_batch
// is outside 1 .. kMaxDackBatchLimit.
Result<void> validateParams(const Params& params);

void writeParams(WireWriter& w, const Params& params);
// Reads the fields (no validation beyond the encoding itself).
Result<Params> readParams(WireReader& r);

std::vector<uint8_t> encodeParams(const Params& params);
// kCorruption on truncation or trailing bytes.
Result<Params> decodeParams(std::span<const uint8_t> bytes);

}  // namespace thunder::ledger
