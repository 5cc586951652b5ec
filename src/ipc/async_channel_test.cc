#include "ipc/async_channel.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

namespace thunder::ipc {
namespace {

namespace asio = boost::asio;

constexpr int kFrames = 16;  // 4 MiB: far more than a socket buffer, so both sides must wait

// Messages are built as named locals: GCC 12 destroys some temporaries inside a co_await
// full-expression twice.
asio::awaitable<void> writeAll(AsyncChannel* out, Result<void>* status) {
  for (int i = 0; i < kFrames; ++i) {
    Message payload = Payload{std::vector<uint8_t>(kMaxPayloadBody, static_cast<uint8_t>(i))};
    *status = co_await out->send(std::move(payload), std::vector<int>());
    if (!*status) co_return;
  }
  Message end = End{EndReason::kNormal, "bye"};
  *status = co_await out->send(std::move(end), std::vector<int>());
}

asio::awaitable<void> readAll(AsyncChannel* in, std::vector<Received>* got, Error* error) {
  for (;;) {
    auto r = co_await in->receive();
    if (!r) {
      *error = r.error();
      co_return;
    }
    const bool last = std::holds_alternative<End>(r->message);
    got->push_back(std::move(*r));
    if (last) co_return;
  }
}

TEST(AsyncChannel, StreamsLargePayloadsBothWaitingOnOneLoop) {
  asio::io_context loop;
  auto pair = UnixChannel::socketPair(Channel::kData, UnixChannelOptions{kMaxPayloadBody + 64});
  ASSERT_TRUE(pair);
  AsyncChannel node(loop.get_executor(), std::move(pair->first));
  AsyncChannel service(loop.get_executor(), std::move(pair->second));
  Result<void> sent;
  std::vector<Received> got;
  Error error{ErrorCode::kInternal, "none"};
  asio::co_spawn(loop, writeAll(&service, &sent), asio::detached);
  asio::co_spawn(loop, readAll(&node, &got, &error), asio::detached);
  loop.run();
  ASSERT_TRUE(sent) << sent.error().message;
  EXPECT_EQ(error.message, "none");
  ASSERT_EQ(got.size(), static_cast<size_t>(kFrames + 1));
  for (int i = 0; i < kFrames; ++i) {
    EXPECT_EQ(std::get<Payload>(got[i].message).bytes,
              std::vector<uint8_t>(kMaxPayloadBody, static_cast<uint8_t>(i)));
  }
  EXPECT_EQ(std::get<End>(got.back().message).message, "bye");
}

TEST(AsyncChannel, PeerCloseEndsAReceive) {
  asio::io_context loop;
  auto pair = UnixChannel::socketPair(Channel::kData);
  ASSERT_TRUE(pair);
  AsyncChannel node(loop.get_executor(), std::move(pair->first));
  std::vector<Received> got;
  Error error{ErrorCode::kInternal, "none"};
  asio::co_spawn(loop, readAll(&node, &got, &error), asio::detached);
  loop.poll();  // the receive is now waiting for the socket
  { UnixChannel gone = std::move(pair->second); }
  loop.run();
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(error.code, ErrorCode::kUnavailable);
}

TEST(AsyncChannel, CancelEndsAWait) {
  asio::io_context loop;
  auto pair = UnixChannel::socketPair(Channel::kData);
  ASSERT_TRUE(pair);
  AsyncChannel node(loop.get_executor(), std::move(pair->first));
  std::vector<Received> got;
  Error error{ErrorCode::kInternal, "none"};
  asio::co_spawn(loop, readAll(&node, &got, &error), asio::detached);
  loop.poll();
  node.cancel();
  loop.run();
  EXPECT_EQ(error.code, ErrorCode::kCancelled);
}

}  // namespace
}  // namespace thunder::ipc
