// The BLAKE3 tree at chunk-group granularity: group chaining values, parent nodes, outboards.
//
// A blob is cut into 16 KiB chunk groups (16 BLAKE3 chunks of 1 KiB; bao-tree chunk_log = 4).
// Above the groups sits the standard BLAKE3 tree (the left subtree of every node holds the
// largest power-of-two number of groups smaller than the node's total), so the root equals the
// plain BLAKE3 hash of the blob (what `b3sum` prints, the BlobId). The *outboard* is the list of
// parent nodes above group level (64 bytes each: left CV ‖ right CV) in pre-order; a blob of at
// most one group has an empty outboard. Format: docs/formats/outboard.md.
//
// Everything here is pure computation except hashFile(), which reads a file (blocking: call it
// off the event loop). Free functions are thread-safe; a TreeHasher belongs to one thread at a
// time. Nothing here allocates per group.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"

namespace thunder::crypto {

inline constexpr uint64_t kChunkSize = 1024;
inline constexpr uint64_t kChunksPerGroup = 16;
inline constexpr uint64_t kGroupSize = kChunkSize * kChunksPerGroup;  // 16 KiB
inline constexpr uint64_t kParentSize = 64;                           // left CV ‖ right CV

// A 32-byte BLAKE3 chaining value (the root's is the BlobId).
using ChainingValue = std::array<uint8_t, 32>;

// Whether a node is the root of the whole tree (BLAKE3 ROOT flag) or an inner node.
enum class NodeRole { kInner, kRoot };

// How many threads hashBlob()/hashFile() may use. kTwoThreads hashes the two subtrees under the
// root concurrently (for blobs of at least 1 MiB) and returns the same bytes.
enum class HashParallelism { kSingleThread, kTwoThreads };

// Number of leaves (chunk groups) of the tree of a blob of `size` bytes: 1 for size 0.
constexpr uint64_t groupCount(uint64_t size) {
  return size == 0 ? 1 : size / kGroupSize + (size % kGroupSize != 0 ? 1 : 0);
}

// Bytes in group `index` of a blob of `size` bytes. Precondition: index < groupCount(size).
constexpr uint64_t groupLength(uint64_t size, uint64_t index) {
  const uint64_t start = index * kGroupSize;
  return size - start < kGroupSize ? size - start : kGroupSize;
}

// Outboard size of a blob of `size` bytes: 64 * (groupCount(size) - 1).
constexpr uint64_t outboardSize(uint64_t size) {
  return kParentSize * (groupCount(size) - 1);
}

// Number of groups in the left subtree of a node covering `count` > 1 groups: the largest
// power of two strictly smaller than `count`.
uint64_t leftSubtreeGroups(uint64_t count);

// The chaining value of group `index` whose bytes are `bytes` (at most 16 KiB; shorter only for
// the last group). With NodeRole::kRoot (the blob is this single group) the result is the root.
ChainingValue hashGroup(std::span<const uint8_t> bytes, uint64_t index, NodeRole role);

// The chaining value of a parent node (64 bytes: left CV ‖ right CV).
ChainingValue hashParent(std::span<const uint8_t, kParentSize> node, NodeRole role);

// Root of `data` and its pre-order outboard written into `outboard`, in one pass over memory.
// kInvalidArgument if outboard.size() != outboardSize(data.size()).
Result<BlobId> hashBlob(std::span<const uint8_t> data, std::span<uint8_t> outboard,
                        HashParallelism parallelism = HashParallelism::kSingleThread);

// Root of the first `size` bytes of the file open as `fd` (read with pread/mmap; the file offset
// is not used), outboard written into `outboard`, which must hold outboardSize(size) bytes
// (kInvalidArgument otherwise). kIoError if the file cannot be read, kCorruption if it is
// shorter than `size`. Blocking.
Result<BlobId> hashFile(int fd, uint64_t size, std::span<uint8_t> outboard,
                        HashParallelism parallelism = HashParallelism::kSingleThread);

// Like above, but writes the outboard into the file open (read-write) as `outboard_fd`: it is
// resized to exactly outboardSize(size) bytes. Does not fsync. Blocking.
Result<BlobId> hashFile(int fd, uint64_t size, int outboard_fd,
                        HashParallelism parallelism = HashParallelism::kSingleThread);

// Rewrites a post-order list of the parent nodes of a blob of `size` bytes into pre-order.
// Precondition: post_order.size() == pre_order.size() == outboardSize(size).
void postOrderToPreOrder(uint64_t size, std::span<const uint8_t> post_order,
                         std::span<uint8_t> pre_order);

// The result of hashing a whole blob: its id, size, and pre-order outboard.
struct TreeHash {
  BlobId root;
  uint64_t size = 0;
  std::vector<uint8_t> outboard;
};

// Incremental tree hasher for input of unknown length (a pipe, a network body). Memory is
// O(log n) plus one 16 KiB group buffer plus the outboard being built (post-order while
// streaming, rewritten to pre-order by finalize()). Large update() calls are hashed in place,
// several groups per SIMD call, without copying.
class TreeHasher {
 public:
  TreeHasher();

  // Appends bytes. Any split of the input gives the same result.
  void update(std::span<const uint8_t> bytes);

  // Root, size and pre-order outboard of everything passed to update(). Leaves the hasher
  // empty (ready for a new blob).
  TreeHash finalize();

 private:
  void hashFullGroups(const uint8_t* data, uint64_t count);
  void mergeStack(uint64_t groups_before);

  std::vector<uint8_t> buffer_;  // the current, not yet hashed group (<= 16 KiB)
  size_t buffered_ = 0;
  uint64_t total_ = 0;        // bytes passed to update()
  uint64_t groups_done_ = 0;  // groups hashed and pushed on the stack
  std::array<ChainingValue, 64> stack_{};
  size_t stack_len_ = 0;
  std::vector<uint8_t> post_order_;  // parents emitted so far, in post-order
};

}  // namespace thunder::crypto
