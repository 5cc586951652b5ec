#include "node/service_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

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

TEST(ServiceConfigTest, IdZeroReplacesTheContentService) {
  auto services = parseServicesToml(
      "[[services]]\nid = 0\nname = \"cdn\"\nexecutable = \"/opt/thunder-service-cdn\"\n",
      "node.toml");
  ASSERT_TRUE(services) << services.error().message;
  ASSERT_EQ(services->size(), 1u);
  EXPECT_EQ((*services)[0].id, 0u);
}

// A folder tree in a temp dir for the CDN program search.
class CdnSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir()) /
            ("cdn_search_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_ / "build" / "apps" / "thunder");
    std::filesystem::create_directories(root_ / "build" / "services");
    thunder_ = root_ / "build" / "apps" / "thunder" / "thunder";
    program(thunder_, 0755);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  static void program(const std::filesystem::path& file, mode_t mode) {
    std::ofstream(file) << "#!/bin/sh\n";
    ::chmod(file.c_str(), mode);
  }

  std::filesystem::path root_;
  std::filesystem::path thunder_;
};

TEST_F(CdnSearchTest, FindsTheProgramInTheBuildTreeNextToThunder) {
  auto missing = findCdnProgram(thunder_, std::nullopt);
  EXPECT_FALSE(missing.program);
  EXPECT_NE(missing.detail.find("no usable thunder-service-cdn"), std::string::npos)
      << missing.detail;
  EXPECT_NE(missing.detail.find("THUNDER_SERVICES_DIR"), std::string::npos) << missing.detail;

  const auto built = root_ / "build" / "services" / "thunder-service-cdn";
  program(built, 0700);  // not executable by the sandbox's unprivileged user
  auto private_program = findCdnProgram(thunder_, std::nullopt);
  EXPECT_FALSE(private_program.program);
  EXPECT_NE(private_program.detail.find("not executable by others"), std::string::npos)
      << private_program.detail;

  ::chmod(built.c_str(), 0755);
  auto found = findCdnProgram(thunder_, std::nullopt);
  ASSERT_TRUE(found.program) << found.detail;
  EXPECT_EQ(*found.program, built);
  EXPECT_TRUE(found.program->is_absolute());

  // An installed copy beside the program wins over the build tree.
  program(thunder_.parent_path() / "thunder-service-cdn", 0755);
  found = findCdnProgram(thunder_, std::nullopt);
  ASSERT_TRUE(found.program);
  EXPECT_EQ(*found.program, thunder_.parent_path() / "thunder-service-cdn");
}

TEST_F(CdnSearchTest, TheEnvironmentVariableDecides) {
  program(root_ / "build" / "services" / "thunder-service-cdn", 0755);
  EXPECT_FALSE(findCdnProgram(thunder_, "none").program);
  EXPECT_EQ(findCdnProgram(thunder_, "none").detail, "THUNDER_SERVICES_DIR=none");
  const auto elsewhere = root_ / "elsewhere";
  std::filesystem::create_directories(elsewhere);
  auto not_there = findCdnProgram(thunder_, elsewhere.string());
  EXPECT_FALSE(not_there.program);  // only that folder is searched
  program(elsewhere / "thunder-service-cdn", 0755);
  auto found = findCdnProgram(root_ / "tests" / "some_test", elsewhere.string());
  ASSERT_TRUE(found.program) << found.detail;
  EXPECT_EQ(*found.program, elsewhere / "thunder-service-cdn");
  // Without the variable, a program other than `thunder` (a test binary) searches nothing.
  auto other = findCdnProgram(root_ / "build" / "apps" / "thunder" / "node_test", std::nullopt);
  EXPECT_FALSE(other.program);
  EXPECT_NE(other.detail.find("is not the thunder program"), std::string::npos) << other.detail;
}

TEST(ServiceConfigTest, TheDefaultCdnServiceIsIdZero) {
  ServiceConfig cdn = defaultCdnService("/opt/thunder-service-cdn", {});
  EXPECT_EQ(cdn.id, 0u);
  EXPECT_EQ(cdn.name, "cdn");
  EXPECT_EQ(cdn.executable, "/opt/thunder-service-cdn");
  EXPECT_TRUE(validateServicesConfig({cdn}));
  ServiceConfig other;
  other.id = 9;
  other.name = "cdn";
  other.executable = "/opt/other";
  cdn = defaultCdnService("/opt/thunder-service-cdn", {other});
  EXPECT_EQ(cdn.name, "cdn-0");
  EXPECT_TRUE(validateServicesConfig({other, cdn}));
}

}  // namespace
}  // namespace thunder::node
