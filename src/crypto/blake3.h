// BLAKE3 hashing: a thin C++ wrapper over the official C implementation (CMake target blake3_c).
//
// Blake3Hasher is an incremental hasher in one of the three BLAKE3 modes (plain hash, keyed hash,
// key derivation). It is a plain value (about 2 KiB, no heap): copy it to fork a hash state.
// One hasher must not be used from two threads at once; distinct hashers are independent.
// blake3() and blake3File() are thread-safe. The BLAKE3 tree (chunk groups, outboards, range
// proofs) is in crypto/blake3_tree.h, not here.
#pragma once

#include <blake3.h>  // the official C header (angle brackets: not this file)

#include <cstdint>
#include <filesystem>
#include <span>
#include <string_view>

#include "base/result.h"
#include "base/strong_types.h"

namespace thunder::crypto {

class Blake3Hasher {
 public:
  static constexpr size_t kKeySize = BLAKE3_KEY_LEN;  // 32
  static constexpr size_t kOutSize = BLAKE3_OUT_LEN;  // 32

  // A hasher in the plain hash mode (what b3sum prints).
  Blake3Hasher();

  // A hasher in keyed mode (a MAC / PRF under `key`).
  static Blake3Hasher keyed(std::span<const uint8_t, 32> key);

  // A hasher in key-derivation mode. `context` should be a hard-coded, globally unique,
  // application-specific string such as "thunder 2024-05-01 session keys v1"; the key material
  // goes in through update(). Any bytes are allowed in `context`, including NUL.
  static Blake3Hasher deriveKey(std::string_view context);

  // Appends bytes to the input. Any split of the input gives the same result.
  void update(std::span<const uint8_t> bytes);

  // The first 32 bytes of output. Does not change the state: update() may continue afterwards.
  BlobId finalize() const;

  // Writes out.size() bytes of the extended output, starting `seek` bytes into the output
  // stream. finalizeXof(0, out32) equals finalize(). Does not change the state.
  void finalizeXof(uint64_t seek, std::span<uint8_t> out) const;

 private:
  blake3_hasher state_;
};

// The BLAKE3-256 hash of `bytes` (plain mode).
BlobId blake3(std::span<const uint8_t> bytes);

// The BLAKE3-256 hash of a file's contents, read sequentially with a large buffer; equals what
// `b3sum` prints for the file. Blocking: call it off the event loop for large files.
// Errors name the path: kNotFound if it does not exist, kPermissionDenied if it cannot be opened
// for reading, kInvalidArgument if it is a directory, kIoError for other read failures.
Result<BlobId> blake3File(const std::filesystem::path& file);

}  // namespace thunder::crypto
