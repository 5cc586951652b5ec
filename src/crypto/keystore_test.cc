#include "crypto/keystore.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "base/hex.h"
#include "crypto/random.h"

namespace thunder::crypto {
namespace {

// RFC 8032 test vector 1.
constexpr std::string_view kSeedHex =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kPublicKeyHex =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

std::string validText() {
  return fmt::format("thunder-key v1 ed25519\nseed {}\npublic-key {}\n", kSeedHex, kPublicKeyHex);
}

class KeystoreTest : public testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = testing::TempDir() + "/keystore_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Writes `content` to dir_/name with `mode`.
  std::filesystem::path writeRaw(const std::string& name, std::string_view content,
                                 mode_t mode = 0600) {
    const std::filesystem::path path = dir_ / name;
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(content.data(), static_cast<std::streamsize>(content.size()));
      EXPECT_TRUE(out.good());
    }
    EXPECT_EQ(::chmod(path.c_str(), mode), 0);
    return path;
  }

  static std::string readAll(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static mode_t modeOf(const std::filesystem::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return st.st_mode & 07777;
  }

  // Expects readKeyFile(path) to fail with `code` and a message naming the file and containing
  // `fragment`.
  static void expectReadError(const std::filesystem::path& path, ErrorCode code,
                              std::string_view fragment) {
    auto key = readKeyFile(path);
    ASSERT_FALSE(key) << "read succeeded for " << path;
    EXPECT_EQ(key.error().code, code) << key.error().message;
    EXPECT_NE(key.error().message.find(path.string()), std::string::npos) << key.error().message;
    EXPECT_NE(key.error().message.find(fragment), std::string::npos) << key.error().message;
  }

  std::filesystem::path dir_;
};

TEST_F(KeystoreTest, WriteReadRoundTrip) {
  const SigningKey key = SigningKey::generate();
  const auto path = dir_ / "node.key";
  ASSERT_TRUE(writeNewKeyFile(path, key));
  auto read = readKeyFile(path);
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->publicKey(), key.publicKey());
  EXPECT_TRUE(std::ranges::equal(read->seed(), key.seed()));
  // No temporary file is left behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1);
}

TEST_F(KeystoreTest, WritesTheDocumentedFormatExactly) {
  const std::vector<uint8_t> seed = fromHex(kSeedHex).value();
  const SigningKey key = SigningKey::fromSeed(std::span<const uint8_t, 32>(seed.data(), 32));
  const auto path = dir_ / "node.key";
  ASSERT_TRUE(writeNewKeyFile(path, key));
  EXPECT_EQ(readAll(path), validText());
  EXPECT_EQ(readAll(path).size(), 169u);
  // And a hand-written file in that format reads back as the RFC 8032 key.
  auto read = readKeyFile(writeRaw("hand.key", validText()));
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(read->publicKey().hex(), kPublicKeyHex);
}

TEST_F(KeystoreTest, FileModeIs0600AndNewParentsAre0700) {
  const auto path = dir_ / "a" / "b" / "node.key";
  ASSERT_TRUE(writeNewKeyFile(path, SigningKey::generate()));
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_EQ(modeOf(dir_ / "a"), 0700u);
  EXPECT_EQ(modeOf(dir_ / "a" / "b"), 0700u);
  EXPECT_TRUE(readKeyFile(path));
}

TEST_F(KeystoreTest, ModeIs0600EvenUnderAPermissiveUmask) {
  const mode_t old_umask = ::umask(0);
  const auto path = dir_ / "d" / "node.key";
  auto written = writeNewKeyFile(path, SigningKey::generate());
  ::umask(old_umask);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(modeOf(path), 0600u);
  EXPECT_EQ(modeOf(dir_ / "d"), 0700u);
}

TEST_F(KeystoreTest, RefusesToOverwrite) {
  const auto path = dir_ / "node.key";
  const SigningKey first = SigningKey::generate();
  ASSERT_TRUE(writeNewKeyFile(path, first));
  auto again = writeNewKeyFile(path, SigningKey::generate());
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_NE(again.error().message.find(path.string()), std::string::npos) << again.error().message;
  EXPECT_EQ(readKeyFile(path).value().publicKey(), first.publicKey());

  // Anything at the path counts, not only key files.
  const auto other = writeRaw("other", "not a key");
  auto over_other = writeNewKeyFile(other, SigningKey::generate());
  ASSERT_FALSE(over_other);
  EXPECT_EQ(over_other.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(readAll(other), "not a key");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 2);
}

TEST_F(KeystoreTest, TooOpenPermissionsAreRefused) {
  for (const mode_t mode : {0644, 0640, 0604, 0620, 0602, 0660, 0666}) {
    const auto path = writeRaw("open.key", validText(), mode);
    const std::string expected =
        fmt::format("permissions {:04o} on {} are too open; run chmod 600 {}",
                    static_cast<unsigned>(mode), path.string(), path.string());
    SCOPED_TRACE(expected);
    expectReadError(path, ErrorCode::kPermissionDenied, expected);
  }
  EXPECT_TRUE(readKeyFile(writeRaw("owner_only.key", validText(), 0400)));
}

TEST_F(KeystoreTest, TruncatedFileIsCorruption) {
  const std::string text = validText();
  for (const size_t size : {size_t{0}, size_t{10}, size_t{23}, size_t{60}, size_t{168}}) {
    SCOPED_TRACE(size);
    expectReadError(writeRaw("short.key", text.substr(0, size)), ErrorCode::kCorruption,
                    "corrupt Thunder key file");
  }
}

TEST_F(KeystoreTest, TrailingDataIsCorruption) {
  expectReadError(writeRaw("long.key", validText() + "\n"), ErrorCode::kCorruption,
                  "corrupt Thunder key file");
}

TEST_F(KeystoreTest, BadHexIsCorruption) {
  std::string text = validText();
  text[30] = 'g';  // inside the seed
  expectReadError(writeRaw("bad_seed.key", text), ErrorCode::kCorruption, "line 2");

  text = validText();
  text[text.size() - 2] = 'z';  // inside the public key
  expectReadError(writeRaw("bad_pk.key", text), ErrorCode::kCorruption, "line 3");

  text = validText();
  text[30] = 'D';  // upper case is not the canonical form
  expectReadError(writeRaw("upper.key", text), ErrorCode::kCorruption, "lowercase hex");
}

TEST_F(KeystoreTest, WrongLabelsOrLineEndingsAreCorruption) {
  std::string text = validText();
  text.replace(23, 4, "SEED");
  expectReadError(writeRaw("label.key", text), ErrorCode::kCorruption, "line 2");

  text = validText();
  text[text.size() - 1] = ' ';
  expectReadError(writeRaw("eol.key", text), ErrorCode::kCorruption, "line 3");

  text = fmt::format("thunder-key v1 ed25519\r\nseed {}\npublic-key {}\n", kSeedHex, kPublicKeyHex);
  expectReadError(writeRaw("crlf.key", text), ErrorCode::kCorruption, "Thunder key file");
}

TEST_F(KeystoreTest, MismatchedPublicKeyIsCorruption) {
  std::string text = validText();
  text[text.size() - 2] = text[text.size() - 2] == 'a' ? 'b' : 'a';
  expectReadError(writeRaw("mismatch.key", text), ErrorCode::kCorruption,
                  "does not match the seed");
}

TEST_F(KeystoreTest, ForeignFilesAreNotThunderKeyFiles) {
  const std::string pem =
      "-----BEGIN PRIVATE KEY-----\n"
      "MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n"
      "-----END PRIVATE KEY-----\n";
  expectReadError(writeRaw("ed25519.pem", pem), ErrorCode::kCorruption,
                  "is not a Thunder key file");

  std::string random(169, '\0');
  randomBytes({reinterpret_cast<uint8_t*>(random.data()), random.size()});
  random[0] = 'x';  // cannot start like the magic line by chance
  expectReadError(writeRaw("random.bin", random), ErrorCode::kCorruption,
                  "is not a Thunder key file");

  // A foreign file is reported as such even when its permissions are open.
  expectReadError(writeRaw("cert.pem", pem, 0644), ErrorCode::kCorruption,
                  "is not a Thunder key file");

  // A directory is not a key file either.
  std::filesystem::create_directory(dir_ / "dir.key");
  expectReadError(dir_ / "dir.key", ErrorCode::kCorruption, "is not a Thunder key file");
}

TEST_F(KeystoreTest, UnsupportedVersionIsNamed) {
  std::string text = validText();
  text[13] = '9';  // "thunder-key v9 ed25519"
  expectReadError(writeRaw("v9.key", text), ErrorCode::kCorruption, "thunder-key v9 ed25519");
}

TEST_F(KeystoreTest, MissingFileIsNotFound) {
  expectReadError(dir_ / "missing.key", ErrorCode::kNotFound, "does not exist");
}

TEST_F(KeystoreTest, RelativePathInCurrentDirectory) {
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir_);
  auto written = writeNewKeyFile("relative.key", SigningKey::generate());
  auto read = readKeyFile("relative.key");
  std::filesystem::current_path(cwd);
  ASSERT_TRUE(written) << written.error().message;
  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(modeOf(dir_ / "relative.key"), 0600u);
}

}  // namespace
}  // namespace thunder::crypto
