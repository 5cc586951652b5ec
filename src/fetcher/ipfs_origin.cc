#include "fetcher/ipfs_origin.h"

#include <fmt/format.h>

#include "content/file_util.h"
#include "content/ipfs_car.h"
#include "io/offload.h"

namespace thunder::fetcher {

namespace asio = boost::asio;
using content::ipfs::Cid;
using content::ipfs::ImportReport;

namespace {

// A ByteReader over an open file, from its start.
content::ipfs::ByteReader fileReader(int fd, uint64_t size) {
  auto offset = std::make_shared<uint64_t>(0);
  return [fd, size, offset](std::span<uint8_t> out) -> Result<size_t> {
    const uint64_t left = size - *offset;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size(), left));
    if (n == 0) return size_t{0};
    THUNDER_TRY(content::preadAll(fd, out.first(n), *offset, "a downloaded CAR"));
    *offset += n;
    return n;
  };
}

}  // namespace

Result<std::unique_ptr<IpfsOrigin>> IpfsOrigin::create(io::Runtime& runtime, Fetcher& fetcher,
                                                       content::BlobStore& blobs,
                                                       content::ipfs::IpfsStore& ipfs,
                                                       IpfsOriginOptions options) {
  for (auto& gateway : options.gateways) {
    if (!gateway.starts_with("http://") && !gateway.starts_with("https://")) {
      return fail(ErrorCode::kInvalidArgument,
                  "IPFS gateway '{}' is not an http:// or https:// URL", gateway);
    }
    while (gateway.ends_with('/')) gateway.pop_back();
  }
  return std::unique_ptr<IpfsOrigin>(
      new IpfsOrigin(runtime, fetcher, blobs, ipfs, std::move(options)));
}

IpfsOrigin::IpfsOrigin(io::Runtime& runtime, Fetcher& fetcher, content::BlobStore& blobs,
                       content::ipfs::IpfsStore& ipfs, IpfsOriginOptions options)
    : runtime_(runtime),
      fetcher_(fetcher),
      blobs_(blobs),
      ipfs_(ipfs),
      options_(std::move(options)) {}

Result<ImportReport> IpfsOrigin::importStoredCar(const BlobId& car, const Cid& cid) {
  THUNDER_ASSIGN_OR_RETURN(auto files, blobs_.openComplete(car));
  // Pass 1: every block hashes to its CID, and the CAR is rooted at `cid`.
  {
    THUNDER_ASSIGN_OR_RETURN(
        auto reader, content::ipfs::CarReader::open(fileReader(files.data.get(), files.size)));
    bool rooted = false;
    for (const auto& root : reader.roots()) rooted = rooted || root.toV1() == cid.toV1();
    if (!rooted) {
      return fail(ErrorCode::kCorruption, "the CAR's roots do not include {}", cid.toString());
    }
    for (;;) {
      THUNDER_ASSIGN_OR_RETURN(auto block, reader.next());
      if (!block) break;
    }
  }
  // Pass 2: import (links, sizes and names are checked there).
  content::ipfs::ImportOptions import;
  import.pin = content::PinState::kUnpinned;
  THUNDER_ASSIGN_OR_RETURN(auto report,
                           ipfs_.importCar(fileReader(files.data.get(), files.size), import));
  THUNDER_ASSIGN_OR_RETURN(const bool have_root, ipfs_.hasBlock(cid));
  if (!have_root) {
    return fail(ErrorCode::kNotFound, "the CAR does not contain the block of {}", cid.toString());
  }
  return report;
}

asio::awaitable<Result<ImportReport>> IpfsOrigin::fetch(Cid cid) {
  if (options_.gateways.empty()) {
    co_return thunder::fail(ErrorCode::kNotFound,
                            "{} is not here and no IPFS gateway is configured ([ipfs] gateways)",
                            cid.toString());
  }
  const std::string text = cid.toString();
  std::string answers;
  ErrorCode code = ErrorCode::kNotFound;
  for (const auto& gateway : options_.gateways) {
    FetchRequest request;
    request.url = fmt::format("{}/ipfs/{}?format=car&dag-scope=all", gateway, text);
    // The request temporary must not live inside the co_await expression (GCC 12).
    auto started = fetcher_.fetch(std::move(request));
    Result<std::shared_ptr<FetchHandle>> handle = co_await std::move(started);
    if (!handle) {
      answers += fmt::format("; {}: {}", gateway, handle.error().message);
      if (handle.error().code != ErrorCode::kNotFound) code = handle.error().code;
      continue;
    }
    const std::shared_ptr<FetchHandle> fetch = std::move(*handle);
    Result<FetchResult> done = co_await fetch->result();
    if (!done) {
      answers += fmt::format("; {}: {}", gateway, done.error().message);
      if (done.error().code != ErrorCode::kNotFound) code = done.error().code;
      continue;
    }
    const BlobId car = done->id;
    const Cid* wanted = &cid;
    IpfsOrigin* self = this;
    const BlobId* car_ptr = &car;
    auto work = [self, car_ptr, wanted] { return self->importStoredCar(*car_ptr, *wanted); };
    Result<ImportReport> report = co_await io::offload(runtime_.blockingPool(), std::move(work));
    // The blocks are what is kept; a blob of the same bytes that someone pinned is not ours.
    if (auto info = blobs_.stat(car); info && info->pin == content::PinState::kUnpinned) {
      (void)blobs_.remove(car);
    }
    if (report) co_return std::move(*report);
    answers += fmt::format("; {}: {}", gateway, report.error().message);
    code = report.error().code == ErrorCode::kNotFound ? code : ErrorCode::kCorruption;
  }
  co_return thunder::fail(code, "cannot fetch {} from the IPFS gateways{}", text, answers);
}

}  // namespace thunder::fetcher
