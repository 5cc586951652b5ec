#include "ipc/unix_channel.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <thread>

#include "ipc/test_messages.h"

namespace thunder::ipc {
namespace {

struct Pair {
  UnixChannel node;
  UnixChannel service;
};

Pair makePair(Channel kind, UnixChannelOptions options = {}) {
  auto pair = UnixChannel::socketPair(kind, options);
  EXPECT_TRUE(pair);
  return Pair{std::move(pair->first), std::move(pair->second)};
}

UniqueFd memfdWith(std::string_view content) {
  UniqueFd fd(::memfd_create("ipc-test", MFD_CLOEXEC));
  EXPECT_TRUE(fd.valid());
  EXPECT_EQ(::write(fd.get(), content.data(), content.size()),
            static_cast<ssize_t>(content.size()));
  return fd;
}

// Writes raw bytes with raw descriptors, as a misbehaving peer would.
void rawSend(int socket, std::span<const uint8_t> bytes, std::span<const int> fds) {
  iovec iov{const_cast<uint8_t*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ASSERT_EQ(::sendmsg(socket, &msg, MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

TEST(UnixChannel, HelloExchangeNegotiatesTheVersion) {
  auto channels = makePair(Channel::kControl);
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  const Hello ours{Channel::kControl, kMinVersion, kMaxVersion};
  ASSERT_TRUE(node.send(ours));
  ASSERT_TRUE(service.send(ours));
  auto at_service = service.receive();
  auto at_node = node.receive();
  ASSERT_TRUE(at_service && at_node);
  EXPECT_EQ(negotiateVersion(ours, std::get<Hello>(at_node->message)).value(), 1);
  EXPECT_EQ(negotiateVersion(ours, std::get<Hello>(at_service->message)).value(), 1);
}

TEST(UnixChannel, EveryMessageCrossesTheSocket) {
  for (const Channel kind : {Channel::kControl, Channel::kData}) {
    auto channels = makePair(kind);
    UnixChannel& node = channels.node;
    UnixChannel& service = channels.service;
    for (const auto& m : testing::sampleMessages()) {
      if (testing::channelFor(m) != kind && !std::holds_alternative<Hello>(m)) continue;
      UniqueFd fd;
      std::vector<int> fds;
      if (fdCount(typeOf(m)) == 1) {
        fd = memfdWith("x");
        fds.push_back(fd.get());
      }
      ASSERT_TRUE(service.send(m, fds));
      auto received = node.receive();
      ASSERT_TRUE(received) << received.error().message;
      EXPECT_EQ(received->message, m);
      EXPECT_EQ(received->fds.size(), fds.size());
    }
  }
}

TEST(UnixChannel, PassesAMemfdThatTheReceiverReads) {
  auto channels = makePair(Channel::kControl);
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  const std::string content = "the bytes of a blob";
  {
    UniqueFd blob = memfdWith(content);
    const int fds[] = {blob.get()};
    ASSERT_TRUE(node.send(OpenBlobReply{1, content.size(), 4, 5}, fds));
  }  // the node closes its descriptor; the service's copy stays valid
  auto received = service.receive();
  ASSERT_TRUE(received) << received.error().message;
  ASSERT_EQ(received->fds.size(), 1u);
  const int fd = received->fds[0].get();
  EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
  char buf[5];
  ASSERT_EQ(::pread(fd, buf, sizeof(buf), 4), 5);
  EXPECT_EQ(std::string(buf, 5), "bytes");
}

TEST(UnixChannel, PassesAPipeForPutBlob) {
  auto channels = makePair(Channel::kControl);
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd read_end(p[0]), write_end(p[1]);
  const int fds[] = {read_end.get()};
  ASSERT_TRUE(service.send(PutBlobRequest{9, 3}, fds));
  read_end.reset();
  ASSERT_EQ(::write(write_end.get(), "abc", 3), 3);
  write_end.reset();
  auto received = node.receive();
  ASSERT_TRUE(received);
  ASSERT_EQ(received->fds.size(), 1u);
  char buf[8];
  EXPECT_EQ(::read(received->fds[0].get(), buf, sizeof(buf)), 3);
  EXPECT_EQ(std::string(buf, 3), "abc");
  EXPECT_EQ(::read(received->fds[0].get(), buf, sizeof(buf)), 0);
}

TEST(UnixChannel, RefusesToSendTheWrongNumberOfFds) {
  auto channels = makePair(Channel::kControl);
  UnixChannel& node = channels.node;
  auto sent = node.send(OpenBlobReply{1, 1, 0, 1});
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().message, "ipc: open_blob_reply carries 1 fds, 0 given");
  auto wrong_channel = node.send(Payload{});
  ASSERT_FALSE(wrong_channel);
  EXPECT_EQ(wrong_channel.error().code, ErrorCode::kInvalidArgument);
}

TEST(UnixChannel, PartialWritesAndReadsOfLargeFramesInterleaved) {
  auto channels = makePair(Channel::kData, UnixChannelOptions{8 * 1024 * 1024});
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  constexpr int kFrames = 12;
  for (int i = 0; i < kFrames; ++i) {
    std::vector<uint8_t> bytes(kMaxPayloadBody);
    for (size_t j = 0; j < bytes.size(); ++j) bytes[j] = static_cast<uint8_t>(i * 7 + j);
    ASSERT_TRUE(service.enqueue(Payload{std::move(bytes)}));
  }
  EXPECT_TRUE(service.hasQueuedOutput());  // 3 MiB does not fit in a socket buffer
  int received = 0;
  while (received < kFrames) {
    ASSERT_TRUE(service.flush());
    auto next = node.tryReceive();
    ASSERT_TRUE(next) << next.error().message;
    if (!*next) continue;
    const auto& bytes = std::get<Payload>((*next)->message).bytes;
    ASSERT_EQ(bytes.size(), kMaxPayloadBody);
    for (size_t j = 0; j < bytes.size(); j += 4097) {
      ASSERT_EQ(bytes[j], static_cast<uint8_t>(received * 7 + j));
    }
    ++received;
  }
  EXPECT_FALSE(service.hasQueuedOutput());
}

TEST(UnixChannel, BlockingSendAndReceiveAcrossThreads) {
  auto channels = makePair(Channel::kData);
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  constexpr int kFrames = 40;
  std::thread writer([&service] {
    for (int i = 0; i < kFrames; ++i) {
      ASSERT_TRUE(service.send(Payload{std::vector<uint8_t>(100000, static_cast<uint8_t>(i))}));
    }
    ASSERT_TRUE(service.send(End{EndReason::kNormal, "done"}));
  });
  for (int i = 0; i < kFrames; ++i) {
    auto r = node.receive();
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(std::get<Payload>(r->message).bytes, std::vector<uint8_t>(100000, i));
  }
  auto end = node.receive();
  writer.join();
  ASSERT_TRUE(end);
  EXPECT_EQ(std::get<End>(end->message).message, "done");
}

TEST(UnixChannel, QueueLimitGivesBackPressure) {
  auto channels = makePair(Channel::kData, UnixChannelOptions{512 * 1024});
  UnixChannel& service = channels.service;
  Result<void> last;
  int accepted = 0;
  while ((last = service.enqueue(Payload{std::vector<uint8_t>(64 * 1024)}))) ++accepted;
  EXPECT_EQ(last.error().code, ErrorCode::kResourceExhausted);
  EXPECT_GT(accepted, 0);
}

TEST(UnixChannel, GarbageFromThePeerIsAPreciseStickyError) {
  auto channels = makePair(Channel::kControl);
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  const uint8_t garbage[] = {0x7f, 0, 0, 0, 0, 0, 1, 2, 3};
  rawSend(service.nativeHandle(), garbage, {});
  auto r = node.receive();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  EXPECT_EQ(r.error().message, "unknown message type 0x7f");
  ASSERT_TRUE(service.send(NodeInfoRequest{1}));
  auto again = node.tryReceive();
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "unknown message type 0x7f");
}

TEST(UnixChannel, OversizedFrameIsRejectedFromItsHeader) {
  auto channels = makePair(Channel::kControl);
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  const uint8_t header[] = {0x1b, 0, 0xff, 0xff, 0xff, 0x7f};  // 2 GiB log request
  rawSend(service.nativeHandle(), header, {});
  auto r = node.receive();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("exceeds the limit"), std::string::npos);
}

TEST(UnixChannel, UnexpectedFdsAreClosedAndReported) {
  auto channels = makePair(Channel::kControl);
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd read_end(p[0]), write_end(p[1]);
  auto frame = encodeFrame(NodeInfoRequest{1});
  ASSERT_TRUE(frame);
  const int fds[] = {write_end.get()};
  rawSend(service.nativeHandle(), *frame, fds);
  write_end.reset();
  auto r = node.receive();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "ipc: node_info_request frame declares 0 fds but 1 arrived");
  char c;
  EXPECT_EQ(::read(read_end.get(), &c, 1), 0);  // the received write end was closed
}

TEST(UnixChannel, TooManyFdsAreClosedAndReported) {
  auto channels = makePair(Channel::kControl);
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  UniqueFd a = memfdWith("a"), b = memfdWith("b");
  auto frame = encodeFrame(OpenBlobReply{1, 1, 0, 1});
  ASSERT_TRUE(frame);
  const int fds[] = {a.get(), b.get()};
  rawSend(node.nativeHandle(), *frame, fds);
  auto r = service.receive();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "ipc: peer sent 2 fds with one frame (at most 1)");
}

TEST(UnixChannel, EndOfStreamAtABoundaryAndInsideAFrame) {
  {
    auto channels = makePair(Channel::kControl);
    UnixChannel& node = channels.node;
    UnixChannel& service = channels.service;
    { UnixChannel gone = std::move(service); }
    auto r = node.receive();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  }
  {
    auto channels = makePair(Channel::kControl);
    UnixChannel& node = channels.node;
    UnixChannel& service = channels.service;
    auto frame = encodeFrame(LogRequest{1, LogLevel::kInfo, "cut short"});
    ASSERT_TRUE(frame);
    rawSend(service.nativeHandle(), std::span(*frame).first(frame->size() - 3), {});
    { UnixChannel gone = std::move(service); }
    auto r = node.receive();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
    EXPECT_NE(r.error().message.find("inside a log_request frame"), std::string::npos)
        << r.error().message;
  }
}

TEST(UnixChannel, SendToAClosedPeerIsUnavailable) {
  auto channels = makePair(Channel::kControl);
  UnixChannel& node = channels.node;
  UnixChannel& service = channels.service;
  { UnixChannel gone = std::move(service); }
  auto sent = node.send(NodeInfoRequest{1});
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code, ErrorCode::kUnavailable);
}

TEST(UnixChannel, AdoptRejectsNonSockets) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd keep(p[1]);
  auto adopted = UnixChannel::adopt(UniqueFd(p[0]), Channel::kControl);
  ASSERT_FALSE(adopted);
  int s[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
  UniqueFd other(s[1]);
  EXPECT_TRUE(UnixChannel::adopt(UniqueFd(s[0]), Channel::kData));
}

}  // namespace
}  // namespace thunder::ipc
