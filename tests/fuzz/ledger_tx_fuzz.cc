// Fuzz target: arbitrary bytes through the ledger's transaction and block decoders
// (ledger/tx_codec.h, ledger/block.h). Must never crash; what decodes must re-encode to the
// same bytes. A decoded transaction is then executed, signature and nonce aside, against the
// dev genesis state in memory: it may fail but never with kInternal or kCorruption, and never
// create or destroy tokens except by the faucet's mint. Links thunder_ledger.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "ledger/block.h"
#include "ledger/genesis.h"
#include "ledger/records.h"
#include "ledger/state_access.h"
#include "ledger/state_keys.h"
#include "ledger/state_machine.h"
#include "ledger/tx_codec.h"

namespace {

using namespace thunder::ledger;

// An empty state below the genesis overlay: no RocksDB in the fuzz loop.
class EmptyState final : public StateReader {
 public:
  const std::string* get(std::string_view) const override { return nullptr; }
  void scan(std::string_view,
            const std::function<void(std::string_view, std::string_view)>&) const override {}
};

// Every token in the state: balances, deposits, stakes, locked stakes, epoch revenue.
unsigned __int128 circulating(const StateReader& state) {
  unsigned __int128 sum = 0;
  state.scan(keys::prefix(keys::Table::kAccount), [&](std::string_view, std::string_view v) {
    auto a = decodeAccount(v);
    if (!a) std::abort();
    sum += a->balance;
    sum += a->deposit;
  });
  auto nodes = readNodes(state);
  if (!nodes) std::abort();
  for (const auto& n : *nodes) sum += static_cast<unsigned __int128>(n.stake) + n.locked;
  auto epoch = readEpoch(state);
  if (!epoch) std::abort();
  return sum + epoch->revenue;
}

void execute(const Transaction& tx) {
  static const EmptyState empty;
  static const StateOverlay* genesis = [] {
    auto* state = new StateOverlay(empty);
    thunder::crypto::SigningKey node = devKey(DevKey::kClient);  // any key: it is a node here
    if (!writeGenesisState(*state, devGenesis(node.publicKey()))) std::abort();
    return state;
  }();
  StateOverlay state(static_cast<const StateReader&>(*genesis));
  auto result = executeTransaction(state, tx, BlockContext{1, 1'000'000});
  if (!result) {
    const auto code = result.error().code;
    if (code == thunder::ErrorCode::kInternal || code == thunder::ErrorCode::kCorruption) {
      std::abort();
    }
    return;
  }
  const Supply supply = *readSupply(state);
  if (circulating(state) != supply.total) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  auto stx = decodeSignedTransaction(input);
  if (stx) {
    const std::vector<uint8_t> again = encodeSignedTransaction(*stx);
    if (!std::equal(again.begin(), again.end(), input.begin(), input.end())) std::abort();
    if (!checkEncodable(stx->tx)) std::abort();
    (void)verifyTransactionSignature(*stx);
    execute(stx->tx);
  } else if (stx.error().code != thunder::ErrorCode::kCorruption) {
    std::abort();
  }
  auto block = decodeBlock(input);
  if (block) {
    const std::vector<uint8_t> again = encodeBlock(*block);
    if (!std::equal(again.begin(), again.end(), input.begin(), input.end())) std::abort();
  }
  return 0;
}
