// Epoch end: the revenue split with its rounding, the reward history, and who may end an
// epoch when.
#include "ledger/epoch_rewards.h"

#include <gtest/gtest.h>

#include "ledger/state_access.h"
#include "ledger/state_store.h"
#include "ledger/test_support.h"

namespace thunder::ledger {
namespace {

using testing::dackFor;
using testing::keyFromByte;
using testing::TestChain;
using testing::TestKeys;

class EpochRewardsTest : public ::testing::Test {
 protected:
  EpochRewardsTest() : chain_(genesis()) {}

  Genesis genesis() {
    Genesis g = testing::testGenesis(keys_);
    g.prices = {{Commodity::kBandwidthBytes, 1'000'000}};  // 1 base unit per byte
    g.nodes.push_back({node_b_.publicKey(), owner_b_, 5000, Participation::kActive, {}});
    g.services.push_back({ServiceId(5), service_owner_5_, BlobId{}, Commodity::kBandwidthBytes});
    return g;
  }

  Amount balance(const AccountId& id) { return chain_.ledger().account(id)->balance; }

  void serve(const crypto::SigningKey& node, std::vector<handshake::Dack> dacks) {
    const Receipt r = chain_.applyOne(chain_.builder(node).submitDacks(std::move(dacks)));
    ASSERT_EQ(r.status, TxStatus::kApplied) << (r.error ? r.error->message : "");
    for (const auto& d : r.dacks) ASSERT_EQ(d.result, DackResult::kPaid);
  }

  Receipt endEpoch(const crypto::SigningKey& signer, uint64_t epoch) {
    return chain_.applyOne(chain_.builder(signer).endEpoch(epoch));
  }

  TestKeys keys_;
  crypto::SigningKey node_b_ = keyFromByte(0x70);
  AccountId owner_b_ = keyFromByte(0x71).publicKey();
  AccountId service_owner_5_ = keyFromByte(0x72).publicKey();
  TestChain chain_;
};

TEST_F(EpochRewardsTest, SplitsRevenueByShareAndServedRevenueWithRemaindersToTheTreasury) {
  const PublicKey a = keys_.node.publicKey();
  const PublicKey b = node_b_.publicKey();
  ASSERT_NO_FATAL_FAILURE(serve(
      keys_.node,
      {dackFor(keys_.client, a, 700, 1, 0), dackFor(keys_.client, a, 301, 1, 1, 1, ServiceId(5))}));
  ASSERT_NO_FATAL_FAILURE(serve(node_b_, {dackFor(keys_.client, b, 333, 1)}));
  ASSERT_EQ(chain_.ledger().epoch()->revenue, 1334u);

  const AccountId owner_a = keys_.owner.publicKey();
  const AccountId service_owner_0 = keys_.service_owner.publicKey();
  const AccountId treasury = chain_.genesis().params.treasury;
  const Amount owner_a_before = balance(owner_a);
  const uint64_t end_height = chain_.ledger().height() + 1;
  const Receipt r = endEpoch(keys_.governance, 0);
  ASSERT_EQ(r.status, TxStatus::kApplied) << r.error->message;

  // R = 1334; node pool floor(1334 * 0.7) = 933, service pool floor(1334 * 0.2) = 266,
  // protocol 135. Node A served 1001: floor(933 * 1001 / 1334) = 700; node B 333: 232.
  // Service 0 served 1033: floor(266 * 1033 / 1334) = 205; service 5 301: 60.
  // Treasury: 135 + (933 - 932) + (266 - 265) = 137.
  EXPECT_EQ(balance(owner_a), owner_a_before + 700);
  EXPECT_EQ(balance(owner_b_), 232u);
  EXPECT_EQ(balance(service_owner_0), 205u);
  EXPECT_EQ(balance(service_owner_5_), 60u);
  EXPECT_EQ(balance(treasury), 137u);

  const auto summary = *chain_.ledger().epochSummary(0);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->revenue, 1334u);
  EXPECT_EQ(summary->node_rewards, 932u);
  EXPECT_EQ(summary->service_rewards, 265u);
  EXPECT_EQ(summary->treasury, 137u);
  EXPECT_EQ(summary->node_rewards + summary->service_rewards + summary->treasury, summary->revenue);
  EXPECT_EQ(summary->nodes, 2u);
  EXPECT_EQ(summary->services, 2u);
  EXPECT_EQ(summary->end_height, end_height);

  const auto rewards = *chain_.ledger().rewards(0);
  ASSERT_EQ(rewards.size(), 4u);
  Amount paid = 0;
  for (const auto& e : rewards) {
    paid += e.reward;
    if (e.kind == RecipientKind::kNode && e.node == a) {
      EXPECT_EQ(e.account, owner_a);
      EXPECT_EQ(e.reward, 700u);
      EXPECT_EQ(e.served, (Served{1001, 1001, 0}));
    }
    if (e.kind == RecipientKind::kService && e.service == ServiceId(5)) {
      EXPECT_EQ(e.account, service_owner_5_);
      EXPECT_EQ(e.reward, 60u);
    }
  }
  EXPECT_EQ(paid, 1197u);
  EXPECT_EQ(rewards[2].kind, RecipientKind::kService);  // nodes first, then services

  // The next epoch starts clean.
  const EpochState next = *chain_.ledger().epoch();
  EXPECT_EQ(next.epoch, 1u);
  EXPECT_EQ(next.revenue, 0u);
  EXPECT_EQ(next.start_height, end_height);
  EXPECT_EQ(*chain_.ledger().servedByNode(a), Served{});
  EXPECT_EQ(*chain_.ledger().servedByService(ServiceId(5)), Served{});
  EXPECT_TRUE(chain_.ledger().auditSupply()->balanced());
  EXPECT_TRUE(chain_.ledger().rewards(1)->empty());
  EXPECT_FALSE(*chain_.ledger().epochSummary(1));
}

TEST_F(EpochRewardsTest, AnEmptyEpochEndsWithNothingToPay) {
  ASSERT_EQ(endEpoch(keys_.governance, 0).status, TxStatus::kApplied);
  const auto summary = **chain_.ledger().epochSummary(0);
  EXPECT_EQ(summary.revenue, 0u);
  EXPECT_EQ(summary.nodes, 0u);
  EXPECT_EQ(balance(chain_.genesis().params.treasury), 0u);
  EXPECT_EQ(chain_.ledger().epoch()->epoch, 1u);
}

TEST_F(EpochRewardsTest, OnlyGovernanceEndsAnEpochEarlyAndOnlyTheCurrentOne) {
  Receipt r = endEpoch(keys_.client, 0);
  EXPECT_EQ(r.status, TxStatus::kFailed);
  EXPECT_EQ(r.error->code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error->message.find("not due"), std::string::npos);
  r = endEpoch(keys_.governance, 1);
  EXPECT_EQ(r.error->code, ErrorCode::kInvalidArgument);
  ASSERT_EQ(endEpoch(keys_.governance, 0).status, TxStatus::kApplied);
  r = endEpoch(keys_.governance, 0);  // already ended: a second one is refused
  EXPECT_EQ(r.error->code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(chain_.ledger().epoch()->epoch, 1u);
}

TEST_F(EpochRewardsTest, AnyoneEndsADueEpochByBlocksOrTime) {
  Params p = *chain_.ledger().params();
  p.epoch_length_blocks = 3;
  ASSERT_EQ(chain_.applyOne(chain_.builder(keys_.governance).setParams(p)).status,
            TxStatus::kApplied);                            // block 1; epoch 0 began at block 0
  EXPECT_FALSE(*chain_.ledger().epochDueAt(chain_.now()));  // at block 2: not yet
  EXPECT_EQ(endEpoch(keys_.client, 0).error->code, ErrorCode::kPermissionDenied);  // block 2
  EXPECT_TRUE(*chain_.ledger().epochDueAt(chain_.now()));                          // block 3 is due
  EXPECT_EQ(endEpoch(keys_.client, 0).status, TxStatus::kApplied);
  EXPECT_EQ(chain_.ledger().epoch()->start_height, 3u);

  p.epoch_length_blocks = 0;
  p.epoch_length_ms = 60'000;
  ASSERT_EQ(chain_.applyOne(chain_.builder(keys_.governance).setParams(p)).status,
            TxStatus::kApplied);
  EXPECT_EQ(endEpoch(keys_.client, 1).error->code, ErrorCode::kPermissionDenied);
  chain_.advanceTime(60'000);
  EXPECT_TRUE(*chain_.ledger().epochDueAt(chain_.now()));
  EXPECT_EQ(endEpoch(keys_.client, 1).status, TxStatus::kApplied);
  EXPECT_EQ(chain_.ledger().epoch()->epoch, 2u);
}

TEST(EpochDueTest, Rules) {
  Params p;
  p.epoch_length_blocks = 0;
  p.epoch_length_ms = 0;
  const EpochState e{3, 10, 5000, 0};
  EXPECT_FALSE(epochDue(e, p, {1'000'000, 1'000'000'000}));
  p.epoch_length_blocks = 5;
  EXPECT_FALSE(epochDue(e, p, {14, 0}));
  EXPECT_TRUE(epochDue(e, p, {15, 0}));
  p.epoch_length_blocks = 0;
  p.epoch_length_ms = 100;
  EXPECT_FALSE(epochDue(e, p, {11, 5099}));
  EXPECT_TRUE(epochDue(e, p, {11, 5100}));
  EXPECT_FALSE(epochDue(e, p, {11, 10}));  // before the epoch began: never due
}

// 10,000 nodes and 100 services with uneven revenue: the split pays out exactly the revenue,
// and every reward is its floor share.
TEST(EpochRewardsScaleTest, TenThousandNodesPayOutExactly) {
  TestKeys keys;
  Genesis g = testing::testGenesis(keys);
  g.nodes.clear();
  g.services.clear();
  constexpr uint32_t kNodes = 10'000;
  constexpr uint32_t kServices = 100;
  auto nodeKey = [](uint32_t i) {
    PublicKey node;
    node.mutableBytes()[0] = static_cast<uint8_t>(i >> 8);
    node.mutableBytes()[1] = static_cast<uint8_t>(i);
    return node;
  };
  for (uint32_t i = 0; i < kNodes; ++i) {
    g.nodes.push_back({nodeKey(i), nodeKey(i), 1, Participation::kActive, {}});
  }
  for (uint32_t i = 0; i < kServices; ++i) {
    g.services.push_back(
        {ServiceId(i), keyFromByte(1).publicKey(), BlobId{}, Commodity::kBandwidthBytes});
  }
  testing::TempDir dir;
  auto store = StateStore::open({dir.path() / "state", {}});
  ASSERT_TRUE(store) << store.error().message;
  StateOverlay state(**store);
  ASSERT_TRUE(writeGenesisState(state, g));
  // What 10,000 nodes' DACK batches would have left: revenue i * 7 + 3 for node i, spread
  // over the services.
  Amount revenue = 0;
  std::vector<Served> by_service(kServices);
  for (uint32_t i = 0; i < kNodes; ++i) {
    const Amount r = Amount{i} * 7 + 3;
    writeServedByNode(state, nodeKey(i), Served{r, r, 0});
    by_service[i % kServices].revenue += r;
    revenue += r;
  }
  for (uint32_t i = 0; i < kServices; ++i) {
    writeServedByService(state, ServiceId(i), by_service[i]);
  }
  EpochState epoch = *readEpoch(state);
  epoch.revenue = revenue;
  writeEpoch(state, epoch);

  auto summary = endEpoch(state, BlockContext{1, 1});
  ASSERT_TRUE(summary) << summary.error().message;
  EXPECT_EQ(summary->nodes, kNodes);
  EXPECT_EQ(summary->services, kServices);
  EXPECT_EQ(summary->node_rewards + summary->service_rewards + summary->treasury, revenue);
  const Amount node_pool = revenue * 7000 / 10000;
  Amount expected_nodes = 0;
  for (uint32_t i = 0; i < kNodes; ++i) {
    const Amount r = Amount{i} * 7 + 3;
    const Amount reward =
        static_cast<Amount>(static_cast<unsigned __int128>(node_pool) * r / revenue);
    expected_nodes += reward;
    if (i % 1000 == 0) {
      ASSERT_EQ(readAccount(state, nodeKey(i))->balance, reward) << i;
    }
  }
  EXPECT_EQ(summary->node_rewards, expected_nodes);
  EXPECT_LT(node_pool - expected_nodes, Amount{kNodes});  // at most one unit lost per node
  EXPECT_EQ(readRewards(state, 0)->size(), size_t{kNodes + kServices});
}

}  // namespace
}  // namespace thunder::ledger
