#include "content/stored_blob_source.h"

namespace thunder::content {

Result<std::unique_ptr<StoredBlobSource>> StoredBlobSource::open(BlobStore& store,
                                                                 const BlobId& id) {
  THUNDER_ASSIGN_OR_RETURN(auto files, store.openComplete(id));
  return std::unique_ptr<StoredBlobSource>(new StoredBlobSource(std::move(files)));
}

}  // namespace thunder::content
