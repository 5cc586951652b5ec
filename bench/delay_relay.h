// DelayRelay: a loopback relay that adds a fixed one-way delay to everything it forwards, in
// both directions, over TCP (per connection, byte order kept) or UDP (per datagram, per client
// address). The kernel here has no netem qdisc, so benchmarks put this between a client and a
// node to emulate a round-trip time of 2 × delay. A TCP connection also pays the round trip of
// its handshake (the relay connects upstream 2 × delay after accepting).
//
// Owns one thread running its own io_context; start() binds 127.0.0.1:0 and returns once
// listening; the destructor stops the thread and closes every socket. Not for production use:
// no limits beyond what a benchmark needs (queues are unbounded).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"

namespace thunder::bench {

enum class RelayProtocol { kTcp, kUdp };

class DelayRelay {
 public:
  // Forwards 127.0.0.1:<port()> to `target` ("ip:port"). kInvalidArgument for a bad target;
  // kUnavailable when binding fails.
  static Result<std::unique_ptr<DelayRelay>> start(RelayProtocol protocol, std::string target,
                                                   std::chrono::microseconds one_way_delay);
  ~DelayRelay();
  DelayRelay(const DelayRelay&) = delete;
  DelayRelay& operator=(const DelayRelay&) = delete;

  uint16_t port() const;
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }

  struct State;

 private:
  explicit DelayRelay(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace thunder::bench
