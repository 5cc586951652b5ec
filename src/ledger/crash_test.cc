// Crash safety: a block is applied in one atomic RocksDB batch, so an error or a kill -9 at
// any moment leaves the state of the last block whose batch was written, and the reopened
// ledger verifies its state against the recorded root.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "ledger/ledger.h"
#include "ledger/state_access.h"
#include "ledger/test_support.h"

namespace thunder::ledger {
namespace {

using testing::keyFromByte;
using testing::TestKeys;

const AccountId kRecipient = keyFromByte(9).publicKey();

// Block `height` of the test chain: one transfer of `height` units from the dev client.
Block blockAt(const Ledger& ledger, const Genesis& genesis, const crypto::SigningKey& client) {
  const uint64_t height = ledger.height() + 1;
  TxBuilder b(genesis.chain_id, client, height);
  Block block;
  block.height = height;
  block.prev_hash = ledger.headHash();
  block.timestamp_ms = height * 1000;
  block.transactions.push_back(encodeSignedTransaction(b.transfer(kRecipient, height)));
  return block;
}

// Units received after blocks 1..h: 1 + 2 + ... + h.
Amount receivedAfter(uint64_t h) {
  return h * (h + 1) / 2;
}

class CrashTest : public ::testing::Test {
 protected:
  std::filesystem::path path() const { return dir_.path() / "ledger"; }

  // Waits for `child` and expects it to have died of SIGKILL.
  static void expectKilled(pid_t child) {
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    ASSERT_EQ(WTERMSIG(status), SIGKILL);
  }

  TestKeys keys_;
  Genesis genesis_ = testing::testGenesis(keys_);
  testing::TempDir dir_{::testing::TempDir()};
};

TEST_F(CrashTest, AnInjectedFailureBeforeTheCommitLeavesThePreviousBlock) {
  bool fail_next = false;
  auto ledger = Ledger::open({path(),
                              [&]() -> Result<void> {
                                if (fail_next) return fail(ErrorCode::kIoError, "injected");
                                return {};
                              }},
                             genesis_);
  ASSERT_TRUE(ledger) << ledger.error().message;
  ASSERT_TRUE((*ledger)->applyBlock(blockAt(**ledger, genesis_, keys_.client)));
  const BlockHeader head = (*ledger)->head();
  const Account client = *(*ledger)->account(keys_.client.publicKey());

  fail_next = true;
  const Block second = blockAt(**ledger, genesis_, keys_.client);
  auto failed = (*ledger)->applyBlock(second);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kIoError);
  EXPECT_EQ((*ledger)->head(), head);
  EXPECT_EQ(*(*ledger)->account(keys_.client.publicKey()), client);
  EXPECT_EQ((*ledger)->account(kRecipient)->balance, receivedAfter(1));
  EXPECT_FALSE(*(*ledger)->block(2));

  // The same block applies once the disk works again.
  fail_next = false;
  ASSERT_TRUE((*ledger)->applyBlock(second));
  EXPECT_EQ((*ledger)->account(kRecipient)->balance, receivedAfter(2));
  const Hash32 root = (*ledger)->stateRoot();
  ledger->reset();
  auto reopened = Ledger::open({path(), {}}, genesis_);
  ASSERT_TRUE(reopened) << reopened.error().message;
  EXPECT_EQ((*reopened)->stateRoot(), root);
  EXPECT_EQ((*reopened)->height(), 2u);
}

TEST_F(CrashTest, Kill9RightBeforeTheBatchIsWrittenLeavesThePreviousBlock) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Commit 1 is the genesis, commit 2 block 1; the process dies inside commit 3 (block 2),
    // after executing it and just before RocksDB gets its batch.
    int commits = 0;
    auto ledger = Ledger::open({path(),
                                [&]() -> Result<void> {
                                  if (++commits == 3) ::raise(SIGKILL);
                                  return {};
                                }},
                               genesis_);
    if (!ledger) ::_exit(2);
    for (int i = 0; i < 3; ++i) {
      if (!(*ledger)->applyBlock(blockAt(**ledger, genesis_, keys_.client))) ::_exit(3);
    }
    ::_exit(4);
  }
  ASSERT_NO_FATAL_FAILURE(expectKilled(child));

  auto ledger = Ledger::open({path(), {}}, genesis_);  // verifies the root against the head
  ASSERT_TRUE(ledger) << ledger.error().message;
  EXPECT_EQ((*ledger)->height(), 1u);
  EXPECT_EQ((*ledger)->account(kRecipient)->balance, receivedAfter(1));
  EXPECT_EQ((*ledger)->account(keys_.client.publicKey())->nonce, 1u);
  EXPECT_FALSE(*(*ledger)->block(2));
  // And the chain goes on from there.
  ASSERT_TRUE((*ledger)->applyBlock(blockAt(**ledger, genesis_, keys_.client)));
  EXPECT_EQ((*ledger)->account(kRecipient)->balance, receivedAfter(2));
}

TEST_F(CrashTest, Kill9AtAnArbitraryMomentLeavesAConsistentPrefixOfTheLog) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    auto ledger = Ledger::open({path(), {}}, genesis_);
    if (!ledger) ::_exit(2);
    for (;;) {  // until killed
      if (!(*ledger)->applyBlock(blockAt(**ledger, genesis_, keys_.client))) ::_exit(3);
      const uint64_t height = (*ledger)->height();
      if (::write(fds[1], &height, sizeof height) != sizeof height) ::_exit(4);
    }
  }
  ::close(fds[1]);
  uint64_t reported = 0;
  while (reported < 20) {  // let it run a while; the kill then lands anywhere in a block
    ASSERT_EQ(::read(fds[0], &reported, sizeof reported), static_cast<ssize_t>(sizeof reported));
  }
  ::kill(child, SIGKILL);
  ::close(fds[0]);
  ASSERT_NO_FATAL_FAILURE(expectKilled(child));

  auto ledger = Ledger::open({path(), {}}, genesis_);
  ASSERT_TRUE(ledger) << ledger.error().message;
  const uint64_t height = (*ledger)->height();
  EXPECT_GE(height, reported);  // a block it reported is durable (synced)
  EXPECT_EQ((*ledger)->account(kRecipient)->balance, receivedAfter(height));
  EXPECT_TRUE((*ledger)->auditSupply()->balanced());

  // Replaying the surviving log from genesis into a fresh database reaches the same root.
  testing::TempDir fresh(::testing::TempDir());
  auto replica = Ledger::open({fresh.path() / "ledger", {}}, genesis_);
  ASSERT_TRUE(replica);
  for (uint64_t h = 1; h <= height; ++h) {
    auto block = (*ledger)->block(h);
    ASSERT_TRUE(block && *block) << h;
    auto applied = (*replica)->applyBlock(**block);
    ASSERT_TRUE(applied) << applied.error().message;
    EXPECT_EQ(applied->header.state_root, (*(*ledger)->header(h))->state_root) << h;
  }
  EXPECT_EQ((*replica)->stateRoot(), (*ledger)->stateRoot());
  EXPECT_EQ((*replica)->headHash(), (*ledger)->headHash());
}

TEST_F(CrashTest, ACorruptedStateIsDetectedOnOpen) {
  {
    auto ledger = Ledger::open({path(), {}}, genesis_);
    ASSERT_TRUE(ledger);
    ASSERT_TRUE((*ledger)->applyBlock(blockAt(**ledger, genesis_, keys_.client)));
  }
  // Change one state value behind the ledger's back.
  {
    auto store = StateStore::open({path(), {}});
    ASSERT_TRUE(store);
    StateOverlay state(**store);
    writeAccount(state, kRecipient, Account{999, 0, 0});
    ASSERT_TRUE((*store)->commit((*store)->prepare(std::move(state).takeWrites()), {}));
  }
  auto ledger = Ledger::open({path(), {}}, genesis_);
  ASSERT_FALSE(ledger);
  EXPECT_EQ(ledger.error().code, ErrorCode::kCorruption);
  EXPECT_NE(ledger.error().message.find("does not match"), std::string::npos);
}

}  // namespace
}  // namespace thunder::ledger
