// The ledger's state transition function: what one transaction does to the state
// (docs/protocol/ledger.md §3 and §6-§7). Deterministic: the same state and transaction bytes
// always give the same result, on any machine. Pure state logic, no I/O; any thread, one
// overlay per thread.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "base/error.h"
#include "base/result.h"
#include "ledger/dack_settlement.h"
#include "ledger/epoch_rewards.h"
#include "ledger/state_overlay.h"
#include "ledger/transaction.h"

namespace thunder::ledger {

enum class TxStatus : uint8_t {
  kApplied = 1,   // executed; its effects are in the state
  kFailed = 2,    // admitted (nonce consumed) but execution failed: no other effect
  kRejected = 3,  // not admitted (malformed, wrong chain, bad signature, wrong nonce): no effect
};

std::string_view txStatusName(TxStatus status);

// What applying one transaction did.
struct TxOutcome {
  TxStatus status = TxStatus::kRejected;
  TxId id;                         // zero if the bytes did not decode
  std::optional<Error> error;      // why, unless kApplied
  std::vector<DackOutcome> dacks;  // SubmitDacks only: one per DACK, in order
};

// Admission checks against `state`: chain id (kInvalidArgument), signature
// (kPermissionDenied), nonce == account nonce + 1 + `pending` (kInvalidArgument: "already
// used" or "skips ahead"); `pending` counts the signer's transactions queued before this one.
Result<void> checkAdmission(const StateReader& state, const SignedTransaction& stx,
                            uint64_t pending = 0);

// Executes an admitted transaction's body (the nonce is already consumed). On error the
// caller drops `state`. Errors: kPermissionDenied (signer may not do this), kResourceExhausted
// (insufficient funds, a limit), kInvalidArgument (bad values, overflow), kNotFound (unknown
// node, service or account), kAlreadyExists (registering twice), kCorruption (state unreadable).
Result<std::vector<DackOutcome>> executeTransaction(StateOverlay& state, const Transaction& tx,
                                                    const BlockContext& block);

// Decodes, admits and executes one transaction of a block: consumes the nonce in
// `block_state` on admission, and keeps the execution's writes only on success.
TxOutcome applyTransaction(StateOverlay& block_state, std::span<const uint8_t> tx_bytes,
                           const BlockContext& block);

}  // namespace thunder::ledger
