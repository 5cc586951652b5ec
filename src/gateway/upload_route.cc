#include "gateway/upload_route.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <vector>

#include "base/log.h"
#include "content/file_util.h"
#include "crypto/blake3.h"
#include "gateway/error_status.h"
#include "gateway/log_limit.h"
#include "gateway/request_target.h"
#include "io/offload.h"

namespace thunder::gateway {

namespace asio = boost::asio;

namespace {

constexpr size_t kChunk = 256 * 1024;

// Constant-time comparison of the presented token with the configured one (by their hashes, so
// neither the length nor a prefix leaks through timing).
bool tokenMatches(std::string_view presented, const BlobId& expected_hash) {
  const BlobId hash = crypto::blake3(
      std::span(reinterpret_cast<const uint8_t*>(presented.data()), presented.size()));
  uint8_t diff = 0;
  for (size_t i = 0; i < BlobId::kSize; ++i) diff |= hash.bytes()[i] ^ expected_hash.bytes()[i];
  return diff == 0;
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i]) return false;
  }
  return true;
}

std::string_view bearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      !equalsNoCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return {};
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return token;
}

// An unnamed file in `dir` (O_TMPFILE, or created and unlinked at once): nothing to clean up.
Result<UniqueFd> createSpool(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return UniqueFd(fd);
  std::string name = (dir / "gateway-upload-XXXXXX").string();
  const int tmp = ::mkostemp(name.data(), O_CLOEXEC);
  if (tmp < 0) {
    return failErrno(errno, fmt::format("cannot create an upload spool file in {}", dir.string()));
  }
  ::unlink(name.c_str());
  return UniqueFd(tmp);
}

// Blocking: stores the spooled body.
Result<content::PutResult> storeSpool(content::BlobStore& store, int fd, content::PinState pin) {
  content::PutOptions options;
  options.pin = pin;
  // Through /proc, putFile sees a regular file: copy_file_range and the two-thread hash.
  auto put = store.putFile(fmt::format("/proc/self/fd/{}", fd), options);
  if (put || put.error().code != ErrorCode::kNotFound) return put;
  if (::lseek(fd, 0, SEEK_SET) != 0) return failErrno(errno, "cannot rewind the upload spool");
  return store.putStream(fd, options);
}

}  // namespace

asio::awaitable<void> serveUpload(ServerState& state, const Request& request, BodyReader& body,
                                  Response& response) {
  const GatewayOptions& options = state.options;
  // Refusals before the body is read close the connection (its body is not consumed).
  if (options.upload_token.empty()) {
    response.closeAfter();
    response.error(403,
                   "uploads are disabled on this gateway: set gateway.upload_token in the node's "
                   "config and send it as \"Authorization: Bearer <token>\"");
    co_return;
  }
  const std::string_view token = bearerToken(request.authorization);
  if (token.empty() || !tokenMatches(token, state.upload_token_hash)) {
    response.closeAfter();
    response.error(401,
                   request.authorization.empty()
                       ? "uploads need \"Authorization: Bearer <token>\" (gateway.upload_token)"
                       : "the upload token is wrong");
    response.header("WWW-Authenticate", "Bearer realm=\"thunder\"");
    co_return;
  }
  if (request.framing == BodyFraming::kLength && request.content_length > state.max_upload_bytes) {
    response.closeAfter();
    response.errorf(413, "the body ({} bytes) is larger than the upload limit of {} MiB",
                    request.content_length, options.max_upload_mb);
    co_return;
  }
  if (!request.expect.empty() && !equalsNoCase(request.expect, "100-continue")) {
    response.closeAfter();
    response.errorf(417, "unsupported Expect: {} (only 100-continue)",
                    request.expect.substr(0, 100));
    co_return;
  }
  content::PinState pin = content::PinState::kUnpinned;
  if (const auto value = queryParam(request.query, "pin")) {
    if (*value == "1" || *value == "true") {
      pin = content::PinState::kPinned;
    } else if (*value != "0" && *value != "false") {
      response.closeAfter();
      response.errorf(400, "pin must be 1 or 0, not \"{}\"", value->substr(0, 100));
      co_return;
    }
  }
  std::error_code ignored;
  const std::filesystem::path spool_dir =
      options.spool_dir.empty() ? std::filesystem::temp_directory_path(ignored) : options.spool_dir;
  auto spool = createSpool(spool_dir);
  if (!spool) {
    THUNDER_GATEWAY_WARN("{}", spool.error().message);
    response.closeAfter();
    response.error(500, spool.error().message);
    co_return;
  }
  if (!request.expect.empty()) {
    auto sent = co_await body.sendContinue();
    if (!sent) co_return;
  }
  // From here on the Request's views are invalid (readBody() takes over the parser).
  std::vector<uint8_t> chunk(kChunk);
  uint64_t received = 0;
  for (;;) {
    auto n = co_await body.readBody(chunk);
    if (!n) {
      response.closeAfter();
      const ErrorCode code = n.error().code;
      if (code == ErrorCode::kResourceExhausted) {
        response.errorf(413, "the body is larger than the upload limit of {} MiB",
                        options.max_upload_mb);
      } else if (code == ErrorCode::kTimeout) {
        response.error(408, n.error().message);
      } else {
        response.error(code == ErrorCode::kCancelled ? 503 : 400, n.error().message);
      }
      co_return;
    }
    if (*n == 0) break;
    auto written = content::pwriteAll(spool->get(), std::span(chunk.data(), *n), received,
                                      "the upload spool file");
    if (!written) {
      THUNDER_GATEWAY_WARN("{}", written.error().message);
      response.closeAfter();
      response.error(statusForError(written.error().code), written.error().message);
      co_return;
    }
    received += *n;
  }
  content::BlobStore* store = &state.store;
  const int fd = spool->get();
  auto work = [store, fd, pin] { return storeSpool(*store, fd, pin); };
  auto put = co_await io::offload(state.runtime.blockingPool(), std::move(work));
  if (!put) {
    THUNDER_GATEWAY_WARN("upload of {} bytes not stored: {}", received, put.error().message);
    response.error(statusForError(put.error().code), put.error().message);
    co_return;
  }
  state.counters.uploads->add();
  state.counters.upload_bytes->add(received);
  const std::string id = put->id.hex();
  THUNDER_LOG(debug, "gateway", "stored upload {} ({} bytes)", id, put->size);
  response.setStatus(201);
  response.header("Content-Type", "application/json");
  response.header("Cache-Control", "no-store");
  response.headerf("Location", "/b3/{}", id);
  const nlohmann::json answer = {
      {"id", id},
      {"size", put->size},
      {"already_present", put->outcome == content::PutOutcome::kAlreadyPresent}};
  response.addText(answer.dump() + "\n");
}

}  // namespace thunder::gateway
