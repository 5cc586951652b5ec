#include "node/ledger_component.h"

#include "base/hex.h"
#include "base/log.h"
#include "crypto/keystore.h"
#include "handshake/dack_queue.h"
#include "io/offload.h"
#include "ledger/dack_settlement.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "ledger/ledger_json.h"
#include "ledger/local_orderer.h"
#include "ledger/tx_builder.h"
#include "ledger/tx_codec.h"
#include "node/admin_api.h"
#include "node/session_component.h"

namespace thunder::node {

using net::HttpRequest;
using net::HttpResponse;
using nlohmann::json;

namespace {

// An entry that is not final yet (an unfunded client, say) is offered again after this long.
constexpr auto kRestAfterRefusal = std::chrono::minutes(1);
// Epochs listed by GET /v0/ledger and /status.
constexpr size_t kListedEpochs = 5;

uint64_t nowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// The client key of the data dir (created like `thunder connect` does when missing).
Result<PublicKey> localClientKey(const std::filesystem::path& data_dir) {
  const auto file = data_dir / "keys" / "client.key";
  auto key = crypto::readKeyFile(file);
  if (key) return key->publicKey();
  if (key.error().code != ErrorCode::kNotFound) return tl::unexpected(key.error());
  auto fresh = crypto::SigningKey::generate();
  THUNDER_TRY(crypto::writeNewKeyFile(file, fresh));
  return fresh.publicKey();
}

Result<json> parseBody(const HttpRequest& request) {
  auto body = json::parse(request.body.empty() ? "{}" : request.body, nullptr, false);
  if (!body.is_object()) {
    return fail(ErrorCode::kInvalidArgument, "the request body is not a JSON object");
  }
  return body;
}

Result<PublicKey> keyField(const json& body, const char* field) {
  if (!body.contains(field) || !body[field].is_string()) {
    return fail(ErrorCode::kInvalidArgument, "the request needs \"{}\": 64 hex digits", field);
  }
  auto key = PublicKey::fromHex(body[field].get<std::string>());
  if (!key) return fail(ErrorCode::kInvalidArgument, "\"{}\" is not 64 hex digits", field);
  return *key;
}

}  // namespace

LedgerComponent::LedgerComponent(io::Runtime& runtime, std::filesystem::path data_dir,
                                 LedgerOptions options, const crypto::SigningKey& node_key,
                                 SessionComponent& sessions, MetricsRegistry& metrics,
                                 AdminApi& admin)
    : runtime_(runtime),
      data_dir_(std::move(data_dir)),
      options_(options),
      node_key_(node_key),
      sessions_(sessions),
      metrics_(metrics) {
  addRoutes(admin);
  metrics_.gauge("thunder_ledger_height", "Height of the last applied ledger block.", {},
                 [this] { return static_cast<double>(height_.load()); });
  metrics_.gauge("thunder_ledger_epoch", "The ledger's current epoch.", {},
                 [this] { return static_cast<double>(epoch_.load()); });
  metrics_.gauge("thunder_ledger_dacks_settled_total",
                 "DACKs whose settlement became final and that left the DACK queue.", {},
                 [this] { return static_cast<double>(settled_.load()); });
}

LedgerComponent::~LedgerComponent() {
  stop();
}

Result<void> LedgerComponent::start() {
  if (!options_.enabled) return {};
  ledger::Genesis genesis = ledger::devGenesis(node_key_.publicKey());
  genesis.params.epoch_length_ms = static_cast<uint64_t>(options_.epoch.count());
  // The data dir's own client pays like the dev client, so a fetch from this data dir settles.
  THUNDER_ASSIGN_OR_RETURN(const PublicKey client, localClientKey(data_dir_));
  const bool known = std::any_of(genesis.accounts.begin(), genesis.accounts.end(),
                                 [&](const auto& a) { return a.account == client; });
  if (!known) genesis.accounts.push_back({client, 1'000'000'000'000, 100'000'000'000});
  ledger::LedgerOptions ledger_options;
  ledger_options.path = data_dir_ / "ledger";
  auto opened = ledger::Ledger::open(ledger_options, genesis);
  if (!opened) {
    Error error = opened.error();
    if (error.code == ErrorCode::kInvalidArgument) {
      error = error.withContext(
          "the ledger in the data dir was made with another genesis (ledger.epoch_ms or the "
          "keys changed); move <data-dir>/ledger away to start a new dev chain");
    }
    return tl::unexpected(error);
  }
  ledger_ = std::move(opened).value();
  ledger::LocalOrdererOptions orderer_options;
  orderer_options.epoch_key = &node_key_;
  orderer_ = std::make_unique<ledger::LocalOrderer>(*ledger_, orderer_options);
  height_ = ledger_->height();
  if (auto epoch = ledger_->epoch()) epoch_ = epoch->epoch;
  {
    std::lock_guard lock(mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
  THUNDER_LOG(info, "node", "ledger at height {} (dev chain {}, epochs of {} ms)",
              ledger_->height(), ledger::kDevChainId, options_.epoch.count());
  return {};
}

void LedgerComponent::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  orderer_.reset();
  ledger_.reset();
}

void LedgerComponent::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.block_interval, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    tick();
    lock.lock();
  }
}

void LedgerComponent::tick() {
  if (auto ok = settle(nowMs()); !ok) {
    THUNDER_LOG(warn, "node", "ledger: {}", ok.error().message);
  }
}

Result<void> LedgerComponent::settle(uint64_t now_ms) {
  handshake::DackQueue* queue = sessions_.dackQueue();
  THUNDER_ASSIGN_OR_RETURN(const ledger::Params params, ledger_->params());
  std::vector<handshake::PendingDack> offered;
  if (queue != nullptr) {
    THUNDER_ASSIGN_OR_RETURN(auto pending, queue->takeBatch(params.max_dack_batch * 2));
    const auto now = std::chrono::steady_clock::now();
    std::erase_if(resting_, [&](const auto& entry) { return entry.second <= now; });
    for (auto& entry : pending) {
      if (offered.size() >= params.max_dack_batch) break;
      if (entry.dack.scope.node_pk != node_key_.publicKey()) continue;  // not ours to submit
      if (resting_.contains(toHex(entry.dack.signature.bytes()))) continue;
      offered.push_back(std::move(entry));
    }
  }
  std::optional<ledger::TxId> submitted;
  if (!offered.empty()) {
    THUNDER_ASSIGN_OR_RETURN(const ledger::Account account,
                             ledger_->account(node_key_.publicKey()));
    THUNDER_ASSIGN_OR_RETURN(const ledger::ChainConfig chain, ledger_->chainConfig());
    ledger::TxBuilder builder(chain.chain_id, node_key_, account.nonce + 1);
    std::vector<handshake::Dack> dacks;
    for (const auto& entry : offered) dacks.push_back(entry.dack);
    THUNDER_ASSIGN_OR_RETURN(auto receipt, orderer_->submit(builder.submitDacks(std::move(dacks))));
    submitted = receipt.id;
  }
  THUNDER_ASSIGN_OR_RETURN(auto block, orderer_->produceBlock(now_ms));
  if (!block) return {};
  height_ = block->header.height;
  if (auto epoch = ledger_->epoch()) epoch_ = epoch->epoch;
  if (!submitted) return {};
  for (const auto& receipt : block->receipts) {
    if (receipt.id != *submitted) continue;
    std::vector<handshake::DackHandle> final_handles;
    const auto rest_until = std::chrono::steady_clock::now() + kRestAfterRefusal;
    for (size_t i = 0; i < offered.size(); ++i) {
      const bool final_outcome =
          i < receipt.dacks.size() && ledger::isFinal(receipt.dacks[i].result);
      if (final_outcome) {
        final_handles.push_back(offered[i].handle);
      } else {
        resting_[toHex(offered[i].dack.signature.bytes())] = rest_until;
      }
    }
    if (receipt.error) {
      THUNDER_LOG(warn, "node", "ledger: the DACK batch was refused: {}", receipt.error->message);
    }
    if (!final_handles.empty()) {
      THUNDER_TRY(queue->markSettled(final_handles));
      settled_ += final_handles.size();
    }
  }
  return {};
}

json LedgerComponent::summaryJson(size_t epochs) const {
  json out = {{"enabled", ledger_ != nullptr}};
  if (!ledger_) return out;
  out["chain_id"] = ledger::kDevChainId;
  out["height"] = ledger_->height();
  out["state_root"] = toHex(ledger_->stateRoot().bytes());
  out["head_hash"] = toHex(ledger_->headHash().bytes());
  if (auto epoch = ledger_->epoch()) out["epoch"] = ledger::toJson(*epoch);
  if (auto supply = ledger_->supply()) out["supply"] = ledger::toJson(*supply);
  if (auto node = ledger_->account(node_key_.publicKey()))
    out["node_account"] = ledger::toJson(*node);
  json recent = json::array();
  const uint64_t current = epoch_.load();
  for (uint64_t e = current; e > 0 && recent.size() < epochs; --e) {
    auto summary = ledger_->epochSummary(e - 1);
    if (!summary || !*summary) continue;
    json item = ledger::toJson(**summary);
    if (auto rewards = ledger_->rewards(e - 1)) {
      item["rewards"] = json::array();
      for (const auto& reward : *rewards) item["rewards"].push_back(ledger::toJson(reward));
    }
    recent.push_back(std::move(item));
  }
  out["recent_epochs"] = std::move(recent);
  out["dacks_settled"] = settled_.load();
  return out;
}

json LedgerComponent::statusJson() const {
  json out = {{"enabled", ledger_ != nullptr}};
  if (!ledger_) return out;
  out["height"] = height_.load();
  out["epoch"] = epoch_.load();
  out["state_root"] = toHex(ledger_->stateRoot().bytes());
  out["dacks_settled"] = settled_.load();
  json last = summaryJson(1)["recent_epochs"];
  out["last_epoch"] = last.empty() ? json(nullptr) : last[0];
  return out;
}

void LedgerComponent::addRoutes(AdminApi& admin) {
  using Handler = std::function<Result<json>(const json&)>;
  auto route = [this, &admin](std::string method, std::string path, RouteAccess access,
                              Handler handler) {
    admin.addRoute(std::move(method), std::move(path), access,
                   [this, handler](HttpRequest request) -> boost::asio::awaitable<HttpResponse> {
                     auto result = co_await io::offload(
                         runtime_.blockingPool(), [this, &handler, &request]() -> Result<json> {
                           if (!ledger_) {
                             return fail(ErrorCode::kUnavailable,
                                         "the ledger is off (ledger.enabled = false)");
                           }
                           THUNDER_ASSIGN_OR_RETURN(const json body, parseBody(request));
                           return handler(body);
                         });
                     if (!result) co_return errorResponse(result.error());
                     co_return HttpResponse::json(200, result->dump() + "\n");
                   });
  };
  route("GET", "/v0/ledger", RouteAccess::kAnyone,
        [this](const json&) -> Result<json> { return summaryJson(kListedEpochs); });
  route("POST", "/v0/ledger/status", RouteAccess::kAnyone,
        [this](const json&) -> Result<json> { return summaryJson(kListedEpochs); });
  route("POST", "/v0/ledger/account", RouteAccess::kAnyone,
        [this](const json& body) -> Result<json> {
          THUNDER_ASSIGN_OR_RETURN(const PublicKey account, keyField(body, "account"));
          THUNDER_ASSIGN_OR_RETURN(const ledger::Account state, ledger_->account(account));
          json out = ledger::toJson(state);
          out["account"] = account.hex();
          if (auto node = ledger_->node(account); node && *node)
            out["node"] = ledger::toJson(**node);
          return out;
        });
  route("POST", "/v0/ledger/rewards", RouteAccess::kAnyone,
        [this](const json& body) -> Result<json> {
          if (!body.contains("epoch")) return summaryJson(kListedEpochs)["recent_epochs"];
          if (!body["epoch"].is_number_unsigned()) {
            return fail(ErrorCode::kInvalidArgument, "\"epoch\" must be a non-negative integer");
          }
          const uint64_t epoch = body["epoch"].get<uint64_t>();
          THUNDER_ASSIGN_OR_RETURN(auto summary, ledger_->epochSummary(epoch));
          if (!summary) return fail(ErrorCode::kNotFound, "epoch {} has not ended yet", epoch);
          json out = ledger::toJson(*summary);
          THUNDER_ASSIGN_OR_RETURN(auto rewards, ledger_->rewards(epoch));
          out["rewards"] = json::array();
          for (const auto& reward : rewards) out["rewards"].push_back(ledger::toJson(reward));
          return json::array({out});
        });
  route("POST", "/v0/ledger/tx", RouteAccess::kAnyone, [this](const json& body) -> Result<json> {
    if (!body.contains("hex") || !body["hex"].is_string()) {
      return fail(ErrorCode::kInvalidArgument,
                  "the request needs \"hex\": a signed transaction in its canonical encoding");
    }
    THUNDER_ASSIGN_OR_RETURN(const auto bytes, fromHex(body["hex"].get<std::string>()));
    THUNDER_ASSIGN_OR_RETURN(const auto stx, ledger::decodeSignedTransaction(bytes));
    THUNDER_ASSIGN_OR_RETURN(const auto receipt, orderer_->submit(stx));
    return json{{"id", toHex(receipt.id.bytes())}, {"queued", receipt.queued}};
  });
  route("POST", "/v0/ledger/receipt", RouteAccess::kAnyone,
        [this](const json& body) -> Result<json> {
          if (!body.contains("id") || !body["id"].is_string()) {
            return fail(ErrorCode::kInvalidArgument, "the request needs \"id\": 64 hex digits");
          }
          auto id = ledger::TxId::fromHex(body["id"].get<std::string>());
          if (!id) return fail(ErrorCode::kInvalidArgument, "\"id\" is not 64 hex digits");
          THUNDER_ASSIGN_OR_RETURN(auto receipt, ledger_->receipt(*id));
          if (!receipt) {
            return fail(ErrorCode::kNotFound,
                        "no receipt for {} yet (it is applied with the next block)",
                        body["id"].get<std::string>());
          }
          return ledger::toJson(*receipt);
        });
}

}  // namespace thunder::node
