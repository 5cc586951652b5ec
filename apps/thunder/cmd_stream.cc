// thunder verify|encode|decode: the hashing pipeline and verified range streams.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "cmd_content.h"
#include "content/stored_blob_source.h"
#include "content/verified_stream.h"
#include "crypto/blake3_tree.h"

namespace thunder::cli {
namespace content_cmd {
namespace {

struct StreamFlags {
  std::string file;
  std::string id;
  std::vector<std::string> ranges;
  bool json = false;
  bool store = false;
  bool pin = false;
};

// --range flags → the ranges of a stream; none means the whole blob.
Result<content::ByteRanges> rangesFromFlags(const std::vector<std::string>& texts) {
  if (texts.empty()) return content::ByteRanges::all();
  content::ByteRanges ranges;
  for (const auto& text : texts) {
    THUNDER_ASSIGN_OR_RETURN(auto range, parseRange(text));
    const uint64_t end = range.last ? *range.last + 1 : UINT64_MAX;
    THUNDER_TRY(ranges.add(range.first, end));
  }
  return ranges;
}

Result<BlobId> idFlag(const std::string& text) {
  auto id = BlobId::fromHex(text);
  if (!id)
    return fail(ErrorCode::kInvalidArgument, "--id {} is not a blob id (64 hex digits)", text);
  return *id;
}

int runEncode(const GlobalFlags& flags, const StreamFlags& opts) {
  auto id = parseIdPath(opts.id);
  if (!id) return reportError(id.error());
  if (!id->second.empty()) {
    return reportError(Error{ErrorCode::kInvalidArgument, "encode takes a blob id, not a path"});
  }
  auto ranges = rangesFromFlags(opts.ranges);
  if (!ranges) return reportError(ranges.error());
  auto opened = openStore(flags, StoreAccess::kRead);
  if (!opened) return reportError(opened.error());
  auto source = content::StoredBlobSource::open(*opened->store, id->first);
  if (!source) return reportError(source.error());
  auto ok = content::encodeRanges(**source, *ranges, [](std::span<const uint8_t> bytes) {
    return content::writeAll(STDOUT_FILENO, bytes, "stdout");
  });
  if (!ok) return reportError(ok.error());
  return kExitOk;
}

// Decodes stdin and prints only verified bytes of the requested ranges.
// Reads a file descriptor on a second thread, one buffer ahead of the consumer, so that reading
// the stream overlaps with verifying it (the decoder itself stays one group at a time). The
// reader thread shares its state with this object; when the consumer stops early while the
// thread is blocked reading a pipe, the thread is detached and ends with its read (or the
// process).
class PrefetchReader {
 public:
  PrefetchReader(int fd, size_t buffer_size) : state_(std::make_shared<State>(fd, buffer_size)) {
    thread_ = std::thread([state = state_] { state->readAhead(); });
  }
  ~PrefetchReader() {
    bool finished;
    {
      std::lock_guard lock(state_->mutex);
      state_->stopping = true;
      finished = state_->finished;
    }
    state_->changed.notify_all();
    if (finished) {
      thread_.join();
    } else {
      thread_.detach();
    }
  }
  PrefetchReader(const PrefetchReader&) = delete;
  PrefetchReader& operator=(const PrefetchReader&) = delete;

  // The next chunk of input, empty at the end; valid until the following call.
  Result<std::span<const uint8_t>> next() {
    State& s = *state_;
    std::unique_lock lock(s.mutex);
    if (s.handed_out) {  // the consumer is done with the previous slot
      s.slots[s.consumer].state = SlotState::kFree;
      s.consumer ^= 1;
      s.changed.notify_all();
    }
    s.changed.wait(lock, [&] { return s.slots[s.consumer].state != SlotState::kFree; });
    s.handed_out = true;
    Slot& slot = s.slots[s.consumer];
    if (slot.state == SlotState::kFailed) return fail(slot.error);
    return std::span<const uint8_t>(s.buffers[s.consumer].data(), slot.size);
  }

 private:
  enum class SlotState { kFree, kFilled, kFailed };
  struct Slot {
    SlotState state = SlotState::kFree;
    size_t size = 0;
    Error error{ErrorCode::kInternal, ""};
  };
  struct State {
    State(int fd_in, size_t size)
        : fd(fd_in), buffers{std::vector<uint8_t>(size), std::vector<uint8_t>(size)} {}

    void readAhead() {
      for (int producer = 0;; producer ^= 1) {
        {
          std::unique_lock lock(mutex);
          changed.wait(lock, [&] { return stopping || slots[producer].state == SlotState::kFree; });
          if (stopping) break;
        }
        // One read: bytes are decoded as they arrive, not once a whole buffer filled.
        ssize_t got;
        do {
          got = ::read(fd, buffers[producer].data(), buffers[producer].size());
        } while (got < 0 && errno == EINTR);
        Result<size_t> n = got >= 0 ? Result<size_t>(static_cast<size_t>(got))
                                    : failErrno(errno, "cannot read stdin");
        std::lock_guard lock(mutex);
        Slot& slot = slots[producer];
        slot.state = n ? SlotState::kFilled : SlotState::kFailed;
        slot.size = n ? *n : 0;
        if (!n) slot.error = n.error();
        changed.notify_all();
        if (!n || *n == 0) break;  // end of input or an error: nothing more to read
      }
      std::lock_guard lock(mutex);
      finished = true;
    }

    const int fd;
    std::vector<uint8_t> buffers[2];
    std::mutex mutex;
    std::condition_variable changed;
    Slot slots[2];            // GUARDED_BY(mutex)
    int consumer = 0;         // GUARDED_BY(mutex)
    bool handed_out = false;  // GUARDED_BY(mutex)
    bool stopping = false;    // GUARDED_BY(mutex)
    bool finished = false;    // GUARDED_BY(mutex): readAhead() returned or is about to
  };

  std::shared_ptr<State> state_;
  std::thread thread_;
};

int runDecodeToStdout(const BlobId& id, const content::ByteRanges& ranges) {
  content::RangeDecoder decoder(
      id, ranges, [&ranges](uint64_t offset, std::span<const uint8_t> bytes) -> Result<void> {
        const uint64_t end = offset + bytes.size();
        for (const auto& r : ranges.ranges()) {
          const uint64_t from = std::max(r.start, offset);
          const uint64_t to = std::min(r.end, end);
          if (from >= to) continue;
          THUNDER_TRY(
              content::writeAll(STDOUT_FILENO, bytes.subspan(from - offset, to - from), "stdout"));
        }
        return {};
      });
  PrefetchReader input(STDIN_FILENO, 256 << 10);
  for (;;) {
    auto chunk = input.next();
    if (!chunk) return reportError(chunk.error());
    if (chunk->empty()) break;
    if (auto ok = decoder.feed(*chunk); !ok) return reportError(ok.error());
  }
  if (auto ok = decoder.finish(); !ok) return reportError(ok.error());
  return kExitOk;
}

int runDecode(const GlobalFlags& flags, const StreamFlags& opts) {
  auto id = idFlag(opts.id);
  if (!id) return reportError(id.error());
  auto ranges = rangesFromFlags(opts.ranges);
  if (!ranges) return reportError(ranges.error());
  if (!opts.store) return runDecodeToStdout(*id, *ranges);
  auto opened = openStore(flags, StoreAccess::kWrite);
  if (!opened) return reportError(opened.error());
  content::PutOptions put_options;
  put_options.pin = opts.pin ? content::PinState::kPinned : content::PinState::kUnpinned;
  auto r = opened->store->putVerifiedStream(*id, *ranges, STDIN_FILENO, put_options);
  if (!r) return reportError(r.error());
  if (opts.json) {
    std::printf("%s\n", nlohmann::json({{"id", r->id.hex()},
                                        {"size", r->size},
                                        {"state", std::string(content::blobStateName(r->state))},
                                        {"verified_bytes", r->verified_bytes},
                                        {"bytes_received", r->bytes_received}})
                            .dump()
                            .c_str());
  } else {
    std::printf("%s %s: %llu of %llu bytes verified\n", r->id.hex().c_str(),
                std::string(content::blobStateName(r->state)).c_str(),
                static_cast<unsigned long long>(r->verified_bytes),
                static_cast<unsigned long long>(r->size));
  }
  return kExitOk;
}

// Hashes FILE (or stdin for "-") with the tree pipeline: root and outboard, no store.
Result<BlobId> hashInput(const std::string& file) {
  if (file == "-") {
    crypto::TreeHasher hasher;
    std::vector<uint8_t> buffer(1 << 20);
    for (;;) {
      THUNDER_ASSIGN_OR_RETURN(const size_t n, content::readFull(STDIN_FILENO, buffer, "stdin"));
      if (n == 0) break;
      hasher.update(std::span(buffer.data(), n));
    }
    return hasher.finalize().root;
  }
  THUNDER_ASSIGN_OR_RETURN(auto fd, content::openFile(file, O_RDONLY));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return failErrno(errno, fmt::format("cannot stat {}", file));
  if (S_ISDIR(st.st_mode)) {
    return fail(ErrorCode::kInvalidArgument, "{} is a directory (verify files one at a time)",
                file);
  }
  const auto size = static_cast<uint64_t>(st.st_size);
  std::vector<uint8_t> outboard(crypto::outboardSize(size));
  return crypto::hashFile(fd.get(), size, outboard, crypto::HashParallelism::kTwoThreads);
}

int runVerify(const StreamFlags& opts) {
  auto expected = BlobId::fromHex(opts.id);
  if (!expected) {
    return reportError(Error{ErrorCode::kInvalidArgument,
                             fmt::format("--id {} is not a blob id (64 hex digits)", opts.id)});
  }
  auto actual = hashInput(opts.file);
  if (!actual) return reportError(actual.error());
  const bool match = *actual == *expected;
  if (opts.json) {
    std::printf("%s\n",
                nlohmann::json({{"file", opts.file}, {"id", actual->hex()}, {"match", match}})
                    .dump()
                    .c_str());
  }
  if (!match) {
    std::fprintf(stderr, "thunder: %s does not match: it hashes to %s, not %s\n", opts.file.c_str(),
                 actual->hex().c_str(), expected->hex().c_str());
    return kExitCorruption;
  }
  if (!opts.json) std::printf("%s: OK\n", opts.file.c_str());
  return kExitOk;
}

}  // namespace

void addStreamCommands(CLI::App& app, const GlobalFlags& flags, int* exit_code) {
  auto opts = std::make_shared<StreamFlags>();
  CLI::App* verify =
      app.add_subcommand("verify", "Check that a file hashes to a blob id (no store involved)");
  verify->add_option("file", opts->file, "File to check, or - for stdin")->required();
  verify->add_option("--id", opts->id, "The expected blob id (64 hex digits)")->required();
  verify->add_flag("--json", opts->json, "Print {\"file\", \"id\", \"match\"} as JSON");
  verify->footer(
      "Exit status 0 if the file matches, 4 if it does not.\n"
      "Examples:\n"
      "  thunder verify photo.jpg --id 3f5a...e1\n"
      "  curl -s https://example.com/x | thunder verify - --id 3f5a...e1");
  verify->callback([opts, exit_code] { *exit_code = runVerify(*opts); });

  CLI::App* encode =
      app.add_subcommand("encode", "Write a verified range stream of a stored blob to stdout");
  encode->add_option("id", opts->id, "Blob id (stored complete)")->required();
  encode->add_option("--range", opts->ranges,
                     "Bytes FIRST-LAST (inclusive) or FIRST-; repeatable (default: all)");
  encode->footer(
      "The stream format is docs/formats/verified-stream.md; ranges are widened to 16 KiB groups.\n"
      "Examples:\n"
      "  thunder encode 3f5a...e1 > whole.stream\n"
      "  thunder encode 3f5a...e1 --range 0-1048575 --range 5000000- > parts.stream");
  encode->callback([&flags, opts, exit_code] { *exit_code = runEncode(flags, *opts); });

  CLI::App* decode = app.add_subcommand(
      "decode",
      "Verify a range stream from stdin and print only verified bytes (exit 4 on a bad byte)");
  decode->add_option("--id", opts->id, "The blob id the stream must prove")->required();
  decode->add_option("--range", opts->ranges,
                     "The ranges the stream was encoded for (as given to encode)");
  decode->add_flag("--store", opts->store,
                   "Store the verified groups in the blob store instead of printing");
  decode->add_flag("--pin", opts->pin, "With --store: pin the blob");
  decode->add_flag("--json", opts->json, "With --store: print the blob's state as JSON");
  decode->footer(
      "Bytes are printed only after their 16 KiB group is verified; on the first bad byte the\n"
      "command stops with exit status 4 and names the stream offset and group.\n"
      "Examples:\n"
      "  thunder encode ID --range 0-99 | thunder decode --id ID --range 0-99\n"
      "  curl -s http://peer/stream | thunder decode --id ID --store");
  decode->callback([&flags, opts, exit_code] { *exit_code = runDecode(flags, *opts); });
}

}  // namespace content_cmd
}  // namespace thunder::cli
