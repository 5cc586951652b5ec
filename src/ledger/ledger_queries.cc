// Ledger's read side: queries of the committed state and of the stored block log.
#include "ledger/ledger.h"
#include "ledger/ledger_records.h"
#include "ledger/state_access.h"
#include "ledger/state_keys.h"

namespace thunder::ledger {

Result<void> Ledger::checkTransaction(const SignedTransaction& stx, uint64_t pending) const {
  std::shared_lock lock(state_mutex_);
  return checkAdmission(*store_, stx, pending);
}

Result<bool> Ledger::epochDueAt(uint64_t now_ms) const {
  std::shared_lock lock(state_mutex_);
  THUNDER_ASSIGN_OR_RETURN(const EpochState epoch, readEpoch(*store_));
  THUNDER_ASSIGN_OR_RETURN(const Params params, readParams(*store_));
  const BlockContext next{head_.height + 1, std::max(now_ms, head_.timestamp_ms)};
  return epochDue(epoch, params, next);
}

BlockHeader Ledger::head() const {
  std::shared_lock lock(state_mutex_);
  return head_;
}

Hash32 Ledger::headHash() const {
  std::shared_lock lock(state_mutex_);
  return head_hash_;
}

Result<ChainConfig> Ledger::chainConfig() const {
  std::shared_lock lock(state_mutex_);
  return readChainConfig(*store_);
}

Result<Params> Ledger::params() const {
  std::shared_lock lock(state_mutex_);
  return readParams(*store_);
}

Result<uint64_t> Ledger::price(Commodity commodity) const {
  std::shared_lock lock(state_mutex_);
  return readPrice(*store_, commodity);
}

Result<Supply> Ledger::supply() const {
  std::shared_lock lock(state_mutex_);
  return readSupply(*store_);
}

Result<EpochState> Ledger::epoch() const {
  std::shared_lock lock(state_mutex_);
  return readEpoch(*store_);
}

Result<Account> Ledger::account(const AccountId& id) const {
  std::shared_lock lock(state_mutex_);
  return readAccount(*store_, id);
}

Result<std::optional<NodeRecord>> Ledger::node(const PublicKey& node) const {
  std::shared_lock lock(state_mutex_);
  return readNode(*store_, node);
}

Result<std::vector<NodeRecord>> Ledger::nodes() const {
  std::shared_lock lock(state_mutex_);
  return readNodes(*store_);
}

Result<std::optional<ServiceRecord>> Ledger::service(ServiceId service) const {
  std::shared_lock lock(state_mutex_);
  return readService(*store_, service);
}

Result<std::vector<ServiceRecord>> Ledger::services() const {
  std::shared_lock lock(state_mutex_);
  return readServices(*store_);
}

Result<Served> Ledger::servedByNode(const PublicKey& node) const {
  std::shared_lock lock(state_mutex_);
  return readServedByNode(*store_, node);
}

Result<Served> Ledger::servedByService(ServiceId service) const {
  std::shared_lock lock(state_mutex_);
  return readServedByService(*store_, service);
}

Result<LaneRecord> Ledger::lane(const handshake::Dack& dack) const {
  std::shared_lock lock(state_mutex_);
  return readLane(*store_, dack);
}

Result<std::optional<EpochSummary>> Ledger::epochSummary(uint64_t epoch) const {
  std::shared_lock lock(state_mutex_);
  return readEpochSummary(*store_, epoch);
}

Result<std::vector<RewardEntry>> Ledger::rewards(uint64_t epoch) const {
  std::shared_lock lock(state_mutex_);
  return readRewards(*store_, epoch);
}

Result<SupplyAudit> Ledger::auditSupply() const {
  std::shared_lock lock(state_mutex_);
  SupplyAudit audit;
  THUNDER_ASSIGN_OR_RETURN(const Supply supply, readSupply(*store_));
  THUNDER_ASSIGN_OR_RETURN(const EpochState epoch, readEpoch(*store_));
  audit.recorded_total = supply.total;
  audit.epoch_revenue = epoch.revenue;
  Result<void> status;
  store_->scan(keys::prefix(keys::Table::kAccount), [&](std::string_view, std::string_view v) {
    auto account = decodeAccount(v);
    if (!account) {
      status = fail(account.error());
      return;
    }
    audit.balances += account->balance;
    audit.deposits += account->deposit;
  });
  THUNDER_TRY(status);
  THUNDER_ASSIGN_OR_RETURN(const auto nodes, readNodes(*store_));
  for (const auto& node : nodes)
    audit.stakes += static_cast<unsigned __int128>(node.stake) + node.locked;
  return audit;
}

Result<std::optional<BlockHeader>> Ledger::header(uint64_t height) const {
  THUNDER_ASSIGN_OR_RETURN(const auto bytes, store_->readRecord(records::headerKey(height)));
  if (!bytes) return std::optional<BlockHeader>();
  THUNDER_ASSIGN_OR_RETURN(BlockHeader h, decodeHeader(records::asBytes(*bytes)));
  return std::optional<BlockHeader>(h);
}

Result<std::optional<Block>> Ledger::block(uint64_t height) const {
  THUNDER_ASSIGN_OR_RETURN(const auto bytes, store_->readRecord(records::blockKey(height)));
  if (!bytes) return std::optional<Block>();
  THUNDER_ASSIGN_OR_RETURN(Block b, decodeBlock(records::asBytes(*bytes)));
  return std::optional<Block>(std::move(b));
}

Result<std::optional<Receipt>> Ledger::receipt(const TxId& id) const {
  THUNDER_ASSIGN_OR_RETURN(const auto bytes, store_->readRecord(records::receiptKey(id)));
  if (!bytes) return std::optional<Receipt>();
  THUNDER_ASSIGN_OR_RETURN(Receipt r, decodeReceipt(id, records::asBytes(*bytes)));
  return std::optional<Receipt>(std::move(r));
}

void Ledger::forEachStateEntry(
    const std::function<void(std::string_view, std::string_view)>& fn) const {
  std::shared_lock lock(state_mutex_);
  store_->scan("", fn);
}

}  // namespace thunder::ledger
