#include "ledger/merkle.h"

#include <gtest/gtest.h>

#include <array>
#include <bit>

#include "base/wire.h"
#include "crypto/blake3.h"

namespace thunder::ledger {
namespace {

// The definition of docs/protocol/ledger.md §5, written recursively and one hash at a time.
Hash32 referenceRoot(std::span<const Hash32> leaves) {
  if (leaves.empty()) {
    return Hash32(
        crypto::Blake3Hasher::deriveKey("thunder ledger v1 state empty").finalize().bytes());
  }
  if (leaves.size() == 1) return leaves[0];
  const size_t k = std::bit_floor(leaves.size() - 1);  // largest power of two < n
  const Hash32 l = referenceRoot(leaves.subspan(0, k));
  const Hash32 r = referenceRoot(leaves.subspan(k));
  auto h = crypto::Blake3Hasher::deriveKey("thunder ledger v1 state node");
  h.update(l.bytes());
  h.update(r.bytes());
  return Hash32(h.finalize().bytes());
}

std::vector<Hash32> someLeaves(size_t n) {
  std::vector<Hash32> out;
  for (size_t i = 0; i < n; ++i) out.push_back(leafHash(fmt::format("k{}", i), "v"));
  return out;
}

TEST(MerkleTest, BatchedRootMatchesTheRecursiveDefinition) {
  for (size_t n : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 100, 255, 256, 257, 1000, 4097}) {
    SCOPED_TRACE(n);
    const auto leaves = someLeaves(n);
    EXPECT_EQ(merkleRoot(leaves), referenceRoot(leaves));
  }
}

TEST(MerkleTest, NodeIsDeriveKeyOverBothChildren) {
  const auto leaves = someLeaves(2);
  EXPECT_EQ(merkleRoot(leaves), merkleNode(leaves[0], leaves[1]));
  EXPECT_NE(merkleNode(leaves[0], leaves[1]), merkleNode(leaves[1], leaves[0]));
}

TEST(MerkleTest, LeafHashIsLengthPrefixed) {
  WireWriter w;
  w.u32(3);
  const std::array<uint8_t, 5> bytes = {'a', 'b', 'c', 'd', 'e'};
  w.bytes(std::span(bytes).first(3));
  w.u32(2);
  w.bytes(std::span(bytes).last(2));
  auto h = crypto::Blake3Hasher::deriveKey("thunder ledger v1 state leaf");
  h.update(w.view());
  EXPECT_EQ(leafHash("abc", "de"), Hash32(h.finalize().bytes()));
  // Moving a byte between key and value changes the leaf.
  EXPECT_NE(leafHash("abc", "de"), leafHash("ab", "cde"));
}

TEST(MerkleTest, EveryLeafAndItsOrderMatter) {
  auto leaves = someLeaves(9);
  const Hash32 root = merkleRoot(leaves);
  for (size_t i = 0; i < leaves.size(); ++i) {
    auto changed = leaves;
    changed[i].mutableBytes()[31] ^= 1;
    EXPECT_NE(merkleRoot(changed), root) << i;
  }
  std::swap(leaves[2], leaves[3]);
  EXPECT_NE(merkleRoot(leaves), root);
  leaves.pop_back();
  EXPECT_NE(merkleRoot(leaves), root);
}

}  // namespace
}  // namespace thunder::ledger
