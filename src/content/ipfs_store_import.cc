// IpfsStore::importCar: stream the blocks in, then build each root's content.
#include "content/ipfs_store.h"
#include "content/ipfs_store_index.h"
#include "content/ipfs_store_internal.h"

namespace thunder::content::ipfs {
namespace {

// Blocks are put in blob batches of this many blocks or bytes (and one at the end), each
// committed (one sync for all its blobs) before the block records naming them are written: a
// crash loses at most the current batch, whose files are collected on the next open, and the
// records of the last committed one, whose blobs are unpinned and so collectable.
constexpr size_t kBatchBlocks = 4096;
constexpr uint64_t kBatchBytes = 16 << 20;

}  // namespace

Result<ImportReport> IpfsStore::importCar(ByteReader reader, const ImportOptions& options) {
  THUNDER_ASSIGN_OR_RETURN(auto car, CarReader::open(std::move(reader), options.limits));
  ImportReport report;
  THUNDER_ASSIGN_OR_RETURN(auto blob_batch, blobs_.beginBatch());
  IndexBatch batch;
  const auto flush = [&]() -> Result<void> {
    THUNDER_TRY(blob_batch->commit());
    return index_->write(batch);
  };
  std::vector<BlobId> block_blobs;  // pinned once the import succeeded
  const auto read_blocks = [&]() -> Result<void> {
    for (;;) {
      THUNDER_ASSIGN_OR_RETURN(auto block, car.next());
      if (!block) return {};
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
          THUNDER_ASSIGN_OR_RETURN(const auto put, blob_batch->putBytes(block->data, {}));
          batch.putBlock(cid.hash(), BlockRecord{put.id, put.size});
          block_blobs.push_back(put.id);
        }
        if (blob_batch->pendingBlobs() >= kBatchBlocks ||
            blob_batch->pendingBytes() >= kBatchBytes) {
          THUNDER_TRY(flush());
        }
      }
      if (options.progress) options.progress(car.bytesRead());
    }
  };
  if (auto read = read_blocks(); !read) {
    (void)flush();  // the blocks read before the error stay stored (unpinned)
    return fail(read.error());
  }
  THUNDER_TRY(flush());
  report.bytes = car.bytesRead();

  // Content blobs go into one more batch, committed with every pin of the import.
  THUNDER_ASSIGN_OR_RETURN(auto content_batch, blobs_.beginBatch());
  detail::BlockSource blocks(blobs_, *index_);
  detail::Assembler assembler(blocks, *content_batch);
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
    for (const BlobId& id : block_blobs) content_batch->pin(id);
    for (const BlobId& id : assembler.contentBlobs()) content_batch->pin(id);
  }
  if (auto committed = content_batch->commit(); !committed) {
    if (committed.error().code == ErrorCode::kNotFound) {
      return fail(ErrorCode::kResourceExhausted,
                  "the blob store evicted a blob of this import before it could be pinned ({}); "
                  "raise the store quota (store.quota_mb) or free space, then import again",
                  committed.error().message);
    }
    return fail(committed.error());
  }
  THUNDER_TRY(index_->write(assembler.records()));
  return report;
}

}  // namespace thunder::content::ipfs
