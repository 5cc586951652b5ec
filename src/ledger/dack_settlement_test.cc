// DACK settlement through real blocks: what is paid, what is refused, and the node's flow
// from its DackQueue to settled entries.
#include "ledger/dack_settlement.h"

#include <gtest/gtest.h>

#include "handshake/dack_queue.h"
#include "ledger/test_support.h"

namespace thunder::ledger {
namespace {

using testing::dackFor;
using testing::keyFromByte;
using testing::TestChain;
using testing::TestKeys;

class DackSettlementTest : public ::testing::Test {
 protected:
  DackSettlementTest() : chain_(testing::testGenesis(keys_)) {}
  void SetUp() override { setPrice(1'000'000); }  // 1 base unit per byte

  PublicKey node() const { return keys_.node.publicKey(); }
  Account client() { return *chain_.ledger().account(keys_.client.publicKey()); }

  // Submits `dacks` from `submitter` (default: the node) in one block; the receipt.
  Receipt submit(std::vector<handshake::Dack> dacks,
                 const crypto::SigningKey* submitter = nullptr) {
    const crypto::SigningKey& key = submitter ? *submitter : keys_.node;
    return chain_.applyOne(chain_.builder(key).submitDacks(std::move(dacks)));
  }

  DackOutcome submitOne(const handshake::Dack& dack) {
    const Receipt r = submit({dack});
    EXPECT_EQ(r.status, TxStatus::kApplied) << (r.error ? r.error->message : "");
    return r.dacks.size() == 1 ? r.dacks[0] : DackOutcome{};
  }

  void setPrice(uint64_t micro) {
    ASSERT_EQ(
        chain_
            .applyOne(chain_.builder(keys_.governance).setPrice(Commodity::kBandwidthBytes, micro))
            .status,
        TxStatus::kApplied);
  }

  TestKeys keys_;
  TestChain chain_;
};

TEST_F(DackSettlementTest, PaysOnlyTheIncreaseOverWhatWasSettled) {
  setPrice(2'000'000);  // 2 base units per byte
  const Amount deposit = client().deposit;
  const auto first = dackFor(keys_.client, node(), 1000, 1);
  EXPECT_EQ(submitOne(first), (DackOutcome{DackResult::kPaid, 1000, 2000}));
  EXPECT_EQ(client().deposit, deposit - 2000);
  // The same voucher again pays nothing.
  EXPECT_EQ(submitOne(first), (DackOutcome{DackResult::kNothingNew, 0, 0}));
  // A later voucher pays only its increase.
  EXPECT_EQ(submitOne(dackFor(keys_.client, node(), 1500, 2)),
            (DackOutcome{DackResult::kPaid, 500, 1000}));
  EXPECT_EQ(client().deposit, deposit - 3000);
  EXPECT_EQ(*chain_.ledger().lane(first), (LaneRecord{1500, 2}));
  EXPECT_EQ(*chain_.ledger().servedByNode(node()), (Served{3000, 1500, 0}));
  EXPECT_EQ(*chain_.ledger().servedByService(ServiceId(0)), (Served{3000, 1500, 0}));
  EXPECT_EQ(chain_.ledger().epoch()->revenue, 3000u);
  EXPECT_TRUE(chain_.ledger().auditSupply()->balanced());
  // Another lane (or session) of the same client settles on its own.
  EXPECT_EQ(submitOne(dackFor(keys_.client, node(), 100, 1, /*lane=*/1)).units, 100u);
  EXPECT_EQ(submitOne(dackFor(keys_.client, node(), 100, 1, 0, /*session=*/2)).units, 100u);
}

TEST_F(DackSettlementTest, DecreasingVoucherPaysNothing) {
  EXPECT_EQ(submitOne(dackFor(keys_.client, node(), 1000, 5)).result, DackResult::kPaid);
  const Account before = client();
  // A higher counter with a lower amount (a stale or rolled-back voucher).
  EXPECT_EQ(submitOne(dackFor(keys_.client, node(), 400, 6)),
            (DackOutcome{DackResult::kNothingNew, 0, 0}));
  // A lower counter with a lower amount.
  EXPECT_EQ(submitOne(dackFor(keys_.client, node(), 999, 4)).result, DackResult::kNothingNew);
  EXPECT_EQ(client(), before);
}

TEST_F(DackSettlementTest, DackForAnotherNodePaysNothing) {
  const auto other = keyFromByte(0x61);
  EXPECT_EQ(submitOne(dackFor(keys_.client, other.publicKey(), 1000, 1)),
            (DackOutcome{DackResult::kWrongNode, 0, 0}));
  EXPECT_EQ(*chain_.ledger().servedByNode(node()), Served{});
}

TEST_F(DackSettlementTest, ForgedClientSignaturePaysNothing) {
  auto forged = dackFor(keys_.client, node(), 1000, 1);
  forged.signature.mutableBytes()[10] ^= 0x20;
  EXPECT_EQ(submitOne(forged).result, DackResult::kBadSignature);
  // Signed by someone else in the client's name.
  auto impostor = dackFor(keyFromByte(0x62), node(), 1000, 1);
  impostor.scope.client_pk = keys_.client.publicKey();
  EXPECT_EQ(submitOne(impostor).result, DackResult::kBadSignature);
  // An inflated amount under a genuine signature.
  auto inflated = dackFor(keys_.client, node(), 1000, 1);
  inflated.amount = 1'000'000;
  EXPECT_EQ(submitOne(inflated).result, DackResult::kBadSignature);
  EXPECT_EQ(client().deposit, 100'000'000'000u);
}

TEST_F(DackSettlementTest, UnregisteredServicePaysNothing) {
  EXPECT_EQ(submitOne(dackFor(keys_.client, node(), 1000, 1, 0, 1, ServiceId(77))).result,
            DackResult::kUnknownService);
}

TEST_F(DackSettlementTest, CommodityOtherThanTheServiceBillsPaysNothing) {
  EXPECT_EQ(
      submitOne(dackFor(keys_.client, node(), 1000, 1, 0, 1, ServiceId(0), Commodity::kComputeMs))
          .result,
      DackResult::kCommodityMismatch);
}

TEST_F(DackSettlementTest, EmptyDepositPaysNothingUntilTopUp) {
  auto cb = chain_.builder(keys_.client);
  ASSERT_EQ(chain_.applyOne(cb.withdraw(client().deposit)).status, TxStatus::kApplied);
  const auto dack = dackFor(keys_.client, node(), 1000, 1);
  const DackOutcome empty = submitOne(dack);
  EXPECT_EQ(empty, (DackOutcome{DackResult::kInsufficientDeposit, 0, 0}));
  EXPECT_FALSE(isFinal(empty.result));
  EXPECT_EQ(*chain_.ledger().lane(dack), LaneRecord{});  // not settled: it may pay later
  ASSERT_EQ(chain_.applyOne(cb.deposit(5000)).status, TxStatus::kApplied);
  EXPECT_EQ(submitOne(dack), (DackOutcome{DackResult::kPaid, 1000, 1000}));
}

TEST_F(DackSettlementTest, DepositCapsThePaymentAndSettlesWhatItPaidFor) {
  setPrice(1'500'000);  // 1.5 base units per byte
  auto cb = chain_.builder(keys_.client);
  ASSERT_EQ(chain_.applyOne(cb.withdraw(client().deposit - 100)).status, TxStatus::kApplied);
  const auto dack = dackFor(keys_.client, node(), 1000, 1);
  // 100 base units buy floor((100 + 1) * 1e6 - 1) / 1.5e6) = 67 bytes for 100 units.
  const DackOutcome partial = submitOne(dack);
  EXPECT_EQ(partial, (DackOutcome{DackResult::kPartiallyPaid, 67, 100}));
  EXPECT_FALSE(isFinal(partial.result));
  EXPECT_EQ(client().deposit, 0u);
  EXPECT_EQ(chain_.ledger().lane(dack)->settled, 67u);
  ASSERT_EQ(chain_.applyOne(cb.deposit(10'000)).status, TxStatus::kApplied);
  // The rest: cost(1000) - cost(67) = 1500 - 100.
  EXPECT_EQ(submitOne(dack), (DackOutcome{DackResult::kPaid, 933, 1400}));
  EXPECT_TRUE(chain_.ledger().auditSupply()->balanced());
}

TEST_F(DackSettlementTest, PriceTooHighForTheDepositPaysNothing) {
  setPrice(50'000'000);  // 50 per byte
  auto cb = chain_.builder(keys_.client);
  ASSERT_EQ(chain_.applyOne(cb.withdraw(client().deposit - 10)).status, TxStatus::kApplied);
  EXPECT_EQ(submitOne(dackFor(keys_.client, node(), 1000, 1)).result,
            DackResult::kInsufficientDeposit);
  EXPECT_EQ(client().deposit, 10u);
}

TEST_F(DackSettlementTest, SmallIncrementsRoundLikeOneSettlement) {
  setPrice(300'000);  // 0.3 per byte
  const Amount deposit = client().deposit;
  Amount charged = 0;
  for (uint64_t i = 1; i <= 10; ++i) {
    charged += submitOne(dackFor(keys_.client, node(), 7 * i, i)).charged;
  }
  EXPECT_EQ(charged, 21u);  // floor(70 * 0.3), not 10 * floor(7 * 0.3) = 20
  EXPECT_EQ(client().deposit, deposit - 21);
}

TEST_F(DackSettlementTest, BatchOverTheSizeLimitIsRefused) {
  Params p = *chain_.ledger().params();
  p.max_dack_batch = 3;
  ASSERT_EQ(chain_.applyOne(chain_.builder(keys_.governance).setParams(p)).status,
            TxStatus::kApplied);
  std::vector<handshake::Dack> dacks;
  for (uint32_t lane = 0; lane < 4; ++lane)
    dacks.push_back(dackFor(keys_.client, node(), 10, 1, lane));
  const Receipt r = submit(dacks);
  EXPECT_EQ(r.status, TxStatus::kFailed);
  EXPECT_EQ(r.error->code, ErrorCode::kResourceExhausted);
  EXPECT_TRUE(r.dacks.empty());
  EXPECT_EQ(client().deposit, 100'000'000'000u);
  dacks.pop_back();
  EXPECT_EQ(submit(dacks).status, TxStatus::kApplied);
  EXPECT_EQ(submit({}).error->code, ErrorCode::kInvalidArgument);  // empty
}

TEST_F(DackSettlementTest, OnlyARegisteredStakedNodeMaySubmit) {
  const auto stranger = keyFromByte(0x63);
  Receipt r = submit({dackFor(keys_.client, stranger.publicKey(), 10, 1)}, &stranger);
  EXPECT_EQ(r.status, TxStatus::kFailed);
  EXPECT_EQ(r.error->code, ErrorCode::kPermissionDenied);
  EXPECT_NE(r.error->message.find("not a registered node"), std::string::npos);

  ASSERT_EQ(
      chain_.applyOne(chain_.builder(stranger).registerNode(keys_.owner.publicKey(), {})).status,
      TxStatus::kApplied);
  r = submit({dackFor(keys_.client, stranger.publicKey(), 10, 1)}, &stranger);
  EXPECT_EQ(r.status, TxStatus::kFailed);
  EXPECT_NE(r.error->message.find("below the minimum"), std::string::npos);

  ASSERT_EQ(chain_.applyOne(chain_.builder(keys_.owner).stake(stranger.publicKey(), 1000)).status,
            TxStatus::kApplied);
  r = submit({dackFor(keys_.client, stranger.publicKey(), 10, 1)}, &stranger);
  EXPECT_EQ(r.status, TxStatus::kApplied);
  EXPECT_EQ(r.dacks[0].result, DackResult::kPaid);
}

TEST_F(DackSettlementTest, CountersThatWouldOverflowPayNothing) {
  ASSERT_NO_FATAL_FAILURE(setPrice(0));  // free: nothing limits the units but the counters
  EXPECT_EQ(submitOne(dackFor(keys_.client, node(), UINT64_MAX - 5, 1, 0)).result,
            DackResult::kPaid);
  const Served served = *chain_.ledger().servedByNode(node());
  EXPECT_EQ(submitOne(dackFor(keys_.client, node(), 10, 1, /*lane=*/1)),
            (DackOutcome{DackResult::kInvalid, 0, 0}));
  EXPECT_EQ(*chain_.ledger().servedByNode(node()), served);
  EXPECT_EQ(chain_.ledger().lane(dackFor(keys_.client, node(), 10, 1, 1))->settled, 0u);
  // A cost above 2^64-1 base units is refused the same way.
  setPrice(UINT64_MAX);
  EXPECT_EQ(submitOne(dackFor(keys_.client, node(), UINT64_MAX, 1, 2)).result,
            DackResult::kInvalid);
}

TEST_F(DackSettlementTest, OneBatchMixesOutcomesInOrder) {
  auto forged = dackFor(keys_.client, node(), 5, 1, 3);
  forged.signature.mutableBytes()[0] ^= 1;
  const Receipt r = submit({dackFor(keys_.client, node(), 100, 1, 0),
                            dackFor(keys_.client, node(), 150, 2, 0),  // same lane, later
                            dackFor(keys_.client, node(), 120, 3, 0),  // lower: stale
                            forged, dackFor(keys_.client, keyFromByte(1).publicKey(), 5, 1)});
  ASSERT_EQ(r.dacks.size(), 5u);
  EXPECT_EQ(r.dacks[0], (DackOutcome{DackResult::kPaid, 100, 100}));
  EXPECT_EQ(r.dacks[1], (DackOutcome{DackResult::kPaid, 50, 50}));
  EXPECT_EQ(r.dacks[2].result, DackResult::kNothingNew);
  EXPECT_EQ(r.dacks[3].result, DackResult::kBadSignature);
  EXPECT_EQ(r.dacks[4].result, DackResult::kWrongNode);
  auto stored = chain_.ledger().receipt(r.id);
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->dacks, r.dacks);
}

// The node's flow: verified DACKs wait in the DackQueue; the ledger applies a batch; only
// entries with a final outcome are marked settled.
TEST_F(DackSettlementTest, NodeSettlesItsQueueAfterApply) {
  testing::TempDir dir;
  auto queue = handshake::DackQueue::open({dir.path() / "dacks"});
  ASSERT_TRUE(queue) << queue.error().message;
  const auto poor = keyFromByte(0x64);  // a client without a deposit
  ASSERT_TRUE((*queue)->put(dackFor(keys_.client, node(), 100, 1, 0)));
  ASSERT_TRUE((*queue)->put(dackFor(poor, node(), 100, 1, 0)));
  auto batch = (*queue)->takeBatch(chain_.ledger().params()->max_dack_batch);
  ASSERT_TRUE(batch);
  std::vector<handshake::Dack> dacks;
  for (const auto& p : *batch) dacks.push_back(p.dack);
  const Receipt r = submit(dacks);
  ASSERT_EQ(r.status, TxStatus::kApplied);
  std::vector<handshake::DackHandle> settled;
  for (size_t i = 0; i < batch->size(); ++i) {
    if (isFinal(r.dacks[i].result)) settled.push_back((*batch)[i].handle);
  }
  ASSERT_TRUE((*queue)->markSettled(settled));
  auto left = (*queue)->list();
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().scope.client_pk, poor.publicKey());
}

}  // namespace
}  // namespace thunder::ledger
