#include "content/store_index.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <bit>
#include <cstring>

#include "content/fs_blob_store.h"
#include "crypto/blake3_tree.h"

namespace thunder::content {
namespace {

// Key prefixes (docs/formats/blob-store.md).
constexpr char kRecordPrefix = 'm';    // 'm' ‖ id → record
constexpr char kAccessPrefix = 'a';    // 'a' ‖ u64 BE last_access_us ‖ id → empty
constexpr char kBitfieldPrefix = 'p';  // 'p' ‖ id → bitfield of a partial blob
constexpr std::string_view kFormatKey = "!format";
constexpr std::string_view kFormatValue = "thunder-blob-store 1";

constexpr uint8_t kRecordVersion = 1;
constexpr size_t kRecordSize = 4 + 8 + 8 + 8;

std::string idKey(char prefix, const BlobId& id) {
  std::string key(1, prefix);
  key.append(reinterpret_cast<const char*>(id.data()), BlobId::kSize);
  return key;
}

std::string accessKey(uint64_t tick, const BlobId& id) {
  std::string key(1, kAccessPrefix);
  for (int i = 7; i >= 0; --i) key.push_back(static_cast<char>(tick >> (8 * i)));
  key.append(reinterpret_cast<const char*>(id.data()), BlobId::kSize);
  return key;
}

void putLe64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t getLe64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

std::string encodeRecord(const BlobRecord& r) {
  std::string out;
  out.reserve(kRecordSize);
  out.push_back(static_cast<char>(kRecordVersion));
  out.push_back(static_cast<char>(r.state == BlobState::kComplete ? 1 : 2));
  out.push_back(static_cast<char>(r.pin == PinState::kPinned ? 1 : 0));
  out.push_back(0);
  putLe64(out, r.size);
  putLe64(out, r.created_us);
  putLe64(out, r.last_access_us);
  return out;
}

Result<BlobRecord> decodeRecord(const rocksdb::Slice& value, const BlobId& id) {
  if (value.size() != kRecordSize || static_cast<uint8_t>(value[0]) != kRecordVersion ||
      (value[1] != 1 && value[1] != 2) || (value[2] != 0 && value[2] != 1) || value[3] != 0) {
    return fail(ErrorCode::kCorruption, "index record of blob {} is malformed ({} bytes)", id.hex(),
                value.size());
  }
  BlobRecord r;
  r.state = value[1] == 1 ? BlobState::kComplete : BlobState::kPartial;
  r.pin = value[2] == 1 ? PinState::kPinned : PinState::kUnpinned;
  r.size = getLe64(value.data() + 4);
  r.created_us = getLe64(value.data() + 12);
  r.last_access_us = getLe64(value.data() + 20);
  return r;
}

Result<void> check(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return {};
  if (s.IsNotFound()) return fail(ErrorCode::kNotFound, "{}: {}", what, s.ToString());
  if (s.IsCorruption()) return fail(ErrorCode::kCorruption, "{}: {}", what, s.ToString());
  if (s.IsNoSpace())
    return fail(ErrorCode::kResourceExhausted, "{}: {} (disk full)", what, s.ToString());
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return fail(ErrorCode::kUnavailable, "{}: {} (another process has the store open)", what,
                s.ToString());
  }
  return fail(ErrorCode::kIoError, "{}: {}", what, s.ToString());
}

}  // namespace

uint64_t GroupBitfield::countSet() const {
  uint64_t n = 0;
  for (const uint8_t b : bits_) n += static_cast<uint64_t>(std::popcount(b));
  return n;
}

std::optional<uint64_t> GroupBitfield::firstMissing(uint64_t first, uint64_t last) const {
  for (uint64_t g = first; g < last && g < groups_; ++g) {
    if (!test(g)) return g;
  }
  return std::nullopt;
}

std::vector<uint8_t> GroupBitfield::encode() const {
  std::vector<uint8_t> out(8 + bits_.size());
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(groups_ >> (8 * i));
  if (!bits_.empty()) std::memcpy(out.data() + 8, bits_.data(), bits_.size());
  return out;
}

Result<GroupBitfield> GroupBitfield::decode(std::span<const uint8_t> bytes, uint64_t groups) {
  if (bytes.size() < 8) return fail(ErrorCode::kCorruption, "group bitfield is truncated");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  if (n != groups || bytes.size() - 8 != (groups + 7) / 8) {
    return fail(ErrorCode::kCorruption, "group bitfield holds {} groups in {} bytes, expected {}",
                n, bytes.size() - 8, groups);
  }
  GroupBitfield out(groups);
  std::memcpy(out.bits_.data(), bytes.data() + 8, out.bits_.size());
  // Bits past the last group must be zero (canonical form).
  if (groups % 8 != 0 && (out.bits_.back() >> (groups % 8)) != 0) {
    return fail(ErrorCode::kCorruption, "group bitfield has bits set past group {}", groups);
  }
  return out;
}

StoreIndex::StoreIndex(std::unique_ptr<rocksdb::DB> db, std::filesystem::path secondary_dir)
    : db_(std::move(db)), secondary_dir_(std::move(secondary_dir)) {}

StoreIndex::~StoreIndex() {
  db_.reset();
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(secondary_dir_, ec);
  }
}

Result<std::unique_ptr<StoreIndex>> StoreIndex::open(const std::filesystem::path& dir,
                                                     OpenMode mode) {
  rocksdb::Options options;
  options.keep_log_file_num = 2;
  options.max_log_file_size = 1 << 20;
  options.max_manifest_file_size = 4 << 20;
  rocksdb::DB* raw = nullptr;
  std::filesystem::path secondary_dir;
  if (mode == OpenMode::kReadWrite) {
    options.create_if_missing = true;
    THUNDER_TRY(check(rocksdb::DB::Open(options, dir.string(), &raw),
                      fmt::format("cannot open the store index {}", dir.string())));
  } else {
    std::error_code ec;
    if (!std::filesystem::exists(dir / "CURRENT", ec)) {
      return fail(ErrorCode::kNotFound, "no blob store index at {}", dir.string());
    }
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "thunder-index-reader-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return failErrno(errno, "cannot create a temp dir for a read-only index reader");
    }
    secondary_dir = tmpl;
    options.max_open_files = -1;
    auto status = rocksdb::DB::OpenAsSecondary(options, dir.string(), secondary_dir.string(), &raw);
    if (status.ok()) status = raw->TryCatchUpWithPrimary();
    if (!status.ok()) {
      delete raw;
      std::filesystem::remove_all(secondary_dir, ec);
      THUNDER_TRY(
          check(status, fmt::format("cannot open the store index {} read-only", dir.string())));
    }
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  if (mode == OpenMode::kReadWrite) {
    std::string format;
    auto s = db->Get(rocksdb::ReadOptions(), kFormatKey, &format);
    if (s.IsNotFound()) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      THUNDER_TRY(
          check(db->Put(wo, kFormatKey, kFormatValue), "cannot initialize the store index"));
    } else {
      THUNDER_TRY(check(s, "cannot read the store index"));
      if (format != kFormatValue) {
        return fail(ErrorCode::kCorruption,
                    "store index {} has format \"{}\", this build reads \"{}\"", dir.string(),
                    format, kFormatValue);
      }
    }
  }
  return std::unique_ptr<StoreIndex>(new StoreIndex(std::move(db), std::move(secondary_dir)));
}

Result<std::optional<BlobRecord>> StoreIndex::get(const BlobId& id) const {
  std::string value;
  const auto s = db_->Get(rocksdb::ReadOptions(), idKey(kRecordPrefix, id), &value);
  if (s.IsNotFound()) return std::optional<BlobRecord>();
  THUNDER_TRY(check(s, "cannot read the store index"));
  THUNDER_ASSIGN_OR_RETURN(auto record, decodeRecord(value, id));
  return std::optional<BlobRecord>(record);
}

namespace {

// The writes of StoreIndex::put() for one blob, added to `batch`.
void addRecord(rocksdb::WriteBatch& batch, const BlobId& id, const BlobRecord& record,
               const std::optional<BlobRecord>& previous, const GroupBitfield* bitfield) {
  if (previous && previous->last_access_us != record.last_access_us) {
    batch.Delete(accessKey(previous->last_access_us, id));
  }
  batch.Put(idKey(kRecordPrefix, id), encodeRecord(record));
  batch.Put(accessKey(record.last_access_us, id), rocksdb::Slice());
  if (bitfield != nullptr) {
    const auto bits = bitfield->encode();
    batch.Put(idKey(kBitfieldPrefix, id),
              rocksdb::Slice(reinterpret_cast<const char*>(bits.data()), bits.size()));
  } else if (record.state == BlobState::kComplete && previous &&
             previous->state == BlobState::kPartial) {
    batch.Delete(idKey(kBitfieldPrefix, id));
  }
}

}  // namespace

Result<void> StoreIndex::put(const BlobId& id, const BlobRecord& record,
                             const std::optional<BlobRecord>& previous,
                             const GroupBitfield* bitfield, Durability durability) {
  rocksdb::WriteBatch batch;
  addRecord(batch, id, record, previous, bitfield);
  rocksdb::WriteOptions wo;
  wo.sync = durability == Durability::kSync;
  return check(db_->Write(wo, &batch), "cannot write the store index");
}

Result<void> StoreIndex::putAll(std::span<const RecordUpdate> updates, Durability durability) {
  if (updates.empty()) return {};
  rocksdb::WriteBatch batch;
  for (const auto& u : updates) addRecord(batch, u.id, u.record, u.previous, nullptr);
  rocksdb::WriteOptions wo;
  wo.sync = durability == Durability::kSync;
  return check(db_->Write(wo, &batch), "cannot write the store index");
}

Result<void> StoreIndex::remove(const BlobId& id, const BlobRecord& record) {
  rocksdb::WriteBatch batch;
  batch.Delete(idKey(kRecordPrefix, id));
  batch.Delete(accessKey(record.last_access_us, id));
  batch.Delete(idKey(kBitfieldPrefix, id));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return check(db_->Write(wo, &batch), "cannot write the store index");
}

Result<GroupBitfield> StoreIndex::bitfield(const BlobId& id, uint64_t size) const {
  std::string value;
  const auto s = db_->Get(rocksdb::ReadOptions(), idKey(kBitfieldPrefix, id), &value);
  if (s.IsNotFound()) {
    return fail(ErrorCode::kCorruption, "partial blob {} has no group bitfield in the index",
                id.hex());
  }
  THUNDER_TRY(check(s, "cannot read the store index"));
  return GroupBitfield::decode(
      std::span(reinterpret_cast<const uint8_t*>(value.data()), value.size()),
      crypto::groupCount(size));
}

Result<void> StoreIndex::forEach(
    const std::function<bool(const BlobId&, const BlobRecord&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  const std::string prefix(1, kRecordPrefix);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() != 1 + BlobId::kSize) {
      return fail(ErrorCode::kCorruption, "store index has a malformed record key ({} bytes)",
                  it->key().size());
    }
    BlobId id;
    std::memcpy(id.data(), it->key().data() + 1, BlobId::kSize);
    THUNDER_ASSIGN_OR_RETURN(auto record, decodeRecord(it->value(), id));
    if (!fn(id, record)) return {};
  }
  return check(it->status(), "cannot scan the store index");
}

Result<void> StoreIndex::forEachByAccess(const std::function<bool(const BlobId&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  const std::string prefix(1, kAccessPrefix);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (it->key().size() != 1 + 8 + BlobId::kSize) {
      return fail(ErrorCode::kCorruption, "store index has a malformed LRU key ({} bytes)",
                  it->key().size());
    }
    BlobId id;
    std::memcpy(id.data(), it->key().data() + 9, BlobId::kSize);
    if (!fn(id)) return {};
  }
  return check(it->status(), "cannot scan the store index");
}

}  // namespace thunder::content
