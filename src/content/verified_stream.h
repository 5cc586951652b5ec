// The verified range stream: the wire format of content (docs/formats/verified-stream.md).
//
//   u64 LE size ‖ pre-order walk of the tree restricted to the requested ranges:
//   64 bytes per parent on the way, then the bytes of each selected 16 KiB group.
//
// RangeEncoder produces it from a BlobSource (data + pre-order outboard) without buffering the
// blob; RangeDecoder consumes it push-style and emits only bytes it has verified against the
// blob id. Both are plain objects owned by their caller and used from one thread at a time.
// Memory: O(log n) for the walk, plus one group buffer (16 KiB) in the decoder.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "content/blob_source.h"
#include "content/byte_ranges.h"
#include "content/range_walk.h"

namespace thunder::content {

inline constexpr size_t kStreamHeaderSize = 8;

// Pull-style encoder: each read() fills a caller buffer with the next stream bytes, reading
// group data straight from the source into it. The encoder trusts its source (the store verifies
// what it stores); the receiving decoder verifies everything.
class RangeEncoder {
 public:
  // `source` is borrowed and must outlive the encoder.
  RangeEncoder(BlobSource& source, const ByteRanges& ranges);

  // Writes up to out.size() next bytes of the stream into `out` and returns how many; 0 once
  // the stream is complete (or out is empty). Errors are the source's (kIoError, kCorruption).
  Result<size_t> read(std::span<uint8_t> out);

  bool done() const { return done_; }

 private:
  Result<void> startNext();

  BlobSource& source_;
  RangeWalk walk_;
  bool done_ = false;
  // The item being written: header/parent bytes staged in small_, or a group read from source.
  std::array<uint8_t, 64> small_{};
  size_t small_len_ = 0;
  uint64_t data_offset_ = 0;  // next data byte of the current group
  uint64_t data_left_ = 0;
  size_t pos_ = 0;  // bytes of small_ already written
};

// Writes the whole stream through `write`, in pieces of at most 64 KiB.
using StreamWriteFn = std::function<Result<void>(std::span<const uint8_t>)>;
Result<void> encodeRanges(BlobSource& source, const ByteRanges& ranges, const StreamWriteFn& write);

// Push-style decoder. Feed the stream in slices of any size; verified bytes come out through
// `emit(offset, bytes)`, one whole group at a time (the caller trims to what it asked for).
class RangeDecoder {
 public:
  // Called with each verified group, in stream order. An error stops decoding and is returned
  // from feed().
  using EmitFn = std::function<Result<void>(uint64_t offset, std::span<const uint8_t> bytes)>;

  // Decodes the stream of blob `id` for `ranges` (the same ranges the encoder was given).
  RangeDecoder(const BlobId& id, ByteRanges ranges, EmitFn emit);

  // Consumes `bytes`. kCorruption if a parent or group does not match its expected hash, or if
  // bytes follow the end of the stream; messages name the node, its group range and the stream
  // offset. After an error every call returns the same error.
  Result<void> feed(std::span<const uint8_t> bytes);

  // Declares the end of input. kCorruption if the stream is incomplete.
  Result<void> finish();

  // The blob size, once proved: set when the last group has been verified (never trusted from
  // the header alone). Stays empty if the ranges did not select the last group.
  std::optional<uint64_t> verifiedSize() const { return verified_size_; }

  // The size claimed by the header (unverified), once the header has arrived.
  std::optional<uint64_t> claimedSize() const { return claimed_size_; }

  // Bytes of the stream consumed so far.
  uint64_t consumed() const { return consumed_; }

 private:
  Result<void> advance();
  Result<void> completeNode(std::span<const uint8_t> bytes);
  Result<void> failWith(Error error);

  BlobId id_;
  ByteRanges ranges_;
  EmitFn emit_;
  std::optional<RangeWalk> walk_;
  std::optional<WalkNode> node_;  // the node whose bytes are being received
  uint64_t node_len_ = 0;
  std::array<uint8_t, kStreamHeaderSize> header_{};
  std::vector<uint8_t> buffer_;  // partial node bytes (at most one group)
  size_t buffered_ = 0;
  uint64_t consumed_ = 0;
  std::optional<uint64_t> claimed_size_;
  std::optional<uint64_t> verified_size_;
  std::optional<Error> error_;
  bool done_ = false;
};

}  // namespace thunder::content
