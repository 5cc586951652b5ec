// ControlSession against an in-process "service": the test thread plays the service with a
// blocking UnixChannel and ControlClient; the session runs on an io::Runtime loop with a real
// FsBlobStore. Covers every request type, fds (read-only, range placement), bounds and the
// protocol errors that end the channel.
#include "executor/control_session.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <thread>

#include "content/fs_blob_store.h"
#include "crypto/blake3.h"
#include "io/runtime.h"
#include "ipc/control_client.h"

namespace thunder::executor {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

class FakeHost final : public ControlHost {
 public:
  void onControlReady() override { ready = true; }
  Result<void> proposeUsage(uint64_t connection_id, ipc::Commodity commodity,
                            uint64_t amount) override {
    if (connection_id != 1) return fail(ErrorCode::kNotFound, "not yours: {}", connection_id);
    proposals.push_back({commodity, amount});
    return {};
  }
  void log(ipc::LogLevel, std::string_view message) override { logs.emplace_back(message); }
  Result<void> recordMetrics(const std::vector<ipc::MetricSample>& samples) override {
    if (samples.size() > 2) return fail(ErrorCode::kResourceExhausted, "too many names");
    metric_samples += samples.size();
    return {};
  }

  std::atomic<bool> ready{false};
  std::vector<std::pair<ipc::Commodity, uint64_t>> proposals;
  std::vector<std::string> logs;
  size_t metric_samples = 0;
};

std::vector<uint8_t> pattern(size_t size) {
  std::vector<uint8_t> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(i * 7 + i / 251);
  return out;
}

// Writes all of `bytes` to the non-blocking socket `fd`, waiting while it is full. False once
// the peer closed.
bool writeBlocking(int fd, const std::vector<uint8_t>& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd entry{fd, POLLOUT, 0};
      ::poll(&entry, 1, -1);
    } else {
      return false;
    }
  }
  return true;
}

ipc::Key32 keyOf(const BlobId& id) {
  ipc::Key32 key{};
  std::copy(id.bytes().begin(), id.bytes().end(), key.begin());
  return key;
}

class ControlSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runtime_.start();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("control_session_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    content::StoreOptions store_options;
    store_options.root = dir_ / "store";
    auto store = content::FsBlobStore::open(std::move(store_options));
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(store).value();
    options_.hello_timeout = 5s;
  }

  void TearDown() override {
    if (session_) {
      asio::post(runtime_.loop(0), [this] { session_->close(); });
      if (end_.valid()) end_.wait();
      std::promise<void> destroyed;
      asio::post(runtime_.loop(0), [this, &destroyed] {
        session_.reset();
        destroyed.set_value();
      });
      destroyed.get_future().wait();
    }
    runtime_.stop();
    std::filesystem::remove_all(dir_);
  }

  // Starts the session on the loop; the test gets the service's end.
  void start() {
    auto pair = ipc::UnixChannel::socketPair(ipc::Channel::kControl);
    ASSERT_TRUE(pair);
    service_.emplace(std::move(pair->second));
    ControlContext context{
        ServiceId{42},    node_key_, "0.1.0-test", store_.get(), &runtime_.blockingPool(),
        dir_ / "scratch", options_,  nullptr,      resolve_cid_};
    std::promise<void> created;
    asio::post(runtime_.loop(0),
               [&, channel = std::make_shared<ipc::UnixChannel>(std::move(pair->first))]() mutable {
                 session_ = std::make_unique<ControlSession>(runtime_.loop(0).get_executor(),
                                                             std::move(*channel), context, host_);
                 end_ = asio::co_spawn(runtime_.loop(0), session_->run(), asio::use_future);
                 created.set_value();
               });
    created.get_future().wait();
  }

  // start() and the Hello exchange.
  void startAndGreet() {
    start();
    ASSERT_TRUE(service_->send(ipc::Hello{ipc::Channel::kControl, 1, 1}));
    auto hello = service_->receive();
    ASSERT_TRUE(hello) << hello.error().message;
    ASSERT_TRUE(std::holds_alternative<ipc::Hello>(hello->message));
    client_.emplace(*service_);
  }

  ControlEnd waitEnd() {
    EXPECT_EQ(end_.wait_for(60s), std::future_status::ready);
    return end_.get();
  }

  BlobId putBlob(const std::vector<uint8_t>& bytes) {
    auto put = store_->putBytes(bytes, {});
    EXPECT_TRUE(put) << put.error().message;
    return put->id;
  }

  io::Runtime runtime_{io::RuntimeOptions{.loop_threads = 1, .blocking_threads = 2}};
  std::filesystem::path dir_;
  std::unique_ptr<content::FsBlobStore> store_;
  PublicKey node_key_ = PublicKey(std::array<uint8_t, 32>{7, 7, 7});
  SupervisorOptions options_;
  FakeHost host_;
  CidResolver resolve_cid_;  // set before start()
  std::unique_ptr<ControlSession> session_;
  std::future<ControlEnd> end_;
  std::optional<ipc::UnixChannel> service_;
  std::optional<ipc::ControlClient> client_;
};

TEST_F(ControlSessionTest, NodeInfoAfterHello) {
  startAndGreet();
  auto reply = client_->call(ipc::NodeInfoRequest{});
  ASSERT_TRUE(reply) << reply.error().message;
  const auto& info = std::get<ipc::NodeInfoReply>(reply->message);
  EXPECT_EQ(info.service_id, 42u);
  EXPECT_EQ(info.node_key, keyOf(BlobId(node_key_.bytes())));
  EXPECT_EQ(info.node_version, "0.1.0-test");
  EXPECT_TRUE(host_.ready);
}

TEST_F(ControlSessionTest, OpenBlobGivesAReadOnlyDescriptorOfTheRange) {
  const auto bytes = pattern(100'000);
  const BlobId id = putBlob(bytes);
  startAndGreet();
  auto reply = client_->call(ipc::OpenBlobRequest{0, keyOf(id), 1000, 5000});
  ASSERT_TRUE(reply) << reply.error().message;
  const auto& opened = std::get<ipc::OpenBlobReply>(reply->message);
  EXPECT_EQ(opened.blob_size, bytes.size());
  EXPECT_EQ(opened.length, 5000u);
  ASSERT_EQ(reply->fds.size(), 1u);
  const int fd = reply->fds[0].get();
  std::vector<uint8_t> read(opened.length);
  ASSERT_EQ(::pread(fd, read.data(), read.size(), static_cast<off_t>(opened.offset)), 5000);
  EXPECT_TRUE(std::equal(read.begin(), read.end(), bytes.begin() + 1000));
  EXPECT_EQ(::fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
  const char byte = 'x';
  EXPECT_LT(::pwrite(fd, &byte, 1, 0), 0);
  EXPECT_EQ(errno, EBADF);

  auto to_end = client_->call(ipc::OpenBlobRequest{0, keyOf(id), 99'000, ipc::kToEnd});
  ASSERT_TRUE(to_end) << to_end.error().message;
  EXPECT_EQ(std::get<ipc::OpenBlobReply>(to_end->message).length, 1000u);
  auto clipped = client_->call(ipc::OpenBlobRequest{0, keyOf(id), 99'500, 10'000});
  ASSERT_TRUE(clipped);
  EXPECT_EQ(std::get<ipc::OpenBlobReply>(clipped->message).length, 500u);
}

TEST_F(ControlSessionTest, OpenBlobErrors) {
  const BlobId id = putBlob(pattern(100));
  startAndGreet();
  auto past_end = client_->call(ipc::OpenBlobRequest{0, keyOf(id), 101, 1});
  ASSERT_FALSE(past_end);
  EXPECT_EQ(past_end.error().code, ErrorCode::kInvalidArgument) << past_end.error().message;
  auto unknown = client_->call(ipc::OpenBlobRequest{0, ipc::Key32{1, 2, 3}, 0, ipc::kToEnd});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound) << unknown.error().message;
  EXPECT_TRUE(client_->call(ipc::NodeInfoRequest{}));  // the channel still works
}

TEST_F(ControlSessionTest, PutBlobFromAMemfdReadsFromItsPosition) {
  startAndGreet();
  const auto bytes = pattern(300'000);
  UniqueFd memfd(::memfd_create("put", MFD_CLOEXEC));
  ASSERT_EQ(::write(memfd.get(), "skip", 4), 4);
  ASSERT_EQ(::write(memfd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  ASSERT_EQ(::lseek(memfd.get(), 4, SEEK_SET), 4);
  const int fd = memfd.get();
  auto reply = client_->call(ipc::PutBlobRequest{0, bytes.size()}, std::span(&fd, 1));
  ASSERT_TRUE(reply) << reply.error().message;
  const BlobId id(std::get<ipc::PutBlobReply>(reply->message).blob);
  EXPECT_EQ(id, crypto::blake3(bytes));
  auto stored = store_->read(id, 0, bytes.size());
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored, bytes);
}

TEST_F(ControlSessionTest, PutBlobFromAPipeLargerThanThePipeBuffer) {
  startAndGreet();
  const auto bytes = pattern(1'500'000);
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  const int fd = read_end.get();
  auto id = client_->start(ipc::PutBlobRequest{0, bytes.size()}, std::span(&fd, 1));
  ASSERT_TRUE(id);
  read_end.reset();
  std::thread writer([&] {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(write_end.get(), bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    write_end.reset();
  });
  auto reply = client_->wait(*id);
  writer.join();
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(BlobId(std::get<ipc::PutBlobReply>(reply->message).blob), crypto::blake3(bytes));
}

TEST_F(ControlSessionTest, RepliesComeOutOfOrder) {
  startAndGreet();
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  const int fd = read_end.get();
  auto put = client_->start(ipc::PutBlobRequest{0, 5}, std::span(&fd, 1));
  ASSERT_TRUE(put);
  // The put waits for its pipe; a later request is answered first.
  auto info = client_->call(ipc::NodeInfoRequest{});
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(client_->inFlight(), 1u);
  ASSERT_EQ(::write(write_end.get(), "hello", 5), 5);
  auto stored = client_->wait(*put);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(BlobId(std::get<ipc::PutBlobReply>(stored->message).blob),
            crypto::blake3(std::span(reinterpret_cast<const uint8_t*>("hello"), 5)));
}

TEST_F(ControlSessionTest, PutBlobBounds) {
  options_.max_put_bytes = 1000;
  options_.put_timeout = 200ms;
  startAndGreet();
  UniqueFd memfd(::memfd_create("put", MFD_CLOEXEC));
  ASSERT_EQ(::write(memfd.get(), "short", 5), 5);
  ASSERT_EQ(::lseek(memfd.get(), 0, SEEK_SET), 0);
  int fd = memfd.get();
  auto too_big = client_->call(ipc::PutBlobRequest{0, 1001}, std::span(&fd, 1));
  ASSERT_FALSE(too_big);
  EXPECT_EQ(too_big.error().code, ErrorCode::kResourceExhausted);
  auto short_fd = client_->call(ipc::PutBlobRequest{0, 10}, std::span(&fd, 1));
  ASSERT_FALSE(short_fd);
  EXPECT_EQ(short_fd.error().code, ErrorCode::kInvalidArgument) << short_fd.error().message;

  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);  // never written
  fd = read_end.get();
  auto stalled = client_->call(ipc::PutBlobRequest{0, 10}, std::span(&fd, 1));
  ASSERT_FALSE(stalled);
  EXPECT_EQ(stalled.error().code, ErrorCode::kTimeout) << stalled.error().message;

  int sockets[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets), 0);
  UniqueFd a(sockets[0]), b(sockets[1]);
  fd = a.get();
  auto socket = client_->call(ipc::PutBlobRequest{0, 1}, std::span(&fd, 1));
  ASSERT_FALSE(socket);
  EXPECT_EQ(socket.error().code, ErrorCode::kInvalidArgument) << socket.error().message;
  EXPECT_TRUE(client_->call(ipc::NodeInfoRequest{}));
}

TEST_F(ControlSessionTest, ResolveContentAnswersForCompleteBlobsOnly) {
  const auto bytes = pattern(40'000);
  const BlobId id = putBlob(bytes);
  const BlobId partial = *BlobId::fromHex(std::string(64, 'c'));
  std::vector<std::string> asked;
  // A fake IPFS index: one CID maps to the stored blob, one to a blob that is not here, one is
  // missing a block, and anything else is not a CID.
  resolve_cid_ = [&](std::string_view cid) -> Result<BlobId> {
    asked.emplace_back(cid);
    if (cid == "bafkstored") return id;
    if (cid == "bafkelsewhere") return partial;
    if (cid == "bafkmissing") return fail(ErrorCode::kNotFound, "block bafkx is not here");
    return fail(ErrorCode::kInvalidArgument, "'{}' is not a CID", cid);
  };
  startAndGreet();
  auto by_blob =
      client_->call(ipc::ResolveContentRequest{0, ipc::ContentRefKind::kBlob, keyOf(id), {}});
  ASSERT_TRUE(by_blob) << by_blob.error().message;
  EXPECT_EQ(std::get<ipc::ResolveContentReply>(by_blob->message).blob, keyOf(id));
  EXPECT_EQ(std::get<ipc::ResolveContentReply>(by_blob->message).size, bytes.size());

  auto by_cid =
      client_->call(ipc::ResolveContentRequest{0, ipc::ContentRefKind::kCid, {}, "bafkstored"});
  ASSERT_TRUE(by_cid) << by_cid.error().message;
  EXPECT_EQ(std::get<ipc::ResolveContentReply>(by_cid->message).blob, keyOf(id));
  EXPECT_EQ(std::get<ipc::ResolveContentReply>(by_cid->message).size, bytes.size());

  auto unknown =
      client_->call(ipc::ResolveContentRequest{0, ipc::ContentRefKind::kBlob, keyOf(partial), {}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(unknown.error().message, "node: blob " + partial.hex() + " is not stored on this node");
  auto elsewhere =
      client_->call(ipc::ResolveContentRequest{0, ipc::ContentRefKind::kCid, {}, "bafkelsewhere"});
  ASSERT_FALSE(elsewhere);
  EXPECT_EQ(elsewhere.error().code, ErrorCode::kNotFound);
  EXPECT_NE(elsewhere.error().message.find("(the content of cid bafkelsewhere) is not stored"),
            std::string::npos)
      << elsewhere.error().message;
  auto missing =
      client_->call(ipc::ResolveContentRequest{0, ipc::ContentRefKind::kCid, {}, "bafkmissing"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  auto garbage = client_->call(ipc::ResolveContentRequest{0, ipc::ContentRefKind::kCid, {}, "xyz"});
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(asked, (std::vector<std::string>{"bafkstored", "bafkelsewhere", "bafkmissing", "xyz"}));
}

TEST_F(ControlSessionTest, ResolveContentWithoutAnIpfsStoreIsUnavailableForCids) {
  const BlobId id = putBlob(pattern(10));
  startAndGreet();  // no resolver: the node has no IPFS store
  auto cid =
      client_->call(ipc::ResolveContentRequest{0, ipc::ContentRefKind::kCid, {}, "bafkstored"});
  ASSERT_FALSE(cid);
  EXPECT_EQ(cid.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(cid.error().message.find("no IPFS store"), std::string::npos) << cid.error().message;
  EXPECT_TRUE(
      client_->call(ipc::ResolveContentRequest{0, ipc::ContentRefKind::kBlob, keyOf(id), {}}));
}

TEST_F(ControlSessionTest, ReservedRequestsAreUnavailable) {
  startAndGreet();
  auto fetch = client_->call(ipc::FetchOriginRequest{0, "https://example.com/"});
  ASSERT_FALSE(fetch);
  EXPECT_EQ(fetch.error().code, ErrorCode::kUnavailable);
  auto balance = client_->call(ipc::QueryBalanceRequest{0, {}});
  ASSERT_FALSE(balance);
  EXPECT_EQ(balance.error().code, ErrorCode::kUnavailable);
}

TEST_F(ControlSessionTest, UsageLogAndMetricsGoToTheHost) {
  startAndGreet();
  EXPECT_TRUE(client_->call(ipc::ProposeUsageRequest{0, 1, ipc::Commodity::kComputeMs, 12}));
  auto foreign = client_->call(ipc::ProposeUsageRequest{0, 2, ipc::Commodity::kComputeMs, 12});
  ASSERT_FALSE(foreign);
  EXPECT_EQ(foreign.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(client_->call(ipc::LogRequest{0, ipc::LogLevel::kInfo, "hello log"}));
  EXPECT_TRUE(client_->call(
      ipc::MetricsRequest{0, {ipc::MetricSample{"a", ipc::MetricKind::kCounter, 1}}}));
  auto many =
      client_->call(ipc::MetricsRequest{0,
                                        {ipc::MetricSample{"a", ipc::MetricKind::kCounter, 1},
                                         ipc::MetricSample{"b", ipc::MetricKind::kGauge, 1},
                                         ipc::MetricSample{"c", ipc::MetricKind::kGauge, 1}}});
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().code, ErrorCode::kResourceExhausted);
  // The host's state is only read after the session ended (it lives on the loop).
  service_.reset();
  waitEnd();
  ASSERT_EQ(host_.proposals.size(), 1u);
  EXPECT_EQ(host_.proposals[0].second, 12u);
  EXPECT_EQ(host_.logs, std::vector<std::string>{"hello log"});
  EXPECT_EQ(host_.metric_samples, 1u);
}

TEST_F(ControlSessionTest, DataChannelNoticeCarriesTheDescriptor) {
  startAndGreet();
  int sockets[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets), 0);
  UniqueFd node_end(sockets[0]);
  auto service_end = std::make_shared<UniqueFd>(sockets[1]);
  asio::post(runtime_.loop(0),
             [this, service_end] { session_->notifyDataChannel(17, std::move(*service_end)); });
  auto notice = service_->receive();
  ASSERT_TRUE(notice) << notice.error().message;
  EXPECT_EQ(std::get<ipc::DataChannel>(notice->message).connection_id, 17u);
  ASSERT_EQ(notice->fds.size(), 1u);
  ASSERT_EQ(::write(notice->fds[0].get(), "ping", 4), 4);
  char buffer[4];
  ASSERT_EQ(::read(node_end.get(), buffer, 4), 4);
  EXPECT_EQ(std::string(buffer, 4), "ping");
}

TEST_F(ControlSessionTest, PeerCloseEndsTheSession) {
  startAndGreet();
  client_.reset();
  service_.reset();
  EXPECT_EQ(waitEnd().kind, ControlEnd::Kind::kPeerClosed);
}

TEST_F(ControlSessionTest, NoHelloInTimeIsAHelloTimeout) {
  options_.hello_timeout = 100ms;
  start();
  const ControlEnd end = waitEnd();
  EXPECT_EQ(end.kind, ControlEnd::Kind::kHelloTimeout) << end.detail;
  auto hello = service_->receive();  // the node's Hello, then the end of the channel
  ASSERT_TRUE(hello) << hello.error().message;
  auto closed = service_->receive();
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code, ErrorCode::kUnavailable);
}

TEST_F(ControlSessionTest, GarbageIsAProtocolError) {
  startAndGreet();
  std::vector<uint8_t> junk(64, 0xEE);
  ASSERT_TRUE(writeBlocking(service_->nativeHandle(), junk));
  const ControlEnd end = waitEnd();
  EXPECT_EQ(end.kind, ControlEnd::Kind::kProtocolError);
  EXPECT_FALSE(end.detail.empty());
}

TEST_F(ControlSessionTest, OversizedFrameIsAProtocolError) {
  startAndGreet();
  const uint8_t header[6] = {0x1b, 0, 0, 0, 0, 0x40};  // LogRequest of 1 GiB
  ASSERT_TRUE(writeBlocking(service_->nativeHandle(), std::vector<uint8_t>(header, header + 6)));
  const ControlEnd end = waitEnd();
  EXPECT_EQ(end.kind, ControlEnd::Kind::kProtocolError);
  EXPECT_NE(end.detail.find("limit"), std::string::npos) << end.detail;
}

TEST_F(ControlSessionTest, AReplyFromTheServiceIsAProtocolError) {
  startAndGreet();
  ASSERT_TRUE(service_->send(ipc::AckReply{5}));
  const ControlEnd end = waitEnd();
  EXPECT_EQ(end.kind, ControlEnd::Kind::kProtocolError);
  EXPECT_NE(end.detail.find("ack_reply"), std::string::npos) << end.detail;
}

TEST_F(ControlSessionTest, ASecondHelloIsAProtocolError) {
  startAndGreet();
  ASSERT_TRUE(service_->send(ipc::Hello{ipc::Channel::kControl, 1, 1}));
  EXPECT_EQ(waitEnd().kind, ControlEnd::Kind::kProtocolError);
}

TEST_F(ControlSessionTest, TooManyRequestsInFlightIsAProtocolError) {
  options_.max_in_flight = 64;
  startAndGreet();
  // Requests without reading a reply: once the socket holds all it can of the replies, the
  // unanswered requests pile up past the bound.
  for (uint32_t id = 1; id <= 200'000; ++id) {
    auto frame = ipc::encodeFrame(ipc::NodeInfoRequest{id});
    ASSERT_TRUE(frame);
    if (!writeBlocking(service_->nativeHandle(), *frame)) break;
  }
  const ControlEnd end = waitEnd();
  EXPECT_EQ(end.kind, ControlEnd::Kind::kProtocolError);
  EXPECT_NE(end.detail.find("outstanding"), std::string::npos) << end.detail;
}

}  // namespace
}  // namespace thunder::executor
