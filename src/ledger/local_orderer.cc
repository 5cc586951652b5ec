#include "ledger/local_orderer.h"

#include <algorithm>

#include "base/log.h"
#include "ledger/tx_codec.h"

namespace thunder::ledger {

LocalOrderer::LocalOrderer(Ledger& ledger, LocalOrdererOptions options)
    : ledger_(ledger), options_(options) {
  options_.max_block_transactions =
      std::clamp<size_t>(options_.max_block_transactions, 1, kMaxBlockTransactions - 1);
}

Result<SubmitReceipt> LocalOrderer::submit(const SignedTransaction& stx) {
  std::lock_guard lock(mutex_);
  if (queue_.size() >= options_.max_queued) {
    return fail(ErrorCode::kResourceExhausted,
                "the ledger queue holds {} transactions (its limit); retry after the next block",
                queue_.size());
  }
  const auto pending = queued_by_signer_.find(stx.tx.signer);
  THUNDER_TRY(
      ledger_.checkTransaction(stx, pending == queued_by_signer_.end() ? 0 : pending->second));
  Queued entry{txDigest(stx.tx), stx.tx.signer, encodeSignedTransaction(stx)};
  const TxId id = entry.id;
  queue_.push_back(std::move(entry));
  ++queued_by_signer_[stx.tx.signer];
  return SubmitReceipt{id, queue_.size()};
}

size_t LocalOrderer::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void LocalOrderer::forget(const Queued& tx) {
  const auto it = queued_by_signer_.find(tx.signer);
  if (it != queued_by_signer_.end() && --it->second == 0) queued_by_signer_.erase(it);
}

Result<std::optional<std::vector<uint8_t>>> LocalOrderer::epochTransaction(uint64_t now_ms) {
  if (options_.epoch_key == nullptr) return std::optional<std::vector<uint8_t>>();
  THUNDER_ASSIGN_OR_RETURN(const bool due, ledger_.epochDueAt(now_ms));
  if (!due) return std::optional<std::vector<uint8_t>>();
  const AccountId signer = options_.epoch_key->publicKey();
  THUNDER_ASSIGN_OR_RETURN(const Account account, ledger_.account(signer));
  THUNDER_ASSIGN_OR_RETURN(const EpochState epoch, ledger_.epoch());
  THUNDER_ASSIGN_OR_RETURN(const ChainConfig config, ledger_.chainConfig());
  const auto pending = queued_by_signer_.find(signer);
  Transaction tx;
  tx.chain_id = config.chain_id;
  tx.signer = signer;
  tx.nonce = account.nonce + 1 + (pending == queued_by_signer_.end() ? 0 : pending->second);
  tx.body = EndEpoch{epoch.epoch};
  return std::optional<std::vector<uint8_t>>(
      encodeSignedTransaction(signTransaction(std::move(tx), *options_.epoch_key)));
}

Result<std::optional<BlockResult>> LocalOrderer::produceBlock(uint64_t now_ms) {
  std::lock_guard lock(mutex_);
  const BlockHeader head = ledger_.head();
  Block block;
  block.height = head.height + 1;
  block.prev_hash = ledger_.headHash();
  block.timestamp_ms = std::max(now_ms, head.timestamp_ms);
  const size_t take = std::min(queue_.size(), options_.max_block_transactions);
  for (size_t i = 0; i < take; ++i) block.transactions.push_back(queue_[i].bytes);
  // The epoch's end goes after the signer's queued transactions (their nonces come first), so
  // only when the whole queue fits this block.
  if (take == queue_.size()) {
    THUNDER_ASSIGN_OR_RETURN(auto end_epoch, epochTransaction(block.timestamp_ms));
    if (end_epoch) block.transactions.push_back(std::move(*end_epoch));
  }
  if (block.transactions.empty()) return std::optional<BlockResult>();

  THUNDER_ASSIGN_OR_RETURN(BlockResult result, ledger_.applyBlock(block));
  for (size_t i = 0; i < take; ++i) {
    forget(queue_.front());
    queue_.pop_front();
  }
  THUNDER_LOG(debug, "ledger", "block {}: {} transactions, state root {}", block.height,
              block.transactions.size(), result.header.state_root.hex());
  return std::optional<BlockResult>(std::move(result));
}

}  // namespace thunder::ledger
