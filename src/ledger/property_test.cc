// Property test: a few thousand random transactions (valid and invalid, of every kind) in
// random blocks. After every block the supply is conserved (every token is in a balance, a
// deposit, a stake or the epoch's revenue); at the end, replaying the block log from genesis
// into a fresh database reproduces every block's state root, and the root equals an
// independent, unbatched computation over the state entries. Seeded: failures reproduce.
#include <gtest/gtest.h>

#include <bit>
#include <map>
#include <random>

#include "crypto/blake3.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger/test_support.h"

namespace thunder::ledger {
namespace {

using testing::dackFor;
using testing::keyFromByte;
using testing::TestChain;
using testing::TestKeys;

constexpr uint64_t kSeed = 0x7468756e646572;  // "thunder"
constexpr int kTransactions = 3000;

// The state root by its definition (docs/protocol/ledger.md §5), one hash at a time.
Hash32 referenceRoot(std::span<const Hash32> leaves) {
  if (leaves.empty()) {
    return Hash32(
        crypto::Blake3Hasher::deriveKey("thunder ledger v1 state empty").finalize().bytes());
  }
  if (leaves.size() == 1) return leaves[0];
  const size_t k = std::bit_floor(leaves.size() - 1);
  return merkleNode(referenceRoot(leaves.subspan(0, k)), referenceRoot(leaves.subspan(k)));
}

class RandomChain {
 public:
  RandomChain() : chain_(genesis()) {
    for (uint8_t i = 0; i < 6; ++i) clients_.push_back(keyFromByte(0x10 + i));
    for (uint8_t i = 0; i < 4; ++i) nodes_.push_back(keyFromByte(0x30 + i));
    for (const auto* k : all()) next_nonce_[k->publicKey()] = 1;
  }

  Genesis genesis() {
    Genesis g = testing::testGenesis(keys_);
    g.params.epoch_length_blocks = 7;
    g.prices = {{Commodity::kBandwidthBytes, 1'000'000}, {Commodity::kComputeMs, 2'500'000}};
    g.accounts.clear();
    for (uint8_t i = 0; i < 6; ++i) {
      g.accounts.push_back({keyFromByte(0x10 + i).publicKey(), 1'000'000, 50'000});
    }
    g.accounts.push_back({keys_.owner.publicKey(), 1'000'000, 0});
    g.nodes.clear();
    for (uint8_t i = 0; i < 3; ++i) {  // node 0x33 is registered by a transaction later
      g.nodes.push_back({keyFromByte(0x30 + i).publicKey(),
                         keys_.owner.publicKey(),
                         1000,
                         Participation::kActive,
                         {}});
    }
    g.services.push_back(
        {ServiceId(5), keys_.service_owner.publicKey(), BlobId{}, Commodity::kComputeMs});
    return g;
  }

  std::vector<const crypto::SigningKey*> all() {
    std::vector<const crypto::SigningKey*> out = {&keys_.governance, &keys_.faucet, &keys_.owner,
                                                  &keys_.service_owner};
    for (const auto& k : clients_) out.push_back(&k);
    for (const auto& k : nodes_) out.push_back(&k);
    return out;
  }

  uint64_t pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  Amount amount() { return pick(4) == 0 ? pick(3'000'000) : pick(20'000); }
  const crypto::SigningKey& anyKey() {
    const auto keys = all();
    return *keys[pick(keys.size())];
  }

  std::vector<handshake::Dack> dacks(const crypto::SigningKey& node) {
    std::vector<handshake::Dack> out;
    const size_t n = 1 + pick(8);
    for (size_t i = 0; i < n; ++i) {
      const auto& client = clients_[pick(clients_.size())];
      const uint32_t lane = static_cast<uint32_t>(pick(3));
      const bool compute = pick(3) == 0;
      const ServiceId service = compute ? ServiceId(5) : ServiceId(static_cast<uint32_t>(pick(3)));
      const PublicKey target =
          pick(10) == 0 ? nodes_[pick(nodes_.size())].publicKey() : node.publicKey();
      auto& progress = lanes_[{target, client.publicKey(), lane, service.value()}];
      if (pick(5) != 0) progress.first += pick(5000);  // else: a replay of the last amount
      progress.second += 1;
      auto d = dackFor(client, target, progress.first, progress.second, lane, 1, service,
                       compute ? Commodity::kComputeMs : Commodity::kBandwidthBytes);
      if (pick(20) == 0) d.signature.mutableBytes()[7] ^= 1;
      out.push_back(d);
    }
    return out;
  }

  TxBody body(uint64_t kind, const crypto::SigningKey& signer) {
    const PublicKey node = nodes_[pick(nodes_.size())].publicKey();
    switch (kind) {
      case 0:
      case 1:
      case 2: return Transfer{anyKey().publicKey(), amount()};
      case 3: return Deposit{amount()};
      case 4: return Withdraw{amount()};
      case 5: return Mint{anyKey().publicKey(), amount()};
      case 6: return Stake{node, amount()};
      case 7: return pick(2) ? TxBody(Unstake{node, amount()}) : TxBody(WithdrawUnstaked{node});
      case 8: return RegisterNode{keys_.owner.publicKey(), Participation::kActive, {"tls://n:1"}};
      case 9:
        return UpdateNode{node, pick(2) ? Participation::kActive : Participation::kInactive, {}};
      case 10: {
        BlobId exe;
        exe.mutableBytes()[0] = static_cast<uint8_t>(pick(256));
        const ServiceId id(static_cast<uint32_t>(pick(8)));
        if (pick(2)) return RegisterService{id, exe, Commodity::kBandwidthBytes};
        return UpdateService{id, exe, Commodity::kBandwidthBytes};
      }
      case 11:
        return SetPrice{pick(2) ? Commodity::kBandwidthBytes : Commodity::kComputeMs,
                        pick(3'000'000)};
      case 12: {
        Params p = *chain_.ledger().params();
        p.node_share_bps = static_cast<uint16_t>(pick(10'001));
        p.service_share_bps = static_cast<uint16_t>(pick(10'001 - p.node_share_bps));
        p.protocol_share_bps =
            static_cast<uint16_t>(10'000 - p.node_share_bps - p.service_share_bps + (pick(8) == 0));
        p.unstake_lock_ms = pick(5000);
        return SetParams{p};
      }
      case 13:
      case 14: return SubmitDacks{dacks(signer)};
      default: return EndEpoch{chain_.ledger().epoch()->epoch + (pick(6) == 0)};
    }
  }

  // Who signs a body of each kind (see body()): mostly someone allowed to, sometimes anyone.
  const crypto::SigningKey& signerFor(uint64_t kind) {
    if (pick(8) == 0) return anyKey();
    switch (kind) {
      case 5: return keys_.faucet;
      case 6:
      case 7:
      case 9: return keys_.owner;
      case 8:
      case 13:
      case 14: return nodes_[pick(nodes_.size())];
      case 10: return keys_.service_owner;
      case 11:
      case 12: return keys_.governance;
      default: return clients_[pick(clients_.size())];
    }
  }

  std::vector<uint8_t> transaction() {
    const uint64_t kind = pick(16);
    const crypto::SigningKey& signer = signerFor(kind);
    TxBody b = body(kind, signer);
    uint64_t& next = next_nonce_[signer.publicKey()];
    uint64_t chain_id = chain_.genesis().chain_id;
    uint64_t nonce = next;
    bool valid = true;
    switch (pick(40)) {
      case 0:
        chain_id += 1;
        valid = false;
        break;
      case 1:
        nonce += 1;
        valid = false;
        break;
      case 2:
        if (nonce > 1) {
          nonce -= 1;
          valid = false;
        }
        break;
      default: break;
    }
    auto stx =
        signTransaction(Transaction{chain_id, signer.publicKey(), nonce, std::move(b)}, signer);
    if (pick(40) == 0) {
      stx.signature.mutableBytes()[1] ^= 1;
      valid = false;
    }
    if (valid) ++next;
    return encodeSignedTransaction(stx);
  }

  void run() {
    int sent = 0;
    while (sent < kTransactions) {
      std::vector<std::vector<uint8_t>> txs;
      const int n = 1 + static_cast<int>(pick(30));
      for (int i = 0; i < n; ++i) txs.push_back(transaction());
      if (pick(25) == 0) txs.push_back({0x01, 0x02});  // garbage
      sent += n;
      chain_.advanceTime(pick(3000));
      auto block = chain_.applyRaw(std::move(txs));
      ASSERT_TRUE(block) << block.error().message;
      for (const auto& r : block->receipts) {
        ++statuses_[r.status];
        if (r.error) {
          ASSERT_NE(r.error->code, ErrorCode::kInternal) << r.error->message;
        }
        for (const auto& d : r.dacks) ++dack_results_[d.result];
      }
      auto audit = chain_.ledger().auditSupply();
      ASSERT_TRUE(audit);
      ASSERT_TRUE(audit->balanced()) << "supply not conserved at block " << block->header.height;
    }
  }

  TestKeys keys_;
  std::mt19937_64 rng_{kSeed};
  TestChain chain_;
  std::vector<crypto::SigningKey> clients_;
  std::vector<crypto::SigningKey> nodes_;
  std::map<AccountId, uint64_t> next_nonce_;
  std::map<std::tuple<PublicKey, PublicKey, uint32_t, uint32_t>, std::pair<uint64_t, uint64_t>>
      lanes_;
  std::map<TxStatus, int> statuses_;
  std::map<DackResult, int> dack_results_;
};

TEST(PropertyTest, RandomTransactionsConserveSupplyAndReplayToTheSameRoot) {
  RandomChain random;
  ASSERT_NO_FATAL_FAILURE(random.run());
  Ledger& ledger = random.chain_.ledger();

  // The mix exercised every path.
  EXPECT_GT(random.statuses_[TxStatus::kApplied], kTransactions / 3);
  EXPECT_GT(random.statuses_[TxStatus::kFailed], 50);
  EXPECT_GT(random.statuses_[TxStatus::kRejected], 50);
  for (auto r :
       {DackResult::kPaid, DackResult::kPartiallyPaid, DackResult::kNothingNew,
        DackResult::kInsufficientDeposit, DackResult::kWrongNode, DackResult::kBadSignature,
        DackResult::kUnknownService, DackResult::kCommodityMismatch}) {
    EXPECT_GT(random.dack_results_[r], 0) << dackResultName(r);
  }
  EXPECT_GT(ledger.epoch()->epoch, 5u);
  EXPECT_GT(ledger.supply()->minted, 0u);

  // The root is the definition's, computed independently from the entries.
  std::vector<Hash32> leaves;
  ledger.forEachStateEntry(
      [&](std::string_view k, std::string_view v) { leaves.push_back(leafHash(k, v)); });
  EXPECT_EQ(referenceRoot(leaves), ledger.stateRoot());

  // Replaying the log from genesis into a fresh database gives every block's root.
  TestChain replica(random.chain_.genesis());
  for (uint64_t h = 1; h <= ledger.height(); ++h) {
    auto block = ledger.block(h);
    ASSERT_TRUE(block && *block);
    auto applied = replica.ledger().applyBlock(**block);
    ASSERT_TRUE(applied) << applied.error().message;
    ASSERT_EQ(applied->header.state_root, (*ledger.header(h))->state_root) << "block " << h;
  }
  EXPECT_EQ(replica.ledger().stateRoot(), ledger.stateRoot());
  EXPECT_EQ(replica.ledger().headHash(), ledger.headHash());
}

}  // namespace
}  // namespace thunder::ledger
