// BlobStore::beginBatch()'s default: a PutBatch that stores each put at once (no batching) and
// applies its pins at commit(), for stores without a batched path of their own.
#include "content/blob_store.h"

#include <algorithm>

namespace thunder::content {
namespace {

class WriteThroughBatch final : public PutBatch {
 public:
  explicit WriteThroughBatch(BlobStore& store) : store_(store) {}

  Result<PutResult> putBytes(std::span<const uint8_t> bytes, const PutOptions& options) override {
    PutOptions unpinned;  // pinned at commit(), like the batched implementations
    THUNDER_ASSIGN_OR_RETURN(auto put, store_.putBytes(bytes, unpinned));
    if (options.pin == PinState::kPinned) pins_.push_back(put.id);
    if (put.outcome == PutOutcome::kStored) {
      ++blobs_;
      bytes_ += put.size;
    }
    return put;
  }

  void pin(const BlobId& id) override { pins_.push_back(id); }

  Result<void> commit() override {
    std::vector<BlobId> pins = std::move(pins_);
    pins_.clear();
    blobs_ = 0;
    bytes_ = 0;
    std::sort(pins.begin(), pins.end());
    pins.erase(std::unique(pins.begin(), pins.end()), pins.end());
    for (const BlobId& id : pins) THUNDER_TRY(store_.pin(id));
    return {};
  }

  size_t pendingBlobs() const override { return blobs_; }
  uint64_t pendingBytes() const override { return bytes_; }

 private:
  BlobStore& store_;
  std::vector<BlobId> pins_;
  size_t blobs_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace

Result<std::unique_ptr<PutBatch>> BlobStore::beginBatch() {
  return std::unique_ptr<PutBatch>(std::make_unique<WriteThroughBatch>(*this));
}

}  // namespace thunder::content
