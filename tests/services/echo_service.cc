// thunder_test_echo_service: a well-behaved service written against the raw IPC library (not the
// SDK), for the executor tests. Every payload is echoed back, except these commands (one payload
// each), which exercise the node API over the control channel:
//
//   nodeinfo                   → "nodeinfo <service id> <node key hex> <version>"
//   open <hex> <off> <len>     → the bytes read (pread) from the OpenBlob descriptor; "error: ..."
//   open-write <hex>           → "write refused" if the OpenBlob descriptor is read-only
//   put <text>                 → the blob id (hex) of <text>, stored through a memfd
//   put-pipe <text>            → the same through a pipe
//   propose <ms>               → "ok" after ProposeUsage(compute ms) for this connection
//   metric <name> <value>      → "ok" after a counter MetricsRequest
//   gauge <name> <value>       → "ok" after a gauge MetricsRequest
//   log <text>                 → "ok" after a LogRequest
//   fetch                      → the ErrorReply of a FetchOriginRequest
//   stream <hex> [<off> <len>] → StreamBlob (verified, whole blob or one range), then End normal
//   serve <hex>                → StreamBlob of the whole blob; the client ends the session
//   header                     → "conn=<id> service=<id> lane=<n> transport=<t>" and, for an
//                                HTTP client, " http=<method> <path>?<query> headers=<n>"
//   bench-nodeinfo <n>         → "p50_us=<x> p99_us=<y>": n NodeInfo round trips, timed here
//   end                        → End normal "bye"
//   exit <code>                → exits at once with <code>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "base/hex.h"
#include "raw_service.h"

namespace thunder::testservice {
namespace {

std::string errorText(const Error& error) {
  return std::string("error: ") + std::string(errorCodeName(error.code)) + ": " + error.message;
}

Result<ipc::Key32> keyFromHex(const std::string& hex) {
  ipc::Key32 key{};
  THUNDER_TRY(fromHex(hex, key));
  return key;
}

class EchoHandler : public Handler {
 public:
  void onPayload(RawService& service, Connection& conn, std::vector<uint8_t> bytes) override {
    const std::string text = textOf(bytes);
    std::istringstream in(text);
    std::string command;
    in >> command;
    if (command == "nodeinfo") {
      auto reply = service.call(ipc::NodeInfoRequest{});
      if (!reply) return service.sendText(conn, errorText(reply.error()));
      const auto& info = std::get<ipc::NodeInfoReply>(reply->message);
      service.sendText(conn, "nodeinfo " + std::to_string(info.service_id) + " " +
                                 toHex(info.node_key) + " " + info.node_version);
    } else if (command == "open" || command == "open-write") {
      std::string hex;
      uint64_t offset = 0, length = ipc::kToEnd;
      in >> hex >> offset >> length;
      auto key = keyFromHex(hex);
      if (!key) return service.sendText(conn, errorText(key.error()));
      auto reply = service.call(ipc::OpenBlobRequest{0, *key, offset, length});
      if (!reply) return service.sendText(conn, errorText(reply.error()));
      const auto& opened = std::get<ipc::OpenBlobReply>(reply->message);
      const int fd = reply->fds.at(0).get();
      if (command == "open-write") {
        const char byte = 'x';
        const bool refused = ::pwrite(fd, &byte, 1, 0) < 0;
        return service.sendText(conn, refused ? "write refused" : "write succeeded");
      }
      std::vector<uint8_t> data(opened.length);
      const ssize_t n = ::pread(fd, data.data(), data.size(), static_cast<off_t>(opened.offset));
      if (n != static_cast<ssize_t>(data.size()))
        return service.sendText(conn, "error: short read");
      service.send(conn, ipc::Payload{std::move(data)});
    } else if (command == "put" || command == "put-pipe") {
      std::string content;
      std::getline(in, content);
      if (!content.empty() && content[0] == ' ') content.erase(0, 1);
      UniqueFd fd;
      if (command == "put") {
        fd = UniqueFd(::memfd_create("put", MFD_CLOEXEC));
        if (::write(fd.get(), content.data(), content.size()) < 0) return;
        ::lseek(fd.get(), 0, SEEK_SET);
      } else {
        int pipe_fds[2];
        if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return service.sendText(conn, "error: pipe");
        fd = UniqueFd(pipe_fds[0]);
        if (::write(pipe_fds[1], content.data(), content.size()) < 0) return;
        ::close(pipe_fds[1]);
      }
      const int raw = fd.get();
      auto reply = service.call(ipc::PutBlobRequest{0, content.size()}, std::span(&raw, 1));
      if (!reply) return service.sendText(conn, errorText(reply.error()));
      service.sendText(conn, toHex(std::get<ipc::PutBlobReply>(reply->message).blob));
    } else if (command == "propose") {
      uint64_t amount = 0;
      in >> amount;
      auto reply =
          service.call(ipc::ProposeUsageRequest{0, conn.id, ipc::Commodity::kComputeMs, amount});
      service.sendText(conn, reply ? "ok" : errorText(reply.error()));
    } else if (command == "metric" || command == "gauge") {
      std::string name;
      uint64_t value = 0;
      in >> name >> value;
      const auto kind = command == "metric" ? ipc::MetricKind::kCounter : ipc::MetricKind::kGauge;
      auto reply = service.call(ipc::MetricsRequest{0, {ipc::MetricSample{name, kind, value}}});
      service.sendText(conn, reply ? "ok" : errorText(reply.error()));
    } else if (command == "log") {
      auto reply = service.call(ipc::LogRequest{0, ipc::LogLevel::kInfo, text.substr(4)});
      service.sendText(conn, reply ? "ok" : errorText(reply.error()));
    } else if (command == "fetch") {
      auto reply = service.call(ipc::FetchOriginRequest{0, "https://example.com/"});
      service.sendText(conn, reply ? "fetched" : errorText(reply.error()));
    } else if (command == "serve") {
      std::string hex;
      in >> hex;
      auto key = keyFromHex(hex);
      if (!key) return service.sendText(conn, errorText(key.error()));
      service.send(
          conn, ipc::StreamBlob{*key, ipc::StreamMode::kVerified, {ipc::ByteRange{0, UINT64_MAX}}});
    } else if (command == "stream") {
      std::string hex;
      uint64_t offset = 0, length = 0;
      in >> hex >> offset >> length;
      auto key = keyFromHex(hex);
      if (!key) return service.sendText(conn, errorText(key.error()));
      ipc::StreamBlob stream{*key,
                             ipc::StreamMode::kVerified,
                             {ipc::ByteRange{offset, length == 0 ? UINT64_MAX - offset : length}}};
      service.send(conn, std::move(stream));
      service.end(conn, ipc::EndReason::kNormal, "streamed");
    } else if (command == "header") {
      const ipc::ConnectionHeader& h = *conn.header;
      std::string out = "conn=" + std::to_string(h.connection_id) +
                        " service=" + std::to_string(h.service_id) +
                        " lane=" + std::to_string(h.lane) + " transport=" + h.transport;
      if (h.http) {
        out += " http=" + h.http->method + " " + h.http->path + "?" + h.http->query +
               " headers=" + std::to_string(h.http->headers.size());
      }
      service.sendText(conn, out);
    } else if (command == "bench-nodeinfo") {
      size_t n = 0;
      in >> n;
      std::vector<double> micros;
      micros.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        if (!service.call(ipc::NodeInfoRequest{})) return service.sendText(conn, "error");
        micros.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count());
      }
      std::sort(micros.begin(), micros.end());
      char out[96];
      std::snprintf(out, sizeof out, "p50_us=%.1f p99_us=%.1f", micros[n / 2],
                    micros[std::min(n - 1, n * 99 / 100)]);
      service.sendText(conn, out);
    } else if (command == "end") {
      service.end(conn, ipc::EndReason::kNormal, "bye");
    } else if (command == "exit") {
      int code = 0;
      in >> code;
      std::fflush(nullptr);
      ::_exit(code);
    } else {
      service.send(conn, ipc::Payload{std::move(bytes)});
    }
  }
};

}  // namespace
}  // namespace thunder::testservice

int main() {
  thunder::testservice::RawService service;
  thunder::testservice::EchoHandler handler;
  return service.run(handler);
}
