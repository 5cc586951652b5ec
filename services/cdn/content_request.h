// The content service's request (docs/protocol/builtin-services.md "Content"), as the CDN service
// reads it: the first payload of a session names a blob by id or by CID, and byte ranges of it.
//
//   blob form: blob_id: bytes[32] ‖ range_count: u32 ‖ range_count × (start: u64 ‖ end: u64)
//   CID form:  32 zero bytes ‖ range_count: u32 ‖ ranges ‖ cid_length: u16 ‖ cid: bytes[cid_length]
//
// Written against the protocol document, not the node's parser (a service links only the SDK);
// tests check both accept and refuse the same bytes. Pure functions; any thread.
#pragma once

#include <thunder/sdk/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace thunder::cdn {

inline constexpr uint32_t kMaxRequestRanges = 1024;
inline constexpr size_t kMaxRequestCid = 256;

struct ContentRange {
  uint64_t start = 0;
  uint64_t end = 0;  // exclusive
};

struct ContentRequest {
  sdk::BlobId id;                    // all zero in the CID form
  std::vector<ContentRange> ranges;  // empty: the whole blob
  std::string cid;                   // the CID form: a CID's text form; empty: the blob form
};

// Parses a request from untrusted bytes. kInvalidArgument with a message starting
// "bad_request: " (the protocol's error code) naming what is wrong: a length that does not match
// the range count (and CID length), more than kMaxRequestRanges ranges, a range with start > end,
// only empty ranges, an empty or over-long CID, a CID that is not printable ASCII.
sdk::Result<ContentRequest> parseContentRequest(std::span<const uint8_t> bytes);

// The ranges to stream, as one StreamBlob (at most sdk::kMaxStreamRangesPerFrame ranges): the
// union of the requested ranges, sorted, with touching ranges merged and empty ones dropped;
// [0, 2^64 − 1) for a whole-blob request (what the protocol's range_count 0 means).
// kInvalidArgument ("bad_request: …") if the union has more than kMaxStreamRangesPerFrame
// disjoint ranges.
sdk::Result<std::vector<sdk::ByteRange>> streamRanges(const ContentRequest& request);

// Bytes covered by `ranges` within a blob of `size` bytes (for sizing the client's grace period).
uint64_t coveredBytes(std::span<const sdk::ByteRange> ranges, uint64_t size);

}  // namespace thunder::cdn
