// Ledger: the node's copy of the ledger state machine (docs/protocol/ledger.md): a RocksDB
// state with its root, the log of applied blocks and the receipts of their transactions.
//
// The Ledger does not order anything: an Orderer (orderer.h; LocalOrderer for the embedded
// single node) decides blocks and calls applyBlock(), which applies one block atomically (one
// synced RocksDB WriteBatch; a crash or an error leaves the previous block's state). Queries
// read the last applied state.
//
// Owned by the node. Thread-safe: queries may run on any thread concurrently with each other
// and with applyBlock(), which is serialized and blocks queries only while it commits.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <vector>

#include "base/result.h"
#include "ledger/block.h"
#include "ledger/genesis.h"
#include "ledger/records.h"
#include "ledger/state_store.h"
#include "ledger/transaction.h"

namespace thunder::ledger {

struct LedgerOptions {
  std::filesystem::path path;  // the RocksDB directory, normally <data-dir>/ledger
  // Tests only: called right before a block's WriteBatch is written (see StateStoreOptions).
  std::function<Result<void>()> before_commit;
};

// Every token accounted for, from the state (Ledger::auditSupply()).
struct SupplyAudit {
  Amount recorded_total = 0;  // Supply.total: genesis allocations + minted
  unsigned __int128 balances = 0;
  unsigned __int128 deposits = 0;
  unsigned __int128 stakes = 0;  // staked and locked
  Amount epoch_revenue = 0;      // collected, not yet paid out
  bool balanced() const { return balances + deposits + stakes + epoch_revenue == recorded_total; }
};

class Ledger {
 public:
  // Opens the ledger at options.path, creating it from `genesis` if it does not exist.
  // kInvalidArgument if the genesis is invalid or the database was created from another
  // genesis; kCorruption if the stored state does not match its recorded root or the
  // directory holds something else; kUnavailable if another process has it open; kIoError.
  static Result<std::unique_ptr<Ledger>> open(const LedgerOptions& options, const Genesis& genesis);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Applies the next block. kInvalidArgument if it does not follow the head (height, previous
  // hash, timestamp going back, too many transactions): nothing applied. A transaction that
  // fails is recorded in its receipt, not an error. kCorruption if execution met unreadable
  // state, kIoError / kResourceExhausted if the commit failed: nothing applied either way.
  Result<BlockResult> applyBlock(const Block& block);

  // Admission check for a new transaction (chain id, signature, nonce after `pending` queued
  // transactions of the same signer): see checkAdmission() in state_machine.h.
  Result<void> checkTransaction(const SignedTransaction& stx, uint64_t pending) const;

  // True if a block at (height() + 1, now_ms) may end the current epoch without governance.
  Result<bool> epochDueAt(uint64_t now_ms) const;

  BlockHeader head() const;
  Hash32 headHash() const;
  uint64_t height() const { return head().height; }
  Hash32 stateRoot() const { return head().state_root; }
  const Hash32& genesisHash() const { return genesis_hash_; }

  Result<ChainConfig> chainConfig() const;
  Result<Params> params() const;
  Result<uint64_t> price(Commodity commodity) const;
  Result<Supply> supply() const;
  Result<EpochState> epoch() const;
  Result<Account> account(const AccountId& id) const;  // all zeros if unknown
  Result<std::optional<NodeRecord>> node(const PublicKey& node) const;
  Result<std::vector<NodeRecord>> nodes() const;
  Result<std::optional<ServiceRecord>> service(ServiceId service) const;
  Result<std::vector<ServiceRecord>> services() const;
  Result<Served> servedByNode(const PublicKey& node) const;  // this epoch so far
  Result<Served> servedByService(ServiceId service) const;
  Result<LaneRecord> lane(const handshake::Dack& dack) const;  // what its lane key settled
  Result<std::optional<EpochSummary>> epochSummary(uint64_t epoch) const;
  Result<std::vector<RewardEntry>> rewards(uint64_t epoch) const;
  Result<SupplyAudit> auditSupply() const;

  // Stored block log and receipts (nullopt: unknown height or id).
  Result<std::optional<BlockHeader>> header(uint64_t height) const;
  Result<std::optional<Block>> block(uint64_t height) const;
  Result<std::optional<Receipt>> receipt(const TxId& id) const;

  // Calls fn(key, value) for every state entry in key order (exports, tests).
  void forEachStateEntry(const std::function<void(std::string_view, std::string_view)>& fn) const;

 private:
  Ledger(std::unique_ptr<StateStore> store, BlockHeader head, Hash32 genesis_hash);
  Result<void> initialize(const Genesis& genesis);

  std::unique_ptr<StateStore> store_;
  Hash32 genesis_hash_;
  std::mutex apply_mutex_;                 // one applyBlock() at a time
  mutable std::shared_mutex state_mutex_;  // exclusive only while a block commits
  BlockHeader head_;                       // guarded by state_mutex_
  Hash32 head_hash_;                       // guarded by state_mutex_
};

}  // namespace thunder::ledger
