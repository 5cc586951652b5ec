// Fuzz target: arbitrary bytes as a dag-cbor or dag-json block (first byte: even = dag-cbor, odd
// = dag-json) through the IpfsStore's link finders (content/ipfs_store_internal.h:
// dagCborLinks, dagJsonLinks, decodeNode). Must never crash; a refusal is kCorruption; every CID
// found must be one of the bytes' own tag-42 / {"/": …} links (re-encodable).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "content/ipfs_store_internal.h"

using namespace thunder::content::ipfs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* input, size_t size) {
  if (size == 0) return 0;
  const std::span<const uint8_t> block(input + 1, size - 1);
  const uint64_t codec = input[0] % 2 == 0 ? kDagCbor : kDagJson;
  const Cid cid(1, codec, *Multihash::compute(kSha2_256, block));
  auto node = detail::decodeNode(cid, block);
  if (!node) {
    if (node.error().code != thunder::ErrorCode::kCorruption) std::abort();
    return 0;
  }
  if (node->kind != NodeKind::kOther) std::abort();
  // Each link is at least a CID's worth of the input (the digest plus its framing).
  for (const auto& link : node->links) {
    if (link.bytes().size() > block.size()) std::abort();
    auto again = Cid::fromBytes(link.bytes());
    if (!again || !(*again == link)) std::abort();
  }
  return 0;
}
