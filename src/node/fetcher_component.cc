#include "node/fetcher_component.h"

#include "content/fs_blob_store.h"

namespace thunder::node {

FetcherComponent::FetcherComponent(io::Runtime& runtime, std::filesystem::path data_dir,
                                   fetcher::FetcherOptions options,
                                   std::vector<std::string> ipfs_gateways, StoreComponent& store,
                                   MetricsRegistry& metrics)
    : runtime_(runtime),
      data_dir_(std::move(data_dir)),
      options_(std::move(options)),
      ipfs_gateways_(std::move(ipfs_gateways)),
      store_(store),
      metrics_(metrics) {}

FetcherComponent::~FetcherComponent() {
  stop();
}

Result<void> FetcherComponent::start() {
  if (store_.store() == nullptr) {
    return fail(ErrorCode::kUnavailable, "the blob store is not open (start the store first)");
  }
  fetcher::FetcherOptions options = options_;
  if (options.spool_dir.empty()) options.spool_dir = content::storeDirIn(data_dir_) / "tmp";
  THUNDER_ASSIGN_OR_RETURN(
      fetcher_, fetcher::Fetcher::create(runtime_, *store_.store(), std::move(options), &metrics_));
  if (store_.ipfs() != nullptr) {
    auto origin = fetcher::IpfsOrigin::create(runtime_, *fetcher_, *store_.store(), *store_.ipfs(),
                                              {ipfs_gateways_});
    if (!origin) {
      fetcher_->stop();
      fetcher_.reset();
      return fail(origin.error().withContext("ipfs.gateways"));
    }
    ipfs_origin_ = std::move(origin).value();
  }
  return {};
}

void FetcherComponent::stop() {
  ipfs_origin_.reset();
  if (fetcher_) fetcher_->stop();
  fetcher_.reset();
}

}  // namespace thunder::node
