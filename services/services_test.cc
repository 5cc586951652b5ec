// The built service executables, started as a node starts them (control channel at fd 3,
// THUNDER_CONTROL_FD=3), against a fake node played by the test (sdk/tests/fake_node.h).
#include <gtest/gtest.h>

#include "tests/fake_node.h"

namespace thunder::sdk {
namespace {

using testing::bytesOf;
using testing::ChildService;
using testing::FakeNode;
using testing::receiveData;
using testing::receiveUntilEnd;
using testing::text;

TEST(EchoService, EchoesEveryConnectionAndExitsZeroWhenTheNodeCloses) {
  FakeNode node;
  ChildService echo(THUNDER_SERVICE_ECHO, node.takeServiceFd());
  node.hello();
  ipc::UnixChannel a = node.connect(testing::plainHeader(1));
  ipc::UnixChannel b = node.connect(testing::plainHeader(2, "quic"));
  ASSERT_TRUE(a.send(ipc::Payload{bytesOf("one")}));
  ASSERT_TRUE(b.send(ipc::Payload{bytesOf("two")}));
  EXPECT_EQ(text(std::get<ipc::Payload>(receiveData(b)).bytes), "two");
  EXPECT_EQ(text(std::get<ipc::Payload>(receiveData(a)).bytes), "one");
  // Full-size frames, each echoed before the next is sent (the test is single-threaded).
  size_t echoed = 0;
  for (int i = 0; i < 3; ++i) {
    const std::vector<uint8_t> frame(ipc::kMaxPayloadBody, static_cast<uint8_t>('a' + i));
    ASSERT_TRUE(a.send(ipc::Payload{frame}));
    size_t got = 0;
    while (got < frame.size()) {
      ipc::Message m = receiveData(a);
      ASSERT_TRUE(std::holds_alternative<ipc::Payload>(m));
      const auto& bytes = std::get<ipc::Payload>(m).bytes;
      ASSERT_FALSE(bytes.empty());
      EXPECT_EQ(bytes.front(), 'a' + i);
      got += bytes.size();
    }
    echoed += got;
  }
  const size_t expected = 3 * size_t{ipc::kMaxPayloadBody};
  EXPECT_EQ(echoed, expected);
  ASSERT_TRUE(a.send(ipc::End{}));
  ASSERT_TRUE(b.send(ipc::End{}));
  node.closeControl();
  EXPECT_EQ(echo.wait(), 0);
}

TEST(HelloHttpService, AnswersHttpWithHtmlNamingMethodAndPath) {
  FakeNode node;
  ChildService hello(THUNDER_SERVICE_HELLO_HTTP, node.takeServiceFd());
  node.hello();
  ipc::UnixChannel get = node.connect(testing::httpHeader(10, "GET", "/docs/<x>", "q=1"));
  // The end of the (empty) request body. The service may already have answered and closed its
  // end (it does not read the body; ipc.md §4.2 allows that), so the send may fail.
  (void)get.send(ipc::Payload{});
  ipc::End end;
  const std::string response = receiveUntilEnd(get, &end);
  EXPECT_EQ(end.reason, ipc::EndReason::kNormal);
  const size_t head_end = response.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos);
  const std::string head = response.substr(0, head_end + 2);
  const std::string body = response.substr(head_end + 4);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(head.find("Content-Type: text/html; charset=utf-8\r\n"), std::string::npos);
  EXPECT_NE(head.find("Content-Length: " + std::to_string(body.size()) + "\r\n"),
            std::string::npos);
  EXPECT_NE(body.find("GET /docs/&lt;x&gt;?q=1"), std::string::npos);

  ipc::UnixChannel head_request = node.connect(testing::httpHeader(11, "HEAD", "/"));
  const std::string head_only = receiveUntilEnd(head_request);
  EXPECT_EQ(head_only.substr(head_only.size() - 4), "\r\n\r\n");
  EXPECT_NE(head_only.find("Content-Length: "), std::string::npos);

  ipc::UnixChannel plain = node.connect(testing::plainHeader(12, "tls"));
  EXPECT_EQ(receiveUntilEnd(plain, &end), "hello from thunder (tls); this service speaks HTTP\n");
  EXPECT_EQ(end.reason, ipc::EndReason::kNormal);

  node.closeControl();
  EXPECT_EQ(hello.wait(), 0);
}

TEST(Services, SigtermStopsAServiceCleanly) {
  FakeNode node;
  ChildService echo(THUNDER_SERVICE_ECHO, node.takeServiceFd());
  node.hello();  // the service's Hello comes from run(), which handles SIGTERM by then
  ipc::UnixChannel data = node.connect(testing::plainHeader(1));
  ASSERT_TRUE(data.send(ipc::Payload{bytesOf("x")}));
  EXPECT_EQ(text(std::get<ipc::Payload>(receiveData(data)).bytes), "x");
  echo.signal(SIGTERM);
  // The service closes its control channel; the open connection drains until the node ends it.
  auto closed = node.control().receive();
  ASSERT_FALSE(closed);
  (void)data.send(ipc::End{ipc::EndReason::kShutdown, "node stopping"});  // or drain timed out
  EXPECT_EQ(echo.wait(), 0);
}

TEST(Services, ExitNonZeroWithAMessageWhenNotStartedByANode) {
  // No THUNDER_CONTROL_FD: fromEnvironment() explains; the process exits 1.
  ChildService orphan(THUNDER_SERVICE_ECHO, -1);
  EXPECT_EQ(orphan.wait(), 1);
}

}  // namespace
}  // namespace thunder::sdk
