// DACK settlement: what a SubmitDacks transaction does to the state
// (docs/protocol/ledger.md §6).
//
// Each DACK is checked on its own (node, service, commodity, client signature through
// handshake::verifyDack) and pays only the increase of its cumulative amount over what its
// lane key (node, client, service, lane, session nonce, commodity) already settled, at the
// current price, out of the client's deposit. The payment goes to the epoch's revenue and is
// credited to the node's and the service's served counters. One outcome per DACK, in order, so
// the node can settle its DackQueue entries after the block applied. Pure state logic: no I/O.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "ledger/state_overlay.h"
#include "ledger/transaction.h"

namespace thunder::ledger {

enum class DackResult : uint8_t {
  kPaid = 1,                 // the whole increase was paid and settled
  kPartiallyPaid = 2,        // the deposit ran out: the part it paid for is settled
  kNothingNew = 3,           // amount not above the lane's settled amount (replay, stale)
  kInsufficientDeposit = 4,  // the deposit is empty or cannot pay one more unit: no change
  kWrongNode = 5,            // the DACK names another node than the submitter
  kUnknownService = 6,       // the service is not registered
  kCommodityMismatch = 7,    // the service bills another commodity
  kBadSignature = 8,         // the client signature does not verify
  kInvalid = 9,              // unknown version, counter 0, or a counter would overflow
};

struct DackOutcome {
  DackResult result = DackResult::kInvalid;
  uint64_t units = 0;  // commodity units newly settled
  Amount charged = 0;  // debited from the client's deposit
  friend bool operator==(const DackOutcome&, const DackOutcome&) = default;
};

// "paid", "partially_paid", ...
std::string_view dackResultName(DackResult result);

// True if submitting the same DACK again can never pay more (the node may drop it from its
// queue): everything but kPartiallyPaid and kInsufficientDeposit, which may pay once the
// client tops up its deposit.
bool isFinal(DackResult result);

// Settles `dacks` submitted by `submitter`. Fails the whole transaction (no changes) with
// kPermissionDenied if the submitter is not a registered node staked at least min_stake,
// kResourceExhausted if there are more DACKs than max_dack_batch, kInvalidArgument if none;
// kCorruption if the state cannot be read.
Result<std::vector<DackOutcome>> settleDacks(StateOverlay& state, const PublicKey& submitter,
                                             std::span<const handshake::Dack> dacks);

}  // namespace thunder::ledger
