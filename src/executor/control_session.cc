#include "executor/control_session.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

#include "executor/put_blob.h"
#include "io/offload.h"

namespace thunder::executor {
namespace {

namespace asio = boost::asio;

constexpr size_t kPutBatch = 1 << 20;  // pipe bytes gathered before each write on the pool

struct OpenedRange {
  UniqueFd fd;
  uint64_t blob_size = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Blocking: stat + openRange on the store.
Result<OpenedRange> openStoredRange(content::BlobStore& store,
                                    const ipc::OpenBlobRequest& request) {
  const BlobId id{std::span<const uint8_t, 32>(request.blob)};
  THUNDER_ASSIGN_OR_RETURN(content::BlobInfo info, store.stat(id));
  if (request.offset > info.size) {
    return fail(ErrorCode::kInvalidArgument, "offset {} is past the end of blob {} (size {})",
                request.offset, id.hex(), info.size);
  }
  const uint64_t length = std::min(request.length, info.size - request.offset);
  THUNDER_ASSIGN_OR_RETURN(content::BlobSlice slice, store.openRange(id, request.offset, length));
  return OpenedRange{std::move(slice.fd), info.size, slice.offset, slice.length};
}

// Blocking: the blob named by `request` (itself, or the CID's through `resolver`), if the store
// holds it complete.
Result<ipc::ResolveContentReply> resolveStored(content::BlobStore& store,
                                               const CidResolver& resolver,
                                               const ipc::ResolveContentRequest& request) {
  BlobId id{std::span<const uint8_t, 32>(request.blob)};
  std::string named_by;
  if (request.kind == ipc::ContentRefKind::kCid) {
    if (!resolver) {
      return fail(ErrorCode::kUnavailable,
                  "this node has no IPFS store: cid {} cannot be resolved here", request.cid);
    }
    THUNDER_ASSIGN_OR_RETURN(id, resolver(request.cid));
    named_by = fmt::format(" (the content of cid {})", request.cid);
  }
  auto info = store.stat(id);
  if (!info && info.error().code == ErrorCode::kNotFound) {
    return fail(ErrorCode::kNotFound, "blob {}{} is not stored on this node", id.hex(), named_by);
  }
  if (!info) return fail(info.error());
  if (info->state != content::BlobState::kComplete) {
    return fail(ErrorCode::kNotFound,
                "blob {}{} is only partially stored on this node ({} of {} bytes verified)",
                id.hex(), named_by, info->verified_bytes, info->size);
  }
  ipc::ResolveContentReply reply{request.id, {}, info->size};
  std::copy(id.bytes().begin(), id.bytes().end(), reply.blob.begin());
  return reply;
}

// Blocking: stores the scratch file's bytes (exactly `size` of them) as a blob.
Result<BlobId> storeScratch(content::BlobStore& store, int scratch, uint64_t size) {
  if (::lseek(scratch, 0, SEEK_SET) != 0) return failErrno(errno, "rewinding a put-blob scratch");
  THUNDER_ASSIGN_OR_RETURN(content::PutResult put, store.putStream(scratch, {}));
  if (put.size != size) {
    return fail(ErrorCode::kInternal, "put-blob stored {} bytes, {} announced", put.size, size);
  }
  return put.id;
}

struct PipeRead {
  PipeRead(const asio::any_io_executor& executor, int fd) : descriptor(executor, fd) {}
  asio::posix::stream_descriptor descriptor;
  bool timed_out = false;
};

std::string truncated(std::string text, size_t limit) {
  if (text.size() > limit) text.resize(limit);
  return text;
}

}  // namespace

ControlSession::ControlSession(asio::any_io_executor executor, ipc::UnixChannel channel,
                               ControlContext context, ControlHost& host)
    : executor_(executor),
      channel_(executor, std::move(channel)),
      context_(std::move(context)),
      host_(host),
      tasks_(executor),
      outbox_event_(executor),
      hello_timer_(executor) {}

ControlSession::~ControlSession() = default;

asio::awaitable<ControlEnd> ControlSession::run() {
  started_ = true;
  ipc::Hello hello{ipc::Channel::kControl, ipc::kMinVersion, ipc::kMaxVersion};
  outbox_.push_back(Outgoing{hello, {}, false});
  tasks_.spawn(writeLoop());
  if (!closing_) hello_timer_.expires_after(context_.options.hello_timeout);
  if (!closing_)
    tasks_.spawn([](ControlSession* self) -> asio::awaitable<void> {
      boost::system::error_code ec;
      co_await self->hello_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!ec && !self->hello_done_ && !self->closing_) {
        self->endWith(
            ControlEnd::Kind::kHelloTimeout,
            fmt::format("no Hello within {} ms", self->context_.options.hello_timeout.count()));
      }
    }(this));
  co_await readLoop();
  close();
  co_await tasks_.join();
  co_return end_.value_or(ControlEnd{});
}

void ControlSession::close() {
  if (closing_) return;
  closing_ = true;
  if (!end_) end_ = ControlEnd{ControlEnd::Kind::kClosedByNode, "closed by the node"};
  channel_.cancel();
  // Sticky: later reads see end of stream, and the service sees its channel close.
  ::shutdown(channel_.channel().nativeHandle(), SHUT_RDWR);
  hello_timer_.cancel();
  for (auto* pipe : pipes_) {
    boost::system::error_code ignored;
    pipe->cancel(ignored);
  }
  outbox_.clear();
  outbox_event_.notify();
}

void ControlSession::endWith(ControlEnd::Kind kind, std::string detail) {
  if (!end_) end_ = ControlEnd{kind, std::move(detail)};
  close();
}

void ControlSession::notifyDataChannel(uint64_t connection_id, UniqueFd service_end) {
  if (closing_) return;
  outbox_.push_back(Outgoing{ipc::DataChannel{connection_id}, std::move(service_end), false});
  outbox_event_.notify();
}

void ControlSession::reply(ipc::Message message, UniqueFd fd) {
  if (closing_) return;
  outbox_.push_back(Outgoing{std::move(message), std::move(fd), true});
  outbox_event_.notify();
}

void ControlSession::replyError(uint32_t id, const Error& error) {
  reply(ipc::ErrorReply{id, error.code, truncated(error.message, ipc::kMaxErrorMessage)});
}

asio::awaitable<void> ControlSession::writeLoop() {
  for (;;) {
    while (outbox_.empty() && !closing_) co_await outbox_event_.wait();
    if (closing_) co_return;
    Outgoing item = std::move(outbox_.front());
    outbox_.pop_front();
    std::vector<int> fds;
    if (item.fd.valid()) fds.push_back(item.fd.get());
    ipc::Message message = std::move(item.message);
    auto sent = co_await channel_.send(std::move(message), std::move(fds));
    if (item.is_reply && in_flight_ > 0) --in_flight_;
    if (!sent) {
      if (!closing_) endWith(ControlEnd::Kind::kPeerClosed, "writing: " + sent.error().message);
      co_return;
    }
  }
}

asio::awaitable<void> ControlSession::readLoop() {
  auto classify = [this](const Error& error) {
    if (closing_) return;
    if (error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kIoError) {
      endWith(ControlEnd::Kind::kPeerClosed, error.message);
    } else {
      endWith(ControlEnd::Kind::kProtocolError, error.message);
    }
  };
  auto first = co_await channel_.receive();
  if (!first) {
    classify(first.error());
    co_return;
  }
  const auto* hello = std::get_if<ipc::Hello>(&first->message);
  if (hello == nullptr) {
    endWith(ControlEnd::Kind::kProtocolError,
            fmt::format("the first message is {}, not hello",
                        ipc::messageTypeName(ipc::typeOf(first->message))));
    co_return;
  }
  const ipc::Hello ours{ipc::Channel::kControl, ipc::kMinVersion, ipc::kMaxVersion};
  if (auto version = ipc::negotiateVersion(ours, *hello); !version) {
    endWith(ControlEnd::Kind::kProtocolError, version.error().message);
    co_return;
  }
  hello_done_ = true;
  hello_timer_.cancel();
  host_.onControlReady();
  while (!closing_) {
    auto received = co_await channel_.receive();
    if (!received) {
      classify(received.error());
      co_return;
    }
    handle(std::move(*received));
  }
}

void ControlSession::handle(ipc::Received received) {
  ipc::Message& message = received.message;
  const ipc::MessageType type = ipc::typeOf(message);
  if (ipc::roleOf(type) != ipc::MessageRole::kRequest) {
    endWith(ControlEnd::Kind::kProtocolError,
            fmt::format("{} is not a request a service may send", ipc::messageTypeName(type)));
    return;
  }
  ++requests_;
  if (context_.requests_counter != nullptr) context_.requests_counter->add();
  if (++in_flight_ > context_.options.max_in_flight) {
    endWith(ControlEnd::Kind::kProtocolError,
            fmt::format("more than {} requests outstanding", context_.options.max_in_flight));
    return;
  }
  const uint32_t id = ipc::correlationId(message).value_or(0);
  if (std::get_if<ipc::NodeInfoRequest>(&message)) {
    ipc::NodeInfoReply info{id,
                            {},
                            context_.service_id.value(),
                            truncated(context_.node_version, ipc::kMaxNodeVersion)};
    std::copy(context_.node_key.bytes().begin(), context_.node_key.bytes().end(),
              info.node_key.begin());
    reply(std::move(info));
  } else if (auto* open = std::get_if<ipc::OpenBlobRequest>(&message)) {
    if (context_.store == nullptr || context_.blocking_pool == nullptr) {
      replyError(id, Error{ErrorCode::kUnavailable, "this node has no blob store"});
      return;
    }
    tasks_.spawn(openBlob(*open));
  } else if (auto* put = std::get_if<ipc::PutBlobRequest>(&message)) {
    if (context_.store == nullptr || context_.blocking_pool == nullptr) {
      replyError(id, Error{ErrorCode::kUnavailable, "this node has no blob store"});
    } else if (put->size > context_.options.max_put_bytes) {
      replyError(id, Error{ErrorCode::kResourceExhausted,
                           fmt::format("put-blob of {} bytes is over this node's limit of {}",
                                       put->size, context_.options.max_put_bytes)});
    } else if (puts_ >= context_.options.max_concurrent_puts) {
      replyError(id, Error{ErrorCode::kResourceExhausted,
                           fmt::format("more than {} put-blob requests at once",
                                       context_.options.max_concurrent_puts)});
    } else {
      ++puts_;
      tasks_.spawn(putBlob(*put, std::move(received.fds.at(0))));
    }
  } else if (auto* resolve = std::get_if<ipc::ResolveContentRequest>(&message)) {
    if (context_.store == nullptr || context_.blocking_pool == nullptr) {
      replyError(id, Error{ErrorCode::kUnavailable, "this node has no blob store"});
      return;
    }
    tasks_.spawn(resolveContent(*resolve));
  } else if (std::get_if<ipc::FetchOriginRequest>(&message)) {
    replyError(id, Error{ErrorCode::kUnavailable, "fetch from origin is not available yet"});
  } else if (std::get_if<ipc::QueryBalanceRequest>(&message)) {
    replyError(id, Error{ErrorCode::kUnavailable, "client balances are not available yet"});
  } else if (auto* usage = std::get_if<ipc::ProposeUsageRequest>(&message)) {
    auto added = host_.proposeUsage(usage->connection_id, usage->commodity, usage->amount);
    if (added) {
      reply(ipc::AckReply{id});
    } else {
      replyError(id, added.error());
    }
  } else if (auto* log = std::get_if<ipc::LogRequest>(&message)) {
    host_.log(log->level, log->message);
    reply(ipc::AckReply{id});
  } else if (auto* metrics = std::get_if<ipc::MetricsRequest>(&message)) {
    auto recorded = host_.recordMetrics(metrics->samples);
    if (recorded) {
      reply(ipc::AckReply{id});
    } else {
      replyError(id, recorded.error());
    }
  } else {
    endWith(ControlEnd::Kind::kProtocolError,
            fmt::format("unexpected {}", ipc::messageTypeName(type)));
  }
}

asio::awaitable<void> ControlSession::openBlob(ipc::OpenBlobRequest request) {
  content::BlobStore* store = context_.store;
  const ipc::OpenBlobRequest* wanted = &request;
  auto opened = co_await io::offload(
      *context_.blocking_pool, [store, wanted]() { return openStoredRange(*store, *wanted); });
  if (closing_) co_return;
  if (!opened) {
    replyError(request.id, opened.error());
    co_return;
  }
  ipc::OpenBlobReply answer{request.id, opened->blob_size, opened->offset, opened->length};
  reply(std::move(answer), std::move(opened->fd));
}

asio::awaitable<void> ControlSession::resolveContent(ipc::ResolveContentRequest request) {
  content::BlobStore* store = context_.store;
  const CidResolver* resolver = &context_.resolve_cid;
  const ipc::ResolveContentRequest* wanted = &request;
  auto resolved = co_await io::offload(*context_.blocking_pool, [store, resolver, wanted]() {
    return resolveStored(*store, *resolver, *wanted);
  });
  if (closing_) co_return;
  if (!resolved) {
    replyError(request.id, resolved.error());
    co_return;
  }
  reply(std::move(*resolved));
}

asio::awaitable<void> ControlSession::putBlob(ipc::PutBlobRequest request, UniqueFd source) {
  Result<BlobId> stored = co_await storePut(request.size, source.get());
  --puts_;
  if (closing_) co_return;
  if (!stored) {
    replyError(request.id, stored.error());
    co_return;
  }
  ipc::PutBlobReply answer{request.id, {}};
  std::copy(stored->bytes().begin(), stored->bytes().end(), answer.blob.begin());
  reply(std::move(answer));
}

asio::awaitable<Result<BlobId>> ControlSession::storePut(uint64_t size, int source_fd) {
  THUNDER_CO_ASSIGN_OR_RETURN(const PutSourceKind kind, classifyPutSource(source_fd));
  const std::filesystem::path* scratch_dir = &context_.scratch_dir;
  auto scratch = co_await io::offload(*context_.blocking_pool,
                                      [scratch_dir] { return createScratchFile(*scratch_dir); });
  if (!scratch) co_return fail(scratch.error());
  const int scratch_fd = scratch->get();
  if (kind == PutSourceKind::kRegularFile) {
    auto copied = co_await io::offload(*context_.blocking_pool, [source_fd, scratch_fd, size] {
      return copyRegularFile(source_fd, scratch_fd, size);
    });
    if (!copied) co_return fail(copied.error());
  } else {
    THUNDER_CO_ASSIGN_OR_RETURN(UniqueFd pipe, reopenPipeNonBlocking(source_fd));
    auto copied = co_await copyPipe(pipe.release(), scratch_fd, size);
    if (!copied) co_return fail(copied.error());
  }
  content::BlobStore* store = context_.store;
  co_return co_await io::offload(*context_.blocking_pool, [store, scratch_fd, size] {
    return storeScratch(*store, scratch_fd, size);
  });
}

asio::awaitable<Result<void>> ControlSession::copyPipe(int pipe_fd, int scratch_fd, uint64_t size) {
  auto state = std::make_shared<PipeRead>(executor_, pipe_fd);
  asio::steady_timer deadline(executor_, context_.options.put_timeout);
  deadline.async_wait([state](const boost::system::error_code& ec) {
    if (ec) return;
    state->timed_out = true;
    boost::system::error_code ignored;
    state->descriptor.cancel(ignored);
  });
  pipes_.insert(&state->descriptor);
  struct Unregister {
    std::set<asio::posix::stream_descriptor*>& pipes;
    asio::posix::stream_descriptor* pipe;
    ~Unregister() { pipes.erase(pipe); }
  } unregister{pipes_, &state->descriptor};

  std::vector<uint8_t> batch;
  batch.reserve(static_cast<size_t>(std::min<uint64_t>(size, kPutBatch)));
  uint64_t done = 0;
  uint64_t buffered = 0;
  std::vector<uint8_t> chunk(64 * 1024);
  while (done < size) {
    if (closing_) co_return fail(ErrorCode::kCancelled, "the control channel closed");
    if (state->timed_out) {
      co_return fail(ErrorCode::kTimeout, "put-blob pipe delivered {} of {} bytes in {} ms", done,
                     size, context_.options.put_timeout.count());
    }
    const size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - done));
    const ssize_t n = ::read(state->descriptor.native_handle(), chunk.data(), want);
    if (n > 0) {
      batch.insert(batch.end(), chunk.begin(), chunk.begin() + n);
      done += static_cast<uint64_t>(n);
      buffered += static_cast<uint64_t>(n);
      if (buffered >= kPutBatch || done == size) {
        const std::vector<uint8_t>* bytes = &batch;
        auto written = co_await io::offload(*context_.blocking_pool, [scratch_fd, bytes] {
          return writeFully(scratch_fd, *bytes);
        });
        if (!written) co_return fail(written.error());
        batch.clear();
        buffered = 0;
      }
      continue;
    }
    if (n == 0) {
      co_return fail(ErrorCode::kInvalidArgument,
                     "the put-blob pipe ended after {} of the {} bytes announced", done, size);
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      co_return failErrno(errno, "reading put-blob pipe");
    boost::system::error_code ec;
    co_await state->descriptor.async_wait(asio::posix::descriptor_base::wait_read,
                                          asio::redirect_error(asio::use_awaitable, ec));
  }
  deadline.cancel();
  co_return Result<void>{};
}

}  // namespace thunder::executor
