// Byte ranges of a UnixFS file read straight from its blocks (internal to the gateway module),
// for a Range request on a file whose content blob cannot be assembled because some blocks are
// not stored: only the blocks that overlap the range are read (Path Gateway conformance: "GET
// Range of file succeeds even if the gateway is missing a block" outside the range).
//
// Blocking (store reads): call on the blocking pool. Thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"
#include "content/byte_ranges.h"
#include "content/ipfs_multiformats.h"
#include "content/ipfs_store.h"

namespace thunder::gateway {

// Most bytes one such range may hold (they are held in memory).
inline constexpr uint64_t kMaxBlockRangeBytes = 16ull << 20;

// The size file `cid` (a raw block or a UnixFS file node) claims. kNotFound when its block is
// not stored; kCorruption when it is neither.
Result<uint64_t> unixfsFileSize(content::ipfs::IpfsStore& store, const content::ipfs::Cid& cid);

// The bytes [range.start, range.end) of file `cid`. kNotFound naming a missing block that
// overlaps the range; kCorruption for blocks that are not a consistent UnixFS file (sizes that
// disagree, nesting deeper than 256); kInvalidArgument for a range longer than
// kMaxBlockRangeBytes.
Result<std::string> readUnixfsRange(content::ipfs::IpfsStore& store, const content::ipfs::Cid& cid,
                                    content::ByteRange range);

}  // namespace thunder::gateway
