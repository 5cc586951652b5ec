// The node key file: one Ed25519 signing key stored as text on disk.
//
// The format (docs/formats/keystore.md) is three fixed lines:
//
//   thunder-key v1 ed25519
//   seed <64 lowercase hex digits>
//   public-key <64 lowercase hex digits>
//
// Files are private to their owner (mode 0600, parent directories created 0700) and written
// atomically: a crash never leaves a partial key file under the final name, and an existing key
// is never overwritten. Blocking file I/O with fsync: call these at start-up or from a CLI, not on
// an event loop. Thread-safe (no shared state).
#pragma once

#include <filesystem>

#include "base/result.h"
#include "crypto/signing.h"

namespace thunder::crypto {

// Reads the signing key stored in `file`. Errors, each naming the file:
//   kNotFound          the file does not exist;
//   kPermissionDenied  the file cannot be opened, or its mode lets group or others read or write
//                      it ("permissions 0644 on FILE are too open; run chmod 600 FILE");
//   kCorruption        the file is not a Thunder key file ("FILE is not a Thunder key file"), has
//                      an unsupported version, or is a corrupt Thunder key file (wrong length,
//                      bad hex, public key not matching the seed);
//   kIoError           reading failed.
Result<SigningKey> readKeyFile(const std::filesystem::path& file);

// Stores `key` in the new file `file`, creating missing parent directories with mode 0700.
// The key is written to a temporary file (mode 0600) in the same directory, fsynced, moved into
// place without replacing anything (renameat2 RENAME_NOREPLACE, or link() + unlink() where the
// file system lacks it), and the directory is fsynced. Errors, each naming the path:
//   kAlreadyExists     `file` already exists (it is left untouched);
//   kPermissionDenied, kNotFound, kResourceExhausted, kIoError  from the file system.
Result<void> writeNewKeyFile(const std::filesystem::path& file, const SigningKey& key);

}  // namespace thunder::crypto
