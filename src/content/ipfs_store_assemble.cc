// IpfsStore internals: building content blobs (file bytes, directory manifests) from blocks.
#include <sys/socket.h>

#include <thread>
#include <unordered_set>

#include "content/directory.h"
#include "content/file_util.h"
#include "content/ipfs_store_internal.h"

namespace thunder::content::ipfs::detail {
namespace {

// Writes all of `bytes` to a stream socket without raising SIGPIPE when the reader is gone.
Result<void> sendAll(int fd, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, "cannot pass file bytes to the blob store");
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return {};
}

bool isMissing(const Error& error) {
  return error.code == ErrorCode::kNotFound;
}

}  // namespace

Result<Assembler::Built> Assembler::buildAt(const Cid& cid, size_t depth) {
  if (auto it = cache_.find(cid); it != cache_.end()) return it->second;
  THUNDER_ASSIGN_OR_RETURN(Built built, buildUncached(cid, depth));
  cache_.emplace(cid, built);
  return built;
}

Result<Assembler::Built> Assembler::remember(const Cid& cid, NodeKind kind, const PutResult& put) {
  records_.putContent(cid, ContentRecord{kind, put.id, put.size});
  content_blobs_.push_back(put.id);
  Built built;
  built.kind = kind;
  built.blob = put.id;
  built.size = put.size;
  built.complete = true;
  return built;
}

Result<Assembler::Built> Assembler::buildUncached(const Cid& cid, size_t depth) {
  if (depth > kMaxTreeDepth) {
    return fail(ErrorCode::kCorruption, "directory {}: nested deeper than {} levels",
                cid.toString(), kMaxTreeDepth);
  }
  Built built;
  // A file assembled before (by an earlier import or contentBlob()) and still stored. Directories
  // are rebuilt (cheap: their manifests exist already), so that every blob under them is listed
  // in contentBlobs() for pinning.
  THUNDER_ASSIGN_OR_RETURN(const auto record, blocks_.index().content(cid));
  if (record && (record->kind == NodeKind::kFile || record->kind == NodeKind::kRaw)) {
    THUNDER_ASSIGN_OR_RETURN(const bool present, blocks_.blobs().has(record->blob));
    if (present) {
      content_blobs_.push_back(record->blob);
      built.kind = record->kind;
      built.blob = record->blob;
      built.size = record->size;
      built.complete = true;
      return built;
    }
  }
  THUNDER_ASSIGN_OR_RETURN(const auto block, blocks_.get(cid));
  if (!block) {
    built.kind = cid.codec() == kRaw ? NodeKind::kRaw : NodeKind::kOther;
    built.missing = fmt::format("block {} is not here", cid.toString());
    return built;
  }
  THUNDER_ASSIGN_OR_RETURN(const DecodedNode node, decodeNode(cid, *block));
  switch (node.kind) {
    case NodeKind::kRaw: {
      THUNDER_ASSIGN_OR_RETURN(const auto put, batch_.putBytes(*block, {}));
      return remember(cid, NodeKind::kRaw, put);
    }
    case NodeKind::kFile: return buildFile(cid, node);
    case NodeKind::kDirectory:
    case NodeKind::kHamtDirectory: return buildDirectory(cid, node, depth);
    case NodeKind::kSymlink:
      built.kind = NodeKind::kSymlink;
      built.size = node.unixfs.data ? node.unixfs.data->size() : 0;
      built.complete = true;
      return built;
    case NodeKind::kOther: {
      built.kind = NodeKind::kOther;
      THUNDER_ASSIGN_OR_RETURN(auto missing, firstMissing(cid));
      built.complete = !missing;
      if (missing) built.missing = fmt::format("block {} is not here", *missing);
      return built;
    }
  }
  return built;
}

Result<Assembler::Built> Assembler::buildFile(const Cid& cid, const DecodedNode& node) {
  Built incomplete;
  incomplete.kind = NodeKind::kFile;
  incomplete.size = unixfsFileSize(node.unixfs);
  BlobStore& blobs = blocks_.blobs();

  if (incomplete.size <= kInMemoryFileBytes) {
    // Small: gather in memory (streamFile checks each node's size before passing its bytes on,
    // so at most the size the root claims is gathered).
    std::vector<uint8_t> bytes;
    bytes.reserve(incomplete.size);
    auto streamed = streamFile(blocks_, cid, [&bytes](std::span<const uint8_t> chunk) {
      bytes.insert(bytes.end(), chunk.begin(), chunk.end());
      return Result<void>();
    });
    if (!streamed && isMissing(streamed.error())) {
      incomplete.missing = streamed.error().message;
      return incomplete;
    }
    if (!streamed) return fail(streamed.error());
    THUNDER_ASSIGN_OR_RETURN(const auto put, batch_.putBytes(bytes, {}));
    return remember(cid, NodeKind::kFile, put);
  }

  // Large: stream the leaves through a socket pair into putStream(), never holding the file.
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return failErrno(errno, "cannot create a socket pair to assemble a file");
  }
  UniqueFd reader(fds[0]);
  UniqueFd writer(fds[1]);
  Result<uint64_t> streamed = 0;
  std::thread producer([&] {
    const int fd = writer.get();
    streamed = streamFile(blocks_, cid,
                          [fd](std::span<const uint8_t> chunk) { return sendAll(fd, chunk); });
    writer.reset();  // end of input for putStream()
  });
  auto put = blobs.putStream(reader.get(), {});
  reader.reset();  // a producer still sending now fails instead of blocking
  producer.join();
  if (!put) return fail(put.error());
  if (!streamed) {
    // The bytes stored are a truncated or wrong file: drop them unless they were there before.
    if (put->outcome == PutOutcome::kStored) (void)blobs.remove(put->id);
    if (!isMissing(streamed.error())) return fail(streamed.error());
    incomplete.missing = streamed.error().message;
    return incomplete;
  }
  if (put->size != *streamed) {
    return fail(ErrorCode::kInternal, "assembling {}: streamed {} bytes, stored {}", cid.toString(),
                *streamed, put->size);
  }
  return remember(cid, NodeKind::kFile, *put);
}

Result<Assembler::Built> Assembler::buildDirectory(const Cid& cid, const DecodedNode& node,
                                                   size_t depth) {
  Built built;
  built.kind = node.kind;
  std::vector<DirLink> links;
  if (node.kind == NodeKind::kHamtDirectory) {
    THUNDER_ASSIGN_OR_RETURN(auto missing, hamtEntries(blocks_, cid, node, links));
    if (missing) {
      built.missing = fmt::format("block {} is not here", *missing);
      return built;
    }
  } else {
    for (const auto& link : node.pb.links) {
      links.push_back(DirLink{link.name.value_or(""), link.hash});
    }
  }
  std::vector<DirectoryEntry> entries;
  entries.reserve(links.size());
  bool complete = true;
  for (const auto& link : links) {
    const auto context = [&](Error e) {
      return e.withContext(fmt::format("directory {}, entry {:?}", cid.toString(), link.name));
    };
    THUNDER_TRY(checkEntryName(link.name).map_error(context));
    if (link.name.size() > kMaxEntryNameBytes && built.unrepresentable.empty()) {
      built.unrepresentable =
          fmt::format("directory {} has an entry name of {} bytes; a manifest holds {} at most",
                      cid.toString(), link.name.size(), kMaxEntryNameBytes);
    }
    THUNDER_ASSIGN_OR_RETURN(const Built child, buildAt(link.cid, depth + 1));
    if (!child.complete) {
      // Keep building the siblings: each complete one gets its own content blob.
      if (complete) built.missing = child.missing;
      complete = false;
      continue;
    }
    const auto kind = entryKindOf(child.kind);
    if (!kind) continue;  // symlinks and non-UnixFS data have no place in a manifest
    if (!child.blob) {    // a sub-directory no manifest can hold: neither can this one
      if (built.unrepresentable.empty()) built.unrepresentable = child.unrepresentable;
      continue;
    }
    entries.push_back(DirectoryEntry{link.name, *kind, child.size, *child.blob});
  }
  if (!complete) return built;
  if (entries.size() > kMaxDirectoryEntries && built.unrepresentable.empty()) {
    built.unrepresentable = fmt::format("directory {} has {} entries; a manifest holds {} at most",
                                        cid.toString(), entries.size(), kMaxDirectoryEntries);
  }
  if (!built.unrepresentable.empty()) {
    // Its blocks are all here (and served by CID); only the Thunder manifest cannot exist.
    built.complete = true;
    return built;
  }
  auto manifest = makeManifest(std::move(entries));
  if (!manifest) {
    return fail(manifest.error().withContext(fmt::format("directory {}", cid.toString())));
  }
  THUNDER_ASSIGN_OR_RETURN(const auto put, batch_.putBytes(encodeManifest(*manifest), {}));
  return remember(cid, node.kind, put);
}

Result<std::optional<std::string>> Assembler::firstMissing(const Cid& root) {
  std::unordered_set<Cid, CidHash> seen{root};
  std::vector<Cid> stack{root};
  while (!stack.empty()) {
    const Cid cid = std::move(stack.back());
    stack.pop_back();
    THUNDER_ASSIGN_OR_RETURN(const auto block, blocks_.get(cid));
    if (!block) return std::optional<std::string>(cid.toString());
    THUNDER_ASSIGN_OR_RETURN(const auto node, decodeNode(cid, *block));
    for (auto it = node.links.rbegin(); it != node.links.rend(); ++it) {
      if (seen.insert(*it).second) stack.push_back(*it);
    }
  }
  return std::optional<std::string>();
}

}  // namespace thunder::content::ipfs::detail
