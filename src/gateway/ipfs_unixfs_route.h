// Deserialized answers of GET|HEAD /ipfs/<cid>[/<path>] (internal to the gateway module;
// docs/gateway.md "IPFS"): what a browser gets when it asks for no trustless format. A UnixFS
// file or raw block is served like /b3/ serves a blob (its content blob from the IpfsStore, with
// Range, 206/416, ETag "<cid>", 304, a Content-Type by name or sniffing); a directory redirects
// to its slash form, then serves its index.html or an HTML listing; a symlink serves its target
// text; other codecs are 501.
//
// Runs on the connection's loop; every IpfsStore and BlobStore call goes to the blocking pool.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "gateway/exchange.h"
#include "gateway/ipfs_request.h"
#include "gateway/server_state.h"

namespace thunder::gateway {

// Precondition: state.backends.ipfs is set. The references must stay valid until the coroutine
// ends (the connection awaits it directly).
boost::asio::awaitable<void> serveUnixfs(ServerState& state, LoopState& loop,
                                         const Request& request, Response& response,
                                         const IpfsPath& path);

}  // namespace thunder::gateway
