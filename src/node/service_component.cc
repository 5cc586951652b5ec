#include "node/service_component.h"

#include <algorithm>
#include <cstdlib>

#include "base/log.h"
#include "content/ipfs_multiformats.h"
#include "content/ipfs_store.h"
#include "executor/executed_service.h"
#include "node/store_component.h"

namespace thunder::node {
namespace {

// The path of the running program ("" if /proc is not there).
std::filesystem::path selfExecutable() {
  std::error_code ec;
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : path;
}

// The node's CID → content blob mapping, for ResolveContent (runs on the blocking pool).
Result<BlobId> resolveCid(StoreComponent& store, std::string_view text) {
  content::ipfs::IpfsStore* ipfs = store.ipfs();
  if (ipfs == nullptr) {
    return fail(ErrorCode::kUnavailable, "this node has no IPFS store: cid {} cannot be resolved",
                text);
  }
  auto cid = content::ipfs::Cid::parse(text);
  if (!cid) {
    return fail(ErrorCode::kInvalidArgument, "'{}' is not a CID: {}", text, cid.error().message);
  }
  return ipfs->contentBlob(*cid);
}

}  // namespace

executor::ServiceSpec toServiceSpec(const ServiceConfig& config) {
  executor::ServiceSpec spec;
  spec.id = ServiceId{config.id};
  spec.name = config.name;
  spec.executable = config.executable;
  spec.blob = config.blob;
  spec.limits.address_space_bytes = config.memory_mb << 20;
  spec.limits.cpu_seconds = config.cpu_seconds;
  spec.limits.open_files = config.max_files;
  spec.limits.processes = config.max_processes;
  return spec;
}

nlohmann::json serviceStatusJson(const executor::ServiceStatus& s) {
  nlohmann::json last_exit = nullptr;
  if (s.last_exit) {
    last_exit = {{"reason", executor::exitKindName(s.last_exit->kind)},
                 {"value", s.last_exit->value},
                 {"detail", s.last_exit->detail},
                 {"description", s.last_exit->describe()}};
  }
  nlohmann::json custom = nlohmann::json::object();
  for (const auto& [name, value] : s.custom_metrics) custom[name] = value;
  return {
      {"id", s.id.value()},
      {"name", s.name},
      {"program", s.program},
      {"state", executor::serviceStateName(s.state)},
      {"pid", s.pid ? nlohmann::json(*s.pid) : nlohmann::json(nullptr)},
      {"starts", s.starts},
      {"restarts", s.restarts},
      {"last_exit", last_exit},
      {"backoff_ms", s.backoff.count()},
      {"uptime_ms", s.uptime.count()},
      {"cpu_ms", s.cpu_ms},
      {"memory_bytes", s.memory_bytes},
      {"peak_memory_bytes", s.peak_memory_bytes},
      {"connections", {{"active", s.connections_active}, {"total", s.connections_total}}},
      {"bytes_in", s.bytes_in},
      {"bytes_out", s.bytes_out},
      {"requests", s.requests},
      {"protocol_errors", s.protocol_errors},
      {"usage_rejected", s.usage_rejected},
      {"log_dropped", s.log_dropped},
      {"metrics", custom},
      {"sandbox",
       {{"isolation", s.sandbox.isolation},
        {"limits", s.sandbox.limits},
        {"cgroup", s.sandbox.cgroup}}},
  };
}

ServiceComponent::ServiceComponent(io::Runtime& runtime, std::filesystem::path data_dir,
                                   std::vector<ServiceConfig> services,
                                   const crypto::SigningKey& node_key, StoreComponent& store,
                                   MetricsRegistry& metrics, std::string node_version,
                                   executor::SupervisorOptions supervisor)
    : runtime_(runtime),
      data_dir_(std::move(data_dir)),
      services_(std::move(services)),
      node_key_(node_key),
      store_(store),
      metrics_(metrics),
      node_version_(std::move(node_version)),
      supervisor_(supervisor) {}

ServiceComponent::~ServiceComponent() {
  stop();
}

Result<std::vector<ServiceConfig>> ServiceComponent::withContentService() const {
  std::vector<ServiceConfig> services = services_;
  for (const ServiceConfig& s : services) {
    if (s.id == 0) {
      THUNDER_LOG(info, "node", "content (service 0): [[services]] '{}'", s.name);
      return services;
    }
  }
  const char* dir = std::getenv(std::string(kServicesDirVariable).c_str());
  const CdnProgramSearch search =
      findCdnProgram(selfExecutable(), dir ? std::optional<std::string_view>(dir) : std::nullopt);
  if (!search.program) {
    THUNDER_LOG(info, "node", "content (service 0): the built-in content service ({})",
                search.detail);
    return services;
  }
  THUNDER_LOG(info, "node", "content (service 0): runs {}", search.detail);
  services.push_back(defaultCdnService(*search.program, services));
  return services;
}

Result<void> ServiceComponent::start() {
  THUNDER_TRY(validateServicesConfig(services_));
  THUNDER_ASSIGN_OR_RETURN(const std::vector<ServiceConfig> configs, withContentService());
  const bool default_cdn = configs.size() > services_.size();
  content::FsBlobStore* store = store_.store();
  std::vector<std::unique_ptr<executor::ServiceHost>> hosts;
  for (size_t i = 0; i < configs.size(); ++i) {
    const ServiceConfig& config = configs[i];
    if (config.blob && store == nullptr) {
      return fail(ErrorCode::kUnavailable, "service '{}' is a blob but the blob store is not open",
                  config.name);
    }
    executor::ServiceHostContext context;
    context.executor = runtime_.loop(i % runtime_.loopCount()).get_executor();
    context.blocking_pool = &runtime_.blockingPool();
    context.store = store;
    context.node_key = node_key_.publicKey();
    context.node_version = node_version_;
    context.metrics = &metrics_;
    context.work_dir = data_dir_ / "services" / fmt::format("{}-{}", config.id, config.name);
    context.resolve_cid = [&store = store_](std::string_view cid) {
      return resolveCid(store, cid);
    };
    auto host =
        executor::ServiceHost::create(toServiceSpec(config), std::move(context), supervisor_);
    if (!host) return fail(host.error().withContext(fmt::format("services[{}]", i)));
    hosts.push_back(std::move(host).value());
  }
  for (auto& host : hosts) host->start();
  if (!hosts.empty()) {
    THUNDER_LOG(info, "node", "supervising {} service{}", hosts.size(),
                hosts.size() == 1 ? "" : "s");
  }
  std::lock_guard lock(mutex_);
  hosts_ = std::move(hosts);
  default_cdn_ = default_cdn;
  return {};
}

void ServiceComponent::stop() {
  std::vector<std::unique_ptr<executor::ServiceHost>> hosts;
  {
    std::lock_guard lock(mutex_);
    hosts = std::move(hosts_);
  }
  for (auto& host : hosts) host->requestStop();  // all in parallel
  for (auto& host : hosts) host->stop();
}

Result<void> ServiceComponent::addSessionServices(handshake::SessionServices& services) {
  // Sessions for content should find service 0 running: wait for its first start to finish.
  executor::ServiceHost* content = host(ServiceId{0});
  if (content != nullptr) {
    (void)content->waitFor(
        [](const executor::ServiceStatus& s) {
          // Running, or its first start failed (a later one would wait for the back-off).
          return s.state == executor::ServiceState::kRunning || s.last_exit.has_value();
        },
        kContentServiceStartWait);
    const executor::ServiceStatus status = content->status();
    if (status.state != executor::ServiceState::kRunning) {
      const std::string why =
          status.last_exit
              ? status.last_exit->describe()
              : fmt::format("still {} after {} s", executor::serviceStateName(status.state),
                            kContentServiceStartWait.count());
      std::unique_ptr<executor::ServiceHost> dropped;
      {
        std::lock_guard lock(mutex_);
        if (default_cdn_) {
          auto it = std::find_if(hosts_.begin(), hosts_.end(),
                                 [](const auto& h) { return h->id() == ServiceId{0}; });
          dropped = std::move(*it);
          hosts_.erase(it);
          default_cdn_ = false;
        }
      }
      if (dropped) {
        THUNDER_LOG(warn, "node",
                    "content (service 0): {} did not start ({}); using the built-in content "
                    "service",
                    kCdnProgramName, why);
        dropped->stop();
      } else {
        THUNDER_LOG(warn, "node",
                    "content (service 0): '{}' is not running yet ({}); content sessions fail "
                    "until it is",
                    content->name(), why);
      }
    }
  }
  std::lock_guard lock(mutex_);
  for (auto& host : hosts_) {
    THUNDER_TRY(services.add(std::make_unique<executor::ExecutedService>(*host)));
  }
  return {};
}

nlohmann::json ServiceComponent::statusJson() const {
  std::lock_guard lock(mutex_);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& host : hosts_) out.push_back(serviceStatusJson(host->status()));
  return out;
}

executor::ServiceHost* ServiceComponent::host(ServiceId id) const {
  std::lock_guard lock(mutex_);
  for (const auto& host : hosts_) {
    if (host->id() == id) return host.get();
  }
  return nullptr;
}

}  // namespace thunder::node
