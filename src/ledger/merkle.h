// The state root: a binary Merkle tree with BLAKE3 over every (key, value) of the ledger state
// in key order (docs/protocol/ledger.md §5).
//
//   leaf(k, v)  = BLAKE3-derive-key("thunder ledger v1 state leaf",
//                                   u32 len(k) ‖ k ‖ u32 len(v) ‖ v)
//   node(l, r)  = BLAKE3-derive-key("thunder ledger v1 state node", l ‖ r)
//   root([])    = BLAKE3-derive-key("thunder ledger v1 state empty", "")
//   root([x])   = x;  root(L) = node(root(L[0:k]), root(L[k:n])), k the largest power of two < n
//
// (the shape of RFC 6962's Merkle tree hash, BLAKE3 contexts instead of its 0x00/0x01
// prefixes). merkleRoot() computes each level with the SIMD blake3_hash_many of the official C
// sources, pairing neighbours and carrying an odd last node up unchanged, which yields exactly
// that shape. Pure functions, any thread.
#pragma once

#include <string_view>
#include <vector>

#include "ledger/types.h"

namespace thunder::ledger {

Hash32 leafHash(std::string_view key, std::string_view value);

// The root over `leaves` (leaf hashes in key order). Consumes its argument as scratch space.
Hash32 merkleRoot(std::vector<Hash32> leaves);

// node(left, right), one pair at a time: the reference for merkleRoot()'s batched levels.
Hash32 merkleNode(const Hash32& left, const Hash32& right);

}  // namespace thunder::ledger
