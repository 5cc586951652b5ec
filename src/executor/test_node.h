// Shared fixture of the executor's process tests (service_host_test.cc,
// executed_service_test.cc): a runtime, a blob store and a metrics registry in a temp dir, and
// helpers to start ServiceHosts on the test services of tests/services/ (raw IPC, sandboxed).
// Header-only test support; not part of the library.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "content/fs_blob_store.h"
#include "executor/service_host.h"
#include "io/runtime.h"

namespace thunder::executor::testing {

using namespace std::chrono_literals;

// A deadline for "this must have happened by now", not a performance threshold.
inline constexpr auto kDeadline = std::chrono::milliseconds(60'000);

inline const char* echoServicePath() {
  return THUNDER_TEST_ECHO_SERVICE;
}
inline const char* hostileServicePath() {
  return THUNDER_TEST_HOSTILE_SERVICE;
}

inline bool isRunning(const ServiceStatus& s) {
  return s.state == ServiceState::kRunning;
}

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "the executor's process tests run the sandbox as root";
    runtime_.start();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("executor_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    ::chmod(dir_.c_str(), 0700);  // like a node's data dir
    content::StoreOptions store_options;
    store_options.root = dir_ / "store";
    auto store = content::FsBlobStore::open(std::move(store_options));
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(store).value();
    options_.backoff.initial = 50ms;
    options_.backoff.max = 2'000ms;
    options_.stop_grace = 500ms;
  }

  void TearDown() override {
    stopAll();
    runtime_.stop();
    std::filesystem::remove_all(dir_);
  }

  void stopAll() {
    for (auto& host : hosts_) host->stop();
  }

  static ServiceSpec spec(uint32_t id, std::string name, std::string program,
                          std::vector<std::string> args = {}) {
    ServiceSpec s;
    s.id = ServiceId{id};
    s.name = std::move(name);
    s.executable = std::move(program);
    s.args = std::move(args);
    return s;
  }

  ServiceHostContext context(size_t loop = 0) {
    ServiceHostContext c;
    c.executor = runtime_.loop(loop % runtime_.loopCount()).get_executor();
    c.blocking_pool = &runtime_.blockingPool();
    c.store = store_.get();
    c.node_key = PublicKey(std::array<uint8_t, 32>{0xA0, 0xA1});
    c.node_version = "0.1.0-test";
    c.metrics = &metrics_;
    c.work_dir = dir_ / "services" / std::to_string(hosts_.size());
    return c;
  }

  // Creates and starts a host; the test owns it through hosts_.
  ServiceHost& startHost(ServiceSpec s) {
    auto host = ServiceHost::create(std::move(s), context(hosts_.size()), options_);
    EXPECT_TRUE(host) << host.error().message;
    hosts_.push_back(std::move(host).value());
    hosts_.back()->start();
    return *hosts_.back();
  }

  // Waits for `predicate`; on failure the message shows the last status.
  static ::testing::AssertionResult eventually(
      const ServiceHost& host, const std::function<bool(const ServiceStatus&)>& predicate) {
    if (host.waitFor(predicate, kDeadline)) return ::testing::AssertionSuccess();
    const ServiceStatus s = host.status();
    return ::testing::AssertionFailure()
           << "status: " << serviceStateName(s.state) << ", starts " << s.starts << ", last exit "
           << (s.last_exit ? s.last_exit->describe() : "none");
  }

  io::Runtime runtime_{io::RuntimeOptions{.loop_threads = 2, .blocking_threads = 2}};
  std::filesystem::path dir_;
  std::unique_ptr<content::FsBlobStore> store_;
  MetricsRegistry metrics_;
  SupervisorOptions options_;
  std::vector<std::unique_ptr<ServiceHost>> hosts_;
};

}  // namespace thunder::executor::testing
