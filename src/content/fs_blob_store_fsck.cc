// FsBlobStore::fsck(): re-verifies every blob against its id and checks files against the index.
#include <fcntl.h>
#include <sys/stat.h>

#include "content/fs_blob_store.h"
#include "content/fs_blob_store_internal.h"

namespace thunder::content {

std::string_view fsckProblemName(FsckProblemKind kind) {
  switch (kind) {
    case FsckProblemKind::kDataCorrupt: return "data_corrupt";
    case FsckProblemKind::kOutboardCorrupt: return "outboard_corrupt";
    case FsckProblemKind::kMissingFile: return "missing_file";
    case FsckProblemKind::kWrongSize: return "wrong_size";
    case FsckProblemKind::kOrphanFile: return "orphan_file";
    case FsckProblemKind::kBadRecord: return "bad_record";
  }
  return "unknown";
}

namespace {

// Opens `path` and checks its length; records a problem and returns an invalid fd otherwise.
UniqueFd openChecked(const std::filesystem::path& path, uint64_t expected_size, const BlobId& id,
                     FsckReport* report) {
  auto fd = openFile(path, O_RDONLY);
  if (!fd) {
    report->problems.push_back(
        {FsckProblemKind::kMissingFile, id.hex(), path.string(),
         fmt::format("cannot open {}: {}", path.string(), fd.error().message)});
    return UniqueFd();
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0 || static_cast<uint64_t>(st.st_size) != expected_size) {
    report->problems.push_back({FsckProblemKind::kWrongSize, id.hex(), path.string(),
                                fmt::format("{} is {} bytes long, expected {}", path.string(),
                                            static_cast<uint64_t>(st.st_size), expected_size)});
    return UniqueFd();
  }
  return std::move(*fd);
}

}  // namespace

Result<FsckReport> FsBlobStore::fsck() {
  FsckReport report;
  std::vector<std::pair<BlobId, BlobRecord>> records;
  auto scanned = index_->forEach([&](const BlobId& id, const BlobRecord& r) {
    records.emplace_back(id, r);
    return true;
  });
  if (!scanned) {
    if (scanned.error().code != ErrorCode::kCorruption) return fail(scanned.error());
    report.problems.push_back({FsckProblemKind::kBadRecord, "", (options_.root / "index").string(),
                               scanned.error().message});
  }
  auto still_stored = [&](const BlobId& id) {
    auto record = index_->get(id);
    return !record || record->has_value();
  };
  for (const auto& [id, record] : records) {
    if (record.state == BlobState::kPartial) {
      report.partial_blobs++;
      const size_t before = report.problems.size();
      UniqueFd data = openChecked(partialPath(id), record.size, id, &report);
      if (!data.valid() && !still_stored(id)) report.problems.resize(before);
      if (auto bits = index_->bitfield(id, record.size); !bits) {
        report.problems.push_back(
            {FsckProblemKind::kBadRecord, id.hex(), "", bits.error().message});
      }
      continue;
    }
    const size_t before = report.problems.size();
    UniqueFd data = openChecked(dataPath(id), record.size, id, &report);
    UniqueFd outboard =
        openChecked(outboardPath(id), crypto::outboardSize(record.size), id, &report);
    if (!data.valid() || !outboard.valid()) {
      if (!still_stored(id)) report.problems.resize(before);  // deleted while we looked
      continue;
    }
    report.blobs_checked++;
    report.bytes_checked += record.size;
    std::vector<uint8_t> computed(crypto::outboardSize(record.size));
    auto root =
        crypto::hashFile(data.get(), record.size, computed, crypto::HashParallelism::kTwoThreads);
    if (!root) {
      report.problems.push_back(
          {FsckProblemKind::kDataCorrupt, id.hex(), dataPath(id).string(), root.error().message});
      continue;
    }
    if (*root != id) {
      report.problems.push_back(
          {FsckProblemKind::kDataCorrupt, id.hex(), dataPath(id).string(),
           fmt::format("data of blob {} hashes to {}", id.hex(), root->hex())});
      continue;
    }
    std::vector<uint8_t> stored(computed.size());
    auto read = preadAll(outboard.get(), stored, 0, outboardPath(id).string());
    if (!read || stored != computed) {
      uint64_t at = 0;
      while (read && at < stored.size() && stored[at] == computed[at]) ++at;
      report.problems.push_back({FsckProblemKind::kOutboardCorrupt, id.hex(),
                                 outboardPath(id).string(),
                                 read ? fmt::format("outboard of blob {} differs from the "
                                                    "recomputed one at byte {} (parent node {})",
                                                    id.hex(), at, at / crypto::kParentSize)
                                      : read.error().message});
    }
  }
  // Files that no record names (left by a crash between rename and index write, or foreign).
  std::lock_guard lock(mu_);
  std::error_code ec;
  for (const char* area : {"blobs", "partial"}) {
    const bool complete_area = std::string_view(area) == "blobs";
    for (const auto& shard : std::filesystem::directory_iterator(options_.root / area, ec)) {
      std::error_code shard_ec;
      for (const auto& entry : std::filesystem::directory_iterator(shard.path(), shard_ec)) {
        const std::string name = entry.path().filename().string();
        const auto dot = name.find('.');
        auto id = BlobId::fromHex(std::string_view(name).substr(0, dot));
        const std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
        bool known = false;
        if (id) {
          auto record = index_->get(*id);
          known = record && *record &&
                  (complete_area ? (*record)->state == BlobState::kComplete &&
                                       (ext == "data" || ext == "obao")
                                 : (*record)->state == BlobState::kPartial && ext == "data");
        }
        if (!known) {
          report.problems.push_back(
              {FsckProblemKind::kOrphanFile, id ? id->hex() : "", entry.path().string(),
               fmt::format("{} is not named by any index record", entry.path().string())});
        }
      }
    }
  }
  return report;
}

}  // namespace thunder::content
