#include "executor/service_program.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "content/fs_blob_store.h"
#include "crypto/blake3.h"

namespace thunder::executor {
namespace {

namespace fs = std::filesystem;

class ServiceProgramTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("service_program_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    content::StoreOptions options;
    options.root = dir_ / "store";
    auto store = content::FsBlobStore::open(std::move(options));
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(store).value();
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::unique_ptr<content::FsBlobStore> store_;
};

TEST_F(ServiceProgramTest, MaterialisesAVerifiedExecutable) {
  std::vector<uint8_t> program(100'000, 0x90);
  auto put = store_->putBytes(program, {});
  ASSERT_TRUE(put);
  auto path = materialiseServiceBlob(*store_, put->id, dir_ / "bin");
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(path->filename(), put->id.hex());
  struct stat info {};
  ASSERT_EQ(::stat(path->c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0555u);
  ASSERT_EQ(::stat((dir_ / "bin").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0711u);
  EXPECT_EQ(crypto::blake3File(*path).value(), put->id);
  // A second call reuses the verified file.
  auto again = materialiseServiceBlob(*store_, put->id, dir_ / "bin");
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *path);
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_ / "bin")) ++files;
  EXPECT_EQ(files, 1u);  // no temp file left behind
}

TEST_F(ServiceProgramTest, RefusesBytesThatDoNotHashToTheId) {
  std::vector<uint8_t> program(40'000, 0x90);
  auto put = store_->putBytes(program, {});
  ASSERT_TRUE(put);
  {
    std::fstream data(store_->dataPath(put->id), std::ios::in | std::ios::out | std::ios::binary);
    data.seekp(5);
    data.put('\x01');
  }
  auto path = materialiseServiceBlob(*store_, put->id, dir_ / "bin");
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().code, ErrorCode::kCorruption) << path.error().message;
  EXPECT_TRUE(fs::is_empty(dir_ / "bin"));
}

TEST_F(ServiceProgramTest, ReplacesATamperedMaterialisedFile) {
  std::vector<uint8_t> program(1000, 0x90);
  auto put = store_->putBytes(program, {});
  ASSERT_TRUE(put);
  auto path = materialiseServiceBlob(*store_, put->id, dir_ / "bin");
  ASSERT_TRUE(path);
  ::chmod(path->c_str(), 0755);
  std::ofstream(*path, std::ios::binary | std::ios::trunc) << "#!/bin/sh\necho owned\n";
  auto again = materialiseServiceBlob(*store_, put->id, dir_ / "bin");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(crypto::blake3File(*again).value(), put->id);
}

TEST_F(ServiceProgramTest, AnUnknownBlobIsNotFound) {
  auto path = materialiseServiceBlob(*store_, BlobId{}, dir_ / "bin");
  ASSERT_FALSE(path);
  EXPECT_EQ(path.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace thunder::executor
