// FakeNode: the node side of the IPC protocol for SDK tests, played with the ipc codec over
// socketpairs (blocking calls on the test thread). Also ServiceThread (a Service running on its
// own thread) and ChildService (a service executable spawned with its control channel at fd 3).
// Test code only; each object on one thread.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "ipc/unix_channel.h"
#include "thunder/sdk/service.h"

extern char** environ;

namespace thunder::sdk::testing {

inline ipc::Key32 keyOf(uint8_t fill) {
  ipc::Key32 key;
  key.fill(fill);
  return key;
}

inline ipc::ConnectionHeader plainHeader(uint64_t id, std::string transport = "tls") {
  ipc::ConnectionHeader header;
  header.connection_id = id;
  header.client_key = keyOf(0xab);
  header.service_id = 7;
  header.lane = 3;
  header.transport = std::move(transport);
  return header;
}

inline ipc::ConnectionHeader httpHeader(uint64_t id, std::string method, std::string path,
                                        std::string query = "") {
  ipc::ConnectionHeader header = plainHeader(id, "http");
  ipc::HttpRequestHead head;
  head.method = std::move(method);
  head.path = std::move(path);
  head.query = std::move(query);
  head.headers = {{"Host", "example.test"}, {"Accept", "*/*"}};
  header.http = std::move(head);
  return header;
}

inline std::string text(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

inline std::vector<uint8_t> bytesOf(std::string_view s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

class FakeNode {
 public:
  FakeNode() {
    auto pair = ipc::UnixChannel::socketPair(ipc::Channel::kControl);
    THUNDER_CHECK_OK(pair);
    control_.emplace(std::move(pair->first));
    service_end_.emplace(std::move(pair->second));
  }

  // The service's end of the control channel, as a raw descriptor the caller now owns
  // (blocking mode does not matter: the SDK makes it non-blocking).
  int takeServiceFd() {
    const int fd = ::fcntl(service_end_->nativeHandle(), F_DUPFD_CLOEXEC, 0);
    service_end_.reset();
    return fd;
  }

  ipc::UnixChannel& control() { return *control_; }

  // Expects the service's Hello and sends the node's.
  void hello(ipc::Hello ours = {ipc::Channel::kControl, 1, 1}) {
    auto theirs = control_->receive();
    ASSERT_TRUE(theirs) << theirs.error().message;
    ASSERT_TRUE(std::holds_alternative<ipc::Hello>(theirs->message));
    EXPECT_EQ(std::get<ipc::Hello>(theirs->message).channel, ipc::Channel::kControl);
    ASSERT_TRUE(control_->send(ours));
  }

  // The next message from the service on the control channel (fails the test on error).
  ipc::Received receive() {
    auto received = control_->receive();
    EXPECT_TRUE(received) << received.error().message;
    if (!received) return ipc::Received{ipc::End{}, {}};
    return std::move(*received);
  }

  void reply(const ipc::Message& message, std::span<const int> fds = {}) {
    auto sent = control_->send(message, fds);
    ASSERT_TRUE(sent) << sent.error().message;
  }

  // Hands the service a new data channel (DataChannel notice with its end); returns the
  // node's end, before any Hello.
  ipc::UnixChannel notify(uint64_t connection_id) {
    auto pair = ipc::UnixChannel::socketPair(ipc::Channel::kData);
    THUNDER_CHECK_OK(pair);
    ipc::UnixChannel node_end = std::move(pair->first);
    const int service_fd = pair->second.nativeHandle();
    ipc::Message notice = ipc::DataChannel{connection_id};
    const int fds[] = {service_fd};
    EXPECT_TRUE(control_->send(notice, fds));
    { ipc::UnixChannel drop = std::move(pair->second); }  // the service has its own copy now
    return node_end;
  }

  // notify(), then Hellos and the header: a connection ready for payloads.
  ipc::UnixChannel connect(const ipc::ConnectionHeader& header) {
    ipc::UnixChannel node_end = notify(header.connection_id);
    EXPECT_TRUE(node_end.send(ipc::Hello{ipc::Channel::kData, 1, 1}));
    auto theirs = node_end.receive();
    EXPECT_TRUE(theirs) << theirs.error().message;
    if (theirs) {
      EXPECT_TRUE(std::holds_alternative<ipc::Hello>(theirs->message));
    }
    EXPECT_TRUE(node_end.send(header));
    return node_end;
  }

  void closeControl() { control_.reset(); }

 private:
  static void THUNDER_CHECK_OK(const Result<std::pair<ipc::UnixChannel, ipc::UnixChannel>>& r) {
    if (!r) {
      ADD_FAILURE() << r.error().message;
      std::abort();
    }
  }

  std::optional<ipc::UnixChannel> control_;
  std::optional<ipc::UnixChannel> service_end_;
};

// Receives on a data channel; fails the test on error.
inline ipc::Message receiveData(ipc::UnixChannel& channel) {
  auto received = channel.receive();
  EXPECT_TRUE(received) << received.error().message;
  if (!received) return ipc::End{ipc::EndReason::kError, "receive failed"};
  return std::move(received->message);
}

// Collects payload bytes until End; returns them and stores the End.
inline std::string receiveUntilEnd(ipc::UnixChannel& channel, ipc::End* end = nullptr) {
  std::string out;
  for (;;) {
    ipc::Message m = receiveData(channel);
    if (auto* p = std::get_if<ipc::Payload>(&m)) {
      out += text(p->bytes);
      continue;
    }
    if (auto* e = std::get_if<ipc::End>(&m)) {
      if (end) *end = *e;
      return out;
    }
    ADD_FAILURE() << "unexpected " << ipc::messageTypeName(ipc::typeOf(m));
    return out;
  }
}

// A Service running on its own thread; join() returns run()'s result.
class ServiceThread {
 public:
  explicit ServiceThread(Service& service)
      : thread_([this, &service] { result_ = service.run(); }) {}
  ~ServiceThread() {
    if (thread_.joinable()) thread_.join();
  }
  Result<void> join() {
    thread_.join();
    return result_;
  }

 private:
  Result<void> result_;
  std::thread thread_;
};

// A service executable started like the node starts it: control channel at fd 3,
// THUNDER_CONTROL_FD=3 (with control_fd < 0: neither, like a service started by hand).
// wait() returns the exit status (or -1 on a signal).
class ChildService {
 public:
  ChildService(const std::string& path, int control_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    std::vector<std::string> env_strings;
    int high = -1;
    if (control_fd >= 0) {
      // Move the descriptor above 3 first, so dup2 onto 3 always clears close-on-exec.
      high = ::fcntl(control_fd, F_DUPFD_CLOEXEC, 10);
      ::close(control_fd);
      posix_spawn_file_actions_adddup2(&actions, high, 3);
      env_strings.emplace_back("THUNDER_CONTROL_FD=3");
    }
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "THUNDER_CONTROL_FD=", 19) != 0) env_strings.emplace_back(*e);
    }
    std::vector<char*> env;
    for (auto& s : env_strings) env.push_back(s.data());
    env.push_back(nullptr);
    std::string arg0 = path;
    char* argv[] = {arg0.data(), nullptr};
    const int rc = posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv, env.data());
    posix_spawn_file_actions_destroy(&actions);
    if (high >= 0) ::close(high);
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << path << ": " << std::strerror(rc);
      pid_ = -1;
    }
  }
  ~ChildService() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  void signal(int number) {
    if (pid_ > 0) ::kill(pid_, number);
  }
  int wait() {
    if (pid_ <= 0) return -1;
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
};

}  // namespace thunder::sdk::testing
