// IPFS multiformats: unsigned varints, multihashes, multibase text and CIDs (v0 and v1).
// Spec: docs/formats/ipfs.md "Codecs" (multiformats unsigned-varint, multihash, multibase, CID).
//
// Everything here is a plain value or a pure function (thread-safe; values are not synchronized).
// Every parser takes untrusted input: it never aborts, never allocates more than its input holds,
// and reports kInvalidArgument naming what was malformed (kUnsupported for a well-formed but
// unsupported multibase or hash function). Multihash::verify() is the one place a block's bytes
// are checked against their CID: kCorruption on a mismatch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"

namespace thunder::content::ipfs {

// The error code for well-formed input we do not implement (a multibase, hash function or CID
// version). The contract names it kUnimplemented, which base/error.h does not have yet; until it
// does, this is kInvalidArgument and the message starts with "unsupported". Compare against
// kUnsupported (not a literal code) so the switch is one line.
inline constexpr ErrorCode kUnsupported = ErrorCode::kInvalidArgument;

// Multicodec codes used here.
inline constexpr uint64_t kIdentity = 0x00, kSha2_256 = 0x12, kBlake3 = 0x1e, kRaw = 0x55,
                          kDagPb = 0x70, kDagCbor = 0x71, kDagJson = 0x0129, kLibp2pKey = 0x72;
inline constexpr uint64_t kSha2_512 = 0x13;

// Longest multihash digest accepted anywhere (parse, compute, verify), as kubo's verifcid.
inline constexpr size_t kMaxDigestBytes = 128;
// Shortest digest verify() trusts for a cryptographic hash (truncated hashes below it refused).
inline constexpr size_t kMinDigestBytes = 20;
// Longest binary CID: four 9-byte varints and the longest digest.
inline constexpr size_t kMaxCidBytes = 4 * 9 + kMaxDigestBytes;

// Unsigned LEB128 varint, at most 9 bytes (63 bits) as multiformats requires; non-minimal
// encodings refused. kInvalidArgument with a message naming what was being read (`what`).
// On success `pos` is advanced past the varint; on error `pos` is unspecified.
Result<uint64_t> readVarint(std::span<const uint8_t> in, size_t& pos, std::string_view what);
// Appends the minimal varint encoding of `value`. Precondition (checked): value < 2^63.
void appendVarint(std::vector<uint8_t>& out, uint64_t value);
// Number of bytes appendVarint() writes for `value`.
size_t varintSize(uint64_t value);

struct Multihash {
  uint64_t code = 0;
  std::vector<uint8_t> digest;

  std::vector<uint8_t> bytes() const;  // varint code, varint length, digest
  // Reads one multihash at `pos`, advancing it. kInvalidArgument on a bad varint, a digest
  // longer than kMaxDigestBytes, or a digest running past the input. Any code is accepted.
  static Result<Multihash> parse(std::span<const uint8_t> in, size_t& pos);
  // sha2-256 (32 bytes), sha2-512 (64), blake3 (32 bytes default length), identity (digest =
  // data, ≤ 128 bytes: kInvalidArgument beyond). kUnsupported for another code.
  static Result<Multihash> compute(uint64_t code, std::span<const uint8_t> data);
  // kCorruption "block hash mismatch: …" when data does not hash to this; kUnsupported for an
  // unsupported hash function (message names its code). Truncated digests are verified as
  // prefixes (sha2-256: 20..32 bytes, sha2-512: 20..64, blake3: 20..128 bytes of its XOF
  // output); a digest outside those lengths is kInvalidArgument.
  Result<void> verify(std::span<const uint8_t> data) const;
  friend bool operator==(const Multihash&, const Multihash&) = default;
};

// Multibase prefixes we encode and decode.
enum class Multibase : char {
  kBase16 = 'f',       // lower-case hex (decode accepts 'F' upper too)
  kBase32 = 'b',       // RFC 4648 lower case, no padding
  kBase32Upper = 'B',  // RFC 4648 upper case, no padding
  kBase36 = 'k',       // lower case (decode accepts 'K' upper too)
  kBase58Btc = 'z',    // Bitcoin alphabet
};

// `bytes` in `base`, with its multibase prefix character.
std::string multibaseEncode(Multibase base, std::span<const uint8_t> bytes);
// Decodes prefix + text. kInvalidArgument for an empty string, a bad character or padding,
// kUnsupported for a prefix we do not support (message names it).
Result<std::vector<uint8_t>> multibaseDecode(std::string_view text);

class Cid {
 public:
  Cid() = default;
  // Precondition (checked): version is 0 or 1; version 0 requires codec dag-pb and a sha2-256
  // 32-byte hash. Use parse()/fromBytes() for untrusted input.
  Cid(uint64_t version, uint64_t codec, Multihash hash);

  // CIDv0 "Qm…" base58btc; CIDv1 multibase 'b' base32 lower, 'B', 'z' base58btc, 'f' hex,
  // 'k' base36. kInvalidArgument on malformed text or trailing bytes, kUnsupported for an
  // unsupported multibase or CID version.
  static Result<Cid> parse(std::string_view text);
  // Binary CID at `pos`, advancing it (v0 = bare multihash 0x12 0x20 …). Does not require the
  // input to end after it. Errors as parse().
  static Result<Cid> fromBytes(std::span<const uint8_t> in, size_t& pos);
  // The whole of `in` is one binary CID (trailing bytes refused).
  static Result<Cid> fromBytes(std::span<const uint8_t> in);
  static Cid forBlob(const BlobId& id);  // v1, raw, blake3 — the DESIGN.md blob CID
  // The CIDv1 (raw or dag-pb, as `codec` says) of a block hashed with sha2-256, as kubo makes.
  static Cid sha256Of(uint64_t codec, std::span<const uint8_t> block);

  std::vector<uint8_t> bytes() const;  // binary form (v0: the multihash)
  std::string toString() const;        // v0 base58btc, v1 base32 lower ("bafy…")
  // v1 in `base` (with prefix). Precondition: none (a v0 CID is converted to v1 first).
  std::string toString(Multibase base) const;
  Cid toV1() const;
  uint64_t version() const { return version_; }
  uint64_t codec() const { return codec_; }
  const Multihash& hash() const { return hash_; }
  // The BlobId (BLAKE3-256 of the block) when the hash is blake3 with 32 bytes (any codec).
  std::optional<BlobId> blobId() const;

  friend bool operator==(const Cid&, const Cid&) = default;
  // Orders by binary form, bytewise (deterministic, for maps).
  friend bool operator<(const Cid& a, const Cid& b);

 private:
  uint64_t version_ = 1;
  uint64_t codec_ = kRaw;
  Multihash hash_;
};

// Hash functor for unordered containers.
struct CidHash {
  size_t operator()(const Cid& cid) const noexcept;
};

}  // namespace thunder::content::ipfs
