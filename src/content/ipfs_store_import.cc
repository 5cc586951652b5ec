// IpfsStore::importCar: stream the blocks in, then build each root's content.
#include <algorithm>

#include "content/ipfs_store.h"
#include "content/ipfs_store_index.h"
#include "content/ipfs_store_internal.h"

namespace thunder::content::ipfs {
namespace {

// Block records are written in batches of this many blocks or bytes (and at the end): a crash
// loses at most one batch of mappings, whose blobs are unpinned and so collectable.
constexpr size_t kBatchBlocks = 256;
constexpr size_t kBatchBytes = 16 << 20;

}  // namespace

Result<ImportReport> IpfsStore::importCar(ByteReader reader, const ImportOptions& options) {
  THUNDER_ASSIGN_OR_RETURN(auto car, CarReader::open(std::move(reader), options.limits));
  ImportReport report;
  IndexBatch batch;
  std::vector<BlobId> block_blobs;  // pinned once the import succeeded
  for (;;) {
    THUNDER_ASSIGN_OR_RETURN(auto block, car.next());
    if (!block) break;
    ++report.blocks;
    const Cid& cid = block->cid;
    if (cid.hash().code != kIdentity) {
      // Stored already (and still there): nothing to write.
      THUNDER_ASSIGN_OR_RETURN(const auto known, index_->block(cid.hash()));
      bool present = false;
      if (known) {
        THUNDER_ASSIGN_OR_RETURN(present, blobs_.has(known->blob));
      }
      if (present) {
        block_blobs.push_back(known->blob);
      } else {
        THUNDER_ASSIGN_OR_RETURN(const auto put, blobs_.putBytes(block->data, PutOptions{}));
        batch.putBlock(cid.hash(), BlockRecord{put.id, put.size});
        block_blobs.push_back(put.id);
      }
      if (batch.count() >= kBatchBlocks || batch.bytes() >= kBatchBytes) {
        THUNDER_TRY(index_->write(batch));
      }
    }
    if (options.progress) options.progress(car.bytesRead());
  }
  THUNDER_TRY(index_->write(batch));
  report.bytes = car.bytesRead();

  detail::BlockSource blocks(blobs_, *index_);
  detail::Assembler assembler(blocks);
  for (const Cid& root : car.roots()) {
    THUNDER_ASSIGN_OR_RETURN(const auto built, assembler.build(root));
    ImportedRoot imported;
    imported.cid = root;
    imported.kind = built.kind;
    imported.blob = built.blob;
    imported.size = built.size;
    imported.complete = built.complete;
    report.roots.push_back(std::move(imported));
  }

  if (options.pin == PinState::kPinned) {
    std::vector<BlobId> pins = std::move(block_blobs);
    pins.insert(pins.end(), assembler.contentBlobs().begin(), assembler.contentBlobs().end());
    std::sort(pins.begin(), pins.end());
    pins.erase(std::unique(pins.begin(), pins.end()), pins.end());
    for (const BlobId& id : pins) {
      auto pinned = blobs_.pin(id);
      if (!pinned && pinned.error().code == ErrorCode::kNotFound) {
        return fail(ErrorCode::kResourceExhausted,
                    "the blob store evicted blob {} of this import before it could be pinned; "
                    "raise the store quota (store.quota_mb) or free space, then import again",
                    id.hex());
      }
      if (!pinned) return fail(pinned.error());
    }
  }
  THUNDER_TRY(index_->write(assembler.records()));
  return report;
}

}  // namespace thunder::content::ipfs
