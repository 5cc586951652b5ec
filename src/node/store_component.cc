#include "node/store_component.h"

#include <fcntl.h>

#include "base/log.h"
#include "io/offload.h"
#include "node/ipfs_ops.h"
#include "node/store_ops.h"

namespace thunder::node {

using net::HttpRequest;
using net::HttpResponse;

StoreComponent::StoreComponent(io::Runtime& runtime, std::filesystem::path data_dir,
                               StoreOptions options, MetricsRegistry& metrics, AdminApi& admin)
    : runtime_(runtime), data_dir_(std::move(data_dir)), options_(options), metrics_(metrics) {
  metrics_.gauge(
      "thunder_store_blobs", "Blobs in the store (complete and partial).", {},
      [this] { return static_cast<double>(blob_count_.load()); }, this);
  metrics_.gauge(
      "thunder_store_used_bytes", "Data and outboard bytes of stored blobs.", {},
      [this] { return store_ ? static_cast<double>(store_->usedBytes()) : 0.0; }, this);
  metrics_.gauge(
      "thunder_store_quota_bytes", "The store's cache quota; 0 is unlimited.", {},
      [this] { return static_cast<double>(options_.quota_mb << 20); }, this);
  addRoutes(admin);
}

StoreComponent::~StoreComponent() {
  stop();
  metrics_.removeMetrics(this);
}

Result<void> StoreComponent::start() {
  content::StoreOptions store_options;
  store_options.root = content::storeDirIn(data_dir_);
  store_options.quota_bytes = options_.quota_mb << 20;
  THUNDER_ASSIGN_OR_RETURN(store_, content::FsBlobStore::open(std::move(store_options)));
  auto ipfs = content::ipfs::IpfsStore::open(content::ipfs::ipfsDirIn(data_dir_), *store_);
  if (!ipfs) {
    store_.reset();
    return fail(ipfs.error());
  }
  ipfs_ = std::move(*ipfs);
  if (auto blobs = store_->list(); blobs) blob_count_ = blobs->size();
  return {};
}

void StoreComponent::stop() {
  ipfs_.reset();
  store_.reset();
}

nlohmann::json StoreComponent::statusJson() const {
  return {{"blobs", blob_count_.load()},
          {"used_bytes", store_ ? store_->usedBytes() : 0},
          {"quota_bytes", options_.quota_mb << 20}};
}

void StoreComponent::addRoutes(AdminApi& admin) {
  // Each route parses {"path"|"id", "pin"} and runs the store operation on the blocking pool.
  using Operation =
      std::function<Result<nlohmann::json>(content::BlobStore&, const nlohmann::json&)>;
  auto route = [this, &admin](std::string path, Operation operation) {
    admin.addRoute(
        "POST", std::move(path), RouteAccess::kLoopbackOnly,
        [this, operation](HttpRequest request) -> boost::asio::awaitable<HttpResponse> {
          auto body = nlohmann::json::parse(request.body.empty() ? "{}" : request.body, nullptr,
                                            /*allow_exceptions=*/false);
          if (!body.is_object()) {
            co_return errorResponse(
                Error{ErrorCode::kInvalidArgument, "the request body is not a JSON object"});
          }
          auto result = co_await io::offload(
              runtime_.blockingPool(), [this, &operation, &body]() -> Result<nlohmann::json> {
                if (!store_) return fail(ErrorCode::kUnavailable, "the blob store is not open");
                auto r = operation(*store_, body);
                if (auto blobs = store_->list(); blobs) blob_count_ = blobs->size();
                return r;
              });
          if (!result) co_return errorResponse(result.error());
          co_return HttpResponse::json(200, result->dump() + "\n");
        });
  };
  auto pinOf = [](const nlohmann::json& body) {
    return body.value("pin", false) ? content::PinState::kPinned : content::PinState::kUnpinned;
  };
  auto idOf = [](const nlohmann::json& body) -> Result<BlobId> {
    if (!body.contains("id") || !body["id"].is_string()) {
      return fail(ErrorCode::kInvalidArgument, "the request needs \"id\": a 64-hex-digit blob id");
    }
    return BlobId::fromHex(body["id"].get<std::string>());
  };

  route("/v0/store/put",
        [pinOf](content::BlobStore& store, const nlohmann::json& body) -> Result<nlohmann::json> {
          if (!body.contains("path") || !body["path"].is_string()) {
            return fail(ErrorCode::kInvalidArgument,
                        "the request needs \"path\": an absolute path");
          }
          const std::filesystem::path path = body["path"].get<std::string>();
          if (!path.is_absolute()) {
            return fail(ErrorCode::kInvalidArgument, "\"path\" must be absolute, got {}",
                        path.string());
          }
          return putPath(store, path, pinOf(body));
        });
  route("/v0/store/pin",
        [idOf](content::BlobStore& store, const nlohmann::json& body) -> Result<nlohmann::json> {
          THUNDER_ASSIGN_OR_RETURN(const BlobId id, idOf(body));
          return setPinned(store, id, content::PinState::kPinned);
        });
  route("/v0/store/unpin",
        [idOf](content::BlobStore& store, const nlohmann::json& body) -> Result<nlohmann::json> {
          THUNDER_ASSIGN_OR_RETURN(const BlobId id, idOf(body));
          return setPinned(store, id, content::PinState::kUnpinned);
        });
  route("/v0/store/gc",
        [](content::BlobStore& store, const nlohmann::json&) { return collectGarbage(store); });
  addIpfsRoutes(admin);
}

void StoreComponent::addIpfsRoutes(AdminApi& admin) {
  // Bodies name files the node reads or creates (like /v0/store/put): docs/admin-api.md.
  using Operation =
      std::function<Result<nlohmann::json>(content::ipfs::IpfsStore&, const nlohmann::json&)>;
  auto route = [this, &admin](std::string path, Operation operation) {
    admin.addRoute(
        "POST", std::move(path), RouteAccess::kLoopbackOnly,
        [this, operation](HttpRequest request) -> boost::asio::awaitable<HttpResponse> {
          auto body = nlohmann::json::parse(request.body.empty() ? "{}" : request.body, nullptr,
                                            /*allow_exceptions=*/false);
          if (!body.is_object()) {
            co_return errorResponse(
                Error{ErrorCode::kInvalidArgument, "the request body is not a JSON object"});
          }
          auto result = co_await io::offload(
              runtime_.blockingPool(), [this, &operation, &body]() -> Result<nlohmann::json> {
                if (!ipfs_) return fail(ErrorCode::kUnavailable, "the IPFS store is not open");
                auto r = operation(*ipfs_, body);
                if (auto blobs = store_->list(); blobs) blob_count_ = blobs->size();
                return r;
              });
          if (!result) co_return errorResponse(result.error());
          co_return HttpResponse::json(200, result->dump() + "\n");
        });
  };
  auto absolutePath = [](const nlohmann::json& body,
                         std::string_view key) -> Result<std::filesystem::path> {
    if (!body.contains(key) || !body[key].is_string()) {
      return fail(ErrorCode::kInvalidArgument, "the request needs \"{}\": an absolute path", key);
    }
    std::filesystem::path path = body[key].get<std::string>();
    if (!path.is_absolute()) {
      return fail(ErrorCode::kInvalidArgument, "\"{}\" must be absolute, got {}", key,
                  path.string());
    }
    return path;
  };

  route("/v0/ipfs/import",
        [absolutePath](content::ipfs::IpfsStore& ipfs,
                       const nlohmann::json& body) -> Result<nlohmann::json> {
          THUNDER_ASSIGN_OR_RETURN(const auto path, absolutePath(body, "path"));
          const auto pin =
              body.value("pin", true) ? content::PinState::kPinned : content::PinState::kUnpinned;
          return importCarFile(ipfs, path, pin);
        });
  route("/v0/ipfs/export",
        [absolutePath](content::ipfs::IpfsStore& ipfs,
                       const nlohmann::json& body) -> Result<nlohmann::json> {
          if (!body.contains("target") || !body["target"].is_string()) {
            return fail(ErrorCode::kInvalidArgument,
                        "the request needs \"target\": \"CID\" or \"CID/path\"");
          }
          THUNDER_ASSIGN_OR_RETURN(const auto target,
                                   parseIpfsTarget(body["target"].get<std::string>()));
          THUNDER_ASSIGN_OR_RETURN(const auto options, exportOptionsFromJson(body));
          THUNDER_ASSIGN_OR_RETURN(const auto output, absolutePath(body, "output"));
          // Fails before creating the file when the root or a path block is missing.
          THUNDER_TRY(ipfs.resolve(target.cid, target.segments));
          THUNDER_ASSIGN_OR_RETURN(auto fd,
                                   content::openFile(output, O_WRONLY | O_CREAT | O_EXCL, 0644));
          THUNDER_ASSIGN_OR_RETURN(auto out, exportCarTo(ipfs, target, options, fd.get()));
          THUNDER_TRY(content::fsyncFd(fd.get(), output.string()));
          out["output"] = output.string();
          return out;
        });
}

}  // namespace thunder::node
