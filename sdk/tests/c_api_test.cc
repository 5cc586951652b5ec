// The C API, through a C99 program (tests/c_api_program.c) run as a child process with its
// control channel at fd 3, exactly as a node starts a service; the test plays the node.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include "tests/fake_node.h"
#include "thunder/sdk/thunder_sdk.h"

namespace thunder::sdk {
namespace {

using testing::bytesOf;
using testing::ChildService;
using testing::FakeNode;
using testing::receiveData;
using testing::receiveUntilEnd;
using testing::text;

// Answers the program's start-up calls: node info, then the log line.
void answerStartup(FakeNode& node) {
  ipc::Received info = node.receive();
  ASSERT_TRUE(std::holds_alternative<ipc::NodeInfoRequest>(info.message));
  node.reply(
      ipc::NodeInfoReply{*ipc::correlationId(info.message), testing::keyOf(0x5e), 12, "9.9.9"});
  ipc::Received log = node.receive();
  ASSERT_TRUE(std::holds_alternative<ipc::LogRequest>(log.message));
  EXPECT_EQ(std::get<ipc::LogRequest>(log.message).message,
            "c program up: service 12 on node 9.9.9 key 5e");
  node.reply(ipc::AckReply{*ipc::correlationId(log.message)});
}

std::string readLine(ipc::UnixChannel& data) {
  ipc::Message m = receiveData(data);
  if (!std::holds_alternative<ipc::Payload>(m)) return "<not a payload>";
  return text(std::get<ipc::Payload>(m).bytes);
}

TEST(CApi, ProgramServesConnectionsOnThreadsAndExitsZeroWhenTheNodeCloses) {
  FakeNode node;
  ChildService program(THUNDER_SDK_C_PROGRAM, node.takeServiceFd());
  node.hello();
  answerStartup(node);

  ipc::UnixChannel plain = node.connect(testing::plainHeader(21));
  ipc::UnixChannel http = node.connect(testing::httpHeader(22, "GET", "/a/b", "x=1"));
  // Both are open at once, each served by its own thread.
  EXPECT_EQ(readLine(http),
            "id=22 key=abababab service=7 lane=3 transport=http http=1 GET /a/b?x=1 "
            "host=example.test headers=2\n");
  EXPECT_EQ(readLine(plain), "id=21 key=abababab service=7 lane=3 transport=tls http=0\n");

  ASSERT_TRUE(plain.send(ipc::Payload{bytesOf("hi there")}));
  EXPECT_EQ(readLine(plain), "hi there");

  ASSERT_TRUE(plain.send(ipc::Payload{bytesOf("stream")}));
  ipc::Message streamed = receiveData(plain);
  ASSERT_TRUE(std::holds_alternative<ipc::StreamBlob>(streamed));
  const auto& blob = std::get<ipc::StreamBlob>(streamed);
  EXPECT_EQ(blob.blob, testing::keyOf(0x42));
  EXPECT_EQ(blob.ranges, (std::vector<ipc::ByteRange>{{0, 10}, {20, 5}}));

  ASSERT_TRUE(plain.send(ipc::Payload{bytesOf("open")}));
  ipc::Received open = node.receive();
  const auto& request = std::get<ipc::OpenBlobRequest>(open.message);
  EXPECT_EQ(request.blob, testing::keyOf(0x07));
  EXPECT_EQ(request.length, ipc::kToEnd);
  const int content = ::memfd_create("c-api-test", MFD_CLOEXEC);
  ASSERT_EQ(::write(content, "....blob bytes", 14), 14);
  const int fds[] = {content};
  node.reply(ipc::OpenBlobReply{request.id, 14, 4, 10}, fds);
  ::close(content);
  EXPECT_EQ(readLine(plain), "blob bytes");

  ASSERT_TRUE(plain.send(ipc::Payload{bytesOf("resolve")}));
  ipc::Received resolve = node.receive();
  const auto& resolve_request = std::get<ipc::ResolveContentRequest>(resolve.message);
  EXPECT_EQ(resolve_request.kind, ipc::ContentRefKind::kCid);
  EXPECT_EQ(resolve_request.cid, "bafytest");
  node.reply(ipc::ResolveContentReply{resolve_request.id, testing::keyOf(0x33), 4096});
  EXPECT_EQ(readLine(plain), "size=4096\n");
  ipc::Message raw = receiveData(plain);
  ASSERT_TRUE(std::holds_alternative<ipc::StreamBlob>(raw));
  EXPECT_EQ(std::get<ipc::StreamBlob>(raw).mode, ipc::StreamMode::kRaw);
  EXPECT_EQ(std::get<ipc::StreamBlob>(raw).blob, testing::keyOf(0x33));
  EXPECT_EQ(std::get<ipc::StreamBlob>(raw).ranges, (std::vector<ipc::ByteRange>{{0, 1}}));

  ASSERT_TRUE(http.send(ipc::Payload{bytesOf("end")}));
  ipc::End end;
  EXPECT_EQ(receiveUntilEnd(http, &end), "");
  EXPECT_EQ(end.reason, ipc::EndReason::kError);
  EXPECT_EQ(end.message, "asked to end");

  ASSERT_TRUE(plain.send(ipc::End{ipc::EndReason::kNormal, "client left"}));
  auto closed = plain.receive();  // the program closes without End after the node's End
  ASSERT_FALSE(closed);

  node.closeControl();
  EXPECT_EQ(program.wait(), 0);
}

TEST(CApi, ProgramReportsAControlChannelError) {
  FakeNode node;
  ChildService program(THUNDER_SDK_C_PROGRAM, node.takeServiceFd());
  node.hello();
  answerStartup(node);
  node.reply(ipc::AckReply{4242});  // a reply to nothing
  EXPECT_EQ(program.wait(), 3);
}

TEST(CApi, ProgramFailsCleanlyWithoutANode) {
  FakeNode node;
  ChildService program(THUNDER_SDK_C_PROGRAM, node.takeServiceFd());
  node.closeControl();           // before any Hello: the node is gone
  EXPECT_EQ(program.wait(), 4);  // node_info fails: unavailable
}

TEST(CApi, StatusNames) {
  EXPECT_STREQ(thunder_status_name(THUNDER_OK), "ok");
  EXPECT_STREQ(thunder_status_name(THUNDER_END), "end");
  EXPECT_STREQ(thunder_status_name(THUNDER_ERR_NOT_FOUND), "not_found");
  EXPECT_STREQ(thunder_status_name(THUNDER_ERR_UNAVAILABLE), "unavailable");
  EXPECT_STREQ(thunder_status_name(999), "unknown");
}

}  // namespace
}  // namespace thunder::sdk
