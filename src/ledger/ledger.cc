#include "ledger/ledger.h"

#include "base/log.h"
#include "ledger/ledger_records.h"
#include "ledger/state_overlay.h"

namespace thunder::ledger {
namespace {

constexpr std::string_view kFormat = "thunder-ledger 1";

std::string bytesToString(std::span<const uint8_t> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace

Ledger::Ledger(std::unique_ptr<StateStore> store, BlockHeader head, Hash32 genesis_hash)
    : store_(std::move(store)),
      genesis_hash_(genesis_hash),
      head_(head),
      head_hash_(blockHash(head)) {}

Ledger::~Ledger() = default;

Result<std::unique_ptr<Ledger>> Ledger::open(const LedgerOptions& options, const Genesis& genesis) {
  THUNDER_TRY(validateGenesis(genesis));
  THUNDER_ASSIGN_OR_RETURN(auto store, StateStore::open({options.path, options.before_commit}));
  const Hash32 genesis_hash = ledger::genesisHash(genesis);
  THUNDER_ASSIGN_OR_RETURN(const auto format, store->readRecord(records::kFormat));
  if (!format) {
    if (store->size() != 0) {
      return fail(ErrorCode::kCorruption, "{} holds ledger state but no format record",
                  options.path.string());
    }
    std::unique_ptr<Ledger> ledger(new Ledger(std::move(store), BlockHeader{}, genesis_hash));
    THUNDER_TRY(ledger->initialize(genesis));
    return ledger;
  }
  if (*format != kFormat) {
    return fail(ErrorCode::kCorruption, "{} is not a ledger database this node reads ('{}')",
                options.path.string(), *format);
  }
  THUNDER_ASSIGN_OR_RETURN(const auto stored_genesis, store->readRecord(records::kGenesis));
  if (!stored_genesis || *stored_genesis != bytesToString(genesis_hash.bytes())) {
    return fail(ErrorCode::kInvalidArgument,
                "the ledger at {} was created from another genesis (this node's genesis hash is "
                "{}); use the chain's genesis or another data dir",
                options.path.string(), genesis_hash.hex());
  }
  THUNDER_ASSIGN_OR_RETURN(const auto head_bytes, store->readRecord(records::kHead));
  if (!head_bytes) {
    return fail(ErrorCode::kCorruption, "{}: no head record", options.path.string());
  }
  THUNDER_ASSIGN_OR_RETURN(const BlockHeader head, decodeHeader(records::asBytes(*head_bytes)));
  if (store->root() != head.state_root) {
    return fail(ErrorCode::kCorruption,
                "{}: the state root {} does not match the root {} recorded at height {}",
                options.path.string(), store->root().hex(), head.state_root.hex(), head.height);
  }
  THUNDER_LOG(info, "ledger", "opened ledger at height {}, state root {}", head.height,
              head.state_root.hex());
  return std::unique_ptr<Ledger>(new Ledger(std::move(store), head, genesis_hash));
}

Result<void> Ledger::initialize(const Genesis& genesis) {
  StateOverlay state(*store_);
  THUNDER_TRY(writeGenesisState(state, genesis));
  PreparedState prepared = store_->prepare(std::move(state).takeWrites());
  BlockHeader head{0, Hash32{}, genesis.timestamp_ms, genesis_hash_, prepared.root};
  const std::vector<Record> extra = {
      {std::string(records::kFormat), std::string(kFormat)},
      {std::string(records::kGenesis), bytesToString(genesis_hash_.bytes())},
      {std::string(records::kHead), bytesToString(encodeHeader(head))},
      {records::headerKey(0), bytesToString(encodeHeader(head))},
  };
  THUNDER_TRY(store_->commit(std::move(prepared), extra));
  head_ = head;
  head_hash_ = blockHash(head);
  THUNDER_LOG(info, "ledger", "created ledger for chain {} (genesis {}), state root {}",
              genesis.chain_id, genesis_hash_.hex(), head.state_root.hex());
  return {};
}

Result<BlockResult> Ledger::applyBlock(const Block& block) {
  std::lock_guard apply_lock(apply_mutex_);
  BlockResult result;
  PreparedState prepared;
  {
    std::shared_lock read_lock(state_mutex_);
    if (block.height != head_.height + 1) {
      return fail(ErrorCode::kInvalidArgument, "block height {} does not follow the head {}",
                  block.height, head_.height);
    }
    if (block.prev_hash != head_hash_) {
      return fail(ErrorCode::kInvalidArgument, "block {} names previous block {}, the head is {}",
                  block.height, block.prev_hash.hex(), head_hash_.hex());
    }
    if (block.timestamp_ms < head_.timestamp_ms) {
      return fail(ErrorCode::kInvalidArgument, "block {} time {} is before the head's {}",
                  block.height, block.timestamp_ms, head_.timestamp_ms);
    }
    if (block.transactions.size() > kMaxBlockTransactions) {
      return fail(ErrorCode::kInvalidArgument, "block {} has {} transactions (at most {})",
                  block.height, block.transactions.size(), kMaxBlockTransactions);
    }
    StateOverlay state(*store_);
    const BlockContext context{block.height, block.timestamp_ms};
    for (size_t i = 0; i < block.transactions.size(); ++i) {
      TxOutcome outcome = applyTransaction(state, block.transactions[i], context);
      if (outcome.status == TxStatus::kFailed && outcome.error->code == ErrorCode::kCorruption) {
        return fail(outcome.error->withContext(fmt::format(
            "block {} transaction {}: the ledger state is unreadable", block.height, i)));
      }
      result.receipts.push_back(Receipt{outcome.id, block.height, static_cast<uint32_t>(i),
                                        outcome.status, std::move(outcome.error),
                                        std::move(outcome.dacks)});
    }
    prepared = store_->prepare(std::move(state).takeWrites());
  }
  result.header = BlockHeader{block.height, block.prev_hash, block.timestamp_ms, txListHash(block),
                              prepared.root};
  result.hash = blockHash(result.header);

  std::vector<Record> extra;
  const std::string header_bytes = bytesToString(encodeHeader(result.header));
  extra.emplace_back(std::string(records::kHead), header_bytes);
  extra.emplace_back(records::headerKey(block.height), header_bytes);
  extra.emplace_back(records::blockKey(block.height), bytesToString(encodeBlock(block)));
  for (const auto& receipt : result.receipts) {
    if (receipt.status == TxStatus::kRejected) continue;  // ids of rejected ones may repeat
    extra.emplace_back(records::receiptKey(receipt.id), bytesToString(encodeReceipt(receipt)));
  }
  {
    std::unique_lock write_lock(state_mutex_);
    THUNDER_TRY(store_->commit(std::move(prepared), extra));
    head_ = result.header;
    head_hash_ = result.hash;
  }
  return result;
}

}  // namespace thunder::ledger
