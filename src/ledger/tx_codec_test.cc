#include "ledger/tx_codec.h"

#include <gtest/gtest.h>

#include "base/hex.h"
#include "crypto/blake3.h"
#include "ledger/test_support.h"

namespace thunder::ledger {
namespace {

using testing::dackFor;
using testing::keyFromByte;

// One transaction of every kind, signed by `key`.
std::vector<SignedTransaction> everyKind(const crypto::SigningKey& key) {
  TxBuilder b(7, key, 1);
  const PublicKey other = keyFromByte(2).publicKey();
  BlobId exe;
  exe.mutableBytes()[0] = 0xEE;
  Params params;
  params.treasury = other;
  return {
      b.transfer(other, 5),
      b.deposit(6),
      b.withdraw(7),
      b.mint(other, 8),
      b.stake(other, 9),
      b.unstake(other, 10),
      b.withdrawUnstaked(other),
      b.registerNode(other, {"tls://203.0.113.5:4430", "quic://[2001:db8::1]:4433"}),
      b.updateNode(other, {}, Participation::kInactive),
      b.registerService(ServiceId(42), exe, Commodity::kComputeMs),
      b.updateService(ServiceId(42), exe, Commodity::kBandwidthBytes),
      b.setPrice(Commodity::kComputeMs, 123),
      b.setParams(params),
      b.submitDacks({dackFor(keyFromByte(3), key.publicKey(), 1000, 1),
                     dackFor(keyFromByte(3), key.publicKey(), 2000, 2, 1)}),
      b.endEpoch(4),
  };
}

TEST(TxCodecTest, EveryKindRoundTripsAndVerifies) {
  const auto key = keyFromByte(1);
  const auto txs = everyKind(key);
  ASSERT_EQ(txs.size(), std::variant_size_v<TxBody>);
  for (size_t i = 0; i < txs.size(); ++i) {
    SCOPED_TRACE(txKindName(kindOf(txs[i].tx.body)));
    EXPECT_EQ(static_cast<size_t>(kindOf(txs[i].tx.body)), i + 1);
    const auto bytes = encodeSignedTransaction(txs[i]);
    auto decoded = decodeSignedTransaction(bytes);
    ASSERT_TRUE(decoded) << decoded.error().message;
    EXPECT_EQ(*decoded, txs[i]);
    EXPECT_TRUE(verifyTransactionSignature(*decoded));
    EXPECT_TRUE(checkEncodable(decoded->tx));
  }
}

TEST(TxCodecTest, TransferEncodingIsByteExact) {
  // The worked example of docs/protocol/ledger.md §3.4.
  const auto key = keyFromByte(1);
  TxBuilder b(1337, key, 1);
  const auto tx = b.transfer(keyFromByte(2).publicKey(), 1'000'000);
  const std::string body_hex = toHex(encodeTransaction(tx.tx));
  EXPECT_EQ(body_hex,
            "01"                                      // version
            "3905000000000000"                        // chain id
                + key.publicKey().hex() +             // signer
                "0100000000000000"                    // nonce
                "01"                                  // kind
                + keyFromByte(2).publicKey().hex() +  // to
                "40420f0000000000");                  // amount
  auto hasher = crypto::Blake3Hasher::deriveKey("thunder ledger v1 tx");
  hasher.update(encodeTransaction(tx.tx));
  EXPECT_EQ(txDigest(tx.tx).hex(), hasher.finalize().hex());
  EXPECT_EQ(txDigest(tx.tx).hex(),
            "6b27a741e07720242af85d9bdb2cf1eafea66118122c5c9963ede6a461faf87c");
  EXPECT_EQ(tx.signature.hex(),
            "59739754e8af153c473748e5bb948952c250a2f5be3eecaa8728c6e29014fbbb"
            "7b749d0cef4d1f4f073745272cd823447f7f272698c46b45dcd88240179d5e07");
  EXPECT_EQ(encodeSignedTransaction(tx).size(), 50u + 40u + 64u);
}

TEST(TxCodecTest, RejectsTrailingBytesAndTruncation) {
  const auto txs = everyKind(keyFromByte(1));
  for (const auto& tx : txs) {
    auto bytes = encodeSignedTransaction(tx);
    auto longer = bytes;
    longer.push_back(0);
    EXPECT_EQ(decodeSignedTransaction(longer).error().code, ErrorCode::kCorruption);
    for (size_t cut = 0; cut < bytes.size(); cut += 7) {
      auto shorter = std::vector<uint8_t>(bytes.begin(), bytes.begin() + cut);
      EXPECT_FALSE(decodeSignedTransaction(shorter)) << "cut at " << cut;
    }
  }
}

TEST(TxCodecTest, RejectsBadEnumValues) {
  const auto key = keyFromByte(1);
  TxBuilder b(7, key, 1);
  constexpr size_t kKindOffset = 1 + 8 + 32 + 8;

  auto transfer = encodeSignedTransaction(b.transfer(keyFromByte(2).publicKey(), 1));
  for (uint8_t kind : {0, 16, 255}) {
    auto bytes = transfer;
    bytes[kKindOffset] = kind;
    auto r = decodeSignedTransaction(bytes);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("unknown kind"), std::string::npos) << r.error().message;
  }
  auto version = transfer;
  version[0] = 2;
  EXPECT_EQ(decodeSignedTransaction(version).error().code, ErrorCode::kCorruption);

  auto price = encodeSignedTransaction(b.setPrice(Commodity::kComputeMs, 1));
  price[kKindOffset + 1] = 3;  // commodity
  EXPECT_NE(decodeSignedTransaction(price).error().message.find("commodity"), std::string::npos);

  auto node = encodeSignedTransaction(b.registerNode(keyFromByte(2).publicKey(), {}));
  node[kKindOffset + 1 + 32] = 0;  // participation
  EXPECT_NE(decodeSignedTransaction(node).error().message.find("participation"), std::string::npos);
}

TEST(TxCodecTest, RejectsOversizeFields) {
  const auto key = keyFromByte(1);
  TxBuilder b(7, key, 1);
  constexpr size_t kBody = 1 + 8 + 32 + 8 + 1;

  // Nine addresses: count byte 9.
  auto node = encodeSignedTransaction(b.registerNode(keyFromByte(2).publicKey(), {"a"}));
  node[kBody + 32 + 1] = 9;
  EXPECT_EQ(decodeSignedTransaction(node).error().code, ErrorCode::kCorruption);

  // An address of 129 bytes.
  Transaction raw{7, key.publicKey(), 1,
                  RegisterNode{keyFromByte(2).publicKey(), Participation::kActive, {"x"}}};
  auto bytes = encodeTransaction(raw);
  bytes[kBody + 32 + 2] = 129;
  bytes.insert(bytes.begin() + kBody + 32 + 3, 128, 'x');
  bytes.resize(bytes.size() + 64);
  EXPECT_EQ(decodeSignedTransaction(bytes).error().code, ErrorCode::kCorruption);

  // A non-printable address byte.
  auto ctl = encodeSignedTransaction(b.registerNode(keyFromByte(2).publicKey(), {"ab"}));
  ctl[kBody + 32 + 3] = '\n';
  EXPECT_EQ(decodeSignedTransaction(ctl).error().code, ErrorCode::kCorruption);

  // A DACK count above the limit, and a DACK length above the DACK maximum.
  auto dacks = encodeSignedTransaction(b.submitDacks({dackFor(keyFromByte(3), {}, 1, 1)}));
  auto many = dacks;
  many[kBody] = 0x01;
  many[kBody + 1] = 0x10;  // 4097
  EXPECT_EQ(decodeSignedTransaction(many).error().code, ErrorCode::kCorruption);
  auto longer = dacks;
  longer[kBody + 2] = 237;
  EXPECT_EQ(decodeSignedTransaction(longer).error().code, ErrorCode::kCorruption);

  // Anything above the size limit is refused before parsing.
  std::vector<uint8_t> huge(kMaxTransactionSize + 1, 0);
  EXPECT_EQ(decodeSignedTransaction(huge).error().code, ErrorCode::kCorruption);
}

TEST(TxCodecTest, CheckEncodableRefusesWhatTheDecoderWould) {
  Transaction tx{7, keyFromByte(1).publicKey(), 1,
                 RegisterNode{{}, Participation::kActive, {"ok", "has space"}}};
  EXPECT_EQ(checkEncodable(tx).error().code, ErrorCode::kInvalidArgument);
  tx.body = UpdateNode{{}, Participation::kActive, std::vector<std::string>(9, "a")};
  EXPECT_EQ(checkEncodable(tx).error().code, ErrorCode::kInvalidArgument);
  tx.body = SubmitDacks{std::vector<handshake::Dack>(kMaxDackBatchLimit + 1)};
  EXPECT_EQ(checkEncodable(tx).error().code, ErrorCode::kInvalidArgument);
}

TEST(TxCodecTest, SignatureCoversEveryField) {
  const auto key = keyFromByte(1);
  TxBuilder b(7, key, 1);
  const auto tx = b.transfer(keyFromByte(2).publicKey(), 5);
  auto bytes = encodeSignedTransaction(tx);
  for (size_t i = 0; i < bytes.size() - 64; ++i) {
    auto flipped = bytes;
    flipped[i] ^= 0x01;
    auto decoded = decodeSignedTransaction(flipped);
    if (!decoded) continue;  // e.g. the kind byte
    EXPECT_FALSE(verifyTransactionSignature(*decoded)) << "byte " << i;
  }
  auto forged = tx;
  forged.signature.mutableBytes()[5] ^= 0x40;
  EXPECT_EQ(verifyTransactionSignature(forged).error().code, ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace thunder::ledger
