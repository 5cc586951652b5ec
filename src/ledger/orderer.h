// Orderer: the seam between the node and whatever decides the order of ledger transactions.
// LocalOrderer (local_orderer.h) is the embedded default: the node orders its own
// transactions. A replicated committee (an existing consensus engine, never a home-made one)
// will implement the same interface later, feeding the blocks it decides to
// Ledger::applyBlock() on every member.
#pragma once

#include <cstdint>

#include "base/result.h"
#include "ledger/transaction.h"

namespace thunder::ledger {

// What submit() accepted: the transaction is queued; its outcome comes with the block that
// orders it (Ledger::receipt(id)).
struct SubmitReceipt {
  TxId id;
  uint64_t queued = 0;  // transactions waiting for a block, this one included
};

class Orderer {
 public:
  virtual ~Orderer() = default;

  // Queues a transaction for ordering after checking what can be checked before ordering:
  // kCorruption (malformed), kInvalidArgument (wrong chain, reused or skipped nonce),
  // kPermissionDenied (bad signature), kResourceExhausted (queue full), kUnavailable (the
  // orderer cannot take transactions now). Thread-safe.
  virtual Result<SubmitReceipt> submit(const SignedTransaction& stx) = 0;
};

}  // namespace thunder::ledger
