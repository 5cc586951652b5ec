#include "crypto/blake3.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "base/hex.h"

namespace thunder::crypto {
namespace {

// The input of the official vectors: byte i is i % 251.
std::vector<uint8_t> vectorInput(size_t size) {
  std::vector<uint8_t> input(size);
  for (size_t i = 0; i < size; ++i) input[i] = static_cast<uint8_t>(i % 251);
  return input;
}

std::vector<uint8_t> asBytes(std::string_view text) {
  return {text.begin(), text.end()};
}

std::vector<uint8_t> pseudoRandom(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(size);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

nlohmann::json loadVectors() {
  std::ifstream in(THUNDER_FIXTURES_DIR "/blake3/test_vectors.json");
  EXPECT_TRUE(in) << "cannot open the BLAKE3 test vectors";
  return nlohmann::json::parse(in);
}

// Checks every case of the official vectors for the hasher made by `make`, against the expected
// extended output in field `field`.
template <typename MakeHasher>
void checkVectors(const nlohmann::json& vectors, const char* field, MakeHasher make) {
  const auto& cases = vectors.at("cases");
  ASSERT_GE(cases.size(), 30u);
  for (const auto& test_case : cases) {
    const size_t input_len = test_case.at("input_len").get<size_t>();
    const std::string expected = test_case.at(field).get<std::string>();
    SCOPED_TRACE(testing::Message() << field << " input_len=" << input_len);
    ASSERT_EQ(expected.size() % 2, 0u);
    const std::vector<uint8_t> input = vectorInput(input_len);

    Blake3Hasher hasher = make();
    hasher.update(input);
    // The full extended output.
    std::vector<uint8_t> xof(expected.size() / 2);
    hasher.finalizeXof(0, xof);
    EXPECT_EQ(toHex(xof), expected);
    // The 32-byte output is the prefix of the extended output.
    EXPECT_EQ(hasher.finalize().hex(), expected.substr(0, 64));
    // Seeking into the extended output.
    std::vector<uint8_t> tail(xof.size() - 37);
    hasher.finalizeXof(37, tail);
    EXPECT_EQ(toHex(tail), expected.substr(74));
  }
}

TEST(Blake3, OfficialVectorsHash) {
  const nlohmann::json vectors = loadVectors();
  checkVectors(vectors, "hash", [] { return Blake3Hasher(); });
  // The one-shot function agrees with the hasher.
  for (const auto& test_case : vectors.at("cases")) {
    const auto input = vectorInput(test_case.at("input_len").get<size_t>());
    EXPECT_EQ(blake3(input).hex(), test_case.at("hash").get<std::string>().substr(0, 64));
  }
}

TEST(Blake3, OfficialVectorsKeyedHash) {
  const nlohmann::json vectors = loadVectors();
  const std::string key_text = vectors.at("key").get<std::string>();
  ASSERT_EQ(key_text.size(), 32u);
  const std::vector<uint8_t> key = asBytes(key_text);
  checkVectors(vectors, "keyed_hash",
               [&] { return Blake3Hasher::keyed(std::span<const uint8_t, 32>(key.data(), 32)); });
}

TEST(Blake3, OfficialVectorsDeriveKey) {
  const nlohmann::json vectors = loadVectors();
  const std::string context = vectors.at("context_string").get<std::string>();
  ASSERT_FALSE(context.empty());
  checkVectors(vectors, "derive_key", [&] { return Blake3Hasher::deriveKey(context); });
}

TEST(Blake3, KnownEmptyHash) {
  EXPECT_EQ(blake3({}).hex(), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
}

TEST(Blake3, IncrementalInOddPiecesEqualsOneShot) {
  const std::vector<uint8_t> data = pseudoRandom((1 << 20) + 7, 1);
  const BlobId expected = blake3(data);
  for (const size_t piece : {1u, 7u, 63u, 1023u, 1025u, 16385u, 100003u}) {
    Blake3Hasher hasher;
    for (size_t offset = 0; offset < data.size(); offset += piece) {
      hasher.update(std::span(data).subspan(offset, std::min(piece, data.size() - offset)));
    }
    EXPECT_EQ(hasher.finalize(), expected) << "piece size " << piece;
  }
}

TEST(Blake3, FinalizeDoesNotEndTheHash) {
  const std::vector<uint8_t> data = pseudoRandom(5000, 2);
  Blake3Hasher hasher;
  hasher.update(std::span(data).first(2000));
  EXPECT_EQ(hasher.finalize(), blake3(std::span(data).first(2000)));
  Blake3Hasher fork = hasher;  // a copy continues independently
  hasher.update(std::span(data).subspan(2000));
  EXPECT_EQ(hasher.finalize(), blake3(data));
  EXPECT_EQ(fork.finalize(), blake3(std::span(data).first(2000)));
}

TEST(Blake3, ModesDiffer) {
  const std::vector<uint8_t> data = asBytes("thunder");
  const std::vector<uint8_t> key(32, 7);
  Blake3Hasher keyed = Blake3Hasher::keyed(std::span<const uint8_t, 32>(key.data(), 32));
  Blake3Hasher derive = Blake3Hasher::deriveKey("thunder test");
  keyed.update(data);
  derive.update(data);
  EXPECT_NE(keyed.finalize(), blake3(data));
  EXPECT_NE(derive.finalize(), blake3(data));
  EXPECT_NE(keyed.finalize(), derive.finalize());
}

class Blake3FileTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "/blake3_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path writeFile(const std::string& name, const std::vector<uint8_t>& data) {
    const std::filesystem::path path = dir_ / name;
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()),
              static_cast<std::streamsize>(data.size()));
    EXPECT_TRUE(out.good());
    return path;
  }

  std::filesystem::path dir_;
};

// What `b3sum --no-names FILE` prints, without the newline.
std::string b3sum(const std::filesystem::path& file) {
  const std::string command = "b3sum --no-names '" + file.string() + "'";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "popen failed";
  std::string out;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  const int status = ::pclose(pipe);
  if (status != 0) return "b3sum failed: " + out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

TEST_F(Blake3FileTest, MatchesB3sum) {
  uint32_t seed = 100;
  for (const size_t size :
       {size_t{0}, size_t{1}, size_t{1023}, size_t{1024}, size_t{1025}, size_t{16383},
        size_t{16384}, size_t{16385}, (size_t{1} << 20) + 7, (size_t{3} << 20) + 1}) {
    SCOPED_TRACE(testing::Message() << "size " << size);
    const std::vector<uint8_t> data = pseudoRandom(size, ++seed);
    const auto path = writeFile("file_" + std::to_string(size), data);
    const std::string expected = b3sum(path);
    ASSERT_EQ(expected.size(), 64u) << expected;
    auto id = blake3File(path);
    ASSERT_TRUE(id) << id.error().message;
    EXPECT_EQ(id->hex(), expected);
    EXPECT_EQ(blake3(data).hex(), expected);
  }
}

TEST_F(Blake3FileTest, MissingFileIsNotFoundAndNamesThePath) {
  const auto path = dir_ / "no_such_file";
  auto id = blake3File(path);
  ASSERT_FALSE(id);
  EXPECT_EQ(id.error().code, ErrorCode::kNotFound);
  EXPECT_NE(id.error().message.find(path.string()), std::string::npos) << id.error().message;
}

TEST_F(Blake3FileTest, DirectoryIsAnErrorNamingThePath) {
  auto id = blake3File(dir_);
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().message.find(dir_.string()), std::string::npos) << id.error().message;
}

}  // namespace
}  // namespace thunder::crypto
