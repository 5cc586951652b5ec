// Sessions over QUIC (net/quic_transport.h): the transport suite of
// handshake/session_transport_suite.h — echo, verified content, DACKs stored, refusals, idle
// timeout, lane limits, the client driver over quic://, a pinned key mismatch and a replayed
// Hello — run against a QuicListener.
#include "handshake/session_transport_suite.h"

namespace thunder::handshake {
namespace {

INSTANTIATE_TEST_SUITE_P(Quic, SessionTransportTest, ::testing::Values(SessionTransport::kQuic),
                         sessionTransportName);

}  // namespace
}  // namespace thunder::handshake
