// POST /b3: authenticated uploads (internal to the gateway module; docs/gateway.md).
//
// Checks `Authorization: Bearer <token>` against options.upload_token (constant time; empty
// token: uploads disabled, 403), refuses a declared length over options.max_upload_mb (413)
// before reading anything, answers `Expect: 100-continue`, spools the body to an unnamed file in
// options.spool_dir (on the loop: page-cache writes), then stores it with BlobStore::putFile on
// the blocking pool. 201 with {"id", "size", "already_present"} and `Location: /b3/<id>`;
// `?pin=1` pins. A body over the limit or cut short stores nothing.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <span>

#include "base/result.h"
#include "gateway/exchange.h"
#include "gateway/server_state.h"

namespace thunder::gateway {

// How a route reads the request body (implemented by the connection). The Request's views are
// invalid after the first readBody().
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Fills up to out.size() body bytes; 0 at the end of the body. kResourceExhausted past the
  // server's body limit, kInvalidArgument for malformed chunked framing, kTimeout when the
  // client stalls, kCancelled when it disconnects or the server stops.
  virtual boost::asio::awaitable<Result<size_t>> readBody(std::span<uint8_t> out) = 0;
  // Sends "100 Continue" (once) to a client that waits for it before sending the body.
  virtual boost::asio::awaitable<Result<void>> sendContinue() = 0;
};

// Answers POST /b3 into `response`. The references must stay valid until the coroutine ends (the
// connection awaits it directly).
boost::asio::awaitable<void> serveUpload(ServerState& state, const Request& request,
                                         BodyReader& body, Response& response);

}  // namespace thunder::gateway
