#include "content/directory_tree.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "content/fs_blob_store.h"
#include "crypto/blake3.h"

namespace thunder::content {
namespace {

namespace fs = std::filesystem;

void writeText(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string readText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class DirectoryTreeTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::path(testing::TempDir()) / "directory-tree-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    StoreOptions options;
    options.root = dir_ / "store";
    auto store = FsBlobStore::open(options);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    // site/
    //   index.html, empty.txt, css/main.css, css/deep/x.bin, empty-dir/, link -> index.html
    src_ = dir_ / "site";
    fs::create_directories(src_ / "css" / "deep");
    fs::create_directories(src_ / "empty-dir");
    writeText(src_ / "index.html", "<h1>hello</h1>\n");
    writeText(src_ / "empty.txt", "");
    writeText(src_ / "css" / "main.css", "body { color: red }\n");
    writeText(src_ / "css" / "deep" / "x.bin", std::string(40000, 'x'));
    fs::create_symlink("index.html", src_ / "link");
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  fs::path dir_;
  fs::path src_;
  std::unique_ptr<FsBlobStore> store_;
};

TEST_F(DirectoryTreeTest, PutTreeStoresFilesAndManifestsAndSkipsSymlinks) {
  auto r = putTree(*store_, src_, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->files, 4u);
  EXPECT_EQ(r->directories, 4u);  // site, css, css/deep, empty-dir
  EXPECT_EQ(r->file_bytes, 15u + 0 + 20 + 40000);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("symbolic link"), std::string::npos);

  auto root = readManifest(*store_, r->id);
  ASSERT_TRUE(root) << root.error().message;
  std::vector<std::string> names;
  for (const auto& e : root->entries) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"css", "empty-dir", "empty.txt", "index.html"}));
  const auto* index = root->find("index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->id,
            crypto::blake3(std::span(reinterpret_cast<const uint8_t*>("<h1>hello</h1>\n"), 15)));
  EXPECT_EQ(index->size, 15u);
  EXPECT_EQ(root->find("css")->kind, EntryKind::kDirectory);

  // The same tree gives the same id (canonical manifests), and stores nothing new.
  const auto before = store_->list()->size();
  auto again = putTree(*store_, src_, {});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->id, r->id);
  EXPECT_EQ(store_->list()->size(), before);
}

TEST_F(DirectoryTreeTest, PinnedTreePinsEveryBlob) {
  PutOptions pinned;
  pinned.pin = PinState::kPinned;
  ASSERT_TRUE(putTree(*store_, src_, pinned));
  auto all = store_->list();
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 8u);
  for (const auto& info : *all) EXPECT_EQ(info.pin, PinState::kPinned) << info.id.hex();
}

TEST_F(DirectoryTreeTest, ResolvePath) {
  auto r = putTree(*store_, src_, {});
  ASSERT_TRUE(r);
  auto css = resolvePath(*store_, r->id, "css/main.css");
  ASSERT_TRUE(css) << css.error().message;
  EXPECT_EQ(css->kind, EntryKind::kFile);
  EXPECT_EQ(*store_->read(css->id, 0, UINT64_MAX),
            std::vector<uint8_t>({'b', 'o', 'd', 'y', ' ', '{', ' ', 'c', 'o', 'l',
                                  'o', 'r', ':', ' ', 'r', 'e', 'd', ' ', '}', '\n'}));
  auto deep = resolvePath(*store_, r->id, "/css/deep/x.bin");
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->size, 40000u);
  auto dir = resolvePath(*store_, r->id, "css/deep/");
  ASSERT_TRUE(dir);
  EXPECT_EQ(dir->kind, EntryKind::kDirectory);
  auto self = resolvePath(*store_, r->id, "");
  ASSERT_TRUE(self);
  EXPECT_EQ(self->id, r->id);

  auto missing = resolvePath(*store_, r->id, "css/nope.css");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("\"nope.css\""), std::string::npos)
      << missing.error().message;
  EXPECT_NE(missing.error().message.find("/css"), std::string::npos) << missing.error().message;
  for (const char* bad : {"css/../index.html", "./index.html", "css//main.css", "index.html/x"}) {
    auto e = resolvePath(*store_, r->id, bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().code, ErrorCode::kInvalidArgument) << bad;
  }
  // A file blob is not a directory.
  auto not_dir = resolvePath(*store_, css->id, "x");
  ASSERT_FALSE(not_dir);
  EXPECT_EQ(not_dir.error().code, ErrorCode::kCorruption);
}

TEST_F(DirectoryTreeTest, ExportRecreatesTheTree) {
  auto r = putTree(*store_, src_, {});
  ASSERT_TRUE(r);
  const fs::path out = dir_ / "out";
  auto exported = exportTree(*store_, r->id, EntryKind::kDirectory, out);
  ASSERT_TRUE(exported) << exported.error().message;
  EXPECT_EQ(exported->files, 4u);
  EXPECT_EQ(exported->directories, 4u);
  EXPECT_EQ(readText(out / "index.html"), "<h1>hello</h1>\n");
  EXPECT_EQ(readText(out / "css" / "deep" / "x.bin"), std::string(40000, 'x'));
  EXPECT_TRUE(fs::is_directory(out / "empty-dir"));
  EXPECT_TRUE(fs::exists(out / "empty.txt"));
  EXPECT_FALSE(fs::exists(out / "link"));
  auto again = exportTree(*store_, r->id, EntryKind::kDirectory, out);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
}

TEST_F(DirectoryTreeTest, ExportRefusesAManifestWithAWrongSize) {
  auto file = store_->putBytes(std::vector<uint8_t>(10, 'a'), {});
  ASSERT_TRUE(file);
  auto manifest = makeManifest({{"a.txt", EntryKind::kFile, 11, file->id}});  // lies: 11 bytes
  ASSERT_TRUE(manifest);
  auto dir = store_->putBytes(encodeManifest(*manifest), {});
  ASSERT_TRUE(dir);
  auto exported = exportTree(*store_, dir->id, EntryKind::kDirectory, dir_ / "out");
  ASSERT_FALSE(exported);
  EXPECT_EQ(exported.error().code, ErrorCode::kCorruption);
}

}  // namespace
}  // namespace thunder::content
