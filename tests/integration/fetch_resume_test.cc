// `thunder fetch` across a dropped connection: a TCP relay between the client and a real node
// cuts the first connection in the middle of the stream; the client resumes its lane with the
// token and still writes exactly the blob's bytes, all verified.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "harness.h"

namespace thunder::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// Forwards TCP connections from a loopback port to `target_port`. The first connection is cut
// (both sockets reset) once `cut_after` bytes went from the node to the client; later ones are
// passed through whole. One connection at a time, on one thread.
class CuttingRelay {
 public:
  CuttingRelay(uint16_t target_port, uint64_t cut_after)
      : target_port_(target_port), cut_after_(cut_after) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = loopback(0);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(listen_fd_, 8), 0);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~CuttingRelay() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_; }

 private:
  static sockaddr_in loopback(uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
  }

  // Closes with a reset, as a broken path would look to both ends.
  static void reset(int fd) {
    linger hard{.l_onoff = 1, .l_linger = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(fd);
  }

  void run() {
    while (!stopping_) {
      const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) return;
      const int node = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr = loopback(target_port_);
      if (::connect(node, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(client);
        ::close(node);
        continue;
      }
      const bool cut = ++connections_ == 1;
      pump(client, node, cut ? cut_after_ : UINT64_MAX);
    }
  }

  void pump(int client, int node, uint64_t limit) {
    std::vector<char> buffer(64 * 1024);
    uint64_t downstream = 0;
    pollfd fds[2] = {{client, POLLIN, 0}, {node, POLLIN, 0}};
    bool open = true;
    while (open && !stopping_) {
      if (::poll(fds, 2, 200) < 0) break;
      for (int i = 0; i < 2 && open; ++i) {
        if (fds[i].revents == 0) continue;
        const int from = fds[i].fd;
        const int to = i == 0 ? node : client;
        size_t want = buffer.size();
        if (i == 1) want = std::min<uint64_t>(want, limit - downstream);
        const ssize_t n = ::read(from, buffer.data(), want);
        if (n <= 0) {
          open = false;
          break;
        }
        for (ssize_t done = 0; done < n;) {
          const ssize_t w = ::write(to, buffer.data() + done, n - done);
          if (w <= 0) {
            open = false;
            break;
          }
          done += w;
        }
        if (i == 1) downstream += n;
        if (downstream >= limit) open = false;
      }
    }
    reset(node);  // the node first, so it has let go of the lane when the client comes back
    reset(client);
  }

  uint16_t target_port_;
  uint64_t cut_after_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

class FetchResume : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = std::make_unique<Process>(std::vector<std::string>{
        "--data-dir", (dir_.path() / "node").string(), "run", "--gateway-listen", "127.0.0.1:0",
        "--admin-listen", "127.0.0.1:0", "--sessions-listen", "127.0.0.1:0", "--json"});
    auto line = node_->readLine();
    ASSERT_TRUE(line.has_value()) << node_->stderrText();
    ready_ = json::parse(*line);
  }
  void TearDown() override {
    node_->signal(SIGTERM);
    EXPECT_EQ(node_->wait(5s), 0);
  }

  uint16_t sessionsPort() const {
    const std::string address = ready_["sessions"];
    return static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  }

  std::string putRandom(size_t size, std::string& bytes) {
    bytes.resize(size);
    std::mt19937 rng(7);
    for (auto& c : bytes) c = static_cast<char>(rng());
    const auto file = dir_.path() / "blob";
    std::ofstream(file, std::ios::binary) << bytes;
    auto put = runThunder({"--data-dir", (dir_.path() / "node").string(), "put", file.string()});
    EXPECT_EQ(put.exit_code, 0) << put.err;
    return put.out.substr(0, 64);
  }

  RunResult fetch(const std::string& from, const std::string& id,
                  std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--data-dir", (dir_.path() / "client").string(),
                                  "fetch",      id,
                                  "--from",     from,
                                  "--node-key", ready_["node_key"]};
    args.insert(args.end(), extra.begin(), extra.end());
    return runThunder(std::move(args), 60s);
  }

  TempDir dir_;
  std::unique_ptr<Process> node_;
  json ready_;
};

TEST_F(FetchResume, ADroppedConnectionResumesTheLane) {
  std::string bytes;
  const std::string id = putRandom(5'000'000, bytes);
  CuttingRelay relay(sessionsPort(), 2'500'000);
  auto result = fetch(relay.address(), id);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(result.out == bytes) << "fetched " << result.out.size() << " bytes";
  EXPECT_NE(result.err.find("resuming lane"), std::string::npos) << result.err;
  EXPECT_EQ(relay.connections(), 2);
}

TEST_F(FetchResume, WithoutRetriesADroppedConnectionFails) {
  std::string bytes;
  const std::string id = putRandom(5'000'000, bytes);
  CuttingRelay relay(sessionsPort(), 2'500'000);
  auto result = fetch(relay.address(), id, {"--retries", "0", "-o", "/dev/null"});
  EXPECT_EQ(result.exit_code, 3) << result.err;  // unavailable
  EXPECT_EQ(relay.connections(), 1);
}

}  // namespace
}  // namespace thunder::testing
