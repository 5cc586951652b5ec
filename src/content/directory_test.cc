#include "content/directory.h"

#include <gtest/gtest.h>

#include <cstring>

namespace thunder::content {
namespace {

BlobId idOf(uint8_t fill) {
  BlobId id;
  std::memset(id.data(), fill, BlobId::kSize);
  return id;
}

Manifest sample() {
  auto m = makeManifest({{"b.txt", EntryKind::kFile, 5, idOf(2)},
                         {"a", EntryKind::kDirectory, 13, idOf(1)},
                         {"B", EntryKind::kFile, 0, idOf(3)}});
  EXPECT_TRUE(m) << m.error().message;
  return *m;
}

TEST(DirectoryTest, MakeManifestSortsBytewise) {
  const Manifest m = sample();
  ASSERT_EQ(m.entries.size(), 3u);
  EXPECT_EQ(m.entries[0].name, "B");  // 'B' (0x42) < 'a' (0x61) < 'b'
  EXPECT_EQ(m.entries[1].name, "a");
  EXPECT_EQ(m.entries[2].name, "b.txt");
  ASSERT_NE(m.find("a"), nullptr);
  EXPECT_EQ(m.find("a")->kind, EntryKind::kDirectory);
  EXPECT_EQ(m.find("c"), nullptr);
}

TEST(DirectoryTest, EncodingIsExactlyTheDocumentedBytes) {
  auto m = makeManifest({{"hi", EntryKind::kFile, 0x0102, idOf(0xab)}});
  ASSERT_TRUE(m);
  const auto bytes = encodeManifest(*m);
  const uint8_t head[] = {'T', 'H', 'U', 'N', 'D',  'I',  'R', 0, 1, 1, 0, 0, 0,  // header
                          1,   2,   'h', 'i', 0x02, 0x01, 0,   0, 0, 0, 0, 0};
  ASSERT_EQ(bytes.size(), sizeof head + 32);
  EXPECT_EQ(std::memcmp(bytes.data(), head, sizeof head), 0);
  for (size_t i = sizeof head; i < bytes.size(); ++i) EXPECT_EQ(bytes[i], 0xab);
  const auto empty = encodeManifest(Manifest{});
  EXPECT_EQ(empty, std::vector<uint8_t>({'T', 'H', 'U', 'N', 'D', 'I', 'R', 0, 1, 0, 0, 0, 0}));
  EXPECT_TRUE(parseManifest(empty));
}

TEST(DirectoryTest, CanonicalRoundtrip) {
  const Manifest m = sample();
  const auto bytes = encodeManifest(m);
  auto parsed = parseManifest(bytes);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, m);
  EXPECT_EQ(encodeManifest(*parsed), bytes);
  EXPECT_TRUE(looksLikeManifest(bytes));
}

TEST(DirectoryTest, LongestNameAndManyEntries) {
  std::vector<DirectoryEntry> entries;
  entries.push_back({std::string(255, 'x'), EntryKind::kFile, 1, idOf(1)});
  for (int i = 0; i < 1000; ++i)
    entries.push_back({fmt::format("f{:04}", i), EntryKind::kFile, 1, idOf(2)});
  auto m = makeManifest(entries);
  ASSERT_TRUE(m);
  auto parsed = parseManifest(encodeManifest(*m));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->entries.size(), 1001u);
}

TEST(DirectoryTest, MakeManifestRejectsBadNames) {
  for (const std::string& bad :
       {std::string(), std::string("."), std::string(".."), std::string("a/b"),
        std::string("a\0b", 3), std::string(256, 'y')}) {
    auto m = makeManifest({{bad, EntryKind::kFile, 0, idOf(1)}});
    ASSERT_FALSE(m) << bad;
    EXPECT_EQ(m.error().code, ErrorCode::kInvalidArgument);
  }
  auto dup =
      makeManifest({{"x", EntryKind::kFile, 0, idOf(1)}, {"x", EntryKind::kDirectory, 0, idOf(2)}});
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message.find("duplicate"), std::string::npos);
  std::vector<DirectoryEntry> many(kMaxDirectoryEntries + 1);
  for (size_t i = 0; i < many.size(); ++i) many[i].name = std::to_string(i);
  EXPECT_FALSE(makeManifest(std::move(many)));
}

// Byte offsets in the encoding of sample(): header 13 bytes; entry 0 "B" at 13 (43 bytes),
// entry 1 "a" at 56, entry 2 "b.txt" at 99.
struct Mutation {
  const char* what;
  std::function<void(std::vector<uint8_t>&)> apply;
  const char* message_part;
};

TEST(DirectoryTest, ParserRejectsEveryNonCanonicalEncoding) {
  const auto good = encodeManifest(sample());
  ASSERT_EQ(good.size(), 13u + 43 + 43 + 47);
  const std::vector<Mutation> mutations = {
      {"bad magic", [](auto& b) { b[0] = 'X'; }, "magic"},
      {"bad version", [](auto& b) { b[8] = 2; }, "version 2"},
      {"truncated header", [](auto& b) { b.resize(12); }, "truncated"},
      {"count too high", [](auto& b) { b[9] = 4; }, "declares 4 entries"},
      {"count too low (trailing bytes)", [](auto& b) { b[9] = 2; }, "trailing"},
      {"count over the limit", [](auto& b) { b[11] = 0x10; }, "limit"},
      {"trailing byte", [](auto& b) { b.push_back(0); }, "trailing"},
      {"truncated entry", [](auto& b) { b.pop_back(); }, "truncated"},
      {"unknown kind", [](auto& b) { b[13] = 3; }, "unknown kind 3"},
      {"kind zero", [](auto& b) { b[56] = 0; }, "unknown kind 0"},
      {"empty name",
       [](auto& b) {
         // Entry 0 "B" becomes a zero-length name: drop its name byte.
         b[14] = 0;
         b.erase(b.begin() + 15);
       },
       "empty entry name"},
      {"slash in name", [](auto& b) { b[15] = '/'; }, "contains '/'"},
      {"NUL in name", [](auto& b) { b[15] = 0; }, "NUL"},
      {"dot name", [](auto& b) { b[15] = '.'; }, "not allowed"},
      {"unsorted", [](auto& b) { b[58] = 'A'; }, "not sorted"},  // "a" → "A" < "B"
      {"duplicate", [](auto& b) { b[58] = 'B'; }, "duplicate"},  // "a" → "B"
      {"name length past end", [](auto& b) { b[100] = 200; }, "truncated"},
  };
  for (const auto& m : mutations) {
    auto bytes = good;
    m.apply(bytes);
    auto parsed = parseManifest(bytes);
    ASSERT_FALSE(parsed) << m.what;
    EXPECT_EQ(parsed.error().code, ErrorCode::kCorruption) << m.what;
    EXPECT_NE(parsed.error().message.find(m.message_part), std::string::npos)
        << m.what << ": " << parsed.error().message;
  }
  // Any truncation of a valid manifest is refused.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(parseManifest(std::span(good.data(), n))) << n;
  }
}

TEST(DirectoryTest, DotDotNameIsRejected) {
  auto m = makeManifest({{"ab", EntryKind::kFile, 0, idOf(1)}});
  ASSERT_TRUE(m);
  auto bytes = encodeManifest(*m);
  bytes[15] = '.';
  bytes[16] = '.';
  auto parsed = parseManifest(bytes);
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("\"..\""), std::string::npos) << parsed.error().message;
}

}  // namespace
}  // namespace thunder::content
