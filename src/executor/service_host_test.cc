// ServiceHost with real sandboxed processes (tests/services/): start, Hello, restart with
// back-off, clean stop, blob programs, and one hostile behaviour per test — each contained, the
// node and a well-behaved service beside it still serving, and the event visible in the status
// snapshot and /metrics. Needs root (the sandbox's id mapping).
#include "executor/service_host.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <fstream>

#include "crypto/blake3.h"
#include "executor/test_node.h"
#include "ipc/control_client.h"

namespace thunder::executor {
namespace {

using namespace testing;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

bool exitedWith(const ServiceStatus& s, ExitKind kind) {
  return s.last_exit && s.last_exit->kind == kind;
}

class ServiceHostTest : public ExecutorTest {
 protected:
  // A well-behaved service beside the hostile one: it must keep running through every test.
  ServiceHost& startNeighbour() {
    ServiceHost& echo = startHost(spec(1, "echo", echoServicePath()));
    EXPECT_TRUE(eventually(echo, isRunning));
    return echo;
  }

  // The neighbour still answers a data channel (the node and other services keep serving).
  void expectServing(ServiceHost& host) {
    auto attached = host.attach(PublicKey{}, 0);
    ASSERT_TRUE(attached) << attached.error().message;
    ipc::UnixChannel& channel = attached->channel;
    ASSERT_TRUE(channel.send(ipc::Hello{ipc::Channel::kData, 1, 1}));
    auto hello = channel.receive();
    ASSERT_TRUE(hello) << hello.error().message;
    ipc::ConnectionHeader header;
    header.connection_id = attached->connection_id;
    header.transport = "test";
    ASSERT_TRUE(channel.send(header));
    ASSERT_TRUE(channel.send(ipc::Payload{{'p', 'i', 'n', 'g'}}));
    auto echoed = channel.receive();
    ASSERT_TRUE(echoed) << echoed.error().message;
    EXPECT_EQ(std::get<ipc::Payload>(echoed->message).bytes,
              (std::vector<uint8_t>{'p', 'i', 'n', 'g'}));
    host.detach(attached->connection_id);
    EXPECT_TRUE(isRunning(host.status()));
    EXPECT_EQ(host.status().restarts, 0u);
  }
};

TEST_F(ServiceHostTest, StartsTheServiceAndCompletesTheHello) {
  ServiceHost& host = startHost(spec(1, "echo", echoServicePath()));
  ASSERT_TRUE(eventually(host, isRunning));
  const ServiceStatus s = host.status();
  ASSERT_TRUE(s.pid.has_value());
  EXPECT_GT(*s.pid, 0);
  EXPECT_EQ(s.starts, 1u);
  EXPECT_EQ(s.restarts, 0u);
  EXPECT_EQ(s.program, echoServicePath());
  EXPECT_FALSE(s.sandbox.isolation.empty());
  EXPECT_TRUE(
      contains(metrics_.render(), "thunder_service_up{service=\"echo\",service_id=\"1\"} 1"))
      << metrics_.render();
  expectServing(host);
}

TEST_F(ServiceHostTest, StopEndsTheServiceCleanly) {
  ServiceHost& host = startHost(spec(1, "echo", echoServicePath()));
  ASSERT_TRUE(eventually(host, isRunning));
  host.stop();
  const ServiceStatus s = host.status();
  EXPECT_EQ(s.state, ServiceState::kStopped);
  EXPECT_FALSE(s.pid.has_value());
  ASSERT_TRUE(s.last_exit);
  EXPECT_EQ(s.last_exit->kind, ExitKind::kStopped) << s.last_exit->describe();
  EXPECT_FALSE(host.attach(PublicKey{}, 0));
}

TEST_F(ServiceHostTest, StopKillsAServiceThatIgnoresSigterm) {
  options_.stop_grace = 200ms;
  ServiceHost& host = startHost(spec(2, "stubborn", hostileServicePath(), {"ignore-term"}));
  ASSERT_TRUE(eventually(host, isRunning));
  host.stop();
  const ServiceStatus s = host.status();
  EXPECT_EQ(s.state, ServiceState::kStopped);
  ASSERT_TRUE(s.last_exit);
  EXPECT_TRUE(contains(s.last_exit->detail, "after SIGTERM")) << s.last_exit->describe();
}

TEST_F(ServiceHostTest, ACrashingServiceIsRestartedWithGrowingBackoff) {
  options_.backoff.initial = 50ms;
  options_.backoff.max = 400ms;
  ServiceHost& host = startHost(spec(2, "crash", hostileServicePath(), {"crash"}));
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& s) { return s.restarts >= 4; }));
  const ServiceStatus s = host.status();
  ASSERT_TRUE(s.last_exit);
  EXPECT_EQ(s.last_exit->kind, ExitKind::kExited);
  EXPECT_EQ(s.last_exit->value, 7);
  // The back-off doubled from 50 ms towards its 400 ms cap: 50, 100, 200, 400.
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& st) {
    return st.state == ServiceState::kBackoff && st.backoff == 400ms;
  }));
  EXPECT_TRUE(contains(
      metrics_.render(),
      "thunder_service_exits_total{service=\"crash\",service_id=\"2\",reason=\"exited\"}"));
}

TEST_F(ServiceHostTest, AProgramThatCannotStartIsRetried) {
  ServiceHost& host = startHost(spec(2, "missing", "/nonexistent/service"));
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& s) {
    return exitedWith(s, ExitKind::kSpawnFailed) && s.restarts >= 1;
  }));
  EXPECT_TRUE(contains(host.status().last_exit->detail, "/nonexistent/service"));
}

TEST_F(ServiceHostTest, ABlobProgramIsVerifiedAndRun) {
  auto put = store_->putFile(echoServicePath(), {});
  ASSERT_TRUE(put) << put.error().message;
  ServiceSpec s;
  s.id = ServiceId{3};
  s.name = "echo-blob";
  s.blob = put->id;
  ServiceHost& host = startHost(s);
  ASSERT_TRUE(eventually(host, isRunning));
  EXPECT_EQ(host.status().program, "blob:" + put->id.hex());
  expectServing(host);
}

TEST_F(ServiceHostTest, ABlobProgramWhoseBytesDoNotMatchItsIdNeverRuns) {
  auto put = store_->putFile(echoServicePath(), {});
  ASSERT_TRUE(put) << put.error().message;
  {  // Flip a byte of the stored data behind the store's back.
    std::fstream data(store_->dataPath(put->id), std::ios::in | std::ios::out | std::ios::binary);
    data.seekp(100);
    data.put('\x5a');
  }
  ServiceSpec s;
  s.id = ServiceId{3};
  s.name = "tampered";
  s.blob = put->id;
  ServiceHost& host = startHost(s);
  ASSERT_TRUE(eventually(
      host, [](const ServiceStatus& st) { return exitedWith(st, ExitKind::kSpawnFailed); }));
  EXPECT_TRUE(contains(host.status().last_exit->detail, "refusing to run"))
      << host.status().last_exit->detail;
  EXPECT_FALSE(host.status().pid.has_value());
}

TEST_F(ServiceHostTest, ReadingEtcShadowAndTheNodeKeyFails) {
  ServiceHost& echo = startNeighbour();
  const auto key_file = dir_ / "keys" / "node.key";
  std::filesystem::create_directories(key_file.parent_path());
  std::ofstream(key_file) << "secret node key\n";
  uint32_t id = 10;
  for (const std::string& path : {std::string("/etc/shadow"), key_file.string()}) {
    ServiceHost& host =
        startHost(spec(id, "reader" + std::to_string(id), hostileServicePath(), {"read", path}));
    ++id;
    ASSERT_TRUE(eventually(host, [](const ServiceStatus& s) {
      return s.custom_metrics.contains("probe_refused") ||
             s.custom_metrics.contains("probe_succeeded");
    }));
    EXPECT_EQ(host.status().custom_metrics.count("probe_succeeded"), 0u) << path;
    EXPECT_EQ(host.status().custom_metrics.at("probe_errno"), static_cast<uint64_t>(ENOENT))
        << path;
    host.stop();
  }
  EXPECT_TRUE(contains(metrics_.render(),
                       "thunder_service_custom_counter_total{service=\"reader10\","
                       "service_id=\"10\",name=\"probe_refused\"}"));
  expectServing(echo);
}

TEST_F(ServiceHostTest, TcpConnectionToLoopbackFails) {
  ServiceHost& echo = startNeighbour();
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ServiceHost& host = startHost(
      spec(11, "tcp", hostileServicePath(), {"tcp-connect", std::to_string(ntohs(addr.sin_port))}));
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& s) {
    return s.custom_metrics.contains("probe_refused") ||
           s.custom_metrics.contains("probe_succeeded");
  }));
  EXPECT_EQ(host.status().custom_metrics.count("probe_succeeded"), 0u);
  EXPECT_EQ(host.status().custom_metrics.at("probe_errno"), static_cast<uint64_t>(EPERM));
  UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_FALSE(accepted.valid());
  expectServing(echo);
}

TEST_F(ServiceHostTest, AForkBombIsContainedByTheProcessLimit) {
  ServiceHost& echo = startNeighbour();
  ServiceSpec s = spec(12, "forker", hostileServicePath(), {"fork-bomb"});
  s.limits.processes = 16;
  ServiceHost& host = startHost(s);
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& st) {
    return st.custom_metrics.contains("probe_refused") ||
           st.custom_metrics.contains("probe_succeeded");
  }));
  const ServiceStatus st = host.status();
  EXPECT_EQ(st.custom_metrics.count("probe_succeeded"), 0u);
  EXPECT_EQ(st.custom_metrics.at("probe_errno"), static_cast<uint64_t>(EAGAIN));
  EXPECT_LT(st.custom_metrics.at("forks"), 16u);
  // Stopping the service takes its whole process tree with it.
  host.stop();
  EXPECT_EQ(host.status().state, ServiceState::kStopped);
  expectServing(echo);
}

TEST_F(ServiceHostTest, AllocatingWithoutBoundDiesAtTheMemoryLimitAndRestarts) {
  ServiceHost& echo = startNeighbour();
  ServiceSpec s = spec(13, "hog", hostileServicePath(), {"alloc"});
  s.limits.address_space_bytes = uint64_t{256} << 20;
  ServiceHost& host = startHost(s);
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& st) {
    return exitedWith(st, ExitKind::kMemoryLimit) && st.restarts >= 1;
  }));
  const ServiceStatus st = host.status();
  EXPECT_GE(st.peak_memory_bytes, uint64_t{128} << 20);
  EXPECT_LE(st.peak_memory_bytes, uint64_t{256} << 20);
  EXPECT_TRUE(contains(
      metrics_.render(),
      "thunder_service_exits_total{service=\"hog\",service_id=\"13\",reason=\"memory_limit\"}"));
  expectServing(echo);
}

TEST_F(ServiceHostTest, SpinningIsKilledByTheCpuLimitAndRestarts) {
  ServiceHost& echo = startNeighbour();
  ServiceSpec s = spec(14, "spinner", hostileServicePath(), {"spin"});
  s.limits.cpu_seconds = 1;
  ServiceHost& host = startHost(s);
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& st) {
    return exitedWith(st, ExitKind::kCpuLimit) && st.restarts >= 1;
  }));
  EXPECT_GE(host.status().cpu_ms, 900u);
  EXPECT_TRUE(
      contains(metrics_.render(), "thunder_service_cpu_milliseconds_total{service=\"spinner\""));
  expectServing(echo);
}

TEST_F(ServiceHostTest, GarbageOnTheControlChannelRestartsTheService) {
  ServiceHost& echo = startNeighbour();
  ServiceHost& host = startHost(spec(15, "garbage", hostileServicePath(), {"garbage"}));
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& st) {
    return exitedWith(st, ExitKind::kProtocolError) && st.restarts >= 1;
  }));
  EXPECT_GE(host.status().protocol_errors, 1u);
  EXPECT_TRUE(
      contains(metrics_.render(),
               "thunder_service_protocol_errors_total{service=\"garbage\",service_id=\"15\","
               "channel=\"control\"}"));
  expectServing(echo);
}

TEST_F(ServiceHostTest, AnOversizedFrameRestartsTheService) {
  ServiceHost& echo = startNeighbour();
  ServiceHost& host = startHost(spec(16, "oversized", hostileServicePath(), {"oversized"}));
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& st) {
    return exitedWith(st, ExitKind::kProtocolError) && st.restarts >= 1;
  }));
  EXPECT_TRUE(contains(host.status().last_exit->detail, "limit"))
      << host.status().last_exit->detail;
  expectServing(echo);
}

TEST_F(ServiceHostTest, ARequestFloodRestartsTheService) {
  ServiceHost& echo = startNeighbour();
  ServiceHost& host = startHost(spec(17, "flood", hostileServicePath(), {"flood"}));
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& st) {
    return exitedWith(st, ExitKind::kProtocolError) && st.restarts >= 1;
  }));
  EXPECT_TRUE(contains(host.status().last_exit->detail, "outstanding"))
      << host.status().last_exit->detail;
  expectServing(echo);
}

TEST_F(ServiceHostTest, NoHelloInTimeRestartsTheService) {
  options_.hello_timeout = 300ms;
  ServiceHost& echo = startNeighbour();
  ServiceHost& host = startHost(spec(18, "mute", hostileServicePath(), {"no-hello"}));
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& st) {
    return exitedWith(st, ExitKind::kHelloTimeout) && st.restarts >= 1;
  }));
  EXPECT_FALSE(host.attach(PublicKey{}, 0));
  expectServing(echo);
}

TEST_F(ServiceHostTest, StatusReportsCpuAndMemory) {
  options_.metering_interval = 50ms;
  ServiceHost& host = startHost(spec(1, "echo", echoServicePath()));
  ASSERT_TRUE(eventually(host, isRunning));
  ASSERT_TRUE(eventually(host, [](const ServiceStatus& s) { return s.memory_bytes > 0; }));
  EXPECT_GE(host.status().peak_memory_bytes, host.status().memory_bytes);
  EXPECT_TRUE(contains(metrics_.render(), "thunder_service_memory_peak_bytes{service=\"echo\""));
}

}  // namespace
}  // namespace thunder::executor
