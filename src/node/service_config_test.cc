#include "node/service_config.h"

#include <gtest/gtest.h>

namespace thunder::node {
namespace {

TEST(ServiceConfigTest, ParsesEveryKey) {
  const std::string text = R"(
[[services]]
id = 7
name = "hello"
executable = "/opt/thunder/hello"
memory_mb = 256
cpu_seconds = 60
max_files = 64
max_processes = 8

[[services]]
id = 9
name = "blobbed"
blob = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
)";
  auto services = parseServicesToml(text, "node.toml");
  ASSERT_TRUE(services) << services.error().message;
  ASSERT_EQ(services->size(), 2u);
  const ServiceConfig& hello = (*services)[0];
  EXPECT_EQ(hello.id, 7u);
  EXPECT_EQ(hello.name, "hello");
  EXPECT_EQ(hello.executable, "/opt/thunder/hello");
  EXPECT_EQ(hello.memory_mb, 256u);
  EXPECT_EQ(hello.cpu_seconds, 60u);
  EXPECT_EQ(hello.max_files, 64u);
  EXPECT_EQ(hello.max_processes, 8u);
  const ServiceConfig& blobbed = (*services)[1];
  ASSERT_TRUE(blobbed.blob);
  EXPECT_EQ(blobbed.blob->hex(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
  EXPECT_EQ(blobbed.memory_mb, ServiceConfig{}.memory_mb);
  EXPECT_FALSE(blobbed.cpu_seconds);
}

TEST(ServiceConfigTest, NoServicesIsFine) {
  auto services = parseServicesToml("[node]\ndata_dir = \"/x\"\n", "node.toml");
  ASSERT_TRUE(services) << services.error().message;
  EXPECT_TRUE(services->empty());
}

TEST(ServiceConfigTest, RendersAndParsesBack) {
  std::vector<ServiceConfig> services(2);
  services[0].id = 7;
  services[0].name = "a-b_c";
  services[0].executable = "/opt/with \"quotes\"/svc";
  services[0].cpu_seconds = 5;
  services[1].id = 8;
  services[1].name = "b";
  services[1].blob = BlobId::fromHex(std::string(64, '1')).value();
  const std::string text = renderServicesConfig(services);
  auto parsed = parseServicesToml(text, "rendered.toml");
  ASSERT_TRUE(parsed) << parsed.error().message << "\n" << text;
  EXPECT_EQ(*parsed, services);
  auto none = parseServicesToml(renderServicesConfig({}), "empty.toml");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

struct Bad {
  std::string toml;
  std::string expected;  // a part of the error message
};

TEST(ServiceConfigTest, ErrorsNameTheKeyAndLine) {
  const std::vector<Bad> cases = {
      {"services = 3", "'services' must be an array of tables"},
      {"services = [1]", "services[0] must be a table"},
      {"[[services]]\nname = \"x\"\nexecutable = \"/x\"", "'services[0]' has no 'id'"},
      {"[[services]]\nid = 7\nexecutable = \"/x\"", "'services[0]' has no 'name'"},
      {"[[services]]\nid = \"7\"\nname = \"x\"",
       "node.toml:2: 'services[0].id' must be an integer"},
      {"[[services]]\nid = -7\nname = \"x\"", "'services[0].id' must not be negative"},
      {"[[services]]\nid = 5000000000\nname = \"x\"", "'services[0].id' must be at most"},
      {"[[services]]\nid = 7\nname = \"x\"\nexecutable = \"/x\"\ncolour = 1",
       "node.toml:5: unknown key 'services[0].colour'"},
      {"[[services]]\nid = 7\nname = \"x\"\nblob = \"abc\"",
       "'services[0].blob' must be a blob id"},
      {"[[services]]\nid = 1\nname = \"x\"\nexecutable = \"/x\"", "services[0].id: 1 is reserved"},
      {"[[services]]\nid = 7\nname = \"x\"\nexecutable = \"/x\"\n[[services]]\nid = 7\nname = "
       "\"y\"\nexecutable = \"/y\"",
       "services[1].id: 7 is used twice"},
      {"[[services]]\nid = 7\nname = \"x\"\nexecutable = \"/x\"\n[[services]]\nid = 8\nname = "
       "\"x\"\nexecutable = \"/y\"",
       "services[1].name: 'x' is used twice"},
      {"[[services]]\nid = 7\nname = \"Hello World\"\nexecutable = \"/x\"", "services[0].name"},
      {"[[services]]\nid = 7\nname = \"x\"", "set exactly one of 'executable' and 'blob'"},
      {"[[services]]\nid = 7\nname = \"x\"\nexecutable = \"/x\"\nblob = \"" + std::string(64, 'a') +
           "\"",
       "set exactly one of 'executable' and 'blob'"},
      {"[[services]]\nid = 7\nname = \"x\"\nexecutable = \"relative/x\"",
       "services[0].executable: 'relative/x' must be an absolute path"},
      {"[[services]]\nid = 7\nname = \"x\"\nexecutable = \"/x\"\nmemory_mb = 1",
       "services[0].memory_mb: 1 is out of range"},
      {"[[services]]\nid = 7\nname = \"x\"\nexecutable = \"/x\"\nmax_processes = 0",
       "services[0].max_processes"},
  };
  for (const Bad& bad : cases) {
    auto parsed = parseServicesToml(bad.toml, "node.toml");
    ASSERT_FALSE(parsed) << bad.toml;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find(bad.expected), std::string::npos)
        << "got: " << parsed.error().message << "\nwant: " << bad.expected;
  }
}

}  // namespace
}  // namespace thunder::node
