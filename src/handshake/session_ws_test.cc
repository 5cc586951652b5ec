// Sessions over plain WebSocket (ws://, unbound transport binding): the transport suite of
// handshake/session_transport_suite.h run against a WsListener, plus what only an unbound
// transport needs: the client refuses a Welcome that claims the pinned key without its signature
// (over TLS and QUIC the pinned key is checked in the handshake instead).
#include "handshake/session_transport_suite.h"

namespace thunder::handshake {
namespace {

namespace asio = boost::asio;

// A node-side connection that rewrites the Welcome to claim `claimed` as its node key, keeping
// the real node's signature: an impostor that knows the pinned key but cannot sign with it.
class ClaimingConnection final : public net::StreamConnection {
 public:
  ClaimingConnection(std::unique_ptr<net::StreamConnection> inner, PublicKey claimed)
      : inner_(std::move(inner)), claimed_(claimed) {}
  asio::awaitable<Result<size_t>> readSome(std::span<uint8_t> buffer) override {
    return inner_->readSome(buffer);
  }
  asio::awaitable<Result<void>> writeAll(std::span<const uint8_t> bytes) override {
    if (rewritten_) co_return co_await inner_->writeAll(bytes);
    rewritten_ = true;
    FrameDecoder decoder;
    std::span<const uint8_t> rest = bytes;
    auto frame = decoder.next(rest);
    if (!frame || !*frame || (*frame)->type != FrameType::kWelcome) {
      co_return fail(ErrorCode::kInternal, "expected the Welcome first");
    }
    auto welcome = parseWelcome((*frame)->payload);
    if (!welcome) co_return tl::unexpected(welcome.error());
    welcome->node_pk = claimed_;
    std::vector<uint8_t> out = encodeFrame(FrameType::kWelcome, encodeWelcome(*welcome));
    out.insert(out.end(), rest.begin(), rest.end());
    co_return co_await inner_->writeAll(out);
  }
  Result<net::ExportedKey> exportKeyingMaterial(std::string_view label) const override {
    return inner_->exportKeyingMaterial(label);
  }
  net::KeyingMaterial keyingMaterial() const override { return inner_->keyingMaterial(); }
  std::string_view transportName() const override { return inner_->transportName(); }
  std::string remoteAddress() const override { return inner_->remoteAddress(); }
  asio::any_io_executor executor() const override { return inner_->executor(); }
  void close() override { inner_->close(); }

 private:
  std::unique_ptr<net::StreamConnection> inner_;
  PublicKey claimed_;
  bool rewritten_ = false;
};

class SessionWsTest : public SessionTransportTest {};

TEST_P(SessionWsTest, TheClientRefusesAWelcomeNotSignedByThePinnedKey) {
  const PublicKey claimed = pinned_key_.publicKey();
  wrap_connection_ = [claimed](std::unique_ptr<net::StreamConnection> conn) {
    return std::unique_ptr<net::StreamConnection>(
        std::make_unique<ClaimingConnection>(std::move(conn), claimed));
  };
  startNode();
  EchoClient handler(1, 10);
  auto outcome = runEcho(handler, pinned_key_.publicKey());
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(outcome->reason, TerminationReason::kBadSignature) << outcome->describe();
  EXPECT_EQ(outcome->origin, TerminationOrigin::kLocal);
  EXPECT_FALSE(handler.opened_);
}

INSTANTIATE_TEST_SUITE_P(Ws, SessionTransportTest, ::testing::Values(SessionTransport::kWs),
                         sessionTransportName);
INSTANTIATE_TEST_SUITE_P(Ws, SessionWsTest, ::testing::Values(SessionTransport::kWs),
                         sessionTransportName);

}  // namespace
}  // namespace thunder::handshake
