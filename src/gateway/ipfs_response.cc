#include "gateway/ipfs_response.h"

#include "gateway/conditional.h"
#include "gateway/error_status.h"
#include "gateway/log_limit.h"
#include "gateway/request_target.h"

namespace thunder::gateway {

namespace {
constexpr std::string_view kExposed =
    "Content-Range, Content-Length, ETag, X-Ipfs-Path, X-Ipfs-Roots, Content-Location";
}  // namespace

void ipfsCommonHeaders(const Request& request, Response& response) {
  response.header("X-Ipfs-Path", request.path);
  response.header("Vary", "Accept");
  response.header("Access-Control-Allow-Origin", "*");
  response.header("Access-Control-Expose-Headers", kExposed);
}

void ipfsRootsHeader(Response& response, std::span<const content::ipfs::Cid> roots) {
  std::string value;
  for (const auto& cid : roots) {
    if (!value.empty()) value += ',';
    value += cid.toString();
  }
  if (!value.empty()) response.header("X-Ipfs-Roots", value);
}

bool ipfsNotModified(const Request& request, Response& response, std::string_view etag) {
  if (etag.starts_with("W/")) etag.remove_prefix(2);  // If-None-Match compares weakly
  if (request.if_none_match.empty() || !ifNoneMatchMatches(request.if_none_match, etag)) {
    return false;
  }
  response.setStatus(304);
  return true;
}

void contentDisposition(Response& response, Disposition disposition, std::string_view filename) {
  const std::string_view kind = disposition == Disposition::kAttachment ? "attachment" : "inline";
  if (filename.empty()) {
    response.header("Content-Disposition", kind);
    return;
  }
  std::string ascii;
  ascii.reserve(filename.size());
  for (char c : filename) {
    const auto u = static_cast<unsigned char>(c);
    ascii.push_back(u < 0x20 || u >= 0x7f || c == '"' || c == '\\' ? '_' : c);
  }
  if (ascii == filename) {
    response.headerf("Content-Disposition", "{}; filename=\"{}\"", kind, ascii);
  } else {
    response.headerf("Content-Disposition", "{}; filename=\"{}\"; filename*=UTF-8''{}", kind, ascii,
                     percentEncodeSegment(filename));
  }
}

void answerStoreError(Response& response, const IpfsPath& path, const Error& error) {
  if (error.code == ErrorCode::kNotFound) {
    // Hook: with an IPFS origin fetcher, fetch the missing blocks here and serve them.
    response.errorf(404, "/ipfs/{}: {}", path.cid_text.substr(0, 120), error.message);
    return;
  }
  const unsigned status = statusForError(error.code);
  if (status >= 500) {
    THUNDER_GATEWAY_WARN("IPFS store error for /ipfs/{}: {}", path.cid_text.substr(0, 120),
                         error.message);
  }
  response.error(status, error.message);
}

}  // namespace thunder::gateway
