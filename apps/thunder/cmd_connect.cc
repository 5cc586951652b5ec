// thunder connect|fetch: client sessions from the command line.
#include "cmd_connect.h"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <thread>

#include "cmd_content.h"
#include "content/file_util.h"
#include "content/ipfs_multiformats.h"
#include "content/range_walk.h"
#include "content/verified_stream.h"
#include "crypto/keystore.h"
#include "handshake/client_driver.h"
#include "handshake/content_request.h"

namespace thunder::cli {
namespace {

namespace asio = boost::asio;
using handshake::SessionControl;
using handshake::SessionOutcome;
using handshake::TerminationReason;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);

struct ConnectFlags {
  std::string address;
  std::string node_key;
  uint32_t service = 0;
  std::string key;                  // client key file
  int64_t linger_ms = 500;          // connect: quiet time after stdin EOF before ending
  std::string id;                   // fetch
  std::vector<std::string> ranges;  // fetch
  std::string output;               // fetch -o
  bool store = false;               // fetch --store
  bool pin = false;
  int retries = 3;                   // fetch: resumptions after dropped connections
  uint64_t max_compute_ms = 60'000;  // connect: compute ms signed for at most (node proposals)
};

// The client key: --key FILE, or <data-dir>/keys/client.key (created on first use).
Result<crypto::SigningKey> clientKey(const GlobalFlags& flags, const ConnectFlags& opts) {
  if (!opts.key.empty()) return crypto::readKeyFile(opts.key);
  THUNDER_ASSIGN_OR_RETURN(const auto dir, selectedDataDir(flags));
  const auto file = dir / "keys" / "client.key";
  auto key = crypto::readKeyFile(file);
  if (key || key.error().code != ErrorCode::kNotFound) return key;
  auto fresh = crypto::SigningKey::generate();
  THUNDER_TRY(crypto::writeNewKeyFile(file, fresh));
  std::fprintf(stderr, "thunder: created client key %s (public key %s)\n", file.string().c_str(),
               fresh.publicKey().hex().c_str());
  return fresh;
}

Result<handshake::ConnectOptions> connectOptions(const ConnectFlags& opts, uint32_t service) {
  auto node_pk = PublicKey::fromHex(opts.node_key);
  if (!node_pk) {
    return fail(ErrorCode::kInvalidArgument, "--node-key {} is not a public key (64 hex digits)",
                opts.node_key);
  }
  handshake::ConnectOptions options;
  options.address = opts.address;
  options.target.node_pk = *node_pk;
  options.target.service = ServiceId(service);
  return options;
}

// Exit code and stderr line for a session that could not be run or did not end normally.
int reportConnectError(const Error& error) {
  if (error.code == ErrorCode::kPermissionDenied || error.code == ErrorCode::kCorruption) {
    std::fprintf(stderr, "thunder: %s\n", error.message.c_str());
    return kExitCorruption;  // node key mismatch, bad certificate
  }
  return reportError(error);
}

int reportOutcome(const SessionOutcome& outcome) {
  if (outcome.normal()) return kExitOk;
  if (outcome.local_error) return reportError(*outcome.local_error);
  std::fprintf(stderr, "thunder: %s\n", outcome.describe().c_str());
  switch (outcome.reason) {
    case TerminationReason::kUnexpectedNodeKey:
    case TerminationReason::kBadSignature: return kExitCorruption;
    case TerminationReason::kNodeBusy:
    case TerminationReason::kLaneLimit:
    case TerminationReason::kLaneBusy:
    case TerminationReason::kShutdown: return kExitUnavailable;
    case TerminationReason::kServiceError:
      if (outcome.message.starts_with("not_found:")) return kExitNotFound;
      if (outcome.message.starts_with("unavailable:")) return kExitUnavailable;
      return kExitError;
    default: return kExitError;
  }
}

// connect: stdin → payloads, payloads → stdout. At end of stdin it waits until the node has
// been quiet for --linger ms (answers in flight), signs a last DACK and ends normally.
class StdioBridge final : public handshake::SessionHandler {
 public:
  explicit StdioBridge(std::chrono::milliseconds linger) : linger_(linger) {}

  void onOpen(SessionControl&, uint64_t) override {}
  Result<void> onPayload(SessionControl&, std::span<const uint8_t> payload) override {
    last_payload_ = std::chrono::steady_clock::now();
    return content::writeAll(STDOUT_FILENO, payload, "stdout");
  }
  asio::awaitable<void> produce(SessionControl& control) override {
    std::vector<uint8_t> buffer(64 * 1024);
    asio::posix::stream_descriptor in(control.executor());
    boost::system::error_code ec;
    in.assign(::dup(STDIN_FILENO), ec);  // fails for regular files: read those directly
    if (!ec) stdin_ = &in;
    while (control.isOpen()) {
      size_t n = 0;
      if (stdin_ != nullptr) {
        auto [read_ec, got] = co_await in.async_read_some(asio::buffer(buffer), kAwait);
        if (read_ec) break;  // end of input, or stop()
        n = got;
      } else {
        auto got = content::readFull(STDIN_FILENO, buffer, "stdin");
        if (!got || *got == 0) break;
        n = *got;
        co_await asio::post(control.executor(), asio::use_awaitable);
      }
      control.send(std::span(buffer).first(n));
      co_await control.waitWritable(4 << 20);
    }
    stdin_ = nullptr;
    if (!control.isOpen()) co_return;
    asio::steady_timer timer(control.executor());
    timer_ = &timer;
    last_payload_ = std::chrono::steady_clock::now();
    while (control.isOpen()) {
      const auto quiet_until = last_payload_ + linger_;
      if (std::chrono::steady_clock::now() >= quiet_until) break;
      timer.expires_at(quiet_until);
      co_await timer.async_wait(kAwait);
    }
    timer_ = nullptr;
    control.acknowledgeBandwidth(control.receivedBytes(), handshake::Commitment{});
    control.end(TerminationReason::kNormal, "client done");
  }
  void stop() override {
    if (stdin_ != nullptr) stdin_->cancel();
    if (timer_ != nullptr) timer_->cancel();
  }

 private:
  std::chrono::milliseconds linger_;
  std::chrono::steady_clock::time_point last_payload_;
  asio::posix::stream_descriptor* stdin_ = nullptr;
  asio::steady_timer* timer_ = nullptr;
};

int runConnect(const GlobalFlags& flags, const ConnectFlags& opts) {
  auto options = connectOptions(opts, opts.service);
  if (!options) return reportError(options.error());
  auto key = clientKey(flags, opts);
  if (!key) return reportError(key.error());
  handshake::SystemClock clock;
  options->session.max_compute_ms = opts.max_compute_ms;
  StdioBridge bridge(std::chrono::milliseconds(std::max<int64_t>(0, opts.linger_ms)));
  auto outcome = handshake::connectAndRunBlocking(std::move(*options), *key, clock, bridge);
  if (!outcome) return reportConnectError(outcome.error());
  return reportOutcome(*outcome);
}

// fetch: a verified range stream from the content service. Only verified bytes leave it: to
// stdout / -o FILE through a RangeDecoder, or into the blob store through importVerified().
// DACKs acknowledge verified stream bytes every 1 MiB. A request by CID is answered with the id
// of the blob the node serves for it (32 bytes) before the stream, which is then verified
// against that id. It keeps the lane's resumption token, so after a dropped connection the
// caller can resume the lane: the node continues from the last acknowledged payload byte, and
// the bytes between that and what was already received arrive a second time and are skipped
// (the answer is deterministic).
class ContentFetch final : public handshake::SessionHandler {
 public:
  // `store`: import into it (--store) instead of writing the requested bytes to `out_fd`.
  ContentFetch(handshake::ContentRequest request, content::ByteRanges ranges, int out_fd,
               content::BlobStore* store, content::PutOptions put_options)
      : request_(std::move(request)),
        ranges_(ranges),
        out_fd_(out_fd),
        store_(store),
        put_options_(std::move(put_options)),
        prefix_(request_.cid.empty() ? 0 : kBlobIdSize) {}

  // Sets up the verification of the blob `id` (at once for a request by id; for a request by
  // CID, once the answer named the blob).
  Result<void> start(const BlobId& id) {
    id_ = id;
    if (store_ != nullptr) {
      THUNDER_ASSIGN_OR_RETURN(import_, store_->importVerified(id, ranges_, put_options_));
      return {};
    }
    decoder_.emplace(id, ranges_, [this](uint64_t offset, std::span<const uint8_t> bytes) {
      verified_stream_bytes_ = decoder_->consumed();
      return writeRequested(offset, bytes);
    });
    return {};
  }

  void onOpen(SessionControl& control, uint64_t resume_offset) override {
    if (resume_offset > fed_) {
      control.end(TerminationReason::kProtocolError,
                  fmt::format("the node resumes at stream byte {}, past the {} received",
                              resume_offset, fed_));
      return;
    }
    skip_ = fed_ - resume_offset;
    control.send(handshake::encodeContentRequest(request_));  // again, on a resumed lane
  }

  void onToken(const handshake::TokenUpdated& token) override { token_ = token; }

  Result<void> onPayload(SessionControl& control, std::span<const uint8_t> payload) override {
    const size_t repeated = static_cast<size_t>(std::min<uint64_t>(skip_, payload.size()));
    skip_ -= repeated;
    payload = payload.subspan(repeated);
    if (payload.empty()) return {};
    fed_ += payload.size();
    if (!id_) {  // a request by CID: the answer starts with the blob id
      const size_t take = std::min(payload.size(), kBlobIdSize - id_bytes_.size());
      id_bytes_.insert(id_bytes_.end(), payload.begin(), payload.begin() + take);
      payload = payload.subspan(take);
      if (id_bytes_.size() < kBlobIdSize) return {};
      const BlobId named(std::span<const uint8_t, kBlobIdSize>(id_bytes_.data(), kBlobIdSize));
      if (named == BlobId{}) {
        return fail(ErrorCode::kCorruption, "the node named the all-zero blob for cid {}",
                    request_.cid);
      }
      THUNDER_TRY(start(named));
      if (payload.empty()) return {};
    }
    if (import_ != nullptr) {
      THUNDER_TRY(import_->feed(payload));
      // The import verifies as it goes; a group becomes verified when its last byte arrives.
      verified_stream_bytes_ += payload.size();
    } else {
      THUNDER_TRY(decoder_->feed(payload));
      // The whole stream arrived and verified: acknowledge every byte, then end the session
      // ourselves, so the node sees the final DACK before the session closes.
      const auto claimed = decoder_->claimedSize();
      if (claimed && !stream_bytes_) stream_bytes_ = content::encodedSize(*claimed, ranges_);
      if (stream_bytes_ && decoder_->consumed() == *stream_bytes_) {
        THUNDER_TRY(decoder_->finish());
        finished_ = true;
        control.acknowledgeBandwidth(prefix_ + decoder_->consumed(), commitment(*claimed));
        control.end(TerminationReason::kNormal, "fetched");
        return {};
      }
    }
    if (verified_stream_bytes_ - acked_ >= kDackEvery) {
      const uint64_t size = decoder_ && decoder_->claimedSize() ? *decoder_->claimedSize() : 0;
      control.acknowledgeBandwidth(prefix_ + verified_stream_bytes_, commitment(size));
      acked_ = verified_stream_bytes_;
    }
    return {};
  }

  Result<void> onNormalEnd() override {
    if (!id_) {
      return fail(ErrorCode::kCorruption,
                  "the node ended the session before naming the blob of cid {}", request_.cid);
    }
    if (import_ != nullptr) {
      THUNDER_ASSIGN_OR_RETURN(result_, import_->finish());
      return {};
    }
    return finished_ ? Result<void>{} : decoder_->finish();
  }

  const std::optional<content::VerifiedPutResult>& result() const { return result_; }
  // The blob the stream proves (for a request by CID, once the node named it).
  const std::optional<BlobId>& blob() const { return id_; }
  // The lane to resume after a dropped connection; none before the first Welcome or once done.
  std::optional<handshake::LaneRequest> resumption() const {
    if (!token_ || finished_) return std::nullopt;
    return handshake::LaneRequest::resume(token_->lane, token_->token);
  }
  uint64_t received() const { return fed_; }

 private:
  static constexpr uint64_t kDackEvery = 1 << 20;
  static constexpr size_t kBlobIdSize = 32;

  // The DACK commitment: the blob the stream proves and the requested ranges.
  handshake::Commitment commitment(uint64_t claimed_size) const {
    handshake::ContentRequest committed = request_;
    if (id_) committed.id = *id_;
    return handshake::contentCommitment(committed, claimed_size);
  }

  Result<void> writeRequested(uint64_t offset, std::span<const uint8_t> bytes) {
    const uint64_t end = offset + bytes.size();
    for (const auto& r : ranges_.ranges()) {
      const uint64_t from = std::max(r.start, offset);
      const uint64_t to = std::min(r.end, end);
      if (from >= to) continue;
      THUNDER_TRY(content::writeAll(out_fd_, bytes.subspan(from - offset, to - from), "output"));
    }
    return {};
  }

  handshake::ContentRequest request_;
  content::ByteRanges ranges_;
  int out_fd_;
  content::BlobStore* store_;
  content::PutOptions put_options_;
  const uint64_t prefix_;          // payload bytes before the stream (the blob id, by CID)
  std::optional<BlobId> id_;       // the blob the stream proves
  std::vector<uint8_t> id_bytes_;  // the blob id as it arrives (request by CID)
  std::unique_ptr<content::VerifiedImport> import_;
  std::optional<content::RangeDecoder> decoder_;
  uint64_t verified_stream_bytes_ = 0;
  uint64_t acked_ = 0;
  bool finished_ = false;  // the decoder verified the whole stream and the final DACK went out
  std::optional<uint64_t> stream_bytes_;  // the stream's length, once its size prefix arrived
  std::optional<content::VerifiedPutResult> result_;
  std::optional<handshake::TokenUpdated> token_;  // the latest resumption token
  uint64_t fed_ = 0;   // payload bytes handed on (the blob id by CID, then the stream)
  uint64_t skip_ = 0;  // bytes of a resumed answer received before the connection dropped
};

// Whether a failed connection is worth resuming (the node may still hold the lane).
bool droppedConnection(const Error& error) {
  return error.code == ErrorCode::kUnavailable || error.code == ErrorCode::kTimeout;
}

// What `thunder fetch ID|CID` asks for: a blob id (64 hex digits), or a CID's text form. A CID
// of a raw block hashed with BLAKE3 names a blob id itself, and is asked for as that blob.
Result<handshake::ContentRequest> namedContent(const std::string& text) {
  if (text.size() == 64) {
    if (auto id = BlobId::fromHex(text)) {
      if (*id == BlobId{}) {
        return fail(ErrorCode::kInvalidArgument,
                    "{} is not a blob id: the all-zero id names no content (the protocol "
                    "reserves it for requests by CID)",
                    text);
      }
      return handshake::ContentRequest{*id, {}};
    }
  }
  auto cid = content::ipfs::Cid::parse(text);
  if (!cid) {
    return fail(ErrorCode::kInvalidArgument,
                "{} is neither a blob id (64 hex digits) nor a CID ({})", text,
                cid.error().message);
  }
  if (cid->codec() == content::ipfs::kRaw) {
    if (auto id = cid->blobId()) return handshake::ContentRequest{*id, {}};
  }
  if (text.size() > handshake::kMaxContentRequestCid) {
    return fail(ErrorCode::kInvalidArgument, "the CID {} is longer than {} characters", text,
                handshake::kMaxContentRequestCid);
  }
  return handshake::ContentRequest{BlobId{}, {}, text};
}

Result<std::pair<handshake::ContentRequest, content::ByteRanges>> fetchRequest(
    const ConnectFlags& opts) {
  THUNDER_ASSIGN_OR_RETURN(handshake::ContentRequest request, namedContent(opts.id));
  content::ByteRanges ranges;
  if (opts.ranges.size() > handshake::kMaxContentRequestRanges) {
    return fail(ErrorCode::kInvalidArgument, "{} ranges: at most {} per fetch", opts.ranges.size(),
                handshake::kMaxContentRequestRanges);
  }
  for (const auto& text : opts.ranges) {
    THUNDER_ASSIGN_OR_RETURN(auto range, content_cmd::parseRange(text));
    const uint64_t end = range.last ? *range.last + 1 : UINT64_MAX;
    request.ranges.push_back({range.first, end});
    THUNDER_TRY(ranges.add(range.first, end));
  }
  if (opts.ranges.empty()) ranges = content::ByteRanges::all();
  return std::pair{std::move(request), std::move(ranges)};
}

int runFetch(const GlobalFlags& flags, const ConnectFlags& opts) {
  auto request = fetchRequest(opts);
  if (!request) return reportError(request.error());
  if (opts.store && !opts.output.empty()) {
    return reportError(Error{ErrorCode::kInvalidArgument, "--store and -o exclude each other"});
  }
  auto options = connectOptions(opts, handshake::kContentServiceId.value());
  if (!options) return reportError(options.error());
  options->session.dack_every_bytes = 0;  // the handler acknowledges verified bytes only
  auto key = clientKey(flags, opts);
  if (!key) return reportError(key.error());

  std::optional<content_cmd::OpenedStore> opened;
  content::UniqueFd out_file;
  int out_fd = STDOUT_FILENO;
  content::PutOptions put_options;
  put_options.pin = opts.pin ? content::PinState::kPinned : content::PinState::kUnpinned;
  if (opts.store) {
    auto store = content_cmd::openStore(flags, content_cmd::StoreAccess::kWrite);
    if (!store) return reportError(store.error());
    opened = std::move(*store);
  } else if (!opts.output.empty()) {
    auto file = content::openFile(opts.output, O_WRONLY | O_CREAT | O_TRUNC);
    if (!file) return reportError(file.error());
    out_file = std::move(*file);
    out_fd = out_file.get();
  }

  handshake::SystemClock clock;
  ContentFetch fetch(request->first, request->second, out_fd,
                     opened ? opened->store.get() : nullptr, put_options);
  if (request->first.cid.empty()) {
    if (auto started = fetch.start(request->first.id); !started) {
      return reportError(started.error());
    }
  }
  Result<SessionOutcome> outcome = fail(ErrorCode::kInternal, "no attempt");
  for (int attempt = 0;; ++attempt) {
    handshake::ConnectOptions attempt_options = *options;
    const auto resuming = fetch.resumption();
    if (resuming) attempt_options.target.lane = *resuming;
    outcome = handshake::connectAndRunBlocking(std::move(attempt_options), *key, clock, fetch);
    // A resume can also meet the node still holding the lane for the dropped connection (it
    // has not noticed the drop yet): lane_busy, worth another try after the back-off.
    const bool lane_busy = outcome && resuming && outcome->reason == TerminationReason::kLaneBusy;
    if ((outcome && !lane_busy) || (!outcome && !droppedConnection(outcome.error())) ||
        !fetch.resumption() || attempt >= opts.retries) {
      break;
    }
    const std::string why = outcome ? outcome->describe() : outcome.error().message;
    std::fprintf(stderr,
                 "thunder: connection lost after %llu stream bytes (%s); resuming lane %u "
                 "(%d of %d)\n",
                 static_cast<unsigned long long>(fetch.received()), why.c_str(),
                 static_cast<unsigned>(fetch.resumption()->lane), attempt + 1, opts.retries);
    std::this_thread::sleep_for(std::chrono::milliseconds(100 << std::min(attempt, 5)));
  }
  if (!outcome) return reportConnectError(outcome.error());
  const int code = reportOutcome(*outcome);
  if (code != kExitOk || !fetch.result()) return code;
  const auto& r = *fetch.result();
  std::printf("%s %s: %llu of %llu bytes verified\n", r.id.hex().c_str(),
              std::string(content::blobStateName(r.state)).c_str(),
              static_cast<unsigned long long>(r.verified_bytes),
              static_cast<unsigned long long>(r.size));
  return kExitOk;
}

}  // namespace

void addConnectCommands(CLI::App& app, const GlobalFlags& flags, int* exit_code) {
  auto opts = std::make_shared<ConnectFlags>();
  const char* key_help =
      "Client key file (default: <data-dir>/keys/client.key, created if missing)";

  CLI::App* connect = app.add_subcommand(
      "connect", "Open a session to a service of a node: stdin → service, service → stdout");
  connect
      ->add_option("node_addr", opts->address,
                   "The node: HOST:PORT (TLS), quic://HOST:PORT (QUIC), or "
                   "ws://HOST:PORT/thunder/v1 (WebSocket; the node is then authenticated by its "
                   "Welcome signature only)")
      ->required();
  connect->add_option("--node-key", opts->node_key, "The node's public key (64 hex digits)")
      ->required();
  connect->add_option("--service", opts->service, "Service id (0 content, 1 echo)")->required();
  connect->add_option("--key", opts->key, key_help);
  connect->add_option(
      "--linger", opts->linger_ms,
      "After end of stdin, end once the node was quiet this long (ms, default 500)");
  connect->add_option("--max-compute-ms", opts->max_compute_ms,
                      "Sign compute DACKs for node usage proposals up to this many ms in the "
                      "session (default 60000; 0 never)");
  connect->footer(
      "Exit status: 0 normal end, 3 unreachable or refused, 4 node key mismatch, 1 otherwise.\n"
      "Examples:\n"
      "  echo hi | thunder connect 127.0.0.1:7000 --node-key b533...c3 --service 1\n"
      "  echo hi | thunder connect quic://127.0.0.1:4202 --node-key b533...c3 --service 1\n"
      "  echo hi | thunder connect ws://127.0.0.1:4201/thunder/v1 --node-key b533...c3 "
      "--service 1");
  connect->callback([&flags, opts, exit_code] { *exit_code = runConnect(flags, *opts); });

  CLI::App* fetch = app.add_subcommand(
      "fetch", "Fetch a blob (or ranges) from a node's content service, verifying every byte");
  fetch->add_option("id", opts->id, "Blob id (64 hex digits) or CID (Qm…, bafy…)")->required();
  fetch
      ->add_option("--from", opts->address,
                   "The node: HOST:PORT (TLS), quic://HOST:PORT (QUIC), or "
                   "ws://HOST:PORT/thunder/v1 (WebSocket)")
      ->required();
  fetch->add_option("--node-key", opts->node_key, "The node's public key (64 hex digits)")
      ->required();
  fetch->add_option("--range", opts->ranges,
                    "Bytes FIRST-LAST (inclusive) or FIRST-; repeatable (default: all)");
  fetch->add_option("-o,--output", opts->output, "Write the verified bytes to FILE, not stdout");
  fetch->add_flag("--store", opts->store,
                  "Import into the local blob store (partial or complete) instead of printing");
  fetch->add_flag("--pin", opts->pin, "With --store: pin the blob");
  fetch->add_option("--key", opts->key, key_help);
  fetch
      ->add_option("--retries", opts->retries,
                   "Resume the lane this many times after a dropped connection (default 3)")
      ->check(CLI::Range(0, 100));
  fetch->footer(
      "Only verified bytes are written; on the first bad byte the command stops with exit\n"
      "status 4 naming the group. Exit 5 when the node does not store the blob. A dropped\n"
      "connection resumes the lane (with its token) where the node's last DACK left off.\n"
      "By CID the node names the blob it serves for it and the bytes are verified against\n"
      "that blob (a CID of a BLAKE3 raw block is its blob id and is asked for as such).\n"
      "Examples:\n"
      "  thunder fetch 3f5a...e1 --from 127.0.0.1:7000 --node-key b533...c3 -o photo.jpg\n"
      "  thunder fetch bafybei...q4 --from 127.0.0.1:7000 --node-key b533...c3 -o site.html\n"
      "  thunder fetch 3f5a...e1 --from 127.0.0.1:7000 --node-key b533...c3 --range 0-99\n"
      "  thunder fetch 3f5a...e1 --from 127.0.0.1:7000 --node-key b533...c3 --store");
  fetch->callback([&flags, opts, exit_code] { *exit_code = runFetch(flags, *opts); });
}

}  // namespace thunder::cli
