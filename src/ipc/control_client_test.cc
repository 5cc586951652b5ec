#include "ipc/control_client.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <thread>

namespace thunder::ipc {
namespace {

struct Fixture {
  UnixChannel node;
  UnixChannel service;
};

Fixture makeFixture() {
  auto pair = UnixChannel::socketPair(Channel::kControl);
  EXPECT_TRUE(pair);
  return Fixture{std::move(pair->first), std::move(pair->second)};
}

uint32_t idOf(const Received& r) {
  return correlationId(r.message).value();
}

TEST(ControlClient, MatchesOutOfOrderRepliesByCorrelationId) {
  auto channels = makeFixture();
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  ControlClient client(service);
  auto a = client.start(NodeInfoRequest{});
  auto b = client.start(QueryBalanceRequest{});
  auto c = client.start(LogRequest{0, LogLevel::kInfo, "hi"});
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(client.inFlight(), 3u);
  EXPECT_NE(*a, *b);
  EXPECT_NE(*b, *c);

  std::vector<uint32_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(idOf(node.receive().value()));
  EXPECT_EQ(ids, (std::vector<uint32_t>{*a, *b, *c}));
  // The node answers in reverse order.
  ASSERT_TRUE(node.send(AckReply{*c}));
  ASSERT_TRUE(node.send(QueryBalanceReply{*b, 500}));
  ASSERT_TRUE(node.send(NodeInfoReply{*a, {}, 7, "v1"}));

  auto reply_b = client.wait(*b);
  ASSERT_TRUE(reply_b) << reply_b.error().message;
  EXPECT_EQ(std::get<QueryBalanceReply>(reply_b->message).balance, 500u);
  auto reply_a = client.wait(*a);
  ASSERT_TRUE(reply_a);
  EXPECT_EQ(std::get<NodeInfoReply>(reply_a->message).service_id, 7u);
  auto reply_c = client.wait(*c);
  ASSERT_TRUE(reply_c);
  EXPECT_TRUE(std::holds_alternative<AckReply>(reply_c->message));
  EXPECT_EQ(client.inFlight(), 0u);
  EXPECT_EQ(client.wait(*a).error().code, ErrorCode::kNotFound);
}

TEST(ControlClient, CallReturnsTheFdOfAnOpenBlobReply) {
  auto channels = makeFixture();
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  std::thread node_thread([&node] {
    auto request = node.receive();
    ASSERT_TRUE(request);
    const auto& open = std::get<OpenBlobRequest>(request->message);
    UniqueFd fd(::memfd_create("blob", MFD_CLOEXEC));
    ASSERT_EQ(::write(fd.get(), "0123456789", 10), 10);
    const int fds[] = {fd.get()};
    ASSERT_TRUE(node.send(OpenBlobReply{open.id, 10, open.offset, 10 - open.offset}, fds));
  });
  ControlClient client(service);
  auto reply = client.call(OpenBlobRequest{0, {}, 6, kToEnd});
  node_thread.join();
  ASSERT_TRUE(reply) << reply.error().message;
  ASSERT_EQ(reply->fds.size(), 1u);
  const auto& open = std::get<OpenBlobReply>(reply->message);
  char buf[4];
  ASSERT_EQ(::pread(reply->fds[0].get(), buf, open.length, static_cast<off_t>(open.offset)), 4);
  EXPECT_EQ(std::string(buf, 4), "6789");
}

TEST(ControlClient, ErrorReplyBecomesAnError) {
  auto channels = makeFixture();
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  ControlClient client(service);
  auto id = client.start(FetchOriginRequest{0, "https://origin.test/x"});
  ASSERT_TRUE(id);
  ASSERT_TRUE(node.send(ErrorReply{*id, ErrorCode::kUnavailable,
                                   "fetch from origin is not "
                                   "available on this node"}));
  auto reply = client.wait(*id);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(reply.error().message, "node: fetch from origin is not available on this node");
}

TEST(ControlClient, BoundsRequestsInFlight) {
  auto channels = makeFixture();
  UnixChannel& service = channels.service;
  ControlClient client(service, ControlClientOptions{2});
  ASSERT_TRUE(client.start(NodeInfoRequest{}));
  ASSERT_TRUE(client.start(NodeInfoRequest{}));
  auto third = client.start(NodeInfoRequest{});
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::kResourceExhausted);
}

TEST(ControlClient, RefusesNonRequests) {
  auto channels = makeFixture();
  UnixChannel& service = channels.service;
  ControlClient client(service);
  auto sent = client.start(AckReply{1});
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().message, "ipc: ack_reply is not a control request");
}

TEST(ControlClient, ReplyForAnUnknownIdIsCorruption) {
  auto channels = makeFixture();
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  ControlClient client(service);
  auto id = client.start(NodeInfoRequest{});
  ASSERT_TRUE(id);
  ASSERT_TRUE(node.send(AckReply{*id + 100}));
  auto reply = client.wait(*id);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::kCorruption);
  EXPECT_NE(reply.error().message.find("not in flight"), std::string::npos);
}

TEST(ControlClient, NonReplyFromTheNodeIsCorruption) {
  auto channels = makeFixture();
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  ControlClient client(service);
  auto id = client.start(NodeInfoRequest{});
  ASSERT_TRUE(id);
  ASSERT_TRUE(node.send(LogRequest{1, LogLevel::kInfo, "wrong way"}));
  auto reply = client.wait(*id);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().message, "ipc: node sent a log_request where a reply was expected");
}

TEST(ControlClient, NodeDisappearingMidRequestIsUnavailable) {
  auto channels = makeFixture();
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  ControlClient client(service);
  auto id = client.start(NodeInfoRequest{});
  ASSERT_TRUE(id);
  { UnixChannel gone = std::move(node); }
  auto reply = client.wait(*id);
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace thunder::ipc
