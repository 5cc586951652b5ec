// Directory manifests: a directory is one blob holding a canonical, sorted list of entries
// (name → blob id, size, kind). Byte format: docs/formats/directory.md.
//
// encodeManifest() and parseManifest() are pure functions over bytes (thread-safe). The parser
// takes untrusted input: it accepts exactly the canonical encoding (sorted, unique, valid names,
// no trailing bytes) and never aborts, so that one directory has exactly one id.
// Storing trees and resolving paths against a BlobStore is in content/directory_tree.h.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"

namespace thunder::content {

inline constexpr size_t kMaxEntryNameBytes = 255;
inline constexpr size_t kMaxDirectoryEntries = 100'000;

enum class EntryKind : uint8_t {
  kFile = 1,
  kDirectory = 2,
};

std::string_view entryKindName(EntryKind kind);  // "file" or "dir"

struct DirectoryEntry {
  std::string name;  // one path component: 1..255 bytes, no '/', no NUL, not "." or ".."
  EntryKind kind = EntryKind::kFile;
  uint64_t size = 0;  // size of the blob `id` (for a directory: the size of its manifest blob)
  BlobId id;

  friend bool operator==(const DirectoryEntry&, const DirectoryEntry&) = default;
};

// A directory: entries sorted by name (bytewise), names unique.
struct Manifest {
  std::vector<DirectoryEntry> entries;

  // The entry called `name`, or nullptr. O(log n).
  const DirectoryEntry* find(std::string_view name) const;

  friend bool operator==(const Manifest&, const Manifest&) = default;
};

// kInvalidArgument naming the problem if `name` is not a valid entry name.
Result<void> validateEntryName(std::string_view name);

// Sorts `entries` by name and builds a manifest. kInvalidArgument on an invalid or duplicate
// name or more than kMaxDirectoryEntries entries.
Result<Manifest> makeManifest(std::vector<DirectoryEntry> entries);

// The canonical bytes of a manifest. Precondition: `manifest` satisfies the rules checked by
// makeManifest() (a manifest from makeManifest() or parseManifest() does).
std::vector<uint8_t> encodeManifest(const Manifest& manifest);

// Parses canonical manifest bytes. kCorruption naming the offset and the rule broken for
// anything else: wrong magic or version, truncation, trailing bytes, an unknown kind, an invalid,
// unsorted or duplicate name, too many entries.
Result<Manifest> parseManifest(std::span<const uint8_t> bytes);

// Whether `bytes` start with the manifest magic (a cheap test before parseManifest()).
bool looksLikeManifest(std::span<const uint8_t> bytes);

}  // namespace thunder::content
