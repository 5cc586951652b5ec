// What the TCP listeners (TlsListener, WsListener) share, internal to net/:
//
//   ConnectionRegistry  the live connections of a listener, so that stop() can close them on
//                       their own loops. Thread-safe.
//   ListenerAdmission   the listener's coroutine count and its half-open (still in the TLS
//                       handshake or WebSocket upgrade) connections, in total and per source
//                       address, checked against the limits before any handshake work; and the
//                       stop flag. Thread-safe through its mutex.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "net/stream_transport.h"

namespace thunder::net {

class ConnectionRegistry : public std::enable_shared_from_this<ConnectionRegistry> {
 public:
  // Registers a connection. Returns false once closeAll() ran: the caller closes it then.
  bool add(StreamConnection* connection);
  void remove(StreamConnection* connection);
  size_t size() const;
  // Closes every registered connection on its own loop and returns once all of those closes
  // ran. Must not be called from a loop thread (it waits for the loops).
  void closeAll();

 private:
  mutable std::mutex mutex_;
  std::condition_variable closed_;
  std::unordered_set<StreamConnection*> connections_;  // GUARDED_BY(mutex_)
  size_t pending_closes_ = 0;                          // GUARDED_BY(mutex_)
  bool closing_ = false;                               // GUARDED_BY(mutex_)
};

struct ListenerLimits {
  size_t max_connections = 0;        // in the handshake or running the handler
  size_t max_handshakes = 0;         // half-open, in total
  size_t max_handshakes_per_ip = 0;  // half-open, per source address
};

class ListenerAdmission {
 public:
  explicit ListenerAdmission(ListenerLimits limits) : limits_(limits) {}

  // The acceptor coroutine starts: counts as one coroutine.
  void acceptorStarted();
  // Admits a new connection from `ip` (one more coroutine and one more half-open connection),
  // or returns which limit refuses it; nullptr once stopping() (with *stopping set).
  const char* admit(const boost::asio::ip::address& ip, bool* stopping);
  // The connection from `ip` finished its handshake (successfully or not).
  void handshakeDone(const boost::asio::ip::address& ip);
  // A coroutine (acceptor or connection) returned.
  void coroutineDone();
  // Sets the stop flag; false if it was already set.
  bool beginStop();
  // Waits until every coroutine returned.
  void waitIdle();
  size_t handshakes() const;

 private:
  ListenerLimits limits_;
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  size_t coroutines_ = 0;                                        // GUARDED_BY(mutex_)
  size_t handshakes_ = 0;                                        // GUARDED_BY(mutex_)
  std::map<boost::asio::ip::address, size_t> handshakes_by_ip_;  // GUARDED_BY(mutex_)
  bool stopping_ = false;                                        // GUARDED_BY(mutex_)
};

}  // namespace thunder::net
