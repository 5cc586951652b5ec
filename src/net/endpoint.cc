#include "net/endpoint.h"

#include <charconv>

namespace thunder::net {

Result<boost::asio::ip::tcp::endpoint> parseEndpoint(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return fail(ErrorCode::kInvalidArgument, "'{}' is not an address of the form host:port", text);
  }
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    return fail(ErrorCode::kInvalidArgument, "'{}' has an invalid port (expected 0-65535)", text);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code addr_ec;
  auto address = boost::asio::ip::make_address(std::string(host), addr_ec);
  if (addr_ec) {
    return fail(ErrorCode::kInvalidArgument,
                "'{}' has an invalid host (expected an IPv4 or IPv6 address, or localhost)", text);
  }
  return boost::asio::ip::tcp::endpoint(address, static_cast<uint16_t>(port));
}

std::string formatEndpoint(const boost::asio::ip::tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  if (address.is_v6()) return fmt::format("[{}]:{}", address.to_string(), endpoint.port());
  return fmt::format("{}:{}", address.to_string(), endpoint.port());
}

Result<void> bindAndListen(boost::asio::ip::tcp::acceptor& acceptor,
                           const boost::asio::ip::tcp::endpoint& endpoint) {
  namespace asio = boost::asio;
  boost::system::error_code ec;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec == asio::error::address_in_use) {
    return fail(ErrorCode::kUnavailable,
                "cannot listen on {}: the address is already in use (is another node running? "
                "choose another port)",
                formatEndpoint(endpoint));
  }
  if (ec) {
    return failErrorCode(std::error_code(ec.value(), std::system_category()),
                         fmt::format("cannot listen on {}", formatEndpoint(endpoint)));
  }
  return {};
}

}  // namespace thunder::net
