#include "content/ipfs_store_index.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <cstring>

#include "base/check.h"

namespace thunder::content::ipfs {
namespace {

// Keys and values: docs/formats/ipfs.md "Store".
constexpr char kBlockPrefix = 'b';    // 'b' ‖ multihash → block record
constexpr char kContentPrefix = 'c';  // 'c' ‖ binary CIDv1 → content record
constexpr std::string_view kFormatKey = "!format";
constexpr std::string_view kFormatValue = "thunder-ipfs-store 1";
constexpr uint8_t kRecordVersion = 1;
constexpr size_t kBlockRecordSize = 1 + 32 + 8;
constexpr size_t kContentRecordSize = 1 + 1 + 32 + 8;

std::string key(char prefix, const std::vector<uint8_t>& bytes) {
  std::string out(1, prefix);
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return out;
}

void putLe64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t getLe64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

BlobId blobAt(const char* p) {
  BlobId id;
  std::memcpy(id.data(), p, BlobId::kSize);
  return id;
}

uint8_t kindByte(NodeKind kind) {
  switch (kind) {
    case NodeKind::kRaw: return 0;
    case NodeKind::kFile: return 1;
    case NodeKind::kDirectory: return 2;
    case NodeKind::kHamtDirectory: return 3;
    default: break;
  }
  THUNDER_CHECK(false, "only files and directories have content records");
  return 0;
}

Result<void> check(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return {};
  if (s.IsCorruption()) return fail(ErrorCode::kCorruption, "{}: {}", what, s.ToString());
  if (s.IsNoSpace()) {
    return fail(ErrorCode::kResourceExhausted, "{}: {} (disk full)", what, s.ToString());
  }
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return fail(ErrorCode::kUnavailable, "{}: {} (another process has the IPFS index open)", what,
                s.ToString());
  }
  return fail(ErrorCode::kIoError, "{}: {}", what, s.ToString());
}

}  // namespace

IndexBatch::IndexBatch() : batch_(std::make_unique<rocksdb::WriteBatch>()) {}
IndexBatch::~IndexBatch() = default;
IndexBatch::IndexBatch(IndexBatch&&) noexcept = default;
IndexBatch& IndexBatch::operator=(IndexBatch&&) noexcept = default;

void IndexBatch::putBlock(const Multihash& hash, const BlockRecord& record) {
  std::string value;
  value.reserve(kBlockRecordSize);
  value.push_back(static_cast<char>(kRecordVersion));
  value.append(reinterpret_cast<const char*>(record.blob.data()), BlobId::kSize);
  putLe64(value, record.size);
  batch_->Put(key(kBlockPrefix, hash.bytes()), value);
  ++count_;
  bytes_ += record.size;
}

void IndexBatch::putContent(const Cid& cid, const ContentRecord& record) {
  std::string value;
  value.reserve(kContentRecordSize);
  value.push_back(static_cast<char>(kRecordVersion));
  value.push_back(static_cast<char>(kindByte(record.kind)));
  value.append(reinterpret_cast<const char*>(record.blob.data()), BlobId::kSize);
  putLe64(value, record.size);
  batch_->Put(key(kContentPrefix, cid.toV1().bytes()), value);
  ++count_;
}

IpfsIndex::IpfsIndex(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}
IpfsIndex::~IpfsIndex() = default;

Result<std::unique_ptr<IpfsIndex>> IpfsIndex::open(const std::filesystem::path& dir) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.keep_log_file_num = 2;
  options.max_log_file_size = 1 << 20;
  options.max_manifest_file_size = 4 << 20;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return failErrorCode(ec, fmt::format("cannot create the IPFS index {}", dir.string()));
  rocksdb::DB* raw = nullptr;
  THUNDER_TRY(check(rocksdb::DB::Open(options, dir.string(), &raw),
                    fmt::format("cannot open the IPFS index {}", dir.string())));
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string format;
  const auto s = db->Get(rocksdb::ReadOptions(), kFormatKey, &format);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    THUNDER_TRY(check(db->Put(wo, kFormatKey, kFormatValue), "cannot initialize the IPFS index"));
  } else {
    THUNDER_TRY(check(s, "cannot read the IPFS index"));
    if (format != kFormatValue) {
      return fail(ErrorCode::kCorruption,
                  "IPFS index {} has format \"{}\", this build reads \"{}\"", dir.string(), format,
                  kFormatValue);
    }
  }
  return std::unique_ptr<IpfsIndex>(new IpfsIndex(std::move(db)));
}

Result<std::optional<BlockRecord>> IpfsIndex::block(const Multihash& hash) const {
  std::string value;
  const auto s = db_->Get(rocksdb::ReadOptions(), key(kBlockPrefix, hash.bytes()), &value);
  if (s.IsNotFound()) return std::optional<BlockRecord>();
  THUNDER_TRY(check(s, "cannot read the IPFS index"));
  if (value.size() != kBlockRecordSize || static_cast<uint8_t>(value[0]) != kRecordVersion) {
    return fail(ErrorCode::kCorruption, "IPFS index: block record is malformed ({} bytes)",
                value.size());
  }
  return BlockRecord{blobAt(value.data() + 1), getLe64(value.data() + 33)};
}

Result<std::optional<ContentRecord>> IpfsIndex::content(const Cid& cid) const {
  std::string value;
  const auto s = db_->Get(rocksdb::ReadOptions(), key(kContentPrefix, cid.toV1().bytes()), &value);
  if (s.IsNotFound()) return std::optional<ContentRecord>();
  THUNDER_TRY(check(s, "cannot read the IPFS index"));
  if (value.size() != kContentRecordSize || static_cast<uint8_t>(value[0]) != kRecordVersion ||
      static_cast<uint8_t>(value[1]) > 3) {
    return fail(ErrorCode::kCorruption, "IPFS index: content record of {} is malformed",
                cid.toString());
  }
  static constexpr NodeKind kKinds[] = {NodeKind::kRaw, NodeKind::kFile, NodeKind::kDirectory,
                                        NodeKind::kHamtDirectory};
  return ContentRecord{kKinds[static_cast<uint8_t>(value[1])], blobAt(value.data() + 2),
                       getLe64(value.data() + 34)};
}

Result<void> IpfsIndex::write(IndexBatch& batch) {
  if (batch.count_ == 0) return {};
  rocksdb::WriteOptions wo;
  wo.sync = true;
  THUNDER_TRY(check(db_->Write(wo, batch.batch_.get()), "cannot write the IPFS index"));
  batch.batch_->Clear();
  batch.count_ = 0;
  batch.bytes_ = 0;
  return {};
}

}  // namespace thunder::content::ipfs
