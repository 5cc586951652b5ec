#include "ledger/local_orderer.h"

#include <gtest/gtest.h>

#include "ledger/test_support.h"

namespace thunder::ledger {
namespace {

using testing::keyFromByte;
using testing::TestChain;
using testing::TestKeys;

class LocalOrdererTest : public ::testing::Test {
 protected:
  LocalOrdererTest()
      : chain_(testing::testGenesis(keys_), LedgerOptions{{}, [this]() -> Result<void> {
                                                            if (fail_commits_) {
                                                              return fail(ErrorCode::kIoError,
                                                                          "injected write failure");
                                                            }
                                                            return {};
                                                          }}) {}

  TestKeys keys_;
  bool fail_commits_ = false;
  TestChain chain_;
  const AccountId to_ = keyFromByte(9).publicKey();
};

TEST_F(LocalOrdererTest, QueuesAndAppliesInSubmissionOrder) {
  LocalOrderer orderer(chain_.ledger());
  auto client = chain_.builder(keys_.client);
  const auto t1 = client.transfer(to_, 1);
  const auto t2 = client.transfer(to_, 2);  // nonce 2 while nonce 1 is only queued
  auto r1 = orderer.submit(t1);
  ASSERT_TRUE(r1) << r1.error().message;
  auto r2 = orderer.submit(t2);
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_EQ(r1->id, txDigest(t1.tx));
  EXPECT_EQ(r2->queued, 2u);
  EXPECT_EQ(chain_.ledger().height(), 0u);

  auto block = orderer.produceBlock(5000);
  ASSERT_TRUE(block) << block.error().message;
  ASSERT_TRUE(*block);
  EXPECT_EQ((*block)->header.height, 1u);
  EXPECT_EQ((*block)->header.timestamp_ms, 5000u);
  ASSERT_EQ((*block)->receipts.size(), 2u);
  EXPECT_EQ((*block)->receipts[1].status, TxStatus::kApplied);
  EXPECT_EQ(orderer.queued(), 0u);
  EXPECT_EQ(chain_.ledger().account(to_)->balance, 3u);
  auto receipt = chain_.ledger().receipt(r2->id);
  ASSERT_TRUE(receipt && *receipt);
  EXPECT_EQ((*receipt)->index, 1u);

  // Nothing queued: no block.
  auto none = orderer.produceBlock(6000);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_EQ(chain_.ledger().height(), 1u);
}

TEST_F(LocalOrdererTest, RefusesBadTransactionsAtSubmission) {
  LocalOrderer orderer(chain_.ledger());
  auto client = chain_.builder(keys_.client);
  auto bad_sig = client.transfer(to_, 1);
  bad_sig.signature.mutableBytes()[3] ^= 1;
  EXPECT_EQ(orderer.submit(bad_sig).error().code, ErrorCode::kPermissionDenied);
  TxBuilder other_chain(kDevChainId + 1, keys_.client, 1);
  EXPECT_EQ(orderer.submit(other_chain.transfer(to_, 1)).error().code, ErrorCode::kInvalidArgument);
  TxBuilder skipping(kDevChainId, keys_.client, 3);
  auto skipped = orderer.submit(skipping.transfer(to_, 1));
  EXPECT_NE(skipped.error().message.find("skips ahead"), std::string::npos);
  TxBuilder first(kDevChainId, keys_.client, 1);
  const auto tx = first.transfer(to_, 1);
  ASSERT_TRUE(orderer.submit(tx));
  auto reused = orderer.submit(tx);  // same nonce, still only queued
  EXPECT_NE(reused.error().message.find("already used"), std::string::npos);
  EXPECT_EQ(orderer.queued(), 1u);
}

TEST_F(LocalOrdererTest, BoundsTheQueueAndTheBlock) {
  LocalOrderer orderer(chain_.ledger(), {.max_queued = 3, .max_block_transactions = 2});
  auto client = chain_.builder(keys_.client);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(orderer.submit(client.transfer(to_, 1)));
  EXPECT_EQ(orderer.submit(client.transfer(to_, 1)).error().code, ErrorCode::kResourceExhausted);
  auto block = orderer.produceBlock(1);
  ASSERT_TRUE(block && *block);
  EXPECT_EQ((*block)->receipts.size(), 2u);
  EXPECT_EQ(orderer.queued(), 1u);
  block = orderer.produceBlock(2);
  ASSERT_TRUE(block && *block);
  EXPECT_EQ((*block)->receipts.size(), 1u);
  EXPECT_EQ(chain_.ledger().account(keys_.client.publicKey())->nonce, 3u);
}

TEST_F(LocalOrdererTest, AFailedCommitKeepsTheQueue) {
  LocalOrderer orderer(chain_.ledger());
  auto client = chain_.builder(keys_.client);
  ASSERT_TRUE(orderer.submit(client.transfer(to_, 1)));
  ASSERT_TRUE(orderer.submit(client.transfer(to_, 2)));
  const Hash32 root = chain_.ledger().stateRoot();
  fail_commits_ = true;
  auto failed = orderer.produceBlock(1);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kIoError);
  EXPECT_EQ(orderer.queued(), 2u);
  EXPECT_EQ(chain_.ledger().stateRoot(), root);
  EXPECT_EQ(chain_.ledger().height(), 0u);
  // Submission continues with the queued nonces in mind.
  ASSERT_TRUE(orderer.submit(client.transfer(to_, 3)));
  fail_commits_ = false;
  auto block = orderer.produceBlock(2);
  ASSERT_TRUE(block && *block);
  EXPECT_EQ((*block)->receipts.size(), 3u);
  EXPECT_EQ(chain_.ledger().account(to_)->balance, 6u);
}

TEST_F(LocalOrdererTest, EndsTheEpochWhenDueWithItsKey) {
  Params p = *chain_.ledger().params();
  p.epoch_length_ms = 10'000;
  ASSERT_EQ(chain_.applyOne(chain_.builder(keys_.governance).setParams(p)).status,
            TxStatus::kApplied);
  const uint64_t start = chain_.ledger().epoch()->start_time_ms;  // the genesis time
  const auto epoch_key = keyFromByte(0x33);
  LocalOrderer orderer(chain_.ledger(), {.epoch_key = &epoch_key});
  // The epoch began at genesis time 0 and the head is at 1,000,000 ms: due at once.
  ASSERT_LT(start + 10'000, chain_.now());
  auto block = orderer.produceBlock(chain_.now());
  ASSERT_TRUE(block && *block) << (block ? "" : block.error().message);
  ASSERT_EQ((*block)->receipts.size(), 1u);
  EXPECT_EQ((*block)->receipts[0].status, TxStatus::kApplied);
  EXPECT_EQ(chain_.ledger().epoch()->epoch, 1u);
  // Not due again until 10 s later; a queued transaction goes first, then the epoch's end.
  auto none = orderer.produceBlock(chain_.now() + 5'000);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  auto signer = chain_.builder(epoch_key);
  ASSERT_TRUE(orderer.submit(signer.transfer(to_, 0)));  // fails in execution, uses a nonce
  block = orderer.produceBlock(chain_.now() + 10'000);
  ASSERT_TRUE(block && *block);
  ASSERT_EQ((*block)->receipts.size(), 2u);
  EXPECT_EQ((*block)->receipts[1].status, TxStatus::kApplied);
  EXPECT_EQ(chain_.ledger().epoch()->epoch, 2u);
  EXPECT_TRUE(*chain_.ledger().epochSummary(1));
}

}  // namespace
}  // namespace thunder::ledger
