#include "ledger/merkle.h"

#include <cstring>

#include "base/wire.h"
#include "crypto/blake3.h"

extern "C" {
#include <blake3_impl.h>  // blake3_hash_many, flags
}

namespace thunder::ledger {
namespace {

// The derive-key "context key" of kNodeContext: the key blake3_hash_many needs to hash 64-byte
// key material in derive-key mode.
struct NodeKey {
  uint32_t words[8];
  NodeKey() {
    blake3_hasher h;
    blake3_hasher_init_derive_key_raw(&h, kNodeContext.data(), kNodeContext.size());
    std::memcpy(words, h.key, sizeof(words));
  }
};

const NodeKey& nodeKey() {
  static const NodeKey key;
  return key;
}

// Parents per blake3_hash_many call (bounded stack use; wide enough for every SIMD degree).
constexpr size_t kBatch = 256;

}  // namespace

Hash32 leafHash(std::string_view key, std::string_view value) {
  WireWriter head;
  head.u32(static_cast<uint32_t>(key.size()));
  auto hasher = crypto::Blake3Hasher::deriveKey(kLeafContext);
  hasher.update(head.view());
  hasher.update({reinterpret_cast<const uint8_t*>(key.data()), key.size()});
  WireWriter mid;
  mid.u32(static_cast<uint32_t>(value.size()));
  hasher.update(mid.view());
  hasher.update({reinterpret_cast<const uint8_t*>(value.data()), value.size()});
  return Hash32(hasher.finalize().bytes());
}

Hash32 merkleNode(const Hash32& left, const Hash32& right) {
  auto hasher = crypto::Blake3Hasher::deriveKey(kNodeContext);
  hasher.update(left.bytes());
  hasher.update(right.bytes());
  return Hash32(hasher.finalize().bytes());
}

Hash32 merkleRoot(std::vector<Hash32> leaves) {
  if (leaves.empty()) {
    return Hash32(crypto::Blake3Hasher::deriveKey(kEmptyContext).finalize().bytes());
  }
  static_assert(sizeof(Hash32) == 32);
  std::vector<Hash32> next((leaves.size() + 1) / 2);
  const uint8_t* inputs[kBatch];
  size_t n = leaves.size();
  while (n > 1) {
    const size_t pairs = n / 2;
    const uint8_t* base = leaves.front().data();
    for (size_t first = 0; first < pairs; first += kBatch) {
      const size_t count = std::min(kBatch, pairs - first);
      for (size_t i = 0; i < count; ++i) inputs[i] = base + 64 * (first + i);
      // One 64-byte block per input, hashed as a whole BLAKE3 message in derive-key mode.
      blake3_hash_many(inputs, count, 1, nodeKey().words, 0, false, DERIVE_KEY_MATERIAL,
                       CHUNK_START, CHUNK_END | ROOT, next[first].data());
    }
    if (n % 2 == 1) next[pairs] = leaves[n - 1];
    n = pairs + n % 2;
    std::swap(leaves, next);
  }
  return leaves.front();
}

}  // namespace thunder::ledger
