// CAR (Content Addressable aRchive) reading and writing: CARv1, and the inner CARv1 of a CARv2.
// Byte format and limits: docs/formats/ipfs.md "Codecs" (IPLD CARv1 and CARv2 specs).
//
// CarReader pulls from a ByteReader and owns its read buffer; CarWriter pushes to a ByteWriter.
// Both are single-threaded values (move them, do not share them). The reader takes untrusted
// input: every length is bounded by CarLimits before anything is allocated, and every block is
// verified against its CID before next() returns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "content/ipfs_multiformats.h"

namespace thunder::content::ipfs {

// Pull-style byte source: fills `out`, returns bytes read, 0 at end of input.
using ByteReader = std::function<Result<size_t>(std::span<uint8_t> out)>;
using ByteWriter = std::function<Result<void>(std::span<const uint8_t> bytes)>;

// A ByteReader over borrowed memory (which must outlive it). For tests and small inputs.
ByteReader spanByteReader(std::span<const uint8_t> bytes);

struct CarBlock {
  Cid cid;
  std::vector<uint8_t> data;
};

struct CarLimits {
  size_t max_header = 1 << 20;  // bytes of the CARv1 header (dag-cbor)
  size_t max_block = 4 << 20;   // bytes of one block's data (the section minus its CID)
};

// CARv1 reader (CARv2 files: unwrap to the inner CARv1 or refuse with a precise message).
// Header: dag-cbor map {version: 1, roots: [CID…]} (decode the tiny dag-cbor subset needed;
// tag 42 CIDs). next() verifies each block's multihash before returning it: kCorruption names
// the CID; truncated input → kInvalidArgument "truncated CAR: …"; oversized varints/lengths →
// kInvalidArgument; never allocates more than the limits. Errors from the ByteReader are
// returned unchanged. After an error the reader must not be used again.
class CarReader {
 public:
  // Reads the header (and a CARv2 wrapper). kInvalidArgument for a malformed header, another
  // CAR version, or a CARv2 whose data section is not where its header says.
  static Result<CarReader> open(ByteReader reader, CarLimits limits = {});

  CarReader(CarReader&&) = default;
  CarReader& operator=(CarReader&&) = default;

  const std::vector<Cid>& roots() const;
  // 1 for a plain CARv1, 2 when the CARv1 was read from inside a CARv2.
  uint64_t carVersion() const { return car_version_; }
  Result<std::optional<CarBlock>> next();  // nullopt at clean end of input
  // Bytes of the input consumed so far (headers and the sections returned by next()).
  uint64_t bytesRead() const { return consumed_; }

 private:
  CarReader(ByteReader reader, CarLimits limits);
  Result<void> readHeader();
  // Fills buffer_ so that at least `n` unconsumed bytes are there; false at end of input.
  Result<bool> fill(size_t n);
  Result<std::span<const uint8_t>> take(size_t n, std::string_view what);
  enum class AtEnd { kTruncated, kCleanEnd };  // what end of input before the varint means
  Result<std::optional<uint64_t>> readSectionVarint(std::string_view what, AtEnd at_end);

  ByteReader reader_;
  CarLimits limits_;
  std::vector<uint8_t> buffer_;
  size_t buffer_pos_ = 0;
  bool eof_ = false;
  uint64_t consumed_ = 0;
  std::optional<uint64_t> data_end_;  // CARv2: offset where the inner CARv1 ends
  uint64_t car_version_ = 1;
  std::vector<Cid> roots_;
};

// The CARv1 header section (varint length ‖ dag-cbor {roots, version: 1}), byte-identical to
// go-car's for the same roots (canonical dag-cbor: "roots" before "version").
std::vector<uint8_t> encodeCarHeader(std::span<const Cid> roots);

// CARv1 writer: header then blocks, each `varint(len(cid)+len(data)) cid data`.
// It does not hash: writeBlock() trusts that `data` matches `cid`.
class CarWriter {
 public:
  explicit CarWriter(ByteWriter out);
  // Must be called once, before any block. Errors of the ByteWriter are returned unchanged.
  Result<void> writeHeader(std::span<const Cid> roots);
  Result<void> writeBlock(const Cid& cid, std::span<const uint8_t> data);
  uint64_t bytesWritten() const { return written_; }

 private:
  ByteWriter out_;
  uint64_t written_ = 0;
};

}  // namespace thunder::content::ipfs
