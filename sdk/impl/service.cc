#include <fcntl.h>
#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "impl/connection_impl.h"
#include "impl/service_impl.h"

namespace thunder::sdk {

namespace asio = boost::asio;

namespace {

ipc::Key32 toKey(std::span<const uint8_t, 32> bytes) {
  ipc::Key32 key;
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

std::string cut(std::string_view text, size_t max) {
  return std::string(text.substr(0, std::min(text.size(), max)));
}

}  // namespace

// ---- Service::Impl

Service::Impl::Impl(Service& self_in, ServiceOptions options_in, ipc::UnixChannel control_channel)
    : self(self_in),
      options(options_in),
      loop(std::make_unique<asio::io_context>(1)),
      control(std::make_unique<ControlLink>(loop->get_executor(), std::move(control_channel),
                                            options_in.max_calls_in_flight)) {}

Service::Impl::~Impl() {
  shutting_down = true;
  // I/O objects first, while the loop exists; then the loop, which destroys the frames of
  // coroutines still suspended (and the connections they own).
  accept_queue.clear();
  drained.reset();
  control.reset();
  loop.reset();
}

asio::awaitable<void> Service::Impl::main() {
  std::optional<asio::signal_set> signals;
  if (options.term_signals == TermSignals::kStop) {
    signals.emplace(*loop, SIGTERM, SIGINT);
    signals->async_wait([this](boost::system::error_code ec, int) {
      if (!ec) control->close();
    });
  }
  auto on_notice = [this](uint64_t connection_id, UniqueFd fd) {
    onDataChannel(connection_id, std::move(fd));
  };
  Result<void> outcome = co_await control->run(std::move(on_notice));
  if (!outcome) control_error = outcome.error();
  control_done = true;
  while (!accept_waiters.empty()) {
    accept_waiters.front()->set();
    accept_waiters.pop_front();
  }
  drained.emplace(loop->get_executor());
  checkDrained();
  asio::steady_timer deadline(*loop, options.drain_timeout);
  deadline.async_wait([this](boost::system::error_code ec) {
    if (ec || drained->isSet()) return;
    // A copy: nothing that runs here may invalidate the iteration.
    const std::vector<Connection::Impl*> remaining(live.begin(), live.end());
    for (Connection::Impl* connection : remaining) connection->abort();
    drained->set();
  });
  co_await drained->wait();
  deadline.cancel();
  if (signals) signals->cancel();
  result = std::move(outcome);
  // Posted, so that what is already due (e.g. accept() waiters just woken) runs first.
  asio::post(*loop, [this] { loop->stop(); });
}

void Service::Impl::checkDrained() {
  if (control_done && drained && live.empty() && setting_up == 0) drained->set();
}

void Service::Impl::connectionGone(Connection::Impl* connection) {
  if (shutting_down) return;
  live.erase(connection);
  checkDrained();
}

void Service::Impl::onDataChannel(uint64_t connection_id, UniqueFd fd) {
  if (live.size() + setting_up >= options.max_connections) {
    asio::co_spawn(*loop, refuse(std::move(fd)), asio::detached);
    return;
  }
  ++setting_up;
  asio::co_spawn(*loop, setUp(connection_id, std::move(fd)), asio::detached);
}

asio::awaitable<void> Service::Impl::refuse(UniqueFd fd) {
  auto channel = ipc::UnixChannel::adopt(std::move(fd), ipc::Channel::kData);
  if (!channel) co_return;
  ipc::AsyncChannel data(loop->get_executor(), std::move(*channel));
  ipc::Message hello = ipc::Hello{ipc::Channel::kData, ipc::kMinVersion, ipc::kMaxVersion};
  std::vector<int> no_fds;
  if (!co_await data.send(std::move(hello), std::move(no_fds))) co_return;
  ipc::Message end = ipc::End{
      ipc::EndReason::kOverloaded,
      fmt::format("the service already has {} connections (its limit)", options.max_connections)};
  std::vector<int> no_fds2;
  (void)co_await data.send(std::move(end), std::move(no_fds2));
}

asio::awaitable<void> Service::Impl::setUp(uint64_t connection_id, UniqueFd fd) {
  auto fail_setup = [&](const Error& error) {
    --setting_up;
    logDetached(LogLevel::kWarn, fmt::format("data channel for connection {} dropped: {}",
                                             connection_id, error.message));
    checkDrained();
  };
  auto adopted = ipc::UnixChannel::adopt(std::move(fd), ipc::Channel::kData);
  if (!adopted) {
    fail_setup(adopted.error());
    co_return;
  }
  auto data = std::make_unique<ipc::AsyncChannel>(loop->get_executor(), std::move(*adopted));
  const ipc::Hello ours{ipc::Channel::kData, ipc::kMinVersion, ipc::kMaxVersion};
  ipc::Message hello = ours;
  std::vector<int> no_fds;
  auto sent = co_await data->send(std::move(hello), std::move(no_fds));
  if (!sent) {
    fail_setup(sent.error());
    co_return;
  }
  auto theirs = co_await data->receive();
  if (!theirs) {
    fail_setup(theirs.error());
    co_return;
  }
  const auto* their_hello = std::get_if<ipc::Hello>(&theirs->message);
  if (their_hello == nullptr) {
    fail_setup(Error{ErrorCode::kCorruption,
                     fmt::format("the node sent a {} before its hello",
                                 ipc::messageTypeName(ipc::typeOf(theirs->message)))});
    co_return;
  }
  if (auto version = ipc::negotiateVersion(ours, *their_hello); !version) {
    fail_setup(version.error());
    co_return;
  }
  auto first = co_await data->receive();
  if (!first) {
    fail_setup(first.error());
    co_return;
  }
  const auto* header = std::get_if<ipc::ConnectionHeader>(&first->message);
  if (header == nullptr) {
    fail_setup(Error{ErrorCode::kCorruption,
                     fmt::format("the node sent a {} where the connection header belongs",
                                 ipc::messageTypeName(ipc::typeOf(first->message)))});
    co_return;
  }
  if (header->connection_id != connection_id) {
    fail_setup(Error{ErrorCode::kCorruption,
                     fmt::format("the connection header names connection {}, the notice {}",
                                 header->connection_id, connection_id)});
    co_return;
  }
  auto impl = std::make_unique<Connection::Impl>(*this, std::move(data), toConnectionInfo(*header));
  auto connection = std::make_unique<Connection>(std::move(impl));
  --setting_up;
  if (handler) {
    co_await runHandler(std::move(connection));
    co_return;
  }
  accept_queue.push_back(std::move(connection));
  if (!accept_waiters.empty()) {
    accept_waiters.front()->set();
    accept_waiters.pop_front();
  }
}

asio::awaitable<void> Service::Impl::runHandler(std::unique_ptr<Connection> connection) {
  std::optional<std::string> failure;
  try {
    co_await handler(*connection);
  } catch (const std::exception& e) {
    failure = e.what();
  } catch (...) {
    failure = "an exception that is not a std::exception";
  }
  if (failure) {
    const std::string message = "service handler failed: " + *failure;
    (void)co_await connection->end(EndReason::kError, message);
  } else {
    (void)co_await connection->end(EndReason::kNormal);
  }
}

void Service::Impl::logDetached(LogLevel level, std::string text) {
  if (control_done) return;
  auto task = [](Service* service, LogLevel level, std::string text) -> asio::awaitable<void> {
    (void)co_await service->log(level, text);
  };
  asio::co_spawn(*loop, task(&self, level, std::move(text)), asio::detached);
}

// ---- Service

Service::Service(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Service::~Service() = default;

Result<std::unique_ptr<Service>> Service::fromEnvironment(ServiceOptions options) {
  const char* value = std::getenv("THUNDER_CONTROL_FD");
  if (value == nullptr) {
    return fail(ErrorCode::kInvalidArgument,
                "THUNDER_CONTROL_FD is not set: this program is a Thunder service and must be "
                "started by a node (see docs/guide/writing-a-service.md to run it locally)");
  }
  int fd = -1;
  const std::string_view text(value);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), fd);
  if (ec != std::errc() || end != text.data() + text.size() || fd < 0) {
    return fail(ErrorCode::kInvalidArgument, "THUNDER_CONTROL_FD=\"{}\" is not a descriptor number",
                text);
  }
  return fromFd(fd, options);
}

Result<std::unique_ptr<Service>> Service::fromFd(int control_fd, ServiceOptions options) {
  UniqueFd fd(control_fd);
  // The inherited descriptor must not leak into programs the service may run.
  if (::fcntl(fd.get(), F_SETFD, FD_CLOEXEC) != 0) {
    const int err = errno;
    if (err == EBADF) fd.release();  // not ours to close: it does not exist
    return failErrno(err, fmt::format("control channel fd {}", control_fd));
  }
  // Control messages are at most 64 KiB and at most max_calls_in_flight are queued.
  ipc::UnixChannelOptions channel_options;
  channel_options.max_queued_bytes =
      (options.max_calls_in_flight + 1) * (ipc::kMaxMessageBody + ipc::kFrameHeaderSize);
  THUNDER_ASSIGN_OR_RETURN(
      ipc::UnixChannel channel,
      ipc::UnixChannel::adopt(std::move(fd), ipc::Channel::kControl, channel_options)
          .map_error([&](const Error& e) {
            return e.withContext(fmt::format("control channel fd {}", control_fd));
          }));
  std::unique_ptr<Service> service(new Service(nullptr));
  service->impl_ = std::make_unique<Impl>(*service, options, std::move(channel));
  return service;
}

void Service::onConnection(ConnectionHandler handler) {
  impl_->handler = std::move(handler);
}

Result<void> Service::run() {
  Impl& s = *impl_;
  if (s.ran) return fail(ErrorCode::kInvalidArgument, "sdk: Service::run() may be called once");
  s.ran = true;
  asio::co_spawn(*s.loop, s.main(), asio::detached);
  s.loop->run();
  if (!s.result) return fail(ErrorCode::kCancelled, "sdk: the service loop was stopped");
  return *s.result;
}

void Service::stop() {
  Impl* s = impl_.get();
  asio::post(*s->loop, [s] { s->control->close(); });
}

asio::io_context& Service::context() {
  return *impl_->loop;
}

asio::awaitable<Result<std::unique_ptr<Connection>>> Service::accept() {
  Impl& s = *impl_;
  for (;;) {
    if (!s.accept_queue.empty()) {
      std::unique_ptr<Connection> next = std::move(s.accept_queue.front());
      s.accept_queue.pop_front();
      co_return next;
    }
    if (s.control_done) {
      if (s.control_error) co_return fail(*s.control_error);
      co_return fail(ErrorCode::kUnavailable,
                     "sdk: the node closed the control channel; no more connections");
    }
    Event arrived(s.loop->get_executor());
    s.accept_waiters.push_back(&arrived);
    co_await arrived.wait();
  }
}

// ---- node calls

asio::awaitable<Result<NodeInfo>> Service::nodeInfo() {
  ipc::Message request = ipc::NodeInfoRequest{};
  std::vector<int> no_fds;
  THUNDER_CO_ASSIGN_OR_RETURN(ipc::Received reply,
                              co_await impl_->control->call(std::move(request), std::move(no_fds)));
  const auto* info = std::get_if<ipc::NodeInfoReply>(&reply.message);
  if (info == nullptr) {
    co_return fail(ErrorCode::kCorruption, "node: answered node_info with a {}",
                   ipc::messageTypeName(ipc::typeOf(reply.message)));
  }
  NodeInfo out;
  out.node_key = PublicKey(std::span<const uint8_t, 32>(info->node_key));
  out.service_id = info->service_id;
  out.node_version = info->node_version;
  co_return out;
}

asio::awaitable<Result<OpenedBlob>> Service::openBlob(BlobId blob, uint64_t offset,
                                                      uint64_t length) {
  ipc::Message request = ipc::OpenBlobRequest{0, toKey(blob.bytes()), offset, length};
  std::vector<int> no_fds;
  THUNDER_CO_ASSIGN_OR_RETURN(ipc::Received reply,
                              co_await impl_->control->call(std::move(request), std::move(no_fds)));
  const auto* opened = std::get_if<ipc::OpenBlobReply>(&reply.message);
  if (opened == nullptr || reply.fds.size() != 1) {
    co_return fail(ErrorCode::kCorruption, "node: answered open_blob with a {}",
                   ipc::messageTypeName(ipc::typeOf(reply.message)));
  }
  if (opened->offset > opened->blob_size || opened->length > opened->blob_size - opened->offset) {
    co_return fail(ErrorCode::kCorruption,
                   "node: open_blob answer offset {} length {} exceeds the blob size {}",
                   opened->offset, opened->length, opened->blob_size);
  }
  OpenedBlob out;
  out.fd = std::move(reply.fds[0]);
  out.blob_size = opened->blob_size;
  out.offset = opened->offset;
  out.length = opened->length;
  co_return out;
}

asio::awaitable<Result<BlobId>> Service::putBlob(int fd, uint64_t size) {
  ipc::Message request = ipc::PutBlobRequest{0, size};
  std::vector<int> fds{fd};
  THUNDER_CO_ASSIGN_OR_RETURN(ipc::Received reply,
                              co_await impl_->control->call(std::move(request), std::move(fds)));
  const auto* put = std::get_if<ipc::PutBlobReply>(&reply.message);
  if (put == nullptr) {
    co_return fail(ErrorCode::kCorruption, "node: answered put_blob with a {}",
                   ipc::messageTypeName(ipc::typeOf(reply.message)));
  }
  co_return BlobId(std::span<const uint8_t, 32>(put->blob));
}

namespace {

Result<void> expectAck(const ipc::Received& reply, std::string_view what) {
  if (!std::holds_alternative<ipc::AckReply>(reply.message)) {
    return fail(ErrorCode::kCorruption, "node: answered {} with a {}", what,
                ipc::messageTypeName(ipc::typeOf(reply.message)));
  }
  return {};
}

}  // namespace

asio::awaitable<Result<void>> Service::proposeUsage(uint64_t connection_id, Commodity commodity,
                                                    uint64_t amount) {
  ipc::Message request =
      ipc::ProposeUsageRequest{0, connection_id, static_cast<ipc::Commodity>(commodity), amount};
  std::vector<int> no_fds;
  THUNDER_CO_ASSIGN_OR_RETURN(ipc::Received reply,
                              co_await impl_->control->call(std::move(request), std::move(no_fds)));
  co_return expectAck(reply, "propose_usage");
}

asio::awaitable<Result<void>> Service::log(LogLevel level, std::string_view text) {
  ipc::Message request =
      ipc::LogRequest{0, static_cast<ipc::LogLevel>(level), cut(text, kMaxLogMessage)};
  std::vector<int> no_fds;
  THUNDER_CO_ASSIGN_OR_RETURN(ipc::Received reply,
                              co_await impl_->control->call(std::move(request), std::move(no_fds)));
  co_return expectAck(reply, "log");
}

asio::awaitable<Result<void>> Service::metrics(std::span<const MetricSample> samples) {
  ipc::MetricsRequest metrics;
  for (const MetricSample& s : samples) {
    metrics.samples.push_back({s.name, static_cast<ipc::MetricKind>(s.kind), s.value});
  }
  ipc::Message request = std::move(metrics);
  std::vector<int> no_fds;
  THUNDER_CO_ASSIGN_OR_RETURN(ipc::Received reply,
                              co_await impl_->control->call(std::move(request), std::move(no_fds)));
  co_return expectAck(reply, "metrics");
}

namespace {

Result<ResolvedContent> resolvedFrom(const ipc::Received& reply) {
  const auto* resolved = std::get_if<ipc::ResolveContentReply>(&reply.message);
  if (resolved == nullptr) {
    return fail(ErrorCode::kCorruption, "node: answered resolve_content with a {}",
                ipc::messageTypeName(ipc::typeOf(reply.message)));
  }
  return ResolvedContent{BlobId(std::span<const uint8_t, 32>(resolved->blob)), resolved->size};
}

}  // namespace

asio::awaitable<Result<ResolvedContent>> Service::resolveBlob(BlobId blob) {
  ipc::Message request =
      ipc::ResolveContentRequest{0, ipc::ContentRefKind::kBlob, toKey(blob.bytes()), {}};
  std::vector<int> no_fds;
  THUNDER_CO_ASSIGN_OR_RETURN(ipc::Received reply,
                              co_await impl_->control->call(std::move(request), std::move(no_fds)));
  co_return resolvedFrom(reply);
}

asio::awaitable<Result<ResolvedContent>> Service::resolveCid(std::string_view cid) {
  ipc::Message request =
      ipc::ResolveContentRequest{0, ipc::ContentRefKind::kCid, {}, std::string(cid)};
  std::vector<int> no_fds;
  THUNDER_CO_ASSIGN_OR_RETURN(ipc::Received reply,
                              co_await impl_->control->call(std::move(request), std::move(no_fds)));
  co_return resolvedFrom(reply);
}

asio::awaitable<Result<FetchedBlob>> Service::fetchOrigin(std::string_view url) {
  ipc::Message request = ipc::FetchOriginRequest{0, std::string(url)};
  std::vector<int> no_fds;
  THUNDER_CO_ASSIGN_OR_RETURN(ipc::Received reply,
                              co_await impl_->control->call(std::move(request), std::move(no_fds)));
  const auto* fetched = std::get_if<ipc::FetchOriginReply>(&reply.message);
  if (fetched == nullptr) {
    co_return fail(ErrorCode::kCorruption, "node: answered fetch_origin with a {}",
                   ipc::messageTypeName(ipc::typeOf(reply.message)));
  }
  co_return FetchedBlob{BlobId(std::span<const uint8_t, 32>(fetched->blob)), fetched->size};
}

asio::awaitable<Result<uint64_t>> Service::queryBalance(PublicKey client) {
  ipc::Message request = ipc::QueryBalanceRequest{0, toKey(client.bytes())};
  std::vector<int> no_fds;
  THUNDER_CO_ASSIGN_OR_RETURN(ipc::Received reply,
                              co_await impl_->control->call(std::move(request), std::move(no_fds)));
  const auto* balance = std::get_if<ipc::QueryBalanceReply>(&reply.message);
  if (balance == nullptr) {
    co_return fail(ErrorCode::kCorruption, "node: answered query_balance with a {}",
                   ipc::messageTypeName(ipc::typeOf(reply.message)));
  }
  co_return balance->balance;
}

int reportStartupError(const Error& error) {
  std::fprintf(stderr, "thunder service: %s\n", error.message.c_str());
  return 1;
}

}  // namespace thunder::sdk
