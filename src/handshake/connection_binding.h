// transportBindingOf(): the transport binding (docs/protocol/handshake.md §2.1) of a session
// running over one net::StreamConnection, the same on both ends. Used by the node's session
// driver and the client driver. Pure; call on the connection's loop.
#pragma once

#include "base/result.h"
#include "handshake/hello.h"
#include "net/stream_transport.h"

namespace thunder::handshake {

// The TLS exporter with kTlsExporterLabel when the connection has keying material (TLS, QUIC);
// TransportBinding::unbound() when it has none (plain WebSocket): the node then proves its key
// only by the Welcome signature and refuses replayed Hellos by its nonce cache. Errors: the
// exporter's (a TLS connection that cannot export is never treated as unbound).
Result<TransportBinding> transportBindingOf(const net::StreamConnection& conn);

}  // namespace thunder::handshake
