// The /ipfs/ target parser, format negotiation, and the delegated-routing identity helpers.
#include "gateway/ipfs_request.h"

#include <gtest/gtest.h>

#include "content/ipfs_multiformats.h"
#include "gateway/delegated_routing.h"

namespace thunder::gateway {
namespace {

namespace ipfs = content::ipfs;

constexpr std::string_view kDir = "bafybeig675grnxcmshiuzdaz2xalm6ef4thxxds6o6ypakpghm5kghpc34";

TEST(IpfsPathTest, SplitsCidSegmentsAndSlash) {
  auto bare = parseIpfsPath(std::string("/ipfs/") + std::string(kDir));
  ASSERT_TRUE(bare) << bare.error().message;
  EXPECT_EQ(bare->cid.toString(), kDir);
  EXPECT_TRUE(bare->segments.empty());
  EXPECT_EQ(bare->trailing_slash, TrailingSlash::kNo);

  auto dir = parseIpfsPath(std::string("/ipfs/") + std::string(kDir) + "/");
  ASSERT_TRUE(dir);
  EXPECT_TRUE(dir->segments.empty());
  EXPECT_EQ(dir->trailing_slash, TrailingSlash::kYes);

  // Each segment is decoded once: %25 becomes '%', and the name keeps its own "%2C".
  auto file = parseIpfsPath(std::string("/ipfs/") + std::string(kDir) +
                            "/sub/Portugal%252C+Espa%C3%B1a=Peninsula%20Ib%C3%A9rica.txt");
  ASSERT_TRUE(file) << file.error().message;
  ASSERT_EQ(file->segments.size(), 2u);
  EXPECT_EQ(file->segments[0], "sub");
  EXPECT_EQ(file->segments[1], "Portugal%2C+España=Peninsula Ibérica.txt");

  auto v0 = parseIpfsPath("/ipfs/QmWXY482zQdwecnfBsj78poUUuPXvyw2JAFAEMw4tzTavV");
  ASSERT_TRUE(v0) << v0.error().message;
  EXPECT_EQ(v0->cid.version(), 0u);
}

TEST(IpfsPathTest, RefusesBadTargets) {
  const std::string dir = "/ipfs/" + std::string(kDir);
  for (const std::string& target :
       std::vector<std::string>{"/ipfs", "/ipfs/", "/ipfs/notacid", "/ipfs/bafy", dir + "//a",
                                dir + "/%2e%2e", dir + "/a%2Fb", dir + "/%zz", dir + "/a%00"}) {
    auto parsed = parseIpfsPath(target);
    ASSERT_FALSE(parsed) << target;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << target;
  }
  auto bad = parseIpfsPath("/ipfs/bafyNOTBASE32!");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("malformed CID \"bafyNOTBASE32!\""), std::string::npos)
      << bad.error().message;
  std::string deep = "/ipfs/" + std::string(kDir);
  for (size_t i = 0; i <= kMaxIpfsSegments; ++i) deep += "/a";
  EXPECT_FALSE(parseIpfsPath(deep));
}

TEST(IpfsNegotiationTest, FormatQueryWinsOverAccept) {
  auto plain = negotiateIpfs("", "text/html,*/*;q=0.8");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->format, IpfsFormat::kDeserialized);

  auto raw = negotiateIpfs("format=raw", "application/vnd.ipld.car");
  ASSERT_TRUE(raw);
  EXPECT_EQ(raw->format, IpfsFormat::kRaw);
  EXPECT_FALSE(raw->from_accept);

  auto by_accept = negotiateIpfs("", "application/vnd.ipld.raw");
  ASSERT_TRUE(by_accept);
  EXPECT_EQ(by_accept->format, IpfsFormat::kRaw);
  EXPECT_TRUE(by_accept->from_accept);

  // The highest q wins; q=0 excludes.
  auto q = negotiateIpfs("", "application/vnd.ipld.raw;q=0.5, application/vnd.ipld.car;q=0.9");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->format, IpfsFormat::kCar);
  auto zero = negotiateIpfs("", "application/vnd.ipld.raw;q=0");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->format, IpfsFormat::kDeserialized);

  auto tar = negotiateIpfs("format=tar", "");
  ASSERT_TRUE(tar);
  EXPECT_EQ(tar->format, IpfsFormat::kUnsupported);
  EXPECT_EQ(tar->unsupported, "tar");
  EXPECT_FALSE(negotiateIpfs("format=zip", ""));
}

TEST(IpfsNegotiationTest, CarParameters) {
  auto defaults = negotiateIpfs("format=car", "");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->car.scope, ipfs::DagScope::kAll);
  EXPECT_FALSE(defaults->car.dups);
  EXPECT_FALSE(defaults->car.bytes);
  EXPECT_EQ(carContentType(defaults->car),
            "application/vnd.ipld.car; version=1; order=dfs; dups=n");

  // Accept parameters apply under ?format=car too; the query's car-dups wins over them.
  auto accept =
      negotiateIpfs("format=car", "application/vnd.ipld.car; version=1; order=dfs; dups=y");
  ASSERT_TRUE(accept);
  EXPECT_TRUE(accept->car.dups);
  auto query = negotiateIpfs("format=car&car-dups=n", "application/vnd.ipld.car;dups=y");
  ASSERT_TRUE(query);
  EXPECT_FALSE(query->car.dups);
  auto quoted = negotiateIpfs("", "application/vnd.ipld.car;version=\"1\";order=unk");
  ASSERT_TRUE(quoted) << quoted.error().message;
  EXPECT_EQ(quoted->format, IpfsFormat::kCar);

  auto scope = negotiateIpfs("format=car&dag-scope=block", "");
  ASSERT_TRUE(scope);
  EXPECT_EQ(scope->car.scope, ipfs::DagScope::kBlock);

  auto bytes = negotiateIpfs("format=car&entity-bytes=-1024:*", "");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(bytes->car.scope, ipfs::DagScope::kEntity);
  ASSERT_TRUE(bytes->car.bytes);
  EXPECT_EQ(bytes->car.bytes->from, -1024);
  EXPECT_FALSE(bytes->car.bytes->to);

  for (const auto* bad :
       {"format=car&dag-scope=dir", "format=car&entity-bytes=abc", "format=car&entity-bytes=10:5",
        "format=car&entity-bytes=0", "format=car&car-version=2", "format=car&car-order=bfs",
        "format=car&car-dups=maybe", "format=car&dag-scope=all&entity-bytes=0:10"}) {
    auto refused = negotiateIpfs(bad, "");
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(negotiateIpfs("", "application/vnd.ipld.car; version=2"));
  // Parameters of a CAR are not checked when no CAR is asked for.
  EXPECT_TRUE(negotiateIpfs("format=raw&dag-scope=dir", ""));
}

TEST(DelegatedRoutingTest, PeerIdOfAnEd25519Key) {
  std::array<uint8_t, 32> raw{};
  for (size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<uint8_t>(i * 7 + 1);
  const PublicKey key{std::span<const uint8_t, 32>(raw)};
  const std::string id = libp2pPeerId(key);
  EXPECT_TRUE(id.starts_with("12D3KooW")) << id;
  EXPECT_EQ(id.size(), 52u);
  auto decoded = ipfs::multibaseDecode("z" + id);
  ASSERT_TRUE(decoded);
  std::vector<uint8_t> want = {0x00, 0x24, 0x08, 0x01, 0x12, 0x20};
  want.insert(want.end(), raw.begin(), raw.end());
  EXPECT_EQ(*decoded, want);

  const boost::asio::ip::tcp::endpoint bound(boost::asio::ip::make_address("127.0.0.1"), 4280);
  EXPECT_EQ(gatewayPeerId(key, bound), id);
  const std::string stand_in = gatewayPeerId(std::nullopt, bound);
  EXPECT_TRUE(stand_in.starts_with("12D3KooW")) << stand_in;
  EXPECT_EQ(stand_in, gatewayPeerId(std::nullopt, bound));  // stable
}

TEST(DelegatedRoutingTest, MultiaddrOfTheGateway) {
  using boost::asio::ip::make_address;
  using boost::asio::ip::tcp;
  EXPECT_EQ(gatewayMultiaddr(tcp::endpoint(make_address("127.0.0.1"), 4280), "ignored:1"),
            "/ip4/127.0.0.1/tcp/4280/http");
  EXPECT_EQ(gatewayMultiaddr(tcp::endpoint(make_address("::1"), 8080), ""),
            "/ip6/::1/tcp/8080/http");
  const tcp::endpoint any4(make_address("0.0.0.0"), 4280);
  EXPECT_EQ(gatewayMultiaddr(any4, "192.0.2.7:4280"), "/ip4/192.0.2.7/tcp/4280/http");
  EXPECT_EQ(gatewayMultiaddr(any4, "[2001:db8::1]:81"), "/ip6/2001:db8::1/tcp/81/http");
  EXPECT_EQ(gatewayMultiaddr(any4, "gw.example.org"), "/dns/gw.example.org/tcp/80/http");
  EXPECT_EQ(gatewayMultiaddr(any4, "gw.example.org:8443"), "/dns/gw.example.org/tcp/8443/http");
  EXPECT_EQ(gatewayMultiaddr(any4, ""), "/ip4/127.0.0.1/tcp/4280/http");
  EXPECT_EQ(gatewayMultiaddr(any4, "bad/host:1"), "/ip4/127.0.0.1/tcp/4280/http");
  EXPECT_EQ(gatewayMultiaddr(any4, "host:99999"), "/ip4/127.0.0.1/tcp/4280/http");
  EXPECT_EQ(gatewayMultiaddr(tcp::endpoint(make_address("::"), 9), ""), "/ip6/::1/tcp/9/http");
}

}  // namespace
}  // namespace thunder::gateway
