// Micro-benchmarks of the ledger (src/ledger/):
//   BM_DackBatchApply  one block holding one SubmitDacks of 1,000 fresh DACKs, applied and
//                      committed (synced); items/s = client signatures verified per second on
//                      one core (the whole apply runs on the calling thread).
//   BM_EpochEnd        the block ending an epoch in which 10,000 nodes and 100 services served
//                      (rewards, history, served counters cleared, state root, synced commit).
//   BM_StateRoot       the state root over N cached leaf hashes (what each block recomputes).
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/test_support.h"

namespace thunder::ledger {
namespace {

using testing::dackFor;
using testing::keyFromByte;

constexpr size_t kBatch = 1000;

void BM_DackBatchApply(benchmark::State& state) {
  testing::TestKeys keys;
  testing::TestChain chain(testing::testGenesis(keys));
  auto node = chain.builder(keys.node);
  uint32_t lane = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<handshake::Dack> dacks;
    dacks.reserve(kBatch);
    for (size_t i = 0; i < kBatch; ++i) {
      dacks.push_back(dackFor(keys.client, keys.node.publicKey(), 1'000'000 + i, 1, lane++));
    }
    Block block;
    block.height = chain.ledger().height() + 1;
    block.prev_hash = chain.ledger().headHash();
    block.timestamp_ms = block.height;
    block.transactions.push_back(encodeSignedTransaction(node.submitDacks(std::move(dacks))));
    state.ResumeTiming();
    auto result = chain.ledger().applyBlock(block);
    if (!result || result->receipts[0].status != TxStatus::kApplied ||
        result->receipts[0].dacks.back().result != DackResult::kPaid) {
      state.SkipWithError("DACK batch did not apply");
      return;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kBatch));
  state.counters["lanes_in_state"] = lane;
}
BENCHMARK(BM_DackBatchApply)->Unit(benchmark::kMillisecond)->Iterations(40);

void BM_EpochEnd(benchmark::State& state) {
  constexpr uint32_t kNodes = 10'000;
  constexpr uint32_t kServices = 100;
  testing::TestKeys keys;
  Genesis g = testing::testGenesis(keys);
  g.nodes.clear();
  g.services.clear();
  std::vector<crypto::SigningKey> nodes;
  nodes.reserve(kNodes);
  for (uint32_t i = 0; i < kNodes; ++i) {
    std::array<uint8_t, 32> seed{};
    seed[0] = static_cast<uint8_t>(i);
    seed[1] = static_cast<uint8_t>(i >> 8);
    seed[2] = 0xB5;
    nodes.push_back(crypto::SigningKey::fromSeed(seed));
    g.nodes.push_back(
        {nodes.back().publicKey(), nodes.back().publicKey(), 1000, Participation::kActive, {}});
  }
  for (uint32_t i = 0; i < kServices; ++i) {
    g.services.push_back(
        {ServiceId(i), keyFromByte(1).publicKey(), BlobId{}, Commodity::kBandwidthBytes});
  }
  testing::TestChain chain(g);
  uint64_t session = 1;
  for (auto _ : state) {
    state.PauseTiming();
    // Every node serves on one service this epoch (one SubmitDacks of one DACK each).
    std::vector<std::vector<uint8_t>> txs;
    for (uint32_t i = 0; i < kNodes; ++i) {
      const uint64_t nonce = chain.ledger().account(nodes[i].publicKey())->nonce + 1;
      TxBuilder b(g.chain_id, nodes[i], nonce);
      txs.push_back(encodeSignedTransaction(
          b.submitDacks({dackFor(keys.client, nodes[i].publicKey(), 1'000'000 + i * 17, 1, 0,
                                 static_cast<uint8_t>(session), ServiceId(i % kServices))})));
    }
    ++session;
    auto served = chain.applyRaw(std::move(txs));
    if (!served) {
      state.SkipWithError(served.error().message.c_str());
      return;
    }
    const uint64_t epoch = chain.ledger().epoch()->epoch;
    auto end = chain.builder(keys.governance).endEpoch(epoch);
    state.ResumeTiming();
    auto result = chain.apply({end});
    if (!result || result->receipts[0].status != TxStatus::kApplied) {
      state.SkipWithError("EndEpoch did not apply");
      return;
    }
    state.PauseTiming();
    const auto summary = chain.ledger().epochSummary(epoch);
    if (!summary || !*summary || (*summary)->nodes != kNodes) {
      state.SkipWithError("epoch summary is wrong");
      return;
    }
    size_t entries = 0;
    chain.ledger().forEachStateEntry([&](std::string_view, std::string_view) { ++entries; });
    state.counters["state_entries"] = static_cast<double>(entries);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_EpochEnd)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_StateRoot(benchmark::State& state) {
  std::vector<Hash32> leaves(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < leaves.size(); ++i) {
    leaves[i].mutableBytes()[0] = static_cast<uint8_t>(i);
    leaves[i].mutableBytes()[1] = static_cast<uint8_t>(i >> 8);
    leaves[i].mutableBytes()[2] = static_cast<uint8_t>(i >> 16);
  }
  for (auto _ : state) benchmark::DoNotOptimize(merkleRoot(leaves));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * leaves.size()));
}
BENCHMARK(BM_StateRoot)->Arg(100'000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace thunder::ledger
