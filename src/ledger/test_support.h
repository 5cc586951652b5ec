// Helpers shared by the ledger unit tests, fuzz target and benchmark (header-only; not part of
// the library's API): deterministic keys, a temporary directory, and a TestChain that applies
// transactions to a real Ledger in a temporary RocksDB directory, one block per call.
#pragma once

#include <stdlib.h>

#include <array>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/check.h"
#include "crypto/signing.h"
#include "handshake/dack.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "ledger/tx_builder.h"
#include "ledger/tx_codec.h"

namespace thunder::ledger::testing {

inline crypto::SigningKey keyFromByte(uint8_t b) {
  std::array<uint8_t, 32> seed{};
  seed.fill(b);
  return crypto::SigningKey::fromSeed(seed);
}

// A fresh directory under the test temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& base = std::filesystem::temp_directory_path().string()) {
    std::string tmpl = base + "/ledger_test.XXXXXX";
    THUNDER_CHECK(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// The keys of a test chain: the dev keys plus a node key.
struct TestKeys {
  crypto::SigningKey governance = devKey(DevKey::kGovernance);
  crypto::SigningKey faucet = devKey(DevKey::kFaucet);
  crypto::SigningKey client = devKey(DevKey::kClient);
  crypto::SigningKey owner = devKey(DevKey::kNodeOwner);
  crypto::SigningKey service_owner = devKey(DevKey::kServiceOwner);
  crypto::SigningKey node = keyFromByte(0x4E);
};

// devGenesis() for keys.node, with epochs that end only when governance says so, unless the
// test sets a rule.
inline Genesis testGenesis(const TestKeys& keys) {
  Genesis g = devGenesis(keys.node.publicKey());
  g.params.epoch_length_ms = 0;
  g.params.epoch_length_blocks = 0;
  return g;
}

// A ledger in a temporary directory with helpers to apply blocks.
class TestChain {
 public:
  explicit TestChain(Genesis genesis, LedgerOptions options = {}) : genesis_(std::move(genesis)) {
    options.path = dir_.path() / "ledger";
    auto ledger = Ledger::open(options, genesis_);
    THUNDER_CHECK(ledger.has_value(), "TestChain: Ledger::open failed");
    ledger_ = std::move(*ledger);
  }

  Ledger& ledger() { return *ledger_; }
  const Genesis& genesis() const { return genesis_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  uint64_t now() const { return now_; }
  void advanceTime(uint64_t ms) { now_ += ms; }

  // A builder for `key` starting at its next nonce in the ledger.
  TxBuilder builder(const crypto::SigningKey& key) {
    auto account = ledger_->account(key.publicKey());
    THUNDER_CHECK(account.has_value(), "TestChain: account query failed");
    return TxBuilder(genesis_.chain_id, key, account->nonce + 1);
  }

  // Applies raw transaction encodings as the next block (time: now(), then +1 s).
  Result<BlockResult> applyRaw(std::vector<std::vector<uint8_t>> txs) {
    Block block;
    block.height = ledger_->height() + 1;
    block.prev_hash = ledger_->headHash();
    block.timestamp_ms = now_;
    block.transactions = std::move(txs);
    now_ += 1000;
    return ledger_->applyBlock(block);
  }

  Result<BlockResult> apply(const std::vector<SignedTransaction>& txs) {
    std::vector<std::vector<uint8_t>> raw;
    for (const auto& tx : txs) raw.push_back(encodeSignedTransaction(tx));
    return applyRaw(std::move(raw));
  }

  // Applies one transaction in its own block and returns its receipt.
  Receipt applyOne(const SignedTransaction& tx) {
    auto result = apply({tx});
    THUNDER_CHECK(result.has_value() && result->receipts.size() == 1,
                  "TestChain: block application failed");
    return result->receipts.front();
  }

  // Reopens the ledger (as after a restart).
  Result<void> reopen(LedgerOptions options = {}) {
    ledger_.reset();
    options.path = dir_.path() / "ledger";
    THUNDER_ASSIGN_OR_RETURN(ledger_, Ledger::open(options, genesis_));
    return {};
  }

 private:
  TempDir dir_;
  Genesis genesis_;
  std::unique_ptr<Ledger> ledger_;
  uint64_t now_ = 1'000'000;
};

// A DACK signed by `client` for `node` on service 0, lane `lane`, session nonce byte `session`.
inline handshake::Dack dackFor(const crypto::SigningKey& client, const PublicKey& node,
                               uint64_t amount, uint64_t counter, uint32_t lane = 0,
                               uint8_t session = 1, ServiceId service = ServiceId(0),
                               Commodity commodity = Commodity::kBandwidthBytes) {
  handshake::DackScope scope;
  scope.node_pk = node;
  scope.client_pk = client.publicKey();
  scope.service = service;
  scope.lane = lane;
  scope.session_nonce.mutableBytes()[0] = session;
  Hash32 request;
  request.mutableBytes()[0] = static_cast<uint8_t>(counter);
  return handshake::makeDack(client, scope, commodity, amount,
                             handshake::Commitment::requestHash(request), counter);
}

}  // namespace thunder::ledger::testing
