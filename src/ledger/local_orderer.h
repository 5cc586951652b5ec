// LocalOrderer: the single-node Orderer. It keeps submitted transactions in a bounded FIFO
// queue and, each time produceBlock() is called (by a timer in the node), applies the queued
// transactions as the next block. With an epoch key it also ends the epoch when due, by
// appending an EndEpoch transaction signed with that key to the block.
//
// The queue is in memory: transactions not yet in a block are lost on a crash (the submitter
// sees no receipt and resubmits). Borrows the Ledger and the epoch key, which must outlive it.
// Thread-safe: submit() and produceBlock() may be called from any thread; a submit() waits
// while a block is being applied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>

#include "crypto/signing.h"
#include "ledger/block.h"
#include "ledger/ledger.h"
#include "ledger/orderer.h"

namespace thunder::ledger {

struct LocalOrdererOptions {
  size_t max_queued = 10'000;             // submit() refuses more (kResourceExhausted)
  size_t max_block_transactions = 1'000;  // per produceBlock(), at most kMaxBlockTransactions
  // Signs the EndEpoch transactions; null: epochs end only by explicit EndEpoch submissions.
  const crypto::SigningKey* epoch_key = nullptr;
};

class LocalOrderer final : public Orderer {
 public:
  LocalOrderer(Ledger& ledger, LocalOrdererOptions options = {});

  Result<SubmitReceipt> submit(const SignedTransaction& stx) override;

  // Applies up to max_block_transactions queued transactions (oldest first), plus an EndEpoch
  // if there is an epoch key and the epoch is due at now_ms, as the block at height + 1 with
  // time max(now_ms, head time). nullopt if there was nothing to order. On error (the
  // Ledger's: kIoError, kCorruption...) the transactions stay queued in order.
  Result<std::optional<BlockResult>> produceBlock(uint64_t now_ms);

  size_t queued() const;

 private:
  struct Queued {
    TxId id;
    AccountId signer;
    std::vector<uint8_t> bytes;
  };

  Result<std::optional<std::vector<uint8_t>>> epochTransaction(uint64_t now_ms);
  void forget(const Queued& tx);

  Ledger& ledger_;
  LocalOrdererOptions options_;
  mutable std::mutex mutex_;  // guards everything below; held while a block applies
  std::deque<Queued> queue_;
  std::map<AccountId, uint64_t> queued_by_signer_;
};

}  // namespace thunder::ledger
