#include "fetcher/fetch_handle.h"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "content/file_util.h"

namespace thunder::fetcher {

namespace asio = boost::asio;

std::string_view fetchStateName(FetchState state) {
  switch (state) {
    case FetchState::kQueued: return "queued";
    case FetchState::kDownloading: return "downloading";
    case FetchState::kStoring: return "storing";
    case FetchState::kComplete: return "complete";
    case FetchState::kFailed: return "failed";
  }
  return "unknown";
}

FetchHandle::FetchHandle(std::string url) : url_(std::move(url)) {}

FetchHandle::~FetchHandle() = default;

uint64_t FetchHandle::readableLocked() const {
  if (verified_) return received_;
  if (error_) return 0;
  // The last byte waits for verification: a response framed by Content-Length can then never
  // be completed with bytes that turn out wrong.
  return received_ > 0 ? received_ - 1 : 0;
}

bool FetchHandle::endedLocked() const {
  return verified_ || error_.has_value();
}

FetchProgress FetchHandle::progressLocked() const {
  FetchProgress progress;
  progress.state = state_;
  progress.received = received_;
  progress.readable = readableLocked();
  progress.content_length = content_length_;
  progress.verified = verified_;
  progress.id = id_;
  progress.error = error_;
  return progress;
}

FetchProgress FetchHandle::progress() const {
  std::lock_guard lock(mutex_);
  return progressLocked();
}

int FetchHandle::fd() const {
  std::lock_guard lock(mutex_);
  return fd_.get();
}

void FetchHandle::wake(std::unique_lock<std::mutex> lock) {
  std::vector<Waiter> waiters;
  waiters.swap(waiters_);
  lock.unlock();
  for (auto& waiter : waiters) waiter();
}

template <typename Pred>
asio::awaitable<void> FetchHandle::waitUntil(Pred pred) {
  auto initiation = [this, pred](auto handler) {
    using Handler = decltype(handler);
    auto executor = asio::get_associated_executor(handler);
    auto shared = std::make_shared<Handler>(std::move(handler));
    Waiter waiter = [shared, executor] {
      asio::post(executor, [shared] {
        Handler& resume = *shared;
        std::move(resume)();
      });
    };
    std::unique_lock lock(mutex_);
    if (pred()) {
      lock.unlock();
      waiter();
      return;
    }
    waiters_.push_back(std::move(waiter));
  };
  co_await asio::async_initiate<const asio::use_awaitable_t<>, void()>(initiation,
                                                                       asio::use_awaitable);
}

asio::awaitable<FetchProgress> FetchHandle::waitPast(uint64_t offset) {
  const auto ready = [this, offset] { return readableLocked() > offset || endedLocked(); };
  for (;;) {
    std::optional<FetchProgress> progress;
    {
      std::lock_guard lock(mutex_);
      if (ready()) progress = progressLocked();
    }
    if (progress) co_return std::move(*progress);
    co_await waitUntil(ready);
  }
}

asio::awaitable<Result<size_t>> FetchHandle::read(uint64_t offset, std::span<uint8_t> out) {
  const FetchProgress progress = co_await waitPast(offset);
  if (progress.error && !progress.verified) co_return tl::unexpected(*progress.error);
  if (offset >= progress.readable) {
    if (offset == progress.readable) co_return size_t{0};
    co_return thunder::fail(ErrorCode::kInvalidArgument,
                            "offset {} is past the end of {} ({} bytes)", offset, url_,
                            progress.readable);
  }
  const auto n = static_cast<size_t>(std::min<uint64_t>(out.size(), progress.readable - offset));
  THUNDER_CO_TRY(content::preadAll(fd(), out.first(n), offset, "the fetch spool"));
  co_return n;
}

asio::awaitable<Result<FetchResult>> FetchHandle::result() {
  const auto done = [this] { return result_.has_value() || state_ == FetchState::kFailed; };
  for (;;) {
    std::optional<Result<FetchResult>> outcome;
    {
      std::lock_guard lock(mutex_);
      if (result_) {
        outcome = *result_;
      } else if (state_ == FetchState::kFailed) {
        outcome = tl::unexpected(*error_);
      }
    }
    if (outcome) co_return std::move(*outcome);
    co_await waitUntil(done);
  }
}

bool FetchHandle::startDownload(UniqueFd spool) {
  std::unique_lock lock(mutex_);
  if (state_ != FetchState::kQueued) return false;
  fd_ = std::move(spool);
  state_ = FetchState::kDownloading;
  wake(std::move(lock));
  return true;
}

void FetchHandle::setContentLength(uint64_t length) {
  std::lock_guard lock(mutex_);
  content_length_ = length;
}

void FetchHandle::appended(uint64_t bytes) {
  std::unique_lock lock(mutex_);
  if (state_ != FetchState::kDownloading) return;
  received_ += bytes;
  wake(std::move(lock));
}

void FetchHandle::verified(const BlobId& id) {
  std::unique_lock lock(mutex_);
  if (state_ != FetchState::kDownloading) return;
  verified_ = true;
  id_ = id;
  state_ = FetchState::kStoring;
  wake(std::move(lock));
}

void FetchHandle::complete(FetchResult result) {
  std::unique_lock lock(mutex_);
  if (state_ != FetchState::kStoring) return;
  result_ = result;
  state_ = FetchState::kComplete;
  wake(std::move(lock));
}

void FetchHandle::completeFromStore(UniqueFd data, FetchResult result) {
  std::unique_lock lock(mutex_);
  if (state_ != FetchState::kQueued) return;
  fd_ = std::move(data);
  received_ = result.size;
  verified_ = true;
  id_ = result.id;
  result_ = result;
  state_ = FetchState::kComplete;
  wake(std::move(lock));
}

void FetchHandle::fail(Error error) {
  std::unique_lock lock(mutex_);
  if (state_ == FetchState::kComplete || state_ == FetchState::kFailed) return;
  error_ = std::move(error);
  state_ = FetchState::kFailed;
  wake(std::move(lock));
}

}  // namespace thunder::fetcher
