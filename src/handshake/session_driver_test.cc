// serveSession() over real loopback TLS: the transport suite of
// handshake/session_transport_suite.h — echo, verified content, DACKs stored, refusals before any
// service, idle timeout, lane limits, the client driver, a pinned key mismatch and a replayed
// Hello — run against a TlsListener. The same suite runs over plain WebSocket
// (session_ws_test.cc) and QUIC (session_quic_test.cc).
#include "handshake/session_driver.h"

#include "handshake/session_transport_suite.h"

namespace thunder::handshake {
namespace {

INSTANTIATE_TEST_SUITE_P(Tls, SessionTransportTest, ::testing::Values(SessionTransport::kTls),
                         sessionTransportName);

}  // namespace
}  // namespace thunder::handshake
