// The Ledger with its state machine: genesis, each transaction kind, and each bad input
// refused on its own (signature, chain id, nonces, permissions, overflow).
#include "ledger/ledger.h"

#include <gtest/gtest.h>

#include "ledger/test_support.h"

namespace thunder::ledger {
namespace {

using testing::keyFromByte;
using testing::TestChain;
using testing::TestKeys;

class LedgerTest : public ::testing::Test {
 protected:
  LedgerTest() : chain_(testing::testGenesis(keys_)) {}

  Account account(const crypto::SigningKey& key) {
    return *chain_.ledger().account(key.publicKey());
  }
  Account account(const AccountId& id) { return *chain_.ledger().account(id); }

  // A transaction refused before execution changes nothing, not even the nonce.
  void expectRejected(const SignedTransaction& tx, ErrorCode code, std::string_view words) {
    const Hash32 root = chain_.ledger().stateRoot();
    const Receipt r = chain_.applyOne(tx);
    EXPECT_EQ(r.status, TxStatus::kRejected);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->code, code) << r.error->message;
    EXPECT_NE(r.error->message.find(words), std::string::npos) << r.error->message;
    EXPECT_EQ(chain_.ledger().stateRoot(), root);
    // Rejected transactions get no stored receipt (a replay keeps the original's).
    const auto stored = chain_.ledger().receipt(r.id);
    ASSERT_TRUE(stored);
    if (*stored) {
      EXPECT_NE((*stored)->height, r.height);
    }
  }

  // A transaction that fails in execution consumes its nonce and does nothing else.
  void expectFailed(const SignedTransaction& tx, ErrorCode code, std::string_view words) {
    const Account before = account(tx.tx.signer);
    const Receipt r = chain_.applyOne(tx);
    EXPECT_EQ(r.status, TxStatus::kFailed);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->code, code) << r.error->message;
    EXPECT_NE(r.error->message.find(words), std::string::npos) << r.error->message;
    Account after = account(tx.tx.signer);
    EXPECT_EQ(after.nonce, tx.tx.nonce);
    after.nonce = before.nonce;
    EXPECT_EQ(after, before);
    auto stored = chain_.ledger().receipt(r.id);
    ASSERT_TRUE(stored && *stored);
    EXPECT_EQ((*stored)->status, TxStatus::kFailed);
  }

  TestKeys keys_;
  TestChain chain_;
};

TEST_F(LedgerTest, GenesisIsDeterministicAndPartOfTheRoot) {
  TestChain again(testing::testGenesis(keys_));
  EXPECT_EQ(again.ledger().stateRoot(), chain_.ledger().stateRoot());
  EXPECT_EQ(again.ledger().headHash(), chain_.ledger().headHash());
  Genesis other = testing::testGenesis(keys_);
  other.accounts[0].balance += 1;
  TestChain different(other);
  EXPECT_NE(different.ledger().stateRoot(), chain_.ledger().stateRoot());
  EXPECT_EQ(chain_.ledger().height(), 0u);
  EXPECT_EQ(chain_.ledger().head().tx_hash, genesisHash(chain_.genesis()));
  EXPECT_TRUE(chain_.ledger().auditSupply()->balanced());
  EXPECT_EQ(chain_.ledger().supply()->total,
            1'000'000'000'000u + 100'000'000'000u + 1'000'000'000u + 1'000'000u);
}

TEST_F(LedgerTest, TransferMovesBalanceAndConsumesTheNonce) {
  const AccountId to = keyFromByte(9).publicKey();
  auto b = chain_.builder(keys_.client);
  const Receipt r = chain_.applyOne(b.transfer(to, 250));
  EXPECT_EQ(r.status, TxStatus::kApplied);
  EXPECT_EQ(account(to).balance, 250u);
  EXPECT_EQ(account(keys_.client).balance, 1'000'000'000'000u - 250);
  EXPECT_EQ(account(keys_.client).nonce, 1u);
  EXPECT_EQ(chain_.ledger().height(), 1u);
  auto stored = chain_.ledger().receipt(r.id);
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->status, TxStatus::kApplied);
  EXPECT_EQ((*stored)->height, 1u);
}

TEST_F(LedgerTest, BadSignatureIsRejected) {
  auto tx = chain_.builder(keys_.client).transfer(keyFromByte(9).publicKey(), 1);
  tx.signature.mutableBytes()[0] ^= 1;
  expectRejected(tx, ErrorCode::kPermissionDenied, "signature");
}

TEST_F(LedgerTest, SignatureByAnotherKeyIsRejected) {
  auto tx = chain_.builder(keys_.client).transfer(keyFromByte(9).publicKey(), 1);
  tx.signature = keyFromByte(9).sign(txDigest(tx.tx).bytes());
  expectRejected(tx, ErrorCode::kPermissionDenied, "signature");
}

TEST_F(LedgerTest, WrongChainIdIsRejected) {
  TxBuilder b(kDevChainId + 1, keys_.client, 1);
  expectRejected(b.transfer(keyFromByte(9).publicKey(), 1), ErrorCode::kInvalidArgument, "chain");
}

TEST_F(LedgerTest, ReusedNonceIsRejected) {
  auto b = chain_.builder(keys_.client);
  const auto first = b.transfer(keyFromByte(9).publicKey(), 1);
  EXPECT_EQ(chain_.applyOne(first).status, TxStatus::kApplied);
  expectRejected(first, ErrorCode::kInvalidArgument, "already used");  // the same bytes again
  TxBuilder again(kDevChainId, keys_.client, 1);  // a new transaction, old nonce
  expectRejected(again.transfer(keyFromByte(9).publicKey(), 2), ErrorCode::kInvalidArgument,
                 "already used");
}

TEST_F(LedgerTest, SkippedNonceIsRejected) {
  TxBuilder b(kDevChainId, keys_.client, 2);
  expectRejected(b.transfer(keyFromByte(9).publicKey(), 1), ErrorCode::kInvalidArgument,
                 "skips ahead");
}

TEST_F(LedgerTest, UndecodableBytesAreRejected) {
  auto result = chain_.applyRaw({{1, 2, 3}});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->receipts[0].status, TxStatus::kRejected);
  EXPECT_EQ(result->receipts[0].error->code, ErrorCode::kCorruption);
}

TEST_F(LedgerTest, NonGovernancePriceChangeFails) {
  expectFailed(chain_.builder(keys_.client).setPrice(Commodity::kBandwidthBytes, 99),
               ErrorCode::kPermissionDenied, "governance");
  EXPECT_EQ(*chain_.ledger().price(Commodity::kBandwidthBytes), 1u);
  EXPECT_EQ(
      chain_.applyOne(chain_.builder(keys_.governance).setPrice(Commodity::kBandwidthBytes, 99))
          .status,
      TxStatus::kApplied);
  EXPECT_EQ(*chain_.ledger().price(Commodity::kBandwidthBytes), 99u);
}

TEST_F(LedgerTest, ParamsOnlyFromGovernanceAndOnlyValid) {
  Params p = *chain_.ledger().params();
  p.min_stake = 5;
  expectFailed(chain_.builder(keys_.owner).setParams(p), ErrorCode::kPermissionDenied,
               "governance");
  Params bad = p;
  bad.node_share_bps = 9000;
  expectFailed(chain_.builder(keys_.governance).setParams(bad), ErrorCode::kInvalidArgument,
               "node_share_bps");
  bad = p;
  bad.max_dack_batch = kMaxDackBatchLimit + 1;
  expectFailed(chain_.builder(keys_.governance).setParams(bad), ErrorCode::kInvalidArgument,
               "max_dack_batch");
  EXPECT_EQ(chain_.applyOne(chain_.builder(keys_.governance).setParams(p)).status,
            TxStatus::kApplied);
  EXPECT_EQ(*chain_.ledger().params(), p);
}

TEST_F(LedgerTest, AmountOverflowIsRefused) {
  // The supply bounds every balance, so an overflow needs a supply near 2^64-1: a minted
  // amount that would overflow the supply (and the recipient) is refused.
  Genesis g = testing::testGenesis(keys_);
  const AccountId rich = keyFromByte(0x77).publicKey();
  g.accounts = {{keys_.client.publicKey(), 10, 0}, {rich, UINT64_MAX - 20, 0}};
  g.nodes.clear();
  g.faucet_cap = UINT64_MAX;
  TestChain chain(g);
  EXPECT_EQ(chain.applyOne(chain.builder(keys_.client).transfer(rich, 10)).status,
            TxStatus::kApplied);
  EXPECT_EQ(chain.ledger().account(rich)->balance, UINT64_MAX - 10);
  const Hash32 root = chain.ledger().stateRoot();
  const Receipt r = chain.applyOne(chain.builder(keys_.faucet).mint(rich, 11));
  EXPECT_EQ(r.status, TxStatus::kFailed);
  EXPECT_EQ(r.error->code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error->message.find("overflow"), std::string::npos) << r.error->message;
  EXPECT_EQ(chain.ledger().account(rich)->balance, UINT64_MAX - 10);
  EXPECT_NE(chain.ledger().stateRoot(), root);  // only the faucet's nonce moved
  EXPECT_EQ(chain.ledger().account(keys_.faucet.publicKey())->nonce, 1u);
  EXPECT_TRUE(chain.ledger().auditSupply()->balanced());
  // Zero amounts are refused too.
  EXPECT_EQ(chain.applyOne(chain.builder(keys_.client).transfer(rich, 0)).error->code,
            ErrorCode::kInvalidArgument);

  // A genesis whose allocations exceed 2^64-1 is refused.
  g.accounts.push_back({keyFromByte(0x78).publicKey(), 100, 0});
  testing::TempDir dir;
  auto refused = Ledger::open({dir.path() / "l", {}}, g);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("overflow"), std::string::npos);
}

TEST_F(LedgerTest, DepositAndWithdraw) {
  auto b = chain_.builder(keys_.client);
  EXPECT_EQ(chain_.applyOne(b.deposit(500)).status, TxStatus::kApplied);
  EXPECT_EQ(account(keys_.client).deposit, 100'000'000'000u + 500);
  EXPECT_EQ(chain_.applyOne(b.withdraw(100'000'000'500)).status, TxStatus::kApplied);
  EXPECT_EQ(account(keys_.client).deposit, 0u);
  EXPECT_EQ(account(keys_.client).balance, 1'000'000'000'000u + 100'000'000'000u);
  expectFailed(b.withdraw(1), ErrorCode::kResourceExhausted, "insufficient");
  const auto poor_key = keyFromByte(9);
  auto poor = chain_.builder(poor_key);
  expectFailed(poor.deposit(1), ErrorCode::kResourceExhausted, "insufficient");
}

TEST_F(LedgerTest, MintOnlyByTheFaucetWithinItsCap) {
  const AccountId to = keyFromByte(9).publicKey();
  expectFailed(chain_.builder(keys_.governance).mint(to, 5), ErrorCode::kPermissionDenied,
               "faucet");
  auto faucet = chain_.builder(keys_.faucet);
  const Amount total = chain_.ledger().supply()->total;
  EXPECT_EQ(chain_.applyOne(faucet.mint(to, 5)).status, TxStatus::kApplied);
  EXPECT_EQ(account(to).balance, 5u);
  EXPECT_EQ(chain_.ledger().supply()->total, total + 5);
  EXPECT_EQ(chain_.ledger().supply()->minted, 5u);
  expectFailed(faucet.mint(to, chain_.genesis().faucet_cap), ErrorCode::kResourceExhausted, "cap");
  EXPECT_TRUE(chain_.ledger().auditSupply()->balanced());

  Genesis no_faucet = testing::testGenesis(keys_);
  no_faucet.faucet = AccountId{};
  TestChain chain(no_faucet);
  const Receipt r = chain.applyOne(chain.builder(keys_.faucet).mint(to, 1));
  EXPECT_EQ(r.error->code, ErrorCode::kPermissionDenied);
}

TEST_F(LedgerTest, StakeUnstakeAndWithdrawAfterTheLock) {
  const PublicKey node = keys_.node.publicKey();
  auto owner = chain_.builder(keys_.owner);
  expectFailed(chain_.builder(keys_.client).stake(node, 10), ErrorCode::kPermissionDenied,
               "owned by");
  EXPECT_EQ(chain_.applyOne(owner.stake(node, 1000)).status, TxStatus::kApplied);
  EXPECT_EQ((*chain_.ledger().node(node))->stake, 1'001'000u);
  expectFailed(owner.unstake(node, 2'000'000), ErrorCode::kResourceExhausted, "insufficient");
  const uint64_t unstake_time = chain_.now();
  EXPECT_EQ(chain_.applyOne(owner.unstake(node, 1000)).status, TxStatus::kApplied);
  const NodeRecord record = **chain_.ledger().node(node);
  EXPECT_EQ(record.stake, 1'000'000u);
  EXPECT_EQ(record.locked, 1000u);
  EXPECT_EQ(record.unlock_at_ms, unstake_time + chain_.genesis().params.unstake_lock_ms);
  expectFailed(owner.withdrawUnstaked(node), ErrorCode::kUnavailable, "locked until");
  chain_.advanceTime(chain_.genesis().params.unstake_lock_ms);
  const Amount balance = account(keys_.owner).balance;
  EXPECT_EQ(chain_.applyOne(owner.withdrawUnstaked(node)).status, TxStatus::kApplied);
  EXPECT_EQ(account(keys_.owner).balance, balance + 1000);
  EXPECT_EQ((*chain_.ledger().node(node))->locked, 0u);
  expectFailed(owner.withdrawUnstaked(node), ErrorCode::kInvalidArgument, "no unstaked");
  EXPECT_TRUE(chain_.ledger().auditSupply()->balanced());
}

TEST_F(LedgerTest, RegisterAndUpdateNodes) {
  const auto new_node = keyFromByte(0x51);
  auto nb = chain_.builder(new_node);
  EXPECT_EQ(chain_.applyOne(nb.registerNode(keys_.client.publicKey(), {"tls://a:1"})).status,
            TxStatus::kApplied);
  auto record = **chain_.ledger().node(new_node.publicKey());
  EXPECT_EQ(record.owner, keys_.client.publicKey());
  EXPECT_EQ(record.addresses, std::vector<std::string>{"tls://a:1"});
  EXPECT_EQ(record.registered_height, chain_.ledger().height());
  expectFailed(nb.registerNode(keys_.client.publicKey(), {}), ErrorCode::kAlreadyExists, "already");
  expectFailed(
      chain_.builder(keys_.owner).updateNode(new_node.publicKey(), {}, Participation::kInactive),
      ErrorCode::kPermissionDenied, "owned by");
  EXPECT_EQ(
      chain_
          .applyOne(chain_.builder(keys_.client)
                        .updateNode(new_node.publicKey(), {"quic://b:2"}, Participation::kInactive))
          .status,
      TxStatus::kApplied);
  record = **chain_.ledger().node(new_node.publicKey());
  EXPECT_EQ(record.participation, Participation::kInactive);
  EXPECT_EQ(chain_.ledger().nodes()->size(), 2u);
  expectFailed(chain_.builder(keys_.client).stake(keyFromByte(0x52).publicKey(), 1),
               ErrorCode::kNotFound, "not registered");
}

TEST_F(LedgerTest, RegisterAndUpdateServices) {
  BlobId exe;
  exe.mutableBytes()[0] = 1;
  auto so = chain_.builder(keys_.service_owner);
  EXPECT_EQ(chain_.applyOne(so.registerService(ServiceId(9), exe, Commodity::kComputeMs)).status,
            TxStatus::kApplied);
  expectFailed(so.registerService(ServiceId(9), exe, Commodity::kComputeMs),
               ErrorCode::kAlreadyExists, "already");
  expectFailed(
      chain_.builder(keys_.client).updateService(ServiceId(9), exe, Commodity::kBandwidthBytes),
      ErrorCode::kPermissionDenied, "owned by");
  expectFailed(so.updateService(ServiceId(10), exe, Commodity::kBandwidthBytes),
               ErrorCode::kNotFound, "not registered");
  exe.mutableBytes()[0] = 2;
  EXPECT_EQ(chain_.applyOne(so.updateService(ServiceId(9), exe, Commodity::kBandwidthBytes)).status,
            TxStatus::kApplied);
  const auto service = **chain_.ledger().service(ServiceId(9));
  EXPECT_EQ(service.executable, exe);
  EXPECT_EQ(service.commodity, Commodity::kBandwidthBytes);
  EXPECT_EQ(chain_.ledger().services()->size(), 3u);
}

TEST_F(LedgerTest, AFailedTransactionDoesNotUndoTheOthersInItsBlock) {
  auto client = chain_.builder(keys_.client);
  auto result =
      chain_.apply({client.transfer(keyFromByte(9).publicKey(), 1), client.withdraw(UINT64_MAX),
                    client.transfer(keyFromByte(9).publicKey(), 2)});
  ASSERT_TRUE(result);
  EXPECT_EQ(result->receipts[0].status, TxStatus::kApplied);
  EXPECT_EQ(result->receipts[1].status, TxStatus::kFailed);
  EXPECT_EQ(result->receipts[2].status, TxStatus::kApplied);
  EXPECT_EQ(account(keyFromByte(9).publicKey()).balance, 3u);
  EXPECT_EQ(account(keys_.client).nonce, 3u);
}

TEST_F(LedgerTest, ABlockMustFollowTheHead) {
  Block block;
  block.height = 2;
  block.prev_hash = chain_.ledger().headHash();
  EXPECT_EQ(chain_.ledger().applyBlock(block).error().code, ErrorCode::kInvalidArgument);
  block.height = 1;
  block.prev_hash = Hash32{};
  EXPECT_EQ(chain_.ledger().applyBlock(block).error().code, ErrorCode::kInvalidArgument);
  block.prev_hash = chain_.ledger().headHash();
  block.timestamp_ms = 5;
  ASSERT_TRUE(chain_.ledger().applyBlock(block));
  block.height = 2;
  block.prev_hash = chain_.ledger().headHash();
  block.timestamp_ms = 4;  // going back in time
  EXPECT_EQ(chain_.ledger().applyBlock(block).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(chain_.ledger().height(), 1u);
  auto stored = chain_.ledger().block(1);
  ASSERT_TRUE(stored && *stored);
  EXPECT_EQ((*stored)->timestamp_ms, 5u);
}

TEST_F(LedgerTest, ReopeningKeepsTheStateAndRefusesAnotherGenesis) {
  auto client = chain_.builder(keys_.client);
  ASSERT_EQ(chain_.applyOne(client.transfer(keyFromByte(9).publicKey(), 7)).status,
            TxStatus::kApplied);
  const Hash32 root = chain_.ledger().stateRoot();
  const Hash32 head = chain_.ledger().headHash();
  ASSERT_TRUE(chain_.reopen());
  EXPECT_EQ(chain_.ledger().stateRoot(), root);
  EXPECT_EQ(chain_.ledger().headHash(), head);
  EXPECT_EQ(chain_.ledger().height(), 1u);
  EXPECT_EQ(account(keyFromByte(9).publicKey()).balance, 7u);

  Genesis other = chain_.genesis();
  other.chain_id += 1;
  auto refused = Ledger::open({chain_.dir() / "ledger", {}}, other);
  ASSERT_FALSE(refused);  // the first ledger is closed by reopen() only; this one is open
  EXPECT_TRUE(refused.error().code == ErrorCode::kInvalidArgument ||
              refused.error().code == ErrorCode::kUnavailable)
      << refused.error().message;
}

TEST_F(LedgerTest, AnotherGenesisIsRefusedOnOpen) {
  testing::TempDir dir;
  const Genesis g = testing::testGenesis(keys_);
  ASSERT_TRUE(Ledger::open({dir.path() / "l", {}}, g));
  Genesis other = g;
  other.chain_id += 1;
  auto refused = Ledger::open({dir.path() / "l", {}}, other);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("another genesis"), std::string::npos);
}

TEST_F(LedgerTest, TheSameDirectoryCannotBeOpenedTwice) {
  auto second = Ledger::open({chain_.dir() / "ledger", {}}, chain_.genesis());
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kUnavailable) << second.error().message;
}

}  // namespace
}  // namespace thunder::ledger

namespace thunder::ledger {
namespace {

// The test vectors of docs/protocol/ledger.md §11: an independent implementation that encodes
// the dev genesis for this node key must reach the same hash and state root.
TEST(LedgerVectorsTest, DevGenesisMatchesTheDocumentedVectors) {
  const PublicKey node = keyFromByte(0x4E).publicKey();
  EXPECT_EQ(node.hex(), "8e486e8fb79499dba2a789c6b1639d409495233c79e0eaf52e2ea1fc9dbbb73f");
  const Genesis g = devGenesis(node);
  EXPECT_EQ(devKey(DevKey::kGovernance).publicKey().hex(),
            "94c3704cad636d42af016095644060a92eec8126eb2861956b4368b35f8150b3");
  EXPECT_EQ(genesisHash(g).hex(),
            "502657676c72053d14d5c6a02db6e4be2434a8129ad2618128e299afaff0f449");
  TestChain chain(g);
  EXPECT_EQ(chain.ledger().stateRoot().hex(),
            "c9398dec0179682995fd46ced1bcb7535f51e5e0bf2bf39c676a4a661d4f23e4");
  EXPECT_EQ(chain.ledger().headHash().hex(),
            "f215d381ac25311683f24c1642ee7a4542fade18e004b71e41170846ccdf774f");
  size_t entries = 0;
  chain.ledger().forEachStateEntry([&](std::string_view, std::string_view) { ++entries; });
  EXPECT_EQ(entries, 11u);
}

}  // namespace
}  // namespace thunder::ledger
