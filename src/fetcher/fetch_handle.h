// FetchHandle: one fetch of a URL as its readers see it — bytes readable by offset while the
// download is still running (streaming on a cache miss), then the final status: complete with the
// blob id, or failed with the error.
//
// The Fetcher creates handles and is their only writer; readers share them (std::shared_ptr)
// and may read from any loop, any number at once. The bytes live in a spool file (an unnamed
// file in FetcherOptions::spool_dir, gone when the last reference to the handle goes) or, for a
// URL served from the cache, in the stored blob's data file. Thread-safe.
//
// Read rules, so that an HTTP response can never be completed with unverified bytes:
//   - while downloading, every byte received except the last one is readable;
//   - the last byte, and the end of data (read() returning 0), come only once the whole body
//     matched its BLAKE3 id, SRI integrity and expected id;
//   - if the download fails before that, every read() fails with the fetch's error, even for
//     bytes that were readable earlier (a reader must cut its response);
//   - once verified, reads keep working even if storing the blob then fails (result() reports it).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/strong_types.h"
#include "base/unique_fd.h"

namespace thunder::fetcher {

enum class FetchState {
  kQueued,       // waiting for an origin slot
  kDownloading,  // the origin is sending
  kStoring,      // verified; being put into the blob store
  kComplete,     // stored; the URL is mapped (unless the origin said no-store)
  kFailed,
};

// "queued", "downloading", "storing", "complete", "failed".
std::string_view fetchStateName(FetchState state);

enum class FetchSource { kOrigin, kCache };

// The outcome of a completed fetch.
struct FetchResult {
  BlobId id;
  uint64_t size = 0;
  FetchSource source = FetchSource::kOrigin;
};

// A snapshot of a fetch.
struct FetchProgress {
  FetchState state = FetchState::kQueued;
  uint64_t received = 0;                   // bytes in the spool
  uint64_t readable = 0;                   // bytes read() may return now
  std::optional<uint64_t> content_length;  // as the origin declared it
  bool verified = false;                   // readable == size: the end of the data is known
  std::optional<BlobId> id;                // once verified
  std::optional<Error> error;              // with kFailed
};

class FetchHandle {
 public:
  // Created by the Fetcher, queued.
  explicit FetchHandle(std::string url);
  ~FetchHandle();
  FetchHandle(const FetchHandle&) = delete;
  FetchHandle& operator=(const FetchHandle&) = delete;

  // The URL fetched (normalised, without fragment).
  const std::string& url() const { return url_; }
  FetchProgress progress() const;

  // Reads bytes at `offset` into `out` (not empty), waiting (on the caller's loop) until some are
  // readable. Returns the count, or 0 at the verified end of the data. The fetch's error if it
  // failed before the data was verified; kInvalidArgument if offset is past the verified end;
  // kIoError if the spool cannot be read.
  boost::asio::awaitable<Result<size_t>> read(uint64_t offset, std::span<uint8_t> out);

  // Waits until more than `offset` bytes are readable, or the data is verified, or the fetch
  // failed; returns the progress then.
  boost::asio::awaitable<FetchProgress> waitPast(uint64_t offset);

  // Waits for the final status: the stored blob, or the error.
  boost::asio::awaitable<Result<FetchResult>> result();

  // The descriptor the bytes are read from (spool or stored data file): the blob's bytes are at
  // their own offsets. Borrowed: valid while the handle lives; -1 while queued. For sendfile(2)
  // of the ranges progress() says are readable.
  int fd() const;

  // --- the writer's side: used only by the Fetcher (one download writes one handle) ---
  // Each call that changes what readers may see wakes the waiting readers.
  // Takes the spool; false (and the spool is closed) if the fetch was failed meanwhile (stop).
  bool startDownload(UniqueFd spool);
  void setContentLength(uint64_t length);
  void appended(uint64_t bytes);  // bytes written to the spool after the previous ones
  void verified(const BlobId& id);
  void complete(FetchResult result);
  // Serves a stored blob: complete at once.
  void completeFromStore(UniqueFd data, FetchResult result);
  // No effect once complete or failed.
  void fail(Error error);

 private:
  using Waiter = std::function<void()>;
  // Suspends until the next change or until pred() holds (checked under the lock).
  template <typename Pred>
  boost::asio::awaitable<void> waitUntil(Pred pred);
  FetchProgress progressLocked() const;
  uint64_t readableLocked() const;
  bool endedLocked() const;
  void wake(std::unique_lock<std::mutex> lock);

  const std::string url_;
  mutable std::mutex mutex_;
  UniqueFd fd_;                             // set once, before any byte is readable
  FetchState state_ = FetchState::kQueued;  // GUARDED_BY(mutex_)
  uint64_t received_ = 0;                   // GUARDED_BY(mutex_)
  std::optional<uint64_t> content_length_;  // GUARDED_BY(mutex_)
  bool verified_ = false;                   // GUARDED_BY(mutex_)
  std::optional<BlobId> id_;                // GUARDED_BY(mutex_)
  std::optional<FetchResult> result_;       // GUARDED_BY(mutex_)
  std::optional<Error> error_;              // GUARDED_BY(mutex_)
  std::vector<Waiter> waiters_;             // GUARDED_BY(mutex_)
};

}  // namespace thunder::fetcher
