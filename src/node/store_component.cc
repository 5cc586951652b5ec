#include "node/store_component.h"

#include "base/log.h"
#include "io/offload.h"
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
  if (auto blobs = store_->list(); blobs) blob_count_ = blobs->size();
  return {};
}

void StoreComponent::stop() {
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
}

}  // namespace thunder::node
