// The node side of PutBlob (docs/protocol/ipc.md §3.3): taking exactly `size` bytes from a
// descriptor a service passed, into a scratch file the node alone can write, before the blob
// store hashes and stores them. The service can neither change the bytes after they are copied
// nor make the node block on it: regular files (memfds) are read with pread from their current
// position (bounded work), pipes are reopened non-blocking so the caller reads them with
// readiness waits and a deadline. Any other descriptor kind is refused.
// Blocking helpers (scratch files, regular-file copies): call them off the event loop. Any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>

#include "base/result.h"
#include "base/unique_fd.h"

namespace thunder::executor {

enum class PutSourceKind { kRegularFile, kPipe };

// What kind of descriptor `fd` is. kInvalidArgument for sockets, devices, directories.
Result<PutSourceKind> classifyPutSource(int fd);

// An unnamed read-write file in `dir` (O_TMPFILE), or a memfd if `dir` cannot hold one.
Result<UniqueFd> createScratchFile(const std::filesystem::path& dir);

// Copies exactly `size` bytes of the regular file `src`, starting at its current file position,
// to `dst`. kInvalidArgument if `src` holds fewer bytes; kIoError on read/write failures.
Result<void> copyRegularFile(int src, int dst, uint64_t size);

// A new, non-blocking read descriptor of the pipe `fd` (/proc/self/fd reopen), so that reading
// it never blocks and never changes the flags of the service's own descriptor. kIoError.
Result<UniqueFd> reopenPipeNonBlocking(int fd);

// Writes all of `bytes` to `fd`. kIoError (kResourceExhausted when the disk is full).
Result<void> writeFully(int fd, std::span<const uint8_t> bytes);

}  // namespace thunder::executor
