// Fuzz target: arbitrary bytes through decodeDagPb (content/ipfs_dag_pb.h) and, for the Data of
// an accepted node, decodeUnixfs and the HAMT helpers (content/ipfs_unixfs.h). Must never crash;
// errors are kCorruption; what is accepted re-encodes canonically: decode(encode(x)) == x and
// encoding is a fixed point; link names and HAMT parameters never crash the helpers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "content/ipfs_dag_pb.h"
#include "content/ipfs_unixfs.h"

using namespace thunder::content::ipfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  const std::span<const uint8_t> bytes(input, size);
  auto node = decodeDagPb(bytes);
  if (!node) {
    if (node.error().code != thunder::ErrorCode::kCorruption) std::abort();
    return 0;
  }
  const auto encoded = encodeDagPb(*node);
  auto again = decodeDagPb(encoded);
  if (!again || !(*again == *node) || encodeDagPb(*again) != encoded) std::abort();
  if (encoded.size() > size) std::abort();  // canonical form is never longer than the input

  std::optional<UnixfsData> unixfs;
  if (node->data) {
    auto d = decodeUnixfs(*node->data);
    if (d) {
      const auto data_bytes = encodeUnixfs(*d);
      auto back = decodeUnixfs(data_bytes);
      if (!back || !(*back == *d) || encodeUnixfs(*back) != data_bytes) std::abort();
      unixfs = std::move(*d);
    } else if (d.error().code != thunder::ErrorCode::kCorruption) {
      std::abort();
    }
  }
  const uint64_t fanout = unixfs && unixfs->fanout ? *unixfs->fanout : 256;
  const auto width = hamtLabelWidth(fanout);
  for (const auto& link : node->links) {
    if (!link.name) continue;
    (void)checkEntryName(*link.name);
    if (!width) continue;
    for (size_t depth = 0; depth < 3; ++depth) {
      auto bucket = hamtBucket(*link.name, fanout, depth);
      if (bucket && (*bucket >= fanout || hamtLabel(*bucket, *width).size() != *width)) {
        std::abort();
      }
    }
  }
  return 0;
}
