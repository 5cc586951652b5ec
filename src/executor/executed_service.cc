#include "executor/executed_service.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include "base/log.h"
#include "content/byte_ranges.h"
#include "content/stored_blob_source.h"
#include "content/verified_stream.h"
#include "io/async_event.h"
#include "io/offload.h"

namespace thunder::executor {

namespace asio = boost::asio;
using handshake::SessionIo;
using handshake::TerminationReason;

namespace {

// Stream bytes read per trip to the blocking pool (as the built-in content service).
constexpr size_t kStreamReadBatch = 1024 * 1024;

struct BlobStream {
  std::unique_ptr<content::StoredBlobSource> source;
  std::optional<content::RangeEncoder> encoder;
};

Result<std::unique_ptr<BlobStream>> openBlobStream(content::BlobStore& store, const BlobId& id,
                                                   const content::ByteRanges& ranges) {
  auto stream = std::make_unique<BlobStream>();
  THUNDER_ASSIGN_OR_RETURN(stream->source, content::StoredBlobSource::open(store, id));
  stream->encoder.emplace(*stream->source, ranges);
  return stream;
}

// A range of a blob's stored bytes being sent raw: `length` bytes left at `offset` of `fd`.
struct RawSlice {
  UniqueFd fd;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Blocking. kInvalidArgument if the range runs past the end of the blob (a raw range is sent
// whole or not at all: an HTTP head announced its length); kNotFound if the blob, or a part of
// the range, is not stored.
Result<RawSlice> openRawRange(content::BlobStore& store, const BlobId& id,
                              const ipc::ByteRange& range) {
  auto info = store.stat(id);
  if (!info && info.error().code == ErrorCode::kNotFound) {
    return fail(ErrorCode::kNotFound, "blob {} is not stored on this node", id.hex());
  }
  if (!info) return fail(info.error());
  if (range.offset > info->size || range.length > info->size - range.offset) {
    return fail(ErrorCode::kInvalidArgument,
                "StreamBlob raw range {}+{} runs past the end of blob {} ({} bytes)", range.offset,
                range.length, id.hex(), info->size);
  }
  THUNDER_ASSIGN_OR_RETURN(content::BlobSlice slice,
                           store.openRange(id, range.offset, range.length));
  return RawSlice{std::move(slice.fd), slice.offset, slice.length};
}

// Blocking: the next up to kStreamReadBatch bytes of `slice`, advancing it.
Result<std::vector<uint8_t>> readRawChunk(RawSlice& slice) {
  std::vector<uint8_t> out(static_cast<size_t>(std::min<uint64_t>(slice.length, kStreamReadBatch)));
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(slice.fd.get(), out.data() + done, out.size() - done,
                              static_cast<off_t>(slice.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return failErrno(errno, "reading a stored blob");
    if (n == 0) return fail(ErrorCode::kIoError, "a stored blob file ended early");
    done += static_cast<size_t>(n);
  }
  slice.offset += out.size();
  slice.length -= out.size();
  return out;
}

std::string_view endReasonName(ipc::EndReason reason) {
  switch (reason) {
    case ipc::EndReason::kNormal: return "normal";
    case ipc::EndReason::kError: return "error";
    case ipc::EndReason::kOverloaded: return "overloaded";
    case ipc::EndReason::kShutdown: return "shutdown";
  }
  return "unknown";
}

}  // namespace

// What the connection's coroutines, timers and the host's shutdown hook share (on the loop).
struct ExecutedConnection::State {
  explicit State(const asio::any_io_executor& executor) : executor(executor), ready(executor) {}

  // Ends the session because of the service (no-op once over).
  void failSession(std::string_view message) {
    failed = true;
    if (io != nullptr) io->end(TerminationReason::kServiceError, message);
  }
  // Tears the data channel down: later reads see end of stream, pending waits wake.
  void shut() {
    if (done) return;
    done = true;
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }

  asio::any_io_executor executor;
  io::AsyncEvent ready;     // the handshake finished (or failed)
  SessionIo* io = nullptr;  // while run() runs
  int fd = -1;              // the node's end of the data channel, while run() runs
  bool hello_done = false;
  bool open = false;           // Hello and ConnectionHeader done: payloads may flow
  bool done = false;           // the channel is shut
  bool failed = false;         // the node ended the session because of the service
  bool service_ended = false;  // the service sent End
  bool shutting_down = false;  // the service is being stopped
};

Result<std::unique_ptr<handshake::ServiceConnection>> ExecutedService::open(
    const handshake::ConnectionInfo& info) {
  THUNDER_ASSIGN_OR_RETURN(auto connection, openConnection(info, std::nullopt));
  return std::unique_ptr<handshake::ServiceConnection>(std::move(connection));
}

Result<std::unique_ptr<ExecutedConnection>> ExecutedService::openConnection(
    const handshake::ConnectionInfo& info, std::optional<ipc::HttpRequestHead> http) {
  ipc::ConnectionHeader header;
  std::copy(info.client_pk.bytes().begin(), info.client_pk.bytes().end(),
            header.client_key.begin());
  header.service_id = info.service.value();
  header.lane = info.lane;
  header.transport = info.transport.empty() ? "unknown" : info.transport;
  if (header.transport.size() > ipc::kMaxTransportName) {
    header.transport.resize(ipc::kMaxTransportName);
  }
  header.http = std::move(http);
  // Checked before attaching: the body must fit one frame (docs/protocol/ipc.md §4.1).
  if (auto body = ipc::encodeBody(header); !body) return fail(body.error());
  THUNDER_ASSIGN_OR_RETURN(AttachedConnection attached, host_.attach(info.client_pk, info.lane));
  header.connection_id = attached.connection_id;
  return std::make_unique<ExecutedConnection>(host_, std::move(attached), std::move(header),
                                              info.resume_offset);
}

ExecutedConnection::ExecutedConnection(ServiceHost& host, AttachedConnection attached,
                                       ipc::ConnectionHeader header, uint64_t resume_offset)
    : host_(host),
      pending_channel_(std::move(attached.channel)),
      record_(std::move(attached.record)),
      header_(std::move(header)),
      skip_(resume_offset) {}

ExecutedConnection::~ExecutedConnection() {
  record_->setShutdownHook({});
  record_->setComputeProposalHook({});
  host_.detach(record_->id());
}

asio::awaitable<void> ExecutedConnection::run(SessionIo& io) {
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  channel_.emplace(executor, std::move(*pending_channel_));
  pending_channel_.reset();
  state_ = std::make_shared<State>(executor);
  state_->io = &io;
  state_->fd = channel_->channel().nativeHandle();
  record_->setShutdownHook([weak = std::weak_ptr<State>(state_)] {
    auto state = weak.lock();
    if (!state) return;
    asio::post(state->executor, [weak] {
      auto state = weak.lock();
      if (!state || state->io == nullptr) return;
      state->shutting_down = true;
      state->io->end(TerminationReason::kShutdown, "the service is stopping");
    });
  });
  // Accepted ProposeUsage (compute ms) for this connection: the session proposes the total to
  // the client, who may sign a compute DACK for it (docs/protocol/handshake.md §4.1).
  record_->setComputeProposalHook([weak = std::weak_ptr<State>(state_)](uint64_t total_ms) {
    auto state = weak.lock();
    if (!state) return;
    asio::post(state->executor, [weak, total_ms] {
      auto state = weak.lock();
      if (!state || state->io == nullptr) return;
      state->io->proposeUsage(handshake::Commodity::kComputeMs, total_ms,
                              handshake::Commitment::requestHash(handshake::Hash32{}));
    });
  });
  if (const uint64_t early = record_->snapshot().proposed_compute_ms; early > 0) {
    io.proposeUsage(handshake::Commodity::kComputeMs, early,
                    handshake::Commitment::requestHash(handshake::Hash32{}));
  }

  io::TaskGroup tasks(executor);
  tasks.spawn(serviceToClient());
  co_await clientToService();
  co_await tasks.join();

  record_->setShutdownHook({});
  record_->setComputeProposalHook({});
  state_->io = nullptr;
  state_->fd = -1;
  record_->close();
}

asio::awaitable<Result<void>> ExecutedConnection::sendWithDeadline(ipc::Message message) {
  asio::steady_timer stall(state_->executor, host_.options().data_stall_timeout);
  stall.async_wait([state = state_](const boost::system::error_code& ec) {
    if (ec || state->done) return;
    state->failSession("the service stopped reading its data channel");
    state->shut();
  });
  auto sent = co_await channel_->send(std::move(message), {});
  stall.cancel();
  co_return sent;
}

asio::awaitable<void> ExecutedConnection::clientToService() {
  State& state = *state_;
  for (;;) {
    std::optional<std::vector<uint8_t>> payload = co_await state.io->receive();
    if (!payload) break;
    while (!state.open && !state.done) co_await state.ready.wait();
    if (!state.open || state.done) break;
    record_->addIn(payload->size());
    std::span<const uint8_t> rest(*payload);
    bool ok = true;
    do {
      const size_t n = std::min<size_t>(rest.size(), ipc::kMaxPayloadBody);
      ipc::Payload frame{std::vector<uint8_t>(rest.begin(), rest.begin() + n)};
      rest = rest.subspan(n);
      ipc::Message message = std::move(frame);
      auto sent = co_await sendWithDeadline(std::move(message));
      ok = sent.has_value();
    } while (ok && !rest.empty());
    if (!ok) {
      // The service stopped reading (it may have answered already and closed its end, as an
      // HTTP service does once its response is out). That ends only this direction: what the
      // service still sends reaches the client, and serviceToClient() ends the session when
      // the channel's read side ends, with the service's End or as a service error.
      co_return;
    }
  }
  // The session is over. Tell the service, unless it ended the connection itself.
  if (state.open && !state.service_ended && !state.done) {
    ipc::End end;
    if (state.shutting_down) {
      end = ipc::End{ipc::EndReason::kShutdown, "the service is stopping"};
    } else if (state.failed) {
      end = ipc::End{ipc::EndReason::kError, "the node ended the connection"};
    } else {
      end = ipc::End{ipc::EndReason::kNormal, {}};
    }
    ipc::Message message = std::move(end);
    (void)co_await sendWithDeadline(std::move(message));
  }
  state.shut();
}

asio::awaitable<void> ExecutedConnection::serviceToClient() {
  State& state = *state_;
  struct Finally {
    State& state;
    ~Finally() { state.ready.notify(); }
  } wake_client_side{state};

  asio::steady_timer hello_timer(state.executor, host_.options().hello_timeout);
  hello_timer.async_wait([state = state_](const boost::system::error_code& ec) {
    if (ec || state->hello_done || state->done) return;
    state->failSession("the service did not answer the data channel Hello in time");
    state->shut();
  });
  ipc::Message hello = ipc::Hello{ipc::Channel::kData, ipc::kMinVersion, ipc::kMaxVersion};
  Result<ipc::Received> theirs = fail(ErrorCode::kUnavailable, "the data channel is closed");
  if (auto sent = co_await channel_->send(std::move(hello), {}); !sent) {
    theirs = tl::unexpected(sent.error());
  } else {
    theirs = co_await channel_->receive();
  }
  hello_timer.cancel();
  if (!theirs) {
    if (!state.done) {
      state.failSession(
          fmt::format("the service did not take the connection: {}", theirs.error().message));
    }
    co_return;
  }
  const auto* hello_reply = std::get_if<ipc::Hello>(&theirs->message);
  const ipc::Hello ours{ipc::Channel::kData, ipc::kMinVersion, ipc::kMaxVersion};
  auto version = hello_reply ? ipc::negotiateVersion(ours, *hello_reply)
                             : Result<uint16_t>(fail(ErrorCode::kCorruption, "no Hello first"));
  if (!version) {
    host_.countDataProtocolError();
    state.failSession("protocol error on the data channel: " + version.error().message);
    co_return;
  }
  state.hello_done = true;
  ipc::Message header = header_;
  if (auto sent_header = co_await channel_->send(std::move(header), {}); !sent_header) {
    if (!state.done)
      state.failSession("the service closed the connection: " + sent_header.error().message);
    co_return;
  }
  state.open = true;
  state.ready.notify();

  for (;;) {
    if (state.done) co_return;
    auto received = co_await channel_->receive();
    if (!received) {
      if (state.done) co_return;
      const ErrorCode code = received.error().code;
      if (code == ErrorCode::kUnavailable || code == ErrorCode::kIoError) {
        state.failSession("the service closed the connection without End");
      } else {
        host_.countDataProtocolError();
        state.failSession("protocol error on the data channel: " + received.error().message);
      }
      state.shut();  // the channel is unusable: nothing more goes either way
      co_return;
    }
    if (auto* payload = std::get_if<ipc::Payload>(&received->message)) {
      if (payload->bytes.empty()) continue;
      std::vector<uint8_t> bytes = std::move(payload->bytes);
      const bool delivered = co_await deliver(std::move(bytes));
      if (!delivered) co_return;
    } else if (auto* stream = std::get_if<ipc::StreamBlob>(&received->message)) {
      const bool streamed = stream->mode == ipc::StreamMode::kRaw ? co_await streamRaw(*stream)
                                                                  : co_await streamBlob(*stream);
      if (!streamed) co_return;
    } else if (auto* end = std::get_if<ipc::End>(&received->message)) {
      state.service_ended = true;
      if (end->reason == ipc::EndReason::kNormal) {
        state.io->end(TerminationReason::kNormal,
                      end->message.empty() ? "service done" : end->message);
      } else if (end->reason == ipc::EndReason::kError && !end->message.empty()) {
        // The service's own words: its protocol's error vocabulary ("not_found: ...").
        state.failSession(end->message);
      } else {
        state.failSession(fmt::format("the service ended the connection ({}){}{}",
                                      endReasonName(end->reason), end->message.empty() ? "" : ": ",
                                      end->message));
      }
      state.shut();  // after End nothing more is exchanged (ipc.md §4.4)
      co_return;
    } else {
      host_.countDataProtocolError();
      state.failSession(fmt::format("protocol error on the data channel: the service sent {}",
                                    ipc::messageTypeName(ipc::typeOf(received->message))));
      state.shut();
      co_return;
    }
  }
}

asio::awaitable<bool> ExecutedConnection::streamBlob(const ipc::StreamBlob& request) {
  State& state = *state_;
  content::BlobStore* store = host_.store();
  asio::thread_pool* pool = host_.blockingPool();
  if (store == nullptr || pool == nullptr) {
    state.failSession("content by reference is not available on this node");
    co_return false;
  }
  content::ByteRanges ranges;
  for (const ipc::ByteRange& range : request.ranges) {
    if (!ranges.addLength(range.offset, range.length)) {
      host_.countDataProtocolError();
      state.failSession("protocol error on the data channel: a StreamBlob range overflows");
      co_return false;
    }
  }
  const BlobId id{std::span<const uint8_t, 32>(request.blob)};
  const BlobId* wanted_id = &id;
  const content::ByteRanges* wanted = &ranges;
  auto stream = co_await io::offload(
      *pool, [store, wanted_id, wanted] { return openBlobStream(*store, *wanted_id, *wanted); });
  if (!stream) {
    const bool missing = stream.error().code == ErrorCode::kNotFound;
    state.failSession(missing
                          ? fmt::format("not_found: blob {} is not stored on this node", id.hex())
                          : "io_error: " + stream.error().message);
    co_return false;
  }
  BlobStream* encoding = stream->get();
  for (;;) {
    auto chunk = co_await io::offload(*pool, [encoding]() -> Result<std::vector<uint8_t>> {
      std::vector<uint8_t> out(kStreamReadBatch);
      THUNDER_ASSIGN_OR_RETURN(const size_t n, encoding->encoder->read(out));
      out.resize(n);
      return out;
    });
    if (!chunk) {
      state.failSession("io_error: " + chunk.error().message);
      co_return false;
    }
    if (chunk->empty()) co_return true;
    std::vector<uint8_t> bytes = std::move(*chunk);
    const bool delivered = co_await deliver(std::move(bytes));
    if (!delivered) co_return false;
  }
}

asio::awaitable<bool> ExecutedConnection::streamRaw(const ipc::StreamBlob& request) {
  State& state = *state_;
  content::BlobStore* store = host_.store();
  asio::thread_pool* pool = host_.blockingPool();
  if (store == nullptr || pool == nullptr) {
    state.failSession("content by reference is not available on this node");
    co_return false;
  }
  const BlobId id{std::span<const uint8_t, 32>(request.blob)};
  for (const ipc::ByteRange& range : request.ranges) {
    // One range at a time: a read-only view of its bytes (verified when they were stored).
    const BlobId* wanted_id = &id;
    const ipc::ByteRange* wanted = &range;
    auto slice = co_await io::offload(*pool, [store, wanted_id, wanted]() -> Result<RawSlice> {
      return openRawRange(*store, *wanted_id, *wanted);
    });
    if (!slice) {
      const ErrorCode code = slice.error().code;
      state.failSession(code == ErrorCode::kNotFound ? "not_found: " + slice.error().message
                        : code == ErrorCode::kInvalidArgument
                            ? "invalid_argument: " + slice.error().message
                            : "io_error: " + slice.error().message);
      co_return false;
    }
    RawSlice* piece = &*slice;
    while (piece->length > 0) {
      auto chunk = co_await io::offload(*pool, [piece]() { return readRawChunk(*piece); });
      if (!chunk) {
        state.failSession("io_error: " + chunk.error().message);
        co_return false;
      }
      std::vector<uint8_t> bytes = std::move(*chunk);
      const bool delivered = co_await deliver(std::move(bytes));
      if (!delivered) co_return false;
    }
  }
  co_return true;
}

asio::awaitable<bool> ExecutedConnection::deliver(std::vector<uint8_t> bytes) {
  if (skip_ > 0) {
    const size_t drop = static_cast<size_t>(std::min<uint64_t>(skip_, bytes.size()));
    skip_ -= drop;
    bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(drop));
    if (bytes.empty()) co_return true;
  }
  record_->addOut(bytes.size());
  auto sent = co_await state_->io->send(std::move(bytes));
  co_return sent.has_value();
}

}  // namespace thunder::executor
