#include "content/directory.h"

#include <algorithm>
#include <cstring>

namespace thunder::content {
namespace {

constexpr uint8_t kMagic[8] = {'T', 'H', 'U', 'N', 'D', 'I', 'R', 0};
constexpr uint8_t kVersion = 1;
constexpr size_t kHeaderSize = sizeof kMagic + 1 + 4;          // magic, version, count
constexpr size_t kEntryFixedSize = 1 + 1 + 8 + BlobId::kSize;  // kind, name length, size, id

uint64_t getLe(const uint8_t* p, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(p[i]) << (8 * i);
  return value;
}

// Printable form of an untrusted name for error messages.
std::string quoted(std::string_view name) {
  std::string out = "\"";
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

std::string_view entryKindName(EntryKind kind) {
  return kind == EntryKind::kDirectory ? "dir" : "file";
}

const DirectoryEntry* Manifest::find(std::string_view name) const {
  const auto it =
      std::lower_bound(entries.begin(), entries.end(), name,
                       [](const DirectoryEntry& e, std::string_view n) { return e.name < n; });
  return it != entries.end() && it->name == name ? &*it : nullptr;
}

Result<void> validateEntryName(std::string_view name) {
  if (name.empty()) return fail(ErrorCode::kInvalidArgument, "empty entry name");
  if (name.size() > kMaxEntryNameBytes) {
    return fail(ErrorCode::kInvalidArgument, "entry name {}... is {} bytes long (limit {})",
                quoted(name.substr(0, 32)), name.size(), kMaxEntryNameBytes);
  }
  if (name == "." || name == "..") {
    return fail(ErrorCode::kInvalidArgument, "entry name {} is not allowed", quoted(name));
  }
  if (name.find('/') != std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, "entry name {} contains '/'", quoted(name));
  }
  if (name.find('\0') != std::string_view::npos) {
    return fail(ErrorCode::kInvalidArgument, "entry name {} contains a NUL byte", quoted(name));
  }
  return {};
}

Result<Manifest> makeManifest(std::vector<DirectoryEntry> entries) {
  if (entries.size() > kMaxDirectoryEntries) {
    return fail(ErrorCode::kInvalidArgument, "a directory may hold at most {} entries, not {}",
                kMaxDirectoryEntries, entries.size());
  }
  for (const auto& entry : entries) THUNDER_TRY(validateEntryName(entry.name));
  std::sort(entries.begin(), entries.end(),
            [](const DirectoryEntry& a, const DirectoryEntry& b) { return a.name < b.name; });
  for (size_t i = 1; i < entries.size(); ++i) {
    if (entries[i - 1].name == entries[i].name) {
      return fail(ErrorCode::kInvalidArgument, "duplicate entry name {}", quoted(entries[i].name));
    }
  }
  return Manifest{std::move(entries)};
}

std::vector<uint8_t> encodeManifest(const Manifest& manifest) {
  size_t total = kHeaderSize;
  for (const auto& e : manifest.entries) total += kEntryFixedSize + e.name.size();
  std::vector<uint8_t> out(total);
  uint8_t* p = out.data();
  auto put = [&p](const void* src, size_t n) {
    std::memcpy(p, src, n);
    p += n;
  };
  auto putLe = [&p](uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i) *p++ = static_cast<uint8_t>(value >> (8 * i));
  };
  put(kMagic, sizeof kMagic);
  *p++ = kVersion;
  putLe(manifest.entries.size(), 4);
  for (const auto& e : manifest.entries) {
    *p++ = static_cast<uint8_t>(e.kind);
    *p++ = static_cast<uint8_t>(e.name.size());
    put(e.name.data(), e.name.size());
    putLe(e.size, 8);
    put(e.id.data(), BlobId::kSize);
  }
  return out;
}

bool looksLikeManifest(std::span<const uint8_t> bytes) {
  return bytes.size() >= sizeof kMagic && std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0;
}

Result<Manifest> parseManifest(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderSize) {
    return fail(ErrorCode::kCorruption,
                "directory manifest is truncated: {} bytes, the header alone is {}", bytes.size(),
                kHeaderSize);
  }
  if (!looksLikeManifest(bytes)) {
    return fail(ErrorCode::kCorruption, "not a directory manifest (bad magic at offset 0)");
  }
  if (bytes[8] != kVersion) {
    return fail(ErrorCode::kCorruption,
                "directory manifest version {} is not supported (expected {})", bytes[8], kVersion);
  }
  const uint64_t count = getLe(bytes.data() + 9, 4);
  if (count > kMaxDirectoryEntries) {
    return fail(ErrorCode::kCorruption, "directory manifest declares {} entries (limit {})", count,
                kMaxDirectoryEntries);
  }
  // Each entry needs at least kEntryFixedSize + 1 bytes: refuse impossible counts up front.
  if (count > (bytes.size() - kHeaderSize) / (kEntryFixedSize + 1)) {
    return fail(ErrorCode::kCorruption,
                "directory manifest declares {} entries but holds only {} bytes after the header",
                count, bytes.size() - kHeaderSize);
  }
  Manifest manifest;
  manifest.entries.reserve(count);
  size_t pos = kHeaderSize;
  for (uint64_t i = 0; i < count; ++i) {
    const size_t entry_start = pos;
    if (bytes.size() - pos < 2) {
      return fail(ErrorCode::kCorruption,
                  "directory manifest is truncated in entry {} at offset {}", i, pos);
    }
    const uint8_t kind = bytes[pos];
    if (kind != static_cast<uint8_t>(EntryKind::kFile) &&
        kind != static_cast<uint8_t>(EntryKind::kDirectory)) {
      return fail(ErrorCode::kCorruption,
                  "directory manifest entry {} at offset {} has unknown kind {}", i, pos, kind);
    }
    const size_t name_len = bytes[pos + 1];
    pos += 2;
    if (bytes.size() - pos < name_len + 8 + BlobId::kSize) {
      return fail(ErrorCode::kCorruption,
                  "directory manifest is truncated in entry {} at offset {}", i, entry_start);
    }
    DirectoryEntry entry;
    entry.kind = static_cast<EntryKind>(kind);
    entry.name.assign(reinterpret_cast<const char*>(bytes.data() + pos), name_len);
    pos += name_len;
    if (auto ok = validateEntryName(entry.name); !ok) {
      return fail(ErrorCode::kCorruption, "directory manifest entry {} at offset {}: {}", i,
                  entry_start, ok.error().message);
    }
    if (!manifest.entries.empty()) {
      const std::string& previous = manifest.entries.back().name;
      if (previous == entry.name) {
        return fail(ErrorCode::kCorruption,
                    "directory manifest entry {} at offset {}: duplicate name {}", i, entry_start,
                    quoted(entry.name));
      }
      if (entry.name < previous) {
        return fail(ErrorCode::kCorruption,
                    "directory manifest entry {} at offset {}: name {} is not sorted after {}", i,
                    entry_start, quoted(entry.name), quoted(previous));
      }
    }
    entry.size = getLe(bytes.data() + pos, 8);
    pos += 8;
    std::memcpy(entry.id.data(), bytes.data() + pos, BlobId::kSize);
    pos += BlobId::kSize;
    manifest.entries.push_back(std::move(entry));
  }
  if (pos != bytes.size()) {
    return fail(ErrorCode::kCorruption, "directory manifest has {} trailing bytes at offset {}",
                bytes.size() - pos, pos);
  }
  return manifest;
}

}  // namespace thunder::content
