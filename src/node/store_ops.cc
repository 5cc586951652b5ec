#include "node/store_ops.h"

#include "content/directory_tree.h"

namespace thunder::node {
namespace {

// Pins or unpins a blob and, when it is a directory manifest, everything under it.
Result<uint64_t> setPinnedTree(content::BlobStore& store, const BlobId& id, content::PinState pin,
                               int depth) {
  THUNDER_TRY(pin == content::PinState::kPinned ? store.pin(id) : store.unpin(id));
  uint64_t count = 1;
  auto info = store.stat(id);
  if (!info || info->state != content::BlobState::kComplete ||
      depth > content::kMaxDirectoryDepth) {
    return count;
  }
  auto head = store.read(id, 0, 8);
  if (!head || !content::looksLikeManifest(*head)) return count;
  auto manifest = content::readManifest(store, id);
  if (!manifest) return count;
  for (const auto& entry : manifest->entries) {
    auto n = setPinnedTree(store, entry.id, pin, depth + 1);
    if (!n && n.error().code != ErrorCode::kNotFound) return n;
    count += n ? *n : 0;
  }
  return count;
}

}  // namespace

nlohmann::json putResultJson(const content::PutResult& result, content::PinState pin) {
  return {{"id", result.id.hex()},
          {"size", result.size},
          {"kind", "file"},
          {"stored", result.outcome == content::PutOutcome::kStored},
          {"pinned", pin == content::PinState::kPinned}};
}

Result<nlohmann::json> putPath(content::BlobStore& store, const std::filesystem::path& path,
                               content::PinState pin, const content::PutOptions& options) {
  content::PutOptions put_options = options;
  put_options.pin = pin;
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    THUNDER_ASSIGN_OR_RETURN(const auto result, store.putFile(path, put_options));
    return putResultJson(result, pin);
  }
  THUNDER_ASSIGN_OR_RETURN(const auto tree, content::putTree(store, path, put_options));
  return nlohmann::json{{"id", tree.id.hex()},
                        {"size", tree.size},
                        {"kind", "dir"},
                        {"files", tree.files},
                        {"directories", tree.directories},
                        {"file_bytes", tree.file_bytes},
                        {"warnings", tree.warnings},
                        {"pinned", pin == content::PinState::kPinned}};
}

Result<nlohmann::json> setPinned(content::BlobStore& store, const BlobId& id,
                                 content::PinState pin) {
  THUNDER_ASSIGN_OR_RETURN(const uint64_t blobs, setPinnedTree(store, id, pin, 0));
  return nlohmann::json{
      {"id", id.hex()}, {"pinned", pin == content::PinState::kPinned}, {"blobs", blobs}};
}

Result<nlohmann::json> collectGarbage(content::BlobStore& store) {
  THUNDER_ASSIGN_OR_RETURN(const auto report, store.gc());
  return nlohmann::json{{"evicted_blobs", report.evicted_blobs},
                        {"evicted_bytes", report.evicted_bytes},
                        {"temp_files_removed", report.temp_files_removed},
                        {"temp_bytes_removed", report.temp_bytes_removed},
                        {"orphan_files_removed", report.orphan_files_removed}};
}

}  // namespace thunder::node
