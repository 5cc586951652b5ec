// Parsing and printing of "host:port" listen and connect addresses.
//
// Accepted forms: "127.0.0.1:4240", "[::1]:4240", "localhost:4240" (means 127.0.0.1),
// "0.0.0.0:0" (port 0: the OS picks). No DNS lookups: a node binds literal addresses.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <string_view>

#include "base/result.h"

namespace thunder::net {

// kInvalidArgument naming the text on anything else.
Result<boost::asio::ip::tcp::endpoint> parseEndpoint(std::string_view text);

// "127.0.0.1:4240" or "[::1]:4240".
std::string formatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint);

// Opens `acceptor`, binds it to `endpoint` (SO_REUSEADDR) and listens. Errors name the address:
// kUnavailable when it is in use (with the fix), kPermissionDenied for a privileged port, ...
Result<void> bindAndListen(boost::asio::ip::tcp::acceptor& acceptor,
                           const boost::asio::ip::tcp::endpoint& endpoint);

}  // namespace thunder::net
