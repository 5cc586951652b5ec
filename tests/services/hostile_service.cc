// thunder_test_hostile_service: a misbehaving service for the executor tests
// (src/executor/service_host_test.cc, executed_service_test.cc), written against the raw IPC
// library. argv[1] picks one behaviour:
//
//   read PATH          after the Hello, try to read PATH; report it as the counter
//                      probe_refused or probe_succeeded (and probe_errno), then echo
//   tcp-connect PORT   the same with a TCP connection to 127.0.0.1:PORT
//   fork-bomb          fork until fork fails (children pause); counters probe_refused and forks
//   alloc              allocate and touch memory until allocation fails, then abort()
//   spin               burn CPU forever
//   garbage            write random bytes on the control channel
//   oversized          write a frame header announcing a 1 GiB Log request
//   no-hello           never send the control Hello
//   ignore-term        send the Hello, ignore SIGTERM, wait forever
//   crash              exit(7) right after the Hello
//   flood              send 200000 NodeInfo requests without reading a reply
//   exit-mid-reply     on a payload, send half of the reply, then exit(3)
//   foreign            on each connection, ProposeUsage for connection ids it does not own
//                      (counter foreign_rejected per refusal) and for its own (own_accepted);
//                      on the payload "forge", write a ConnectionHeader naming another
//                      connection and a Payload "stolen" on this channel; after the node's End,
//                      write a Payload "late" (counter late_write_failed / late_write_ok);
//                      otherwise echo
//
// Single-threaded; only libc and the IPC library.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "ipc/codec.h"
#include "raw_service.h"

namespace thunder::testservice {
namespace {

void writeRaw(int fd, const void* data, size_t size) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, bytes, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    bytes += n;
    size -= static_cast<size_t>(n);
  }
}

[[noreturn]] void pauseForever() {
  for (;;) ::pause();
}

// One MetricsRequest, so that whoever sees the outcome also sees its errno (and `extra`).
void reportProbe(RawService& service, bool refused, int error,
                 std::vector<ipc::MetricSample> extra = {}) {
  extra.push_back({"probe_errno", ipc::MetricKind::kCounter, static_cast<uint64_t>(error)});
  extra.push_back({refused ? "probe_refused" : "probe_succeeded", ipc::MetricKind::kCounter, 1});
  (void)service.call(ipc::MetricsRequest{0, std::move(extra)});
  service.log(
      ipc::LogLevel::kWarn,
      std::string("probe ") + (refused ? "refused: " : "succeeded: ") + std::strerror(error));
}

class Echo : public Handler {
 public:
  void onPayload(RawService& service, Connection& conn, std::vector<uint8_t> bytes) override {
    service.send(conn, ipc::Payload{std::move(bytes)});
  }
};

class ReadProbe : public Echo {
 public:
  explicit ReadProbe(std::string path) : path_(std::move(path)) {}
  void onStart(RawService& service) override {
    FILE* file = std::fopen(path_.c_str(), "r");
    const int error = errno;
    if (file != nullptr) std::fclose(file);
    reportProbe(service, file == nullptr, file == nullptr ? error : 0);
  }

 private:
  std::string path_;
};

class TcpProbe : public Echo {
 public:
  explicit TcpProbe(int port) : port_(port) {}
  void onStart(RawService& service) override {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return reportProbe(service, true, errno);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    reportProbe(service, !connected, connected ? 0 : errno);
  }

 private:
  int port_;
};

class ForkBomb : public Echo {
 public:
  void onStart(RawService& service) override {
    uint64_t forks = 0;
    for (; forks < 100000; ++forks) {
      const pid_t pid = ::fork();
      if (pid < 0) break;
      if (pid == 0) pauseForever();
    }
    const int error = errno;
    reportProbe(service, forks < 100000, error, {{"forks", ipc::MetricKind::kCounter, forks}});
  }
};

class ExitMidReply : public Handler {
 public:
  void onPayload(RawService& service, Connection& conn, std::vector<uint8_t> bytes) override {
    bytes.resize(bytes.size() / 2);
    service.send(conn, ipc::Payload{std::move(bytes)});
    std::fflush(nullptr);
    ::_exit(3);
  }
};

class Foreign : public Echo {
 public:
  void onOpen(RawService& service, Connection& conn) override {
    for (uint64_t other : {conn.id - 1, conn.id + 1000}) {
      auto reply = service.call(
          ipc::ProposeUsageRequest{0, other, ipc::Commodity::kBandwidthBytes, 1'000'000});
      if (!reply && reply.error().code == ErrorCode::kNotFound) ++rejected_;
    }
    auto own =
        service.call(ipc::ProposeUsageRequest{0, conn.id, ipc::Commodity::kBandwidthBytes, 5});
    if (own) ++accepted_;
    service.counter("foreign_rejected", rejected_);
    service.counter("own_accepted", accepted_);
  }

  void onPayload(RawService& service, Connection& conn, std::vector<uint8_t> bytes) override {
    if (textOf(bytes) != "forge") return Echo::onPayload(service, conn, std::move(bytes));
    ipc::ConnectionHeader forged;
    forged.connection_id = conn.id - 1;
    forged.service_id = conn.header ? conn.header->service_id : 0;
    forged.transport = "tls";
    auto header = ipc::encodeFrame(forged);
    auto stolen = ipc::encodeFrame(ipc::Payload{{'s', 't', 'o', 'l', 'e', 'n'}});
    if (!header || !stolen) std::abort();
    writeRaw(conn.channel.nativeHandle(), header->data(), header->size());
    writeRaw(conn.channel.nativeHandle(), stolen->data(), stolen->size());
  }

  void onEnd(RawService& service, Connection& conn, const ipc::End&) override {
    auto late = ipc::encodeFrame(ipc::Payload{{'l', 'a', 't', 'e'}});
    if (!late) std::abort();
    const ssize_t n = ::send(conn.channel.nativeHandle(), late->data(), late->size(), MSG_NOSIGNAL);
    service.counter(n < 0 ? "late_write_failed" : "late_write_ok", ++late_);
  }

 private:
  uint64_t rejected_ = 0;
  uint64_t accepted_ = 0;
  uint64_t late_ = 0;
};

int controlMisbehaviour(const std::string& mode) {
  RawService service;
  const int fd = service.controlFd();
  if (mode == "no-hello") pauseForever();
  if (!service.control().send(ipc::Hello{ipc::Channel::kControl, 1, 1})) return 3;
  if (mode == "crash") return 7;
  if (mode == "ignore-term") ::signal(SIGTERM, SIG_IGN);
  if (mode == "spin") {
    volatile uint64_t counter = 0;
    for (;;) counter = counter + 1;
  }
  if (mode == "garbage") {
    std::vector<uint8_t> junk(4096);
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<uint8_t>(i * 131 + 7);
    writeRaw(fd, junk.data(), junk.size());
  } else if (mode == "oversized") {
    const uint8_t header[6] = {0x1b, 0, 0, 0, 0, 0x40};  // LogRequest, 0 fds, 1 GiB
    writeRaw(fd, header, sizeof header);
    std::vector<uint8_t> body(65536, 'A');
    writeRaw(fd, body.data(), body.size());
  } else if (mode == "flood") {
    for (uint32_t id = 1; id <= 200000; ++id) {
      auto frame = ipc::encodeFrame(ipc::NodeInfoRequest{id});
      if (!frame) std::abort();
      writeRaw(fd, frame->data(), frame->size());
    }
  } else if (mode == "alloc") {
    std::vector<void*> chunks;
    for (;;) {
      void* chunk = std::malloc(16u << 20);
      if (chunk == nullptr) std::abort();  // as a C++ service dies of std::bad_alloc
      std::memset(chunk, 0xA5, 16u << 20);
      chunks.push_back(chunk);
    }
  }
  pauseForever();
}

}  // namespace
}  // namespace thunder::testservice

int main(int argc, char** argv) {
  using namespace thunder::testservice;
  if (argc < 2) return 2;
  const std::string mode = argv[1];
  if (mode == "read" && argc == 3) {
    RawService service;
    ReadProbe handler(argv[2]);
    return service.run(handler);
  }
  if (mode == "tcp-connect" && argc == 3) {
    RawService service;
    TcpProbe handler(std::atoi(argv[2]));
    return service.run(handler);
  }
  if (mode == "fork-bomb") {
    RawService service;
    ForkBomb handler;
    return service.run(handler);
  }
  if (mode == "exit-mid-reply") {
    RawService service;
    ExitMidReply handler;
    return service.run(handler);
  }
  if (mode == "foreign") {
    RawService service;
    Foreign handler;
    return service.run(handler);
  }
  if (mode == "spin" || mode == "garbage" || mode == "oversized" || mode == "no-hello" ||
      mode == "flood" || mode == "alloc" || mode == "crash" || mode == "ignore-term") {
    return controlMisbehaviour(mode);
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
