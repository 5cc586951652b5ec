#include "net/listener_core.h"

#include <boost/asio/post.hpp>

namespace thunder::net {

// ---- ConnectionRegistry ----

bool ConnectionRegistry::add(StreamConnection* connection) {
  std::lock_guard lock(mutex_);
  if (closing_) return false;
  connections_.insert(connection);
  return true;
}

void ConnectionRegistry::remove(StreamConnection* connection) {
  std::lock_guard lock(mutex_);
  connections_.erase(connection);
}

size_t ConnectionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

void ConnectionRegistry::closeAll() {
  std::unique_lock lock(mutex_);
  closing_ = true;
  for (StreamConnection* connection : connections_) {
    ++pending_closes_;
    // A connection is only touched on its loop, and only while still registered (its
    // destructor unregisters first, under the same mutex).
    boost::asio::post(connection->executor(), [self = shared_from_this(), connection] {
      std::lock_guard inner(self->mutex_);
      if (self->connections_.contains(connection)) connection->close();
      if (--self->pending_closes_ == 0) self->closed_.notify_all();
    });
  }
  closed_.wait(lock, [&] { return pending_closes_ == 0; });
}

// ---- ListenerAdmission ----

void ListenerAdmission::acceptorStarted() {
  std::lock_guard lock(mutex_);
  ++coroutines_;
}

const char* ListenerAdmission::admit(const boost::asio::ip::address& ip, bool* stopping) {
  std::lock_guard lock(mutex_);
  *stopping = stopping_;
  if (stopping_) return nullptr;
  // The acceptor is one of the coroutines; the others are connections.
  if (coroutines_ - 1 >= limits_.max_connections) return "the connection limit";
  if (handshakes_ >= limits_.max_handshakes) return "the half-open handshake limit";
  auto it = handshakes_by_ip_.find(ip);
  if (it != handshakes_by_ip_.end() && it->second >= limits_.max_handshakes_per_ip) {
    return "the per-address half-open handshake limit";
  }
  ++coroutines_;
  ++handshakes_;
  ++handshakes_by_ip_[ip];
  return nullptr;
}

void ListenerAdmission::handshakeDone(const boost::asio::ip::address& ip) {
  std::lock_guard lock(mutex_);
  --handshakes_;
  auto it = handshakes_by_ip_.find(ip);
  if (--it->second == 0) handshakes_by_ip_.erase(it);
}

void ListenerAdmission::coroutineDone() {
  std::lock_guard lock(mutex_);
  if (--coroutines_ == 0) idle_.notify_all();
}

bool ListenerAdmission::beginStop() {
  std::lock_guard lock(mutex_);
  if (stopping_) return false;
  stopping_ = true;
  return true;
}

void ListenerAdmission::waitIdle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return coroutines_ == 0; });
}

size_t ListenerAdmission::handshakes() const {
  std::lock_guard lock(mutex_);
  return handshakes_;
}

}  // namespace thunder::net
