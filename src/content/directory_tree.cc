#include "content/directory_tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace thunder::content {
namespace {

Result<BlobId> putDir(BlobStore& store, const std::filesystem::path& dir, const PutOptions& options,
                      int depth, TreePutResult* result, uint64_t* manifest_size) {
  if (depth > kMaxDirectoryDepth) {
    return fail(ErrorCode::kInvalidArgument, "{} is nested more than {} folders deep", dir.string(),
                kMaxDirectoryDepth);
  }
  std::vector<DirectoryEntry> entries;
  std::error_code ec;
  std::filesystem::directory_iterator it(dir, ec);
  if (ec) return failErrorCode(ec, fmt::format("cannot list {}", dir.string()));
  std::vector<std::filesystem::directory_entry> children(it, std::filesystem::directory_iterator());
  std::sort(children.begin(), children.end());  // deterministic order of work and warnings
  for (const auto& child : children) {
    const std::string name = child.path().filename().string();
    const auto status = child.symlink_status(ec);
    if (ec) return failErrorCode(ec, fmt::format("cannot stat {}", child.path().string()));
    if (std::filesystem::is_symlink(status)) {
      result->warnings.push_back(fmt::format("skipped symbolic link {}", child.path().string()));
      continue;
    }
    if (!std::filesystem::is_regular_file(status) && !std::filesystem::is_directory(status)) {
      result->warnings.push_back(fmt::format("skipped special file {}", child.path().string()));
      continue;
    }
    if (auto ok = validateEntryName(name); !ok) {
      return fail(ErrorCode::kInvalidArgument, "cannot store {}: {}", child.path().string(),
                  ok.error().message);
    }
    DirectoryEntry entry;
    entry.name = name;
    if (std::filesystem::is_directory(status)) {
      entry.kind = EntryKind::kDirectory;
      THUNDER_ASSIGN_OR_RETURN(
          entry.id, putDir(store, child.path(), options, depth + 1, result, &entry.size));
    } else {
      PutOptions file_options;
      file_options.pin = options.pin;
      THUNDER_ASSIGN_OR_RETURN(auto put, store.putFile(child.path(), file_options));
      entry.kind = EntryKind::kFile;
      entry.id = put.id;
      entry.size = put.size;
      result->files++;
      result->file_bytes += put.size;
      if (options.progress) options.progress(result->file_bytes, 0);
    }
    entries.push_back(std::move(entry));
  }
  auto manifest = makeManifest(std::move(entries));
  if (!manifest) {
    return fail(ErrorCode::kInvalidArgument, "cannot store {}: {}", dir.string(),
                manifest.error().message);
  }
  const auto bytes = encodeManifest(*manifest);
  PutOptions manifest_options;
  manifest_options.pin = options.pin;
  THUNDER_ASSIGN_OR_RETURN(auto put, store.putBytes(bytes, manifest_options));
  result->directories++;
  *manifest_size = put.size;
  return put.id;
}

Result<void> exportInto(BlobStore& store, const BlobId& id, EntryKind kind, uint64_t expected_size,
                        const std::filesystem::path& target, int depth, ExportResult* result) {
  if (depth > kMaxDirectoryDepth) {
    return fail(ErrorCode::kInvalidArgument, "directory {} is nested more than {} levels deep",
                id.hex(), kMaxDirectoryDepth);
  }
  THUNDER_ASSIGN_OR_RETURN(auto info, store.stat(id));
  if (expected_size != UINT64_MAX && info.size != expected_size) {
    return fail(ErrorCode::kCorruption, "{}: the manifest says {} bytes but blob {} has {}",
                target.string(), expected_size, id.hex(), info.size);
  }
  if (kind == EntryKind::kFile) {
    THUNDER_ASSIGN_OR_RETURN(auto out, openFile(target, O_WRONLY | O_CREAT | O_EXCL, 0644));
    THUNDER_ASSIGN_OR_RETURN(const uint64_t n, copyBlobTo(store, id, 0, info.size, out.get()));
    THUNDER_TRY(fsyncFd(out.get(), target.string()));
    result->files++;
    result->bytes += n;
    return {};
  }
  THUNDER_ASSIGN_OR_RETURN(auto manifest, readManifest(store, id));
  if (::mkdir(target.c_str(), 0755) != 0) {
    return failErrno(errno, fmt::format("cannot create directory {}", target.string()));
  }
  result->directories++;
  for (const auto& entry : manifest.entries) {
    THUNDER_TRY(exportInto(store, entry.id, entry.kind, entry.size, target / entry.name, depth + 1,
                           result));
  }
  return {};
}

}  // namespace

Result<TreePutResult> putTree(BlobStore& store, const std::filesystem::path& dir,
                              const PutOptions& options) {
  TreePutResult result;
  THUNDER_ASSIGN_OR_RETURN(result.id, putDir(store, dir, options, 0, &result, &result.size));
  return result;
}

Result<Manifest> readManifest(BlobStore& store, const BlobId& id) {
  THUNDER_ASSIGN_OR_RETURN(auto info, store.stat(id));
  if (info.size > kMaxManifestBytes) {
    return fail(ErrorCode::kCorruption,
                "blob {} ({} bytes) is too large to be a directory manifest", id.hex(), info.size);
  }
  THUNDER_ASSIGN_OR_RETURN(auto bytes, store.read(id, 0, info.size));
  auto manifest = parseManifest(bytes);
  if (!manifest) {
    return fail(ErrorCode::kCorruption, "blob {} is not a directory: {}", id.hex(),
                manifest.error().message);
  }
  return manifest;
}

Result<DirectoryEntry> resolvePath(BlobStore& store, const BlobId& root, std::string_view path) {
  DirectoryEntry current;
  current.kind = EntryKind::kDirectory;
  current.id = root;
  THUNDER_ASSIGN_OR_RETURN(auto root_info, store.stat(root));
  current.size = root_info.size;
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::string walked;
  int depth = 0;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    const std::string_view component = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (component.empty() || component == "." || component == "..") {
      return fail(ErrorCode::kInvalidArgument, "path component \"{}\" after \"{}\" is not allowed",
                  component, walked);
    }
    if (current.kind != EntryKind::kDirectory) {
      return fail(ErrorCode::kInvalidArgument, "\"{}\" is a file, not a directory", walked);
    }
    if (++depth > kMaxDirectoryDepth) {
      return fail(ErrorCode::kInvalidArgument, "path is more than {} components deep",
                  kMaxDirectoryDepth);
    }
    THUNDER_ASSIGN_OR_RETURN(auto manifest, readManifest(store, current.id));
    const DirectoryEntry* next = manifest.find(component);
    if (next == nullptr) {
      return fail(ErrorCode::kNotFound, "no entry \"{}\" in directory {}{}{}", component,
                  root.hex(), walked.empty() ? "" : "/", walked);
    }
    current = *next;
    if (!walked.empty()) walked.push_back('/');
    walked.append(component);
  }
  return current;
}

Result<ExportResult> exportTree(BlobStore& store, const BlobId& id, EntryKind kind,
                                const std::filesystem::path& target) {
  std::error_code ec;
  if (std::filesystem::symlink_status(target, ec).type() != std::filesystem::file_type::not_found) {
    return fail(ErrorCode::kAlreadyExists, "{} exists already (choose a new path with -o)",
                target.string());
  }
  ExportResult result;
  THUNDER_TRY(exportInto(store, id, kind, UINT64_MAX, target, 0, &result));
  return result;
}

Result<uint64_t> copyBlobTo(BlobStore& store, const BlobId& id, uint64_t offset, uint64_t length,
                            int fd) {
  THUNDER_ASSIGN_OR_RETURN(auto slice, store.openRange(id, offset, length));
  std::vector<uint8_t> buffer(std::min<uint64_t>(slice.length, 1 << 20));
  uint64_t done = 0;
  while (done < slice.length) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), slice.length - done));
    THUNDER_TRY(preadAll(slice.fd.get(), std::span(buffer.data(), n), slice.offset + done,
                         fmt::format("blob {}", id.hex())));
    THUNDER_TRY(writeAll(fd, std::span(buffer.data(), n), "the output"));
    done += n;
  }
  return done;
}

}  // namespace thunder::content
