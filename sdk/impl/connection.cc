#include <sys/socket.h>

#include <limits>

#include "impl/connection_impl.h"
#include "impl/service_impl.h"

namespace thunder::sdk {

namespace asio = boost::asio;

namespace {

std::string cut(std::string_view text, size_t max) {
  return std::string(text.substr(0, std::min(text.size(), max)));
}

std::string_view reasonName(EndReason reason) {
  switch (reason) {
    case EndReason::kNormal: return "normal";
    case EndReason::kError: return "error";
    case EndReason::kOverloaded: return "overloaded";
    case EndReason::kShutdown: return "shutdown";
  }
  return "unknown";
}

}  // namespace

ConnectionInfo toConnectionInfo(const ipc::ConnectionHeader& header) {
  ConnectionInfo info;
  info.connection_id = header.connection_id;
  info.client_key = PublicKey(std::span<const uint8_t, 32>(header.client_key));
  info.service_id = header.service_id;
  info.lane = header.lane;
  info.transport = header.transport;
  if (header.http) {
    HttpRequestHead head;
    head.method = header.http->method;
    head.path = header.http->path;
    head.query = header.http->query;
    for (const auto& h : header.http->headers) head.headers.push_back({h.name, h.value});
    info.http = std::move(head);
  }
  return info;
}

// ---- Connection::Impl

Connection::Impl::Impl(Service::Impl& owner_in, std::unique_ptr<ipc::AsyncChannel> channel_in,
                       ConnectionInfo info_in)
    : owner(owner_in), channel(std::move(channel_in)), info(std::move(info_in)) {
  owner.live.insert(this);
}

Connection::Impl::~Impl() {
  if (!end_sent && !peer_end && !aborted && !broken) {
    // Best effort: whatever the socket takes now; the rest is lost with the socket.
    ipc::Message end = ipc::End{ipc::EndReason::kNormal, ""};
    (void)channel->channel().enqueue(end);
  }
  owner.connectionGone(this);
}

Result<void> Connection::Impl::usable() const {
  if (aborted) {
    return fail(ErrorCode::kCancelled, "sdk: connection {} was aborted: the service is stopping",
                info.connection_id);
  }
  if (broken) return fail(*broken);
  return {};
}

void Connection::Impl::breakChannel(Error why) {
  if (broken) return;
  broken = std::move(why);
  ::shutdown(channel->channel().nativeHandle(), SHUT_RDWR);
  channel->cancel();
}

void Connection::Impl::abort() {
  if (aborted) return;
  if (!end_sent && !peer_end && !broken) {
    end_sent = true;
    ipc::Message end = ipc::End{ipc::EndReason::kShutdown, "the service is stopping"};
    (void)channel->channel().enqueue(end);
  }
  aborted = true;
  ::shutdown(channel->channel().nativeHandle(), SHUT_RDWR);
  channel->cancel();
}

asio::awaitable<Result<void>> Connection::Impl::sendFrame(ipc::Message message) {
  std::vector<int> no_fds;
  auto sent = co_await channel->send(std::move(message), std::move(no_fds));
  if (sent) co_return sent;
  THUNDER_CO_TRY(usable());
  if (sent.error().code == ErrorCode::kUnavailable) {
    breakChannel(Error{
        ErrorCode::kUnavailable,
        fmt::format("sdk: the node closed the data channel of connection {}", info.connection_id)});
  } else if (sent.error().code != ErrorCode::kInvalidArgument) {
    breakChannel(sent.error());
  }
  if (broken) co_return fail(*broken);
  co_return sent;
}

// ---- Connection

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

const ConnectionInfo& Connection::info() const {
  return impl_->info;
}
Service& Connection::service() const {
  return impl_->owner.self;
}
bool Connection::ended() const {
  return impl_->end_sent || impl_->peer_end || impl_->aborted || impl_->broken;
}
const std::optional<EndInfo>& Connection::peerEnd() const {
  return impl_->peer_end;
}

asio::awaitable<Result<std::optional<Bytes>>> Connection::read() {
  Impl& s = *impl_;
  if (s.reading) co_return fail(ErrorCode::kInvalidArgument, "sdk: a read() is already in flight");
  if (s.peer_end || s.end_sent) co_return std::optional<Bytes>();
  THUNDER_CO_TRY(s.usable());
  s.reading = true;
  auto received = co_await s.channel->receive();
  s.reading = false;
  if (!received) {
    THUNDER_CO_TRY(s.usable());
    if (received.error().code == ErrorCode::kUnavailable) {
      s.breakChannel(Error{ErrorCode::kUnavailable,
                           fmt::format("sdk: the node closed the data channel of connection {} "
                                       "without End",
                                       s.info.connection_id)});
    } else {
      s.breakChannel(received.error().withContext(
          fmt::format("sdk: data channel of connection {}", s.info.connection_id)));
    }
    co_return fail(*s.broken);
  }
  if (auto* payload = std::get_if<ipc::Payload>(&received->message)) {
    co_return std::optional<Bytes>(std::move(payload->bytes));
  }
  if (auto* end = std::get_if<ipc::End>(&received->message)) {
    s.peer_end = EndInfo{static_cast<EndReason>(end->reason), std::move(end->message)};
    co_return std::optional<Bytes>();
  }
  s.breakChannel(Error{
      ErrorCode::kCorruption,
      fmt::format("sdk: the node sent a {} on the data channel of connection {}, "
                  "where only payloads and end may come",
                  ipc::messageTypeName(ipc::typeOf(received->message)), s.info.connection_id)});
  co_return fail(*s.broken);
}

namespace {

Result<void> checkWritable(const Connection::Impl& s) {
  if (s.writing) {
    return fail(ErrorCode::kInvalidArgument,
                "sdk: a write, streamBlob or end is already in flight on connection {}",
                s.info.connection_id);
  }
  if (s.end_sent && !s.aborted) {
    return fail(ErrorCode::kInvalidArgument, "sdk: connection {} was already ended by the service",
                s.info.connection_id);
  }
  THUNDER_TRY(s.usable());
  if (s.peer_end) {
    return fail(ErrorCode::kUnavailable, "sdk: the node ended connection {} ({}{}{})",
                s.info.connection_id, reasonName(s.peer_end->reason),
                s.peer_end->message.empty() ? "" : ": ", s.peer_end->message);
  }
  return {};
}

}  // namespace

asio::awaitable<Result<void>> Connection::write(std::span<const uint8_t> bytes) {
  Impl& s = *impl_;
  THUNDER_CO_TRY(checkWritable(s));
  s.writing = true;
  Result<void> status;
  while (!bytes.empty() && status) {
    const size_t n = std::min(bytes.size(), kMaxPayloadBytes);
    ipc::Message payload = ipc::Payload{Bytes(bytes.begin(), bytes.begin() + n)};
    status = co_await s.sendFrame(std::move(payload));
    bytes = bytes.subspan(n);
  }
  s.writing = false;
  co_return status;
}

asio::awaitable<Result<void>> Connection::write(std::string_view text) {
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  co_return co_await write(bytes);
}

asio::awaitable<Result<void>> Connection::streamBlob(BlobId blob, std::span<const ByteRange> ranges,
                                                     StreamMode mode) {
  Impl& s = *impl_;
  if (ranges.empty()) {
    co_return fail(ErrorCode::kInvalidArgument, "sdk: streamBlob needs at least one range");
  }
  if (mode != StreamMode::kVerified && mode != StreamMode::kRaw) {
    co_return fail(ErrorCode::kInvalidArgument, "sdk: streamBlob mode {} is not a StreamMode",
                   static_cast<int>(mode));
  }
  for (const ByteRange& r : ranges) {
    if (r.length == 0 || r.offset > std::numeric_limits<uint64_t>::max() - r.length) {
      co_return fail(ErrorCode::kInvalidArgument,
                     "sdk: streamBlob range offset {} length {} is empty or overflows", r.offset,
                     r.length);
    }
  }
  THUNDER_CO_TRY(checkWritable(s));
  s.writing = true;
  Result<void> status;
  while (!ranges.empty() && status) {
    const size_t n = std::min(ranges.size(), kMaxStreamRangesPerFrame);
    ipc::StreamBlob frame;
    std::copy(blob.bytes().begin(), blob.bytes().end(), frame.blob.begin());
    frame.mode = mode == StreamMode::kRaw ? ipc::StreamMode::kRaw : ipc::StreamMode::kVerified;
    for (const ByteRange& r : ranges.first(n)) frame.ranges.push_back({r.offset, r.length});
    ipc::Message message = std::move(frame);
    status = co_await s.sendFrame(std::move(message));
    ranges = ranges.subspan(n);
  }
  s.writing = false;
  co_return status;
}

asio::awaitable<Result<void>> Connection::streamBlob(BlobId blob, ByteRange range,
                                                     StreamMode mode) {
  const std::span<const ByteRange> ranges(&range, 1);
  co_return co_await streamBlob(blob, ranges, mode);
}

asio::awaitable<Result<void>> Connection::end(EndReason reason, std::string_view message) {
  Impl& s = *impl_;
  if (s.end_sent || s.peer_end || s.aborted || s.broken) co_return Result<void>{};
  if (s.writing) {
    co_return fail(ErrorCode::kInvalidArgument,
                   "sdk: end() while a write is in flight on connection {}", s.info.connection_id);
  }
  if (static_cast<uint16_t>(reason) > static_cast<uint16_t>(EndReason::kShutdown)) {
    co_return fail(ErrorCode::kInvalidArgument, "sdk: end reason {} is not one of EndReason",
                   static_cast<uint16_t>(reason));
  }
  s.writing = true;
  s.end_sent = true;
  ipc::Message end = ipc::End{static_cast<ipc::EndReason>(reason), cut(message, kMaxEndMessage)};
  auto status = co_await s.sendFrame(std::move(end));
  s.writing = false;
  co_return status;
}

}  // namespace thunder::sdk
