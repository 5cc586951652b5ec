// Service programs stored as blobs: materialiseServiceBlob() turns the blob id of an executable
// in the node's BlobStore into a verified executable file that the sandbox can run.
//
// The bytes are copied from the store into <dir>/<hex id> (dir 0711, file 0555, owned by the
// node), BLAKE3-hashed while they are copied, and the file is renamed into place only if the
// hash equals the id, so unverified bytes are never executed. An existing file is re-hashed
// before it is used. Blocking (reads and hashes the whole program): call it off the event loop.
// Thread-safe for distinct ids; concurrent calls for one id are safe (each writes its own temp
// file; the rename is atomic).
#pragma once

#include <filesystem>

#include "base/result.h"
#include "base/strong_types.h"
#include "content/blob_store.h"

namespace thunder::executor {

// The executable for blob `id` below `dir` (created if missing). Errors: kNotFound (the blob
// is not stored complete), kCorruption (the stored bytes do not hash to `id`: nothing is left
// behind), kIoError / kPermissionDenied for the files.
Result<std::filesystem::path> materialiseServiceBlob(content::BlobStore& store, const BlobId& id,
                                                     const std::filesystem::path& dir);

}  // namespace thunder::executor
