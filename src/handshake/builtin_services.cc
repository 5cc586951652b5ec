#include "handshake/builtin_services.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <optional>
#include <vector>

#include "content/stored_blob_source.h"
#include "content/verified_stream.h"
#include "io/offload.h"

namespace thunder::handshake {
namespace {

namespace asio = boost::asio;

class EchoConnection final : public ServiceConnection {
 public:
  asio::awaitable<void> run(SessionIo& io) override {
    for (;;) {
      std::optional<std::vector<uint8_t>> payload = co_await io.receive();
      if (!payload) co_return;
      if (!co_await io.send(std::move(*payload))) co_return;
    }
  }
};

// A blob's verified range stream being encoded: the source must outlive the encoder.
struct ContentStream {
  std::unique_ptr<content::StoredBlobSource> source;
  std::optional<content::RangeEncoder> encoder;
};

Result<content::ByteRanges> rangesOf(const ContentRequest& request) {
  if (request.ranges.empty()) return content::ByteRanges::all();
  content::ByteRanges ranges;
  for (const ContentRange& range : request.ranges) THUNDER_TRY(ranges.add(range.start, range.end));
  return ranges;
}

// Opens the blob and skips the first `skip` stream bytes (acknowledged before a resume).
// Blocking.
Result<std::unique_ptr<ContentStream>> openStream(content::BlobStore& store, const BlobId& id,
                                                  const content::ByteRanges& ranges,
                                                  uint64_t skip) {
  auto stream = std::make_unique<ContentStream>();
  THUNDER_ASSIGN_OR_RETURN(stream->source, content::StoredBlobSource::open(store, id));
  stream->encoder.emplace(*stream->source, ranges);
  std::vector<uint8_t> scratch(skip > 0 ? kMaxSendChunk : 0);
  while (skip > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(skip, scratch.size()));
    THUNDER_ASSIGN_OR_RETURN(const size_t n, stream->encoder->read(std::span(scratch).first(want)));
    if (n == 0) break;  // resumed past the end: nothing left to send
    skip -= n;
  }
  return stream;
}

// How long the content service waits, after the last stream byte, for the client to end the
// session (docs/protocol/builtin-services.md).
constexpr std::chrono::seconds kClientEndGrace{5};

// Stream bytes read per trip to the blocking pool; send() cuts them into frames. Larger batches
// mean fewer hops between the loop and the pool (16 per MiB at 64 KiB).
constexpr size_t kStreamReadBatch = 1024 * 1024;

class ContentConnection final : public ServiceConnection {
 public:
  ContentConnection(content::BlobStore& store, asio::thread_pool& pool, uint64_t resume_offset)
      : store_(store), pool_(pool), resume_offset_(resume_offset) {}

  asio::awaitable<void> run(SessionIo& io) override {
    std::optional<std::vector<uint8_t>> bytes = co_await io.receive();
    if (!bytes) co_return;
    io.stopReceiving();
    auto request = parseContentRequest(*bytes);
    auto ranges = request ? rangesOf(*request) : tl::unexpected(request.error());
    if (!ranges) {
      const std::string& why = ranges.error().message;  // the parser's start "bad_request: "
      io.end(TerminationReason::kServiceError,
             why.starts_with("bad_request: ") ? why : "bad_request: " + why);
      co_return;
    }
    if (!request->cid.empty()) {
      io.end(TerminationReason::kServiceError,
             fmt::format("not_found: cid {}: the node's built-in content service serves blob ids "
                         "only (CIDs are served when thunder-service-cdn runs as service 0, "
                         "docs/services.md)",
                         request->cid));
      co_return;
    }
    const BlobId id = request->id;
    // The offloaded lambdas capture only pointers: GCC 12 destroys a co_await operand's
    // non-trivial captures twice.
    const content::ByteRanges* wanted = &*ranges;
    auto stream = co_await io::offload(
        pool_, [this, &id, wanted]() -> Result<std::unique_ptr<ContentStream>> {
          return openStream(store_, id, *wanted, resume_offset_);
        });
    if (!stream) {
      const bool missing = stream.error().code == ErrorCode::kNotFound;
      io.end(TerminationReason::kServiceError,
             missing ? fmt::format("not_found: blob {} is not stored on this node", id.hex())
                     : "io_error: " + stream.error().message);
      co_return;
    }
    ContentStream* encoding = stream->get();
    for (;;) {
      auto chunk = co_await io::offload(pool_, [encoding]() -> Result<std::vector<uint8_t>> {
        std::vector<uint8_t> out(kStreamReadBatch);
        THUNDER_ASSIGN_OR_RETURN(const size_t n, encoding->encoder->read(out));
        out.resize(n);
        return out;
      });
      if (!chunk) {
        io.end(TerminationReason::kServiceError, "io_error: " + chunk.error().message);
        co_return;
      }
      if (chunk->empty()) break;
      if (!co_await io.send(std::move(*chunk))) co_return;
    }
    // The client ends the session once it has verified the stream and sent its final DACK;
    // ending it here at once would drop DACKs still in flight. Wait for that, at most
    // kClientEndGrace, then end it ourselves.
    bool client_ended = false;
    asio::steady_timer grace(co_await asio::this_coro::executor, kClientEndGrace);
    grace.async_wait([&io, &client_ended](const boost::system::error_code& ec) {
      if (!ec && !client_ended) io.end(TerminationReason::kNormal, "content: done");
    });
    co_await io.receive();  // nullopt once the session is over, by the client or the timer
    client_ended = true;
    grace.cancel();
  }

 private:
  content::BlobStore& store_;
  asio::thread_pool& pool_;
  const uint64_t resume_offset_;
};

}  // namespace

Result<std::unique_ptr<ServiceConnection>> EchoService::open(const ConnectionInfo&) {
  return std::make_unique<EchoConnection>();
}

Result<std::unique_ptr<ServiceConnection>> ContentService::open(const ConnectionInfo& info) {
  return std::make_unique<ContentConnection>(store_, pool_, info.resume_offset);
}

Result<void> addBuiltinServices(SessionServices& services, content::BlobStore& store,
                                boost::asio::thread_pool& blocking_pool) {
  if (!services.hasService(kEchoServiceId)) {
    THUNDER_TRY(services.add(std::make_unique<EchoService>()));
  }
  if (!services.hasService(kContentServiceId)) {
    THUNDER_TRY(services.add(std::make_unique<ContentService>(store, blocking_pool)));
  }
  return {};
}

}  // namespace thunder::handshake
