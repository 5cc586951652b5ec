#include "ledger/ledger_json.h"

#include <gtest/gtest.h>

#include "ledger/test_support.h"

namespace thunder::ledger {
namespace {

using nlohmann::json;
using testing::dackFor;
using testing::keyFromByte;

TEST(LedgerJsonTest, EveryTransactionKindRoundTrips) {
  const auto key = keyFromByte(1);
  TxBuilder b(7, key, 1);
  const PublicKey other = keyFromByte(2).publicKey();
  BlobId exe;
  exe.mutableBytes()[3] = 3;
  Params params;
  params.treasury = other;
  const std::vector<SignedTransaction> txs = {
      b.transfer(other, UINT64_MAX),
      b.deposit(6),
      b.withdraw(7),
      b.mint(other, 8),
      b.stake(other, 9),
      b.unstake(other, 10),
      b.withdrawUnstaked(other),
      b.registerNode(other, {"tls://x:1"}),
      b.updateNode(other, {}, Participation::kInactive),
      b.registerService(ServiceId(42), exe, Commodity::kComputeMs),
      b.updateService(ServiceId(42), exe, Commodity::kBandwidthBytes),
      b.setPrice(Commodity::kComputeMs, 123),
      b.setParams(params),
      b.submitDacks({dackFor(keyFromByte(3), key.publicKey(), 1000, 1)}),
      b.endEpoch(4)};
  for (const auto& stx : txs) {
    const json j = toJson(stx);
    SCOPED_TRACE(j.dump());
    // Through text, as an endpoint sees it.
    auto tx = transactionFromJson(json::parse(j.dump()));
    ASSERT_TRUE(tx) << tx.error().message;
    EXPECT_EQ(*tx, stx.tx);
    EXPECT_EQ(j["id"], txDigest(stx.tx).hex());
    auto signed_back = signedTransactionFromJson(j);  // uses "hex"
    ASSERT_TRUE(signed_back) << signed_back.error().message;
    EXPECT_EQ(*signed_back, stx);
  }
  EXPECT_EQ(toJson(txs[0])["amount"], "18446744073709551615");  // a string: exact in JS too
}

TEST(LedgerJsonTest, GenesisRoundTrips) {
  const Genesis g = devGenesis(keyFromByte(4).publicKey());
  auto back = genesisFromJson(json::parse(toJson(g).dump()));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, g);
  EXPECT_EQ(genesisHash(*back), genesisHash(g));
}

TEST(LedgerJsonTest, MalformedInputIsAnErrorNotAnException) {
  json j = toJson(TxBuilder(7, keyFromByte(1), 1).transfer(keyFromByte(2).publicKey(), 5).tx);
  for (const char* field : {"chain_id", "signer", "nonce", "kind", "to", "amount"}) {
    json broken = j;
    broken.erase(field);
    auto r = transactionFromJson(broken);
    ASSERT_FALSE(r) << field;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find(field), std::string::npos) << r.error().message;
  }
  json wrong = j;
  wrong["amount"] = -5;
  EXPECT_FALSE(transactionFromJson(wrong));
  wrong["amount"] = "18446744073709551616";  // 2^64
  EXPECT_FALSE(transactionFromJson(wrong));
  wrong["amount"] = "12x";
  EXPECT_FALSE(transactionFromJson(wrong));
  wrong = j;
  wrong["signer"] = "abcd";
  EXPECT_FALSE(transactionFromJson(wrong));
  wrong = j;
  wrong["kind"] = "steal";
  EXPECT_NE(transactionFromJson(wrong).error().message.find("unknown"), std::string::npos);
  EXPECT_FALSE(transactionFromJson(json::array()));
  EXPECT_FALSE(transactionFromJson(json(5)));

  // Node addresses the wire refuses are refused here (not an abort in the encoder).
  json node =
      toJson(TxBuilder(7, keyFromByte(1), 1).registerNode(keyFromByte(2).publicKey(), {}).tx);
  node["addresses"] = json::array({"has space"});
  EXPECT_EQ(transactionFromJson(node).error().code, ErrorCode::kInvalidArgument);
  node["addresses"] = json::array({1});
  EXPECT_FALSE(transactionFromJson(node));

  EXPECT_EQ(signedTransactionFromJson(json("zz")).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(signedTransactionFromJson(json("0102")).error().code, ErrorCode::kCorruption);
  json genesis = toJson(devGenesis(keyFromByte(4).publicKey()));
  genesis["params"]["node_share_bps"] = 1;  // shares no longer sum to 10000
  EXPECT_EQ(genesisFromJson(genesis).error().code, ErrorCode::kInvalidArgument);
  genesis["params"] = "x";
  EXPECT_FALSE(genesisFromJson(genesis));
}

TEST(LedgerJsonTest, QueryResultsHaveStableFields) {
  testing::TestKeys keys;
  testing::TestChain chain(testing::testGenesis(keys));
  Ledger& ledger = chain.ledger();
  const json account = toJson(*ledger.account(keys.client.publicKey()));
  EXPECT_EQ(account,
            json::parse(R"({"balance":"1000000000000","nonce":0,"deposit":"100000000000"})"));
  const json node = toJson(**ledger.node(keys.node.publicKey()));
  EXPECT_EQ(node["stake"], "1000000");
  EXPECT_EQ(node["participation"], "active");
  EXPECT_EQ(toJson(**ledger.service(ServiceId(1)))["commodity"], "bandwidth_bytes");
  EXPECT_EQ(toJson(*ledger.params())["max_dack_batch"], 1000);
  EXPECT_EQ(toJson(*ledger.auditSupply())["balanced"], true);
  EXPECT_EQ(toJson(ledger.head())["state_root"], ledger.stateRoot().hex());

  auto result = chain.apply({chain.builder(keys.node).submitDacks(
      {dackFor(keys.client, keys.node.publicKey(), 5'000'000, 1)})});
  ASSERT_TRUE(result);
  const json block = toJson(*result);
  EXPECT_EQ(block["receipts"][0]["status"], "applied");
  EXPECT_EQ(block["receipts"][0]["error"], nullptr);
  EXPECT_EQ(block["receipts"][0]["dacks"][0]["result"], "paid");
  EXPECT_EQ(block["receipts"][0]["dacks"][0]["final"], true);
  EXPECT_EQ(block["receipts"][0]["dacks"][0]["charged"], "5");
  const Receipt failed =
      chain.applyOne(chain.builder(keys.client).setPrice(Commodity::kComputeMs, 1));
  EXPECT_EQ(toJson(failed)["error"]["code"], "permission_denied");
}

}  // namespace
}  // namespace thunder::ledger
