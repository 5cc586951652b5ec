// Response pieces shared by the /ipfs/ answers (internal to the gateway module; docs/gateway.md
// "IPFS"): the Path Gateway headers (X-Ipfs-Path, X-Ipfs-Roots, caching, CORS), conditional
// requests, Content-Disposition, and the one place where missing content becomes a 404.
//
// Functions over a Response; used on the connection's loop.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "base/error.h"
#include "content/ipfs_multiformats.h"
#include "gateway/exchange.h"
#include "gateway/ipfs_request.h"

namespace thunder::gateway {

// Every immutable /ipfs/ answer (Path Gateway spec).
inline constexpr std::string_view kIpfsImmutable = "public, max-age=29030400, immutable";

// X-Ipfs-Path (the request path as received), Vary: Accept, CORS (Access-Control-Allow-Origin: *
// and the exposed headers).
void ipfsCommonHeaders(const Request& request, Response& response);

// "X-Ipfs-Roots: <cid>,<cid>,…": one CID per path segment, the root first.
void ipfsRootsHeader(Response& response, std::span<const content::ipfs::Cid> roots);

// Applies If-None-Match against `etag` (quoted, maybe W/); true when the answer is now 304.
bool ipfsNotModified(const Request& request, Response& response, std::string_view etag);

enum class Disposition { kInline, kAttachment };
// "Content-Disposition: inline|attachment; filename=\"<ascii>\"; filename*=UTF-8''<escaped>"
// (non-ASCII, quotes, backslashes and control characters become '_' in the ASCII form).
void contentDisposition(Response& response, Disposition disposition, std::string_view filename);

// The answer for an IpfsStore error about `path`. kNotFound (the root, a block or an entry is
// not stored here) is 404: this is where an IPFS origin fetcher (backends.fetcher, later) would
// fetch what is missing and retry instead. Other codes map through statusForError().
void answerStoreError(Response& response, const IpfsPath& path, const Error& error);

}  // namespace thunder::gateway
