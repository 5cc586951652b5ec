// UnixFS (v1): the protobuf "Data" message inside a dag-pb node's Data field, entry-name rules,
// and the HAMT sharded-directory bucket function. Bytes and rules: docs/formats/ipfs.md "Codecs"
// (UnixFS spec, HAMT section).
//
// Pure functions (thread-safe). decodeUnixfs() takes untrusted input: never aborts, allocates at
// most what its input holds, kCorruption "invalid UnixFS data: …" naming the problem.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace thunder::content::ipfs {

enum class UnixfsType : uint8_t {
  kRaw = 0,
  kDirectory = 1,
  kFile = 2,
  kMetadata = 3,
  kSymlink = 4,
  kHamtShard = 5
};

struct UnixfsData {
  UnixfsType type = UnixfsType::kFile;
  std::optional<std::vector<uint8_t>> data;  // file bytes, symlink target, or HAMT bitfield
  std::optional<uint64_t> filesize;
  std::vector<uint64_t> blocksizes;  // one per link of a file node
  std::optional<uint64_t> hash_type, fanout;
  std::optional<uint32_t> mode;
  // mtime (field 8) is read past and dropped; unknown fields are skipped.

  friend bool operator==(const UnixfsData&, const UnixfsData&) = default;
};

Result<UnixfsData> decodeUnixfs(std::span<const uint8_t> bytes);
// Canonical: fields in number order, blocksizes unpacked, as go-unixfs/kubo write them.
std::vector<uint8_t> encodeUnixfs(const UnixfsData& d);

// A directory entry name is valid when non-empty, not "." or "..", and has no '/' or NUL.
// kInvalidArgument naming the problem otherwise.
Result<void> checkEntryName(std::string_view name);

// HAMT: the bucket index of `name` at `depth` for a shard of `fanout` (murmur3-x64-64 of the name,
// as the UnixFS spec says), and the hex label width.

// The HAMT hash function: the first 64-bit half (h1) of MurmurHash3_x64_128 with seed 0.
uint64_t murmur3X64_64(std::span<const uint8_t> bytes);
// log2(fanout). kInvalidArgument unless fanout is a power of two in [2, 1024].
Result<unsigned> hamtBitWidth(uint64_t fanout);
// Width in hex digits of a bucket label: the length of uppercase hex (fanout - 1), so 2 for 256.
// kInvalidArgument as hamtBitWidth().
Result<size_t> hamtLabelWidth(uint64_t fanout);
// The bucket of `name` at `depth` (0 = root shard): bits [depth*w, depth*w + w) of the hash,
// read most significant bit first from its 8 big-endian bytes, w = hamtBitWidth(fanout).
// kInvalidArgument for a bad fanout or when the hash has no bits left at that depth.
Result<uint64_t> hamtBucket(std::string_view name, uint64_t fanout, size_t depth);
// The uppercase hex label of `bucket`, zero-padded to `width` ("0A" for 10, width 2).
std::string hamtLabel(uint64_t bucket, size_t width);

}  // namespace thunder::content::ipfs
