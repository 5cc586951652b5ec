#include "handshake/dack_queue.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <stdlib.h>

#include <algorithm>
#include <functional>

#include "base/hex.h"
#include "base/log.h"

namespace thunder::handshake {
namespace {

// Keys (docs/formats/dack-queue.md).
constexpr char kEntryPrefix = 'd';
constexpr size_t kKeySize = 1 + 32 + 32 + 4 + 4 + 32 + 1;
constexpr std::string_view kFormatKey = "!format";
constexpr std::string_view kFormatValue = "thunder-dack-queue 1";
constexpr size_t kMaxCorruptEntriesLogged = 16;

void putBe32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void putBytes(std::string& out, std::span<const uint8_t> bytes) {
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

// 'd' ‖ node_pk ‖ client_pk ‖ u32 BE service ‖ u32 BE lane ‖ session_nonce ‖ u8 commodity.
std::string laneKey(const Dack& dack) {
  std::string key;
  key.reserve(kKeySize);
  key.push_back(kEntryPrefix);
  putBytes(key, dack.scope.node_pk.bytes());
  putBytes(key, dack.scope.client_pk.bytes());
  putBe32(key, dack.scope.service.value());
  putBe32(key, dack.scope.lane);
  putBytes(key, dack.scope.session_nonce.bytes());
  key.push_back(static_cast<char>(dack.commodity));
  return key;
}

std::span<const uint8_t> asBytes(const rocksdb::Slice& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string keyHex(const rocksdb::Slice& key) {
  return toHex(asBytes(key));
}

// The DACK stored under `key`, checked against the key. kCorruption naming the key otherwise.
Result<Dack> parseEntry(const rocksdb::Slice& key, const rocksdb::Slice& value) {
  if (key.size() != kKeySize || key[0] != kEntryPrefix) {
    return fail(ErrorCode::kCorruption,
                "dack queue entry {}: malformed key ({} bytes, expected {})", keyHex(key),
                key.size(), kKeySize);
  }
  auto dack = parseDack(asBytes(value));
  if (!dack) {
    return fail(ErrorCode::kCorruption, "dack queue entry {}: unreadable value ({} bytes): {}",
                keyHex(key), value.size(), dack.error().message);
  }
  if (laneKey(*dack) != key.ToStringView()) {
    return fail(ErrorCode::kCorruption,
                "dack queue entry {}: holds a DACK of another lane (client {}, lane {})",
                keyHex(key), dack->scope.client_pk.hex(), dack->scope.lane);
  }
  return dack;
}

Result<void> check(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return {};
  if (s.IsNotFound()) return fail(ErrorCode::kNotFound, "{}: {}", what, s.ToString());
  if (s.IsCorruption()) return fail(ErrorCode::kCorruption, "{}: {}", what, s.ToString());
  if (s.IsNoSpace()) {
    return fail(ErrorCode::kResourceExhausted, "{}: {} (disk full)", what, s.ToString());
  }
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return fail(ErrorCode::kUnavailable, "{}: {} (another process has the DACK queue open)", what,
                s.ToString());
  }
  return fail(ErrorCode::kIoError, "{}: {}", what, s.ToString());
}

// Calls fn(key, value) for every entry in key order (one consistent snapshot) until fn
// returns false or an error, which is returned.
using EntryFn = std::function<Result<bool>(const rocksdb::Slice&, const rocksdb::Slice&)>;
Result<void> scanEntries(rocksdb::DB& db, const EntryFn& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
  const std::string prefix(1, kEntryPrefix);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    THUNDER_ASSIGN_OR_RETURN(const bool more, fn(it->key(), it->value()));
    if (!more) return {};
  }
  return check(it->status(), "cannot scan the DACK queue");
}

}  // namespace

DackQueue::DackQueue(std::unique_ptr<rocksdb::DB> db, DackQueueMode mode,
                     std::filesystem::path secondary_dir)
    : db_(std::move(db)), mode_(mode), secondary_dir_(std::move(secondary_dir)) {}

DackQueue::~DackQueue() {
  db_.reset();
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(secondary_dir_, ec);
  }
}

Result<std::unique_ptr<DackQueue>> DackQueue::open(const DackQueueOptions& options) {
  const auto& dir = options.path;
  rocksdb::Options db_options;
  db_options.keep_log_file_num = 2;
  db_options.max_log_file_size = 1 << 20;
  db_options.max_manifest_file_size = 4 << 20;
  if (options.env != nullptr) db_options.env = options.env;
  rocksdb::DB* raw = nullptr;
  std::filesystem::path secondary_dir;
  if (options.mode == DackQueueMode::kReadWrite) {
    db_options.create_if_missing = true;
    THUNDER_TRY(check(rocksdb::DB::Open(db_options, dir.string(), &raw),
                      fmt::format("cannot open the DACK queue {}", dir.string())));
  } else {
    std::error_code ec;
    if (!std::filesystem::exists(dir / "CURRENT", ec)) {
      return fail(ErrorCode::kNotFound, "no DACK queue at {}", dir.string());
    }
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "thunder-dacks-reader-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return failErrno(errno, "cannot create a temp dir for a read-only DACK queue reader");
    }
    secondary_dir = tmpl;
    db_options.max_open_files = -1;  // required of a secondary instance
    auto status =
        rocksdb::DB::OpenAsSecondary(db_options, dir.string(), secondary_dir.string(), &raw);
    if (status.ok()) status = raw->TryCatchUpWithPrimary();
    if (!status.ok()) {
      delete raw;
      std::filesystem::remove_all(secondary_dir, ec);
      THUNDER_TRY(
          check(status, fmt::format("cannot open the DACK queue {} read-only", dir.string())));
    }
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  std::unique_ptr<DackQueue> queue(new DackQueue(std::move(db), options.mode, secondary_dir));
  secondary_dir.clear();  // the queue owns (and removes) it now

  std::string format;
  const auto s = queue->db_->Get(rocksdb::ReadOptions(), kFormatKey, &format);
  if (s.IsNotFound()) {
    // A new queue (a reader may see one whose writer has not written the marker yet).
    if (options.mode == DackQueueMode::kReadWrite) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      THUNDER_TRY(
          check(queue->db_->Put(wo, kFormatKey, kFormatValue), "cannot initialize the DACK queue"));
    }
  } else {
    THUNDER_TRY(check(s, "cannot read the DACK queue"));
    if (format != kFormatValue) {
      return fail(ErrorCode::kCorruption,
                  "{} holds format \"{}\", not a DACK queue this build reads (\"{}\")",
                  dir.string(), format, kFormatValue);
    }
  }
  if (options.mode == DackQueueMode::kReadWrite) queue->logCorruptEntries();
  return queue;
}

void DackQueue::logCorruptEntries() const {
  size_t corrupt = 0;
  const EntryFn fn = [&](const rocksdb::Slice& key, const rocksdb::Slice& value) -> Result<bool> {
    if (auto dack = parseEntry(key, value); !dack && ++corrupt <= kMaxCorruptEntriesLogged) {
      THUNDER_LOG(error, "handshake", "{}", dack.error().message);
    }
    return true;
  };
  if (auto scanned = scanEntries(*db_, fn); !scanned) {
    THUNDER_LOG(error, "handshake", "{}", scanned.error().message);
  }
  if (corrupt > 0) {
    THUNDER_LOG(error, "handshake",
                "the DACK queue holds {} corrupt entries; they stay pending and block "
                "settlement (list them with `thunder dacks --verify`)",
                corrupt);
  }
}

std::mutex& DackQueue::stripeOf(const std::string& key) {
  return stripes_[std::hash<std::string>{}(key) % kStripes];
}

Result<void> DackQueue::writable() const {
  if (mode_ == DackQueueMode::kReadWrite) return {};
  return fail(ErrorCode::kPermissionDenied, "the DACK queue was opened read-only");
}

Result<StoreOutcome> DackQueue::put(const Dack& dack) {
  THUNDER_TRY(writable());
  const std::string key = laneKey(dack);
  std::lock_guard lock(stripeOf(key));
  std::string stored;
  const auto s = db_->Get(rocksdb::ReadOptions(), key, &stored);
  StoreOutcome outcome = StoreOutcome::kStored;
  if (s.ok()) {
    THUNDER_ASSIGN_OR_RETURN(const Dack previous, parseEntry(key, stored));
    if (dack.counter <= previous.counter) return StoreOutcome::kStale;
    outcome = StoreOutcome::kReplaced;
  } else if (!s.IsNotFound()) {
    THUNDER_TRY(check(s, "cannot read the DACK queue"));
  }
  const auto value = encodeDack(dack);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  THUNDER_TRY(check(
      db_->Put(wo, key, rocksdb::Slice(reinterpret_cast<const char*>(value.data()), value.size())),
      "cannot write the DACK queue"));
  return outcome;
}

Result<std::vector<Dack>> DackQueue::list() const {
  std::vector<Dack> out;
  const EntryFn fn = [&](const rocksdb::Slice& key, const rocksdb::Slice& value) -> Result<bool> {
    THUNDER_ASSIGN_OR_RETURN(auto dack, parseEntry(key, value));
    out.push_back(std::move(dack));
    return true;
  };
  THUNDER_TRY(scanEntries(*db_, fn));
  return out;
}

Result<uint64_t> DackQueue::count() const {
  uint64_t n = 0;
  const EntryFn fn = [&](const rocksdb::Slice&, const rocksdb::Slice&) -> Result<bool> {
    ++n;
    return true;
  };
  THUNDER_TRY(scanEntries(*db_, fn));
  return n;
}

Result<std::vector<PendingDack>> DackQueue::takeBatch(size_t max) const {
  std::vector<PendingDack> out;
  if (max == 0) return out;
  const EntryFn fn = [&](const rocksdb::Slice& key, const rocksdb::Slice& value) -> Result<bool> {
    THUNDER_ASSIGN_OR_RETURN(auto dack, parseEntry(key, value));
    PendingDack pending{std::move(dack), {}};
    pending.handle.key_ = key.ToString();
    pending.handle.counter_ = pending.dack.counter;
    out.push_back(std::move(pending));
    return out.size() < max;
  };
  THUNDER_TRY(scanEntries(*db_, fn));
  return out;
}

Result<void> DackQueue::markSettled(std::span<const DackHandle> handles) {
  THUNDER_TRY(writable());
  // Lock every stripe involved, in index order (so two callers cannot deadlock).
  std::vector<size_t> indices;
  for (const auto& h : handles) indices.push_back(std::hash<std::string>{}(h.key_) % kStripes);
  std::sort(indices.begin(), indices.end());
  indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
  std::vector<std::unique_lock<std::mutex>> locks;
  locks.reserve(indices.size());
  for (const size_t i : indices) locks.emplace_back(stripes_[i]);

  rocksdb::WriteBatch batch;
  for (const auto& h : handles) {
    std::string stored;
    const auto s = db_->Get(rocksdb::ReadOptions(), h.key_, &stored);
    if (s.IsNotFound()) continue;  // settled already
    THUNDER_TRY(check(s, "cannot read the DACK queue"));
    THUNDER_ASSIGN_OR_RETURN(const Dack dack, parseEntry(h.key_, stored));
    if (dack.counter == h.counter_) batch.Delete(h.key_);
  }
  if (batch.Count() == 0) return {};
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return check(db_->Write(wo, &batch), "cannot write the DACK queue");
}

Result<VerifyReport> DackQueue::verifyAll() const {
  VerifyReport report;
  const EntryFn fn = [&](const rocksdb::Slice& key, const rocksdb::Slice& value) -> Result<bool> {
    ++report.checked;
    auto dack = parseEntry(key, value);
    if (!dack) {
      report.problems.push_back({keyHex(key), dack.error()});
      return true;
    }
    // The DACK against its own scope and an empty lane: version, counter >= 1, signature.
    if (auto ok = verifyDack(*dack, dack->scope, DackProgress{}); !ok) {
      report.problems.push_back(
          {keyHex(key), ok.error().withContext(fmt::format("dack queue entry {}", keyHex(key)))});
    }
    return true;
  };
  THUNDER_TRY(scanEntries(*db_, fn));
  return report;
}

}  // namespace thunder::handshake
