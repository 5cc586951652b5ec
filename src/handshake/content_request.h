// ContentRequest: the first payload a client sends to the content service (service id 0,
// docs/protocol/builtin-services.md: the built-in one or thunder-service-cdn), asking for a
// verified range stream of one blob, named by its id or by a CID:
//
//   blob form: blob id: bytes[32] ‖ count: u32 ‖ count × (start: u64 ‖ end: u64)  (little-endian)
//   CID form:  32 zero bytes ‖ count: u32 ‖ ranges ‖ cid_length: u16 ‖ cid: bytes[cid_length]
//
// count 0 asks for the whole blob; otherwise 1 ≤ count ≤ kMaxContentRequestRanges ranges
// [start, end) with start ≤ end, not all of them empty; the node serves their union. The CID form
// names the content by a CID's text form (1..kMaxContentRequestCid bytes of printable ASCII);
// the answer then starts with the 32-byte id of the blob the node serves for it. The encoding
// is canonical: parseContentRequest() accepts exactly what encodeContentRequest() produces. Shared
// by the client (client_driver.h, the CLI) and the node's content service. Pure functions,
// thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "handshake/dack.h"

namespace thunder::handshake {

// The built-in services of a node (docs/protocol/builtin-services.md).
inline constexpr ServiceId kContentServiceId{0};
inline constexpr ServiceId kEchoServiceId{1};

inline constexpr uint32_t kMaxContentRequestRanges = 1024;
inline constexpr size_t kContentRequestHeaderSize = 32 + 4;
inline constexpr size_t kMaxContentRequestCid = 256;
inline constexpr size_t kContentRequestMaxSize =
    kContentRequestHeaderSize + 16 * kMaxContentRequestRanges + 2 + kMaxContentRequestCid;

struct ContentRange {
  uint64_t start = 0;
  uint64_t end = 0;  // exclusive

  friend bool operator==(const ContentRange&, const ContentRange&) = default;
};

struct ContentRequest {
  BlobId id;                         // all zero in the CID form
  std::vector<ContentRange> ranges;  // empty: the whole blob
  std::string cid{};                 // the CID form: a CID's text form; empty: the blob form

  friend bool operator==(const ContentRequest&, const ContentRequest&) = default;
};

// The request's bytes. Precondition (checked): at most kMaxContentRequestRanges ranges, each
// with start <= end, not all empty; either a non-zero id and no cid, or an all-zero id and a cid
// of at most kMaxContentRequestCid bytes (callers refuse a user's all-zero blob id).
std::vector<uint8_t> encodeContentRequest(const ContentRequest& request);

// Parses a request from untrusted bytes. kCorruption (message starting "bad_request: ", the
// service's error prefix) when the length is not 36 + 16 · count (blob form) or
// 36 + 16 · count + 2 + cid_length (CID form), count exceeds kMaxContentRequestRanges, a range has
// start > end (named), every range is empty, or the CID is empty, too long or not printable
// ASCII. Ranges may overlap or come in any order (the receiver serves their union).
Result<ContentRequest> parseContentRequest(std::span<const uint8_t> bytes);

// The commitment a client puts in the bandwidth DACKs of a content session: the blob id as
// content root and [lowest start, highest end) of the requested ranges; for a whole-blob
// request [0, claimed_size) (the size from the stream header; 0 before it arrived). For the CID
// form, `request.id` should be the blob id the answer named (all zero before it arrived).
Commitment contentCommitment(const ContentRequest& request, uint64_t claimed_size);

}  // namespace thunder::handshake
