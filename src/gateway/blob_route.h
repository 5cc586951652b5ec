// GET|HEAD /b3/<id>[/<path>]: blob bytes, ranges, directories and verified streams (internal to
// the gateway module; the behaviour is specified in docs/gateway.md).
//
// Complete blobs come from the loop's OpenBlobCache or, on a miss, from the store on the blocking
// pool; the response carries file pieces that the connection sends with sendfile(2). Partial
// blobs are served only where the store has verified the requested bytes. Directory paths are
// resolved through the DirectoryResolver (cached manifests on the loop, else on the pool).
#pragma once

#include <boost/asio/awaitable.hpp>

#include "gateway/exchange.h"
#include "gateway/server_state.h"

namespace thunder::gateway {

// Answers a GET or HEAD under /b3/ into `response`. The references must stay valid until the
// coroutine ends (the connection awaits it directly).
boost::asio::awaitable<void> serveBlob(ServerState& state, LoopState& loop, const Request& request,
                                       Response& response);

}  // namespace thunder::gateway
