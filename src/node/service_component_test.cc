// ServiceComponent with real sandboxed services (the raw-IPC echo service of tests/services/):
// configured services start, are offered to the session layer, report /status JSON, and stop
// with the node. Needs root (the sandbox) and the executor linked into the node module.
#include "node/service_component.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "handshake/builtin_services.h"
#include "node/admin_api.h"
#include "node/store_component.h"

#ifndef THUNDER_TEST_ECHO_SERVICE
#define THUNDER_TEST_ECHO_SERVICE ""  // set by src/node/CMakeLists.txt
#endif

namespace thunder::node {
namespace {

using namespace std::chrono_literals;

class ServiceComponentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "services run in the sandbox, which these tests run as root";
    ASSERT_STRNE(THUNDER_TEST_ECHO_SERVICE, "") << "src/node/CMakeLists.txt must define it";
    char tmpl[] = "/tmp/thunder_service_component_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    runtime_.start();
    store_ = std::make_unique<StoreComponent>(runtime_, dir_, StoreOptions{}, metrics_, admin_);
    auto started = store_->start();
    ASSERT_TRUE(started) << started.error().message;
  }
  void TearDown() override {
    if (store_) store_->stop();
    runtime_.stop();
    std::filesystem::remove_all(dir_);
  }

  ServiceConfig echoConfig(uint32_t id, std::string name) {
    ServiceConfig config;
    config.id = id;
    config.name = std::move(name);
    config.executable = THUNDER_TEST_ECHO_SERVICE;
    return config;
  }

  std::filesystem::path dir_;
  io::Runtime runtime_{io::RuntimeOptions{.loop_threads = 2, .blocking_threads = 2}};
  MetricsRegistry metrics_;
  AdminApi admin_{runtime_, AdminOptions{}, metrics_, [] { return std::string("{}"); }};
  std::unique_ptr<StoreComponent> store_;
  crypto::SigningKey key_ = crypto::SigningKey::generate();
};

TEST_F(ServiceComponentTest, RunsConfiguredServicesAndOffersThemToSessions) {
  auto put = store_->store()->putFile(THUNDER_TEST_ECHO_SERVICE, {});
  ASSERT_TRUE(put) << put.error().message;
  ServiceConfig from_blob;
  from_blob.id = 8;
  from_blob.name = "echo-blob";
  from_blob.blob = put->id;
  ServiceComponent services(runtime_, dir_, {echoConfig(7, "echo7"), from_blob}, key_, *store_,
                            metrics_, "0.1.0-test");
  ASSERT_TRUE(services.start());
  for (uint32_t id : {7u, 8u}) {
    executor::ServiceHost* host = services.host(ServiceId{id});
    ASSERT_NE(host, nullptr);
    EXPECT_TRUE(host->waitFor(
        [](const executor::ServiceStatus& s) {
          return s.state == executor::ServiceState::kRunning;
        },
        60s));
  }

  handshake::SessionServices sessions;
  ASSERT_TRUE(handshake::addBuiltinServices(sessions, *store_->store(), runtime_.blockingPool()));
  ASSERT_TRUE(services.addSessionServices(sessions));
  ASSERT_NE(sessions.find(ServiceId{7}), nullptr);
  EXPECT_EQ(sessions.find(ServiceId{7})->name(), "echo7");
  EXPECT_EQ(sessions.find(ServiceId{8})->name(), "echo-blob");
  EXPECT_TRUE(sessions.hasService(ServiceId{0}));

  const nlohmann::json status = services.statusJson();
  ASSERT_EQ(status.size(), 2u);
  EXPECT_EQ(status[0]["id"], 7);
  EXPECT_EQ(status[0]["state"], "running");
  EXPECT_TRUE(status[0]["pid"].is_number());
  EXPECT_EQ(status[0]["restarts"], 0);
  EXPECT_TRUE(status[0]["last_exit"].is_null());
  EXPECT_EQ(status[1]["program"], "blob:" + put->id.hex());
  EXPECT_TRUE(status[0]["sandbox"]["isolation"].is_array());
  EXPECT_TRUE(status[0]["connections"].contains("active"));
  EXPECT_NE(metrics_.render().find("thunder_service_up{service=\"echo7\",service_id=\"7\"} 1"),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "services" / "8-echo-blob" / "bin" / put->id.hex()));

  sessions = handshake::SessionServices{};  // the session layer stops first
  services.stop();
  EXPECT_EQ(services.statusJson().size(), 0u);
  EXPECT_EQ(services.host(ServiceId{7}), nullptr);
}

TEST_F(ServiceComponentTest, ABadConfigFailsTheStart) {
  ServiceComponent reserved(runtime_, dir_, {echoConfig(1, "clash")}, key_, *store_, metrics_,
                            "0.1.0-test");
  auto started = reserved.start();
  ASSERT_FALSE(started);
  EXPECT_EQ(started.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(started.error().message.find("reserved"), std::string::npos) << started.error().message;
}

TEST_F(ServiceComponentTest, AServiceZeroTakesTheContentServicesId) {
  ServiceComponent services(runtime_, dir_, {echoConfig(0, "my-content")}, key_, *store_, metrics_,
                            "0.1.0-test");
  ASSERT_TRUE(services.start());
  handshake::SessionServices sessions;
  ASSERT_TRUE(services.addSessionServices(sessions));  // waits for service 0 to run
  EXPECT_EQ(services.host(ServiceId{0})->status().state, executor::ServiceState::kRunning);
  ASSERT_TRUE(handshake::addBuiltinServices(sessions, *store_->store(), runtime_.blockingPool()));
  ASSERT_NE(sessions.find(ServiceId{0}), nullptr);
  EXPECT_EQ(sessions.find(ServiceId{0})->name(), "my-content");
  ASSERT_NE(sessions.find(ServiceId{1}), nullptr);
  EXPECT_EQ(sessions.find(ServiceId{1})->name(), "echo");
  sessions = handshake::SessionServices{};
  services.stop();
}

// THUNDER_SERVICES_DIR set for one test (the node reads it in start()).
class ServicesDirVariable {
 public:
  explicit ServicesDirVariable(const std::string& value) {
    ::setenv("THUNDER_SERVICES_DIR", value.c_str(), 1);
  }
  ~ServicesDirVariable() { ::unsetenv("THUNDER_SERVICES_DIR"); }
};

TEST_F(ServiceComponentTest, TheCdnFoundInTheServicesDirRunsAsServiceZero) {
  const auto folder = dir_ / "programs";
  std::filesystem::create_directories(folder);
  std::filesystem::copy_file(THUNDER_TEST_ECHO_SERVICE, folder / "thunder-service-cdn");
  ServicesDirVariable variable(folder.string());
  ServiceComponent services(runtime_, dir_, {echoConfig(7, "cdn")}, key_, *store_, metrics_,
                            "0.1.0-test");
  ASSERT_TRUE(services.start());
  handshake::SessionServices sessions;
  ASSERT_TRUE(services.addSessionServices(sessions));
  executor::ServiceHost* cdn = services.host(ServiceId{0});
  ASSERT_NE(cdn, nullptr);
  EXPECT_EQ(cdn->name(), "cdn-0");  // "cdn" is taken by service 7
  EXPECT_EQ(cdn->status().state, executor::ServiceState::kRunning);
  ASSERT_NE(sessions.find(ServiceId{0}), nullptr);
  EXPECT_EQ(sessions.find(ServiceId{0})->name(), "cdn-0");
  EXPECT_EQ(services.statusJson().size(), 2u);
  sessions = handshake::SessionServices{};
  services.stop();
}

TEST_F(ServiceComponentTest, ADefaultCdnThatCannotStartLeavesTheBuiltinContentService) {
  const auto folder = dir_ / "programs";
  std::filesystem::create_directories(folder);
  const auto broken = folder / "thunder-service-cdn";
  std::ofstream(broken) << "not a program";
  std::filesystem::permissions(broken, std::filesystem::perms::owner_all |
                                           std::filesystem::perms::others_read |
                                           std::filesystem::perms::others_exec);
  ServicesDirVariable variable(folder.string());
  ServiceComponent services(runtime_, dir_, {}, key_, *store_, metrics_, "0.1.0-test");
  ASSERT_TRUE(services.start());
  ASSERT_NE(services.host(ServiceId{0}), nullptr);
  handshake::SessionServices sessions;
  ASSERT_TRUE(services.addSessionServices(sessions));  // it failed to start: dropped
  EXPECT_EQ(services.host(ServiceId{0}), nullptr);
  EXPECT_EQ(services.statusJson().size(), 0u);
  ASSERT_TRUE(handshake::addBuiltinServices(sessions, *store_->store(), runtime_.blockingPool()));
  ASSERT_NE(sessions.find(ServiceId{0}), nullptr);
  EXPECT_EQ(sessions.find(ServiceId{0})->name(), "content");
  services.stop();
}

TEST_F(ServiceComponentTest, ServicesDirNoneMeansTheBuiltinContentService) {
  ServicesDirVariable variable("none");
  ServiceComponent services(runtime_, dir_, {}, key_, *store_, metrics_, "0.1.0-test");
  ASSERT_TRUE(services.start());
  EXPECT_EQ(services.host(ServiceId{0}), nullptr);
  services.stop();
}

TEST_F(ServiceComponentTest, ServiceStatusJsonNamesTheLastExit) {
  executor::ServiceStatus status;
  status.id = ServiceId{9};
  status.name = "x";
  status.state = executor::ServiceState::kBackoff;
  status.last_exit = executor::ExitReason{executor::ExitKind::kCpuLimit, 9, "2000 ms of CPU time"};
  status.custom_metrics["jobs"] = 3;
  const nlohmann::json json = serviceStatusJson(status);
  EXPECT_EQ(json["state"], "backoff");
  EXPECT_EQ(json["last_exit"]["reason"], "cpu_limit");
  EXPECT_EQ(json["last_exit"]["description"], "cpu_limit: 2000 ms of CPU time");
  EXPECT_EQ(json["metrics"]["jobs"], 3);
  EXPECT_TRUE(json["pid"].is_null());
}

}  // namespace
}  // namespace thunder::node
