// serveSession(): runs the node side of one session (ServerSession) over one established
// net::StreamConnection, and connects it to the service the client asked for.
//
// The driver binds the handshake to the connection (handshake/connection_binding.h: the TLS
// exporter with kTlsExporterLabel, the label docs/protocol/handshake.md §2.1 names — clients
// use the same constant; or the unbound binding on a transport without keying material such as
// plain WebSocket, where the replay cache alone refuses replayed Hellos), feeds received bytes to
// the state machine and performs its Actions: frames go through one writer in order, payloads to
// the ServiceConnection, verified DACKs to the DackQueue (on the blocking pool: put() fsyncs), a
// Termination closes the connection once everything before it is written (or after a short grace if
// the client does not read). One steady timer follows nextDeadline() (handshake, idle, token
// refresh). A connection that drops without a Termination detaches its lane (resumable).
//
// Threads: everything of one session runs on the connection's loop; every ServerSession call
// is made inside SessionHub::locked() because the lane table and replay cache are shared by
// all loops. The context is borrowed and must outlive every session (the owner stops the
// listener, which waits for serveSession() to return, before destroying it).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <memory>

#include "base/metrics.h"
#include "handshake/dack_queue.h"
#include "handshake/session_hub.h"
#include "handshake/session_service.h"
#include "net/stream_transport.h"

namespace thunder::handshake {

struct SessionDriverContext {
  SessionHub& hub;
  const SessionServices& services;  // must be the registry the hub's sessions check
  DackQueue& dacks;
  boost::asio::thread_pool& blocking_pool;
  // thunder_session_terminations_total{reason}, thunder_dacks_stored_total.
  MetricsRegistry& metrics;
  // After a Termination is queued, how long the client gets to read what precedes it before
  // the connection is closed anyway.
  std::chrono::milliseconds close_grace{5'000};
};

// Serves `conn` until the session is over and every coroutine of the session has finished.
// Never fails: every error ends the session (with a Termination where the protocol has one)
// and is counted or logged at debug level. Must run on conn->executor().
boost::asio::awaitable<void> serveSession(std::unique_ptr<net::StreamConnection> conn,
                                          const SessionDriverContext& context);

}  // namespace thunder::handshake
