#include "raw_service.h"

#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace thunder::testservice {

std::string textOf(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

namespace {

ipc::UnixChannel adoptControl() {
  auto channel = ipc::UnixChannel::adopt(UniqueFd(3), ipc::Channel::kControl);
  if (!channel) {
    std::fprintf(stderr, "fd 3 is not the control channel: %s\n", channel.error().message.c_str());
    std::exit(2);
  }
  return std::move(*channel);
}

}  // namespace

RawService::RawService()
    : control_(adoptControl()), client_(std::make_unique<ipc::ControlClient>(control_)) {}

Result<ipc::Received> RawService::call(ipc::Message request, std::span<const int> fds) {
  return client_->call(std::move(request), fds);
}

void RawService::log(ipc::LogLevel level, std::string message) {
  (void)call(ipc::LogRequest{0, level, std::move(message)});
}

void RawService::counter(std::string name, uint64_t value) {
  (void)call(ipc::MetricsRequest{
      0, {ipc::MetricSample{std::move(name), ipc::MetricKind::kCounter, value}}});
}

void RawService::send(Connection& conn, ipc::Message message) {
  if (conn.closed) return;
  if (!conn.channel.send(message)) conn.closed = true;
}

void RawService::sendText(Connection& conn, std::string_view text) {
  send(conn, ipc::Payload{std::vector<uint8_t>(text.begin(), text.end())});
}

void RawService::end(Connection& conn, ipc::EndReason reason, std::string message) {
  send(conn, ipc::End{reason, std::move(message)});
  conn.closed = true;
}

void RawService::accept(ipc::Received notice) {
  auto* data = std::get_if<ipc::DataChannel>(&notice.message);
  if (data == nullptr || notice.fds.size() != 1) return;
  auto channel = ipc::UnixChannel::adopt(std::move(notice.fds[0]), ipc::Channel::kData);
  if (!channel) return;
  auto conn = std::make_unique<Connection>(
      Connection{data->connection_id, std::move(*channel), std::nullopt, false});
  if (!conn->channel.send(ipc::Hello{ipc::Channel::kData, ipc::kMinVersion, ipc::kMaxVersion})) {
    return;
  }
  connections_[data->connection_id] = std::move(conn);
}

void RawService::serve(Handler& handler, Connection& conn) {
  for (;;) {
    auto received = conn.channel.tryReceive();
    if (!received) {
      conn.closed = true;
      return;
    }
    if (!*received) return;
    ipc::Message& message = (*received)->message;
    if (std::get_if<ipc::Hello>(&message)) continue;
    if (auto* header = std::get_if<ipc::ConnectionHeader>(&message)) {
      conn.header = *header;
      handler.onOpen(*this, conn);
    } else if (auto* payload = std::get_if<ipc::Payload>(&message)) {
      handler.onPayload(*this, conn, std::move(payload->bytes));
    } else if (auto* end = std::get_if<ipc::End>(&message)) {
      handler.onEnd(*this, conn, *end);
      conn.closed = true;
    }
    if (conn.closed) return;
  }
}

int RawService::run(Handler& handler) {
  if (!control_.send(ipc::Hello{ipc::Channel::kControl, ipc::kMinVersion, ipc::kMaxVersion})) {
    return 3;
  }
  auto hello = control_.receive();
  if (!hello || !std::get_if<ipc::Hello>(&hello->message)) return 3;
  handler.onStart(*this);
  for (;;) {
    for (auto& notice : client_->takeNotices()) accept(std::move(notice));
    std::vector<pollfd> fds;
    std::vector<uint64_t> ids;
    fds.push_back({control_.nativeHandle(), POLLIN, 0});
    for (auto& [id, conn] : connections_) {
      fds.push_back({conn->channel.nativeHandle(), POLLIN, 0});
      ids.push_back(id);
    }
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents != 0) {
      auto received = control_.tryReceive();
      if (!received) return 0;  // the node closed the control channel: we are done
      if (*received) accept(std::move(**received));
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      auto it = connections_.find(ids[i - 1]);
      if (it == connections_.end()) continue;
      serve(handler, *it->second);
      if (it->second->closed) connections_.erase(it);
    }
  }
}

}  // namespace thunder::testservice
