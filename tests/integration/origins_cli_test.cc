// Origins end to end: real `thunder run` nodes fetch what they do not have.
//
//   HttpOrigin   nginx (started by the test on loopback) serves files; a node with
//                [[origins]] name = "site" serves them at /origin/site/<path> — whole, 20 MiB,
//                HEAD, Range (ignored), If-None-Match — and keeps serving them from its store once
//                nginx is gone; unknown origins, origin 404s, paths leaving the base and
//                X-Thunder-Integrity mismatches (502, nothing stored or mapped).
//   IpfsOrigin   node B with [ipfs] gateways = [node A] fetches a CID it lacks from A (one CAR,
//                verified, imported) and keeps serving it after A stopped; a lying gateway (a
//                block's bytes flipped) gets 502 naming the block and nothing is imported; a
//                gateway's 404 is the node's 404.
//   SingleFlight N concurrent requests of one missing origin URL make one origin request.
//
// HTTP clients are `curl` processes; the origins are nginx and fetcher::testing::TestOrigin.
// No sleeps: nginx is ready when its pid file is written (after it listens; inotify), the
// TestOrigin holds its answer behind a Gate until the node's metrics show every request joined.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "content/ipfs_car.h"
#include "content/ipfs_multiformats.h"
#include "crypto/blake3.h"
#include "fetcher/fetcher_test_support.h"
#include "harness.h"
#include "net/http_client.h"

extern char** environ;

namespace thunder::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;
using fetcher::testing::TestExchange;
using fetcher::testing::TestOrigin;
using fetcher::testing::TestRequest;

const fs::path kDirWithFiles = fs::path(THUNDER_FIXTURES_DIR) / "ipfs-gateway-conformance" /
                               "path_gateway_unixfs" / "dir-with-files.car";
constexpr const char* kDirCid = "bafybeihchr7vmgjaasntayyatmp5sv6xza57iy2h4xj7g46bpjij6yhrmy";
constexpr const char* kHelloCid = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";

std::string readFile(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void writeFile(const fs::path& file, std::string_view bytes) {
  std::ofstream(file, std::ios::binary) << bytes;
}

std::string randomBytes(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(rng());
  return out;
}

std::string blake3Hex(std::string_view bytes) {
  return crypto::blake3({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}).hex();
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// Runs a shell command; its stdout, or nullopt when it failed.
std::optional<std::string> shell(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return std::nullopt;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  if (::pclose(pipe) != 0) return std::nullopt;
  return out;
}

// One `curl` exchange.
struct Http {
  int curl_exit = -1;  // 0: complete; 18: the body was cut short
  int status = 0;
  std::string headers;  // as received
  std::string body;

  // The first value of header `name` (case-insensitive), "" when absent.
  std::string header(std::string_view name) const {
    std::istringstream lines(headers);
    std::string line;
    while (std::getline(lines, line)) {
      const size_t colon = line.find(':');
      if (colon != name.size()) continue;
      bool same = true;
      for (size_t i = 0; i < colon; ++i) {
        same = same && std::tolower(static_cast<unsigned char>(line[i])) ==
                           std::tolower(static_cast<unsigned char>(name[i]));
      }
      if (!same) continue;
      std::string value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ')) value.erase(0, 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
      return value;
    }
    return "";
  }
};

// Runs curl with `args` (shell words; quote URLs), keeping the response in files under `dir`.
// Thread-safe.
class Curl {
 public:
  explicit Curl(fs::path dir) : dir_(std::move(dir)) { fs::create_directories(dir_); }

  Http operator()(const std::string& args) {
    const std::string n = std::to_string(++count_);
    const fs::path headers = dir_ / ("h" + n);
    const fs::path body = dir_ / ("b" + n);
    const std::string command = "curl -s --max-time 120 -D '" + headers.string() + "' -o '" +
                                body.string() + "' -w '%{http_code}' " + args;
    Http out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return out;
    char buffer[64];
    std::string status;
    size_t got;
    while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) status.append(buffer, got);
    const int wait_status = ::pclose(pipe);
    out.curl_exit = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
    out.status = std::atoi(status.c_str());
    out.headers = readFile(headers);
    out.body = readFile(body);
    std::error_code ignored;
    fs::remove(headers, ignored);
    fs::remove(body, ignored);
    return out;
  }

 private:
  fs::path dir_;
  std::atomic<int> count_{0};
};

// A counter or gauge of a node's /metrics (no labels); -1 when absent.
double metric(const std::string& admin, std::string_view name) {
  auto metrics = net::httpGet(admin, "/metrics");
  if (!metrics) return -1;
  std::istringstream lines(metrics->body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ' ') {
      return std::strtod(line.c_str() + name.size() + 1, nullptr);
    }
  }
  return -1;
}

// A `thunder run` node on free loopback ports, configured by <data>/config.toml.
class Node {
 public:
  Node(const fs::path& data, const std::string& config) {
    fs::create_directories(data);
    writeFile(data / "config.toml", config);
    process_ = std::make_unique<Process>(std::vector<std::string>{
        "--data-dir", data.string(), "run", "--admin-listen", "127.0.0.1:0", "--sessions-listen",
        "127.0.0.1:0", "--gateway-listen", "127.0.0.1:0", "--json"});
    auto line = process_->readLine();
    if (!line) {
      process_->wait(10s);
      ADD_FAILURE() << "the node did not start: " << process_->stderrText();
      return;
    }
    ready_ = json::parse(*line);
  }
  ~Node() { stop(); }

  bool running() const { return !ready_.is_null() && !stopped_; }
  std::string gateway() const { return ready_.value("gateway", ""); }
  std::string admin() const { return ready_.value("admin", ""); }
  double metric(std::string_view name) const { return testing::metric(admin(), name); }

  void stop() {
    if (stopped_ || ready_.is_null()) return;
    stopped_ = true;
    process_->signal(SIGTERM);
    EXPECT_EQ(process_->wait(15s), 0) << process_->stderrText();
  }

 private:
  std::unique_ptr<Process> process_;
  json ready_;
  bool stopped_ = false;
};

std::optional<std::string> findNginx() {
  for (const char* candidate : {"/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

// A port that was free a moment ago (nginx cannot report a port 0 it bound).
uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

// nginx serving `root` on 127.0.0.1 with an access log, in the foreground (daemon off), its
// files in `dir`. Ready when its pid file is written: nginx writes it after it opened its
// listening sockets.
class Nginx {
 public:
  Nginx(const std::string& binary, fs::path dir, const fs::path& root) : dir_(std::move(dir)) {
    fs::create_directories(dir_ / "tmp");
    for (int attempt = 0; attempt < 5 && pid_ < 0; ++attempt) start(binary, root);
  }
  ~Nginx() { stop(); }

  bool running() const { return pid_ > 0; }
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }
  std::string log() const { return readFile(dir_ / "error.log") + readFile(dir_ / "out"); }

  // Fast shutdown; when this returns nginx has exited and its access log is complete.
  void stop() {
    if (pid_ < 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // Requests in the access log with this request line ("GET /a.bin HTTP/1.1"); after stop().
  size_t requests(const std::string& request_line) const {
    const std::string needle = "\"" + request_line + "\"";
    std::istringstream lines(readFile(dir_ / "access.log"));
    std::string line;
    size_t n = 0;
    while (std::getline(lines, line)) n += contains(line, needle) ? 1 : 0;
    return n;
  }

 private:
  void start(const std::string& binary, const fs::path& root) {
    port_ = freePort();
    const std::string d = dir_.string();
    std::ofstream(dir_ / "nginx.conf")
        << (::geteuid() == 0 ? "user root;\n" : "")  // workers must read the 0700 temp dirs
        << "worker_processes 1;\ndaemon off;\npid " << d << "/nginx.pid;\nerror_log " << d
        << "/error.log warn;\nevents { worker_connections 256; }\nhttp {\n  access_log " << d
        << "/access.log;\n  sendfile on;\n  client_body_temp_path " << d
        << "/tmp/body;\n  proxy_temp_path " << d << "/tmp/proxy;\n  fastcgi_temp_path " << d
        << "/tmp/fastcgi;\n  uwsgi_temp_path " << d << "/tmp/uwsgi;\n  scgi_temp_path " << d
        << "/tmp/scgi;\n  default_type application/octet-stream;\n  server { listen 127.0.0.1:"
        << port_ << "; root " << root.string() << "; }\n}\n";
    std::error_code ignored;
    fs::remove(dir_ / "nginx.pid", ignored);
    const int notify = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    ASSERT_GE(notify, 0);
    ASSERT_GE(::inotify_add_watch(notify, d.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO), 0);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, (d + "/out").c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<std::string> args = {binary,  "-e", d + "/error.log", "-p",
                                     d + "/", "-c", d + "/nginx.conf"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    const int spawned = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
      ::close(notify);
      ADD_FAILURE() << "cannot start " << binary;
      return;
    }
    const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    bool ready = false;
    bool exited = false;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!ready && !exited && std::chrono::steady_clock::now() < deadline) {
      pollfd fds[2] = {{notify, POLLIN, 0}, {pidfd, POLLIN, 0}};
      if (::poll(fds, pidfd >= 0 ? 2 : 1, 1000) <= 0) continue;
      if (fds[1].revents != 0) exited = true;
      alignas(inotify_event) char events[4096];
      ssize_t n;
      while ((n = ::read(notify, events, sizeof events)) > 0) {
        for (ssize_t at = 0; at < n;) {
          const auto* event = reinterpret_cast<const inotify_event*>(events + at);
          if (event->len > 0 && std::string_view(event->name) == "nginx.pid") ready = true;
          at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        }
      }
    }
    ::close(notify);
    if (pidfd >= 0) ::close(pidfd);
    if (ready && !exited) {
      pid_ = pid;
      return;
    }
    ::kill(pid, SIGKILL);  // no-op when it exited (a taken port): try another
    ::waitpid(pid, nullptr, 0);
  }

  fs::path dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

class Origins : public ::testing::Test {
 protected:
  fs::path path(const std::string& name) const { return dir_.path() / name; }

  TempDir dir_;
  Curl curl_{dir_.path() / "curl"};
};

// ---------------------------------------------------------------------------------------------
// HTTP origins: nginx behind /origin/site/.

TEST_F(Origins, HttpOriginThroughTheGatewayIsFetchedOnceVerifiedAndCached) {
  const auto nginx_binary = findNginx();
  if (!nginx_binary) GTEST_SKIP() << "nginx is not installed (scripts/setup installs it)";
  const fs::path www = path("www");
  fs::create_directories(www / "sub");
  const std::string small = randomBytes(300'000, 1);
  const std::string big = randomBytes(20u << 20, 2);
  const std::string tiny = "tiny file, fetched once with a wrong integrity\n";
  const std::string signed_text = "a file with the right integrity\n";
  writeFile(www / "a.bin", small);
  writeFile(www / "big.bin", big);
  writeFile(www / "t.txt", tiny);
  writeFile(www / "sub" / "s.txt", signed_text);
  writeFile(path("secret.txt"), "outside the origin's root\n");

  Nginx nginx(*nginx_binary, path("nginx"), www);
  ASSERT_TRUE(nginx.running()) << nginx.log();
  Node node(path("node"), "[[origins]]\nname = \"site\"\nurl = \"" + nginx.url() + "\"\n");
  ASSERT_TRUE(node.running());
  const std::string site = node.gateway() + "/origin/site/";

  // A miss: streamed from nginx while it downloads, the exact bytes.
  Http a = curl_("'" + site + "a.bin'");
  ASSERT_EQ(a.curl_exit, 0);
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(a.body == small) << a.body.size() << " bytes";
  EXPECT_EQ(a.header("Content-Length"), "300000");
  EXPECT_EQ(a.header("Cache-Control"), "no-cache");
  EXPECT_EQ(a.header("X-Content-Type-Options"), "nosniff");

  // 20 MiB, streamed (the head goes out after the first bytes; the last byte after the BLAKE3
  // check of the whole body).
  Http b = curl_("'" + site + "big.bin'");
  ASSERT_EQ(b.curl_exit, 0);
  ASSERT_EQ(b.status, 200);
  EXPECT_EQ(b.header("Content-Length"), std::to_string(big.size()));
  EXPECT_TRUE(b.body == big) << b.body.size() << " bytes";

  // Hits: HEAD with the exact length and the blob id as ETag, If-None-Match → 304, a Range
  // header ignored (docs/gateway.md "Origins": no ranges, 200 with the whole body).
  const std::string small_id = blake3Hex(small);
  Http head = curl_("-I '" + site + "a.bin'");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("Content-Length"), "300000") << head.headers;
  EXPECT_EQ(head.header("ETag"), "\"" + small_id + "\"") << head.headers;
  Http revalidated = curl_("-H 'If-None-Match: \"" + small_id + "\"' '" + site + "a.bin'");
  EXPECT_EQ(revalidated.status, 304);
  EXPECT_TRUE(revalidated.body.empty());
  Http range = curl_("-r 10-19 '" + site + "a.bin'");
  EXPECT_EQ(range.status, 200);
  EXPECT_TRUE(range.body == small) << range.body.size() << " bytes";
  // The fetched bytes are a blob of the node's store.
  Http blob = curl_("'" + node.gateway() + "/b3/" + small_id + "'");
  EXPECT_EQ(blob.status, 200);
  EXPECT_TRUE(blob.body == small);
  // A path with "." and empty segments resolves to the same URL: still one origin request.
  Http dotted = curl_("--path-as-is '" + site + "./sub//s.txt'");
  EXPECT_EQ(dotted.status, 200);
  EXPECT_EQ(dotted.body, signed_text);

  // Refusals.
  Http unknown = curl_("'" + node.gateway() + "/origin/nope/a.bin'");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_TRUE(contains(unknown.body, "configured: site")) << unknown.body;
  Http missing = curl_("'" + site + "no-such-file.bin'");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(contains(missing.body, "404")) << missing.body;
  for (const std::string escape : {"../secret.txt", "sub/../../secret.txt", "%2e%2e/secret.txt",
                                   "sub/%2E%2e/%2e%2E/secret.txt", "..%2fsecret.txt"}) {
    Http refused = curl_("--path-as-is '" + site + escape + "'");
    EXPECT_EQ(refused.status, 400) << escape << ": " << refused.body;
    EXPECT_TRUE(contains(refused.body, "would leave the origin's base")) << refused.body;
  }
  Http no_name = curl_("'" + node.gateway() + "/origin/'");
  EXPECT_EQ(no_name.status, 400);
  Http post = curl_("-X POST --data x '" + site + "a.bin'");
  EXPECT_EQ(post.status, 405);

  // SRI: a wrong digest → 502, nothing stored (the blob of those bytes is not in the store) and
  // nothing mapped (checked below, with nginx gone).
  const std::string wrong = "sha256-" + std::string(43, 'A') + "=";
  Http bad = curl_("-H 'X-Thunder-Integrity: " + wrong + "' '" + site + "t.txt'");
  EXPECT_EQ(bad.status, 502);
  EXPECT_TRUE(contains(bad.body, "nothing was stored")) << bad.body;
  EXPECT_TRUE(contains(bad.body, "fails its integrity check")) << bad.body;
  EXPECT_EQ(curl_("'" + node.gateway() + "/b3/" + blake3Hex(tiny) + "'").status, 404);
  // A body longer than the head's sniffing window may get its head before verification: then the
  // response is cut instead — never a complete 200.
  Http bad_big = curl_("-H 'X-Thunder-Integrity: " + wrong + "' '" + site + "a.bin?v=sri'");
  EXPECT_FALSE(bad_big.curl_exit == 0 && bad_big.status == 200)
      << bad_big.status << " " << bad_big.body.size() << " bytes";
  EXPECT_TRUE(bad_big.status == 502 || bad_big.curl_exit == 18)
      << bad_big.status << " curl exit " << bad_big.curl_exit;
  // The right digest: served.
  const auto sri = shell("openssl dgst -sha384 -binary '" + (www / "sub" / "s.txt").string() +
                         "' | openssl base64 -A");
  ASSERT_TRUE(sri.has_value());
  Http good = curl_("-H 'X-Thunder-Integrity: sha384-" + *sri + "' '" + site + "sub/s.txt?v=sri'");
  EXPECT_EQ(good.status, 200) << good.body;
  EXPECT_EQ(good.body, signed_text);
  Http malformed = curl_("-H 'X-Thunder-Integrity: sha384-!!' '" + site + "sub/s.txt'");
  EXPECT_EQ(malformed.status, 400) << malformed.body;

  // nginx saw each URL once, whatever the node was asked (never a HEAD), and no escape.
  nginx.stop();
  EXPECT_EQ(nginx.requests("GET /a.bin HTTP/1.1"), 1u);
  EXPECT_EQ(nginx.requests("GET /big.bin HTTP/1.1"), 1u);
  EXPECT_EQ(nginx.requests("GET /sub/s.txt HTTP/1.1"), 1u);
  EXPECT_EQ(nginx.requests("GET /t.txt HTTP/1.1"), 1u);
  EXPECT_EQ(nginx.requests("GET /secret.txt HTTP/1.1"), 0u);
  EXPECT_FALSE(contains(readFile(path("nginx") / "access.log"), "\"HEAD "));

  // With the origin gone, what was fetched is still served, from the store.
  Http cached = curl_("'" + site + "a.bin'");
  EXPECT_EQ(cached.status, 200);
  EXPECT_TRUE(cached.body == small);
  EXPECT_EQ(cached.header("Content-Length"), "300000") << cached.headers;
  Http cached_big = curl_("'" + site + "big.bin'");
  EXPECT_EQ(cached_big.status, 200);
  EXPECT_TRUE(cached_big.body == big) << cached_big.body.size() << " bytes";
  EXPECT_EQ(cached_big.header("Content-Length"), std::to_string(big.size()));
  EXPECT_EQ(curl_("'" + site + "sub/s.txt'").body, signed_text);
  // ... and what failed verification was not mapped: it needs the origin, which is gone.
  Http unmapped = curl_("'" + site + "t.txt'");
  EXPECT_EQ(unmapped.status, 502) << unmapped.body;
  EXPECT_TRUE(contains(unmapped.body, "origin \"site\" failed")) << unmapped.body;
  EXPECT_EQ(curl_("'" + site + "a.bin?v=sri'").status, 502);
  // Downloads started: a, big, sub/s, no-such-file, t, a?v=sri, sub/s?v=sri, then t and a?v=sri
  // again; failed: no-such-file, both t, both a?v=sri. (Each counter moves before the answer.)
  EXPECT_EQ(node.metric("thunder_fetcher_downloads_total"), 9);
  EXPECT_EQ(node.metric("thunder_fetcher_downloads_failed_total"), 5);
}

// ---------------------------------------------------------------------------------------------
// IPFS origins: node B fills its empty IPFS store from node A's gateway.

TEST_F(Origins, IpfsOriginFetchesVerifiesImportsAndKeepsServing) {
  // Node A: the fixture imported (pinned) before it starts.
  const fs::path a_data = path("a");
  auto imported = runThunder({"--data-dir", a_data.string(), "import", kDirWithFiles.string()});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  Node a(a_data, "");
  ASSERT_TRUE(a.running());
  const std::string dir = std::string("/ipfs/") + kDirCid;
  Http from_a = curl_("'" + a.gateway() + dir + "?format=car'");
  ASSERT_EQ(from_a.status, 200);

  // B holds, pinned, a blob with exactly the bytes of the CAR it will download: the IPFS origin
  // removes its downloaded CAR after the import, but must leave that blob alone.
  Http whole_car = curl_("'" + a.gateway() + dir + "?format=car&dag-scope=all'");
  ASSERT_EQ(whole_car.status, 200);
  writeFile(path("whole.car"), whole_car.body);
  const std::string car_blob = blake3Hex(whole_car.body);
  fs::create_directories(path("b"));
  auto put = runThunder({"--data-dir", path("b").string(), "put", "--pin", path("whole.car")});
  ASSERT_EQ(put.exit_code, 0) << put.err;

  Node b(path("b"), "[ipfs]\ngateways = [\"" + a.gateway() + "\"]\n");
  ASSERT_TRUE(b.running());
  const std::string gw = b.gateway();
  Http hello = curl_("'" + gw + dir + "/hello.txt'");
  ASSERT_EQ(hello.status, 200) << hello.body;
  EXPECT_EQ(hello.body, "hello world\n");
  Http car = curl_("'" + gw + dir + "?format=car'");
  ASSERT_EQ(car.status, 200) << car.body;
  EXPECT_TRUE(car.body == from_a.body);
  EXPECT_TRUE(contains(car.header("Content-Type"), "application/vnd.ipld.car"));
  {
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(car.body.data()),
                                         car.body.size());
    auto reader = content::ipfs::CarReader::open(content::ipfs::spanByteReader(bytes));
    ASSERT_TRUE(reader) << reader.error().message;
    ASSERT_EQ(reader->roots().size(), 1u);
    EXPECT_EQ(reader->roots()[0].toString(), kDirCid);
    size_t blocks = 0;
    for (;;) {
      auto block = reader->next();  // verifies each block's hash
      ASSERT_TRUE(block) << block.error().message;
      if (!*block) break;
      ++blocks;
    }
    EXPECT_EQ(blocks, 9u);
  }
  Http multiblock = curl_("'" + gw + dir + "/multiblock.txt'");
  EXPECT_EQ(multiblock.status, 200);
  EXPECT_EQ(multiblock.body.size(), 1026u);
  // One CAR download for all of it: the DAG came whole, then was served from B's store.
  EXPECT_EQ(b.metric("thunder_fetcher_downloads_total"), 1);
  Http pinned = curl_("'" + gw + "/b3/" + car_blob + "'");
  EXPECT_EQ(pinned.status, 200) << pinned.body;
  EXPECT_TRUE(pinned.body == whole_car.body);

  // Node C, empty too, gets concurrent requests for the missing CID (several paths and formats):
  // they share the download; every answer is right.
  {
    Node c(path("c"), "[ipfs]\ngateways = [\"" + a.gateway() + "\"]\n");
    ASSERT_TRUE(c.running());
    const std::vector<std::pair<std::string, std::string>> asks = {
        {dir + "/hello.txt", "hello world\n"},
        {dir + "/ascii.txt", "hello application/vnd.ipld.car\n"},
        {dir + "?format=car", from_a.body},
        {dir + "/hello.txt", "hello world\n"},
        {dir + "/ascii.txt", "hello application/vnd.ipld.car\n"},
        {dir + "/hello.txt", "hello world\n"}};
    std::vector<Http> answers(asks.size());
    std::vector<std::thread> clients;
    for (size_t i = 0; i < asks.size(); ++i) {
      const std::string arg = "'" + c.gateway() + asks[i].first + "'";
      clients.emplace_back([&, i, arg] { answers[i] = curl_(arg); });
    }
    for (auto& client : clients) client.join();
    for (size_t i = 0; i < asks.size(); ++i) {
      EXPECT_EQ(answers[i].status, 200) << asks[i].first << ": " << answers[i].body;
      EXPECT_TRUE(answers[i].body == asks[i].second) << asks[i].first << ": " << answers[i].body;
    }
    EXPECT_GE(c.metric("thunder_fetcher_downloads_total"), 1);
  }

  // A gone: B serves what it imported.
  a.stop();
  Http again = curl_("'" + gw + dir + "/hello.txt'");
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, "hello world\n");
  EXPECT_TRUE(curl_("'" + gw + dir + "?format=car'").body == from_a.body);
  Http raw = curl_("'" + gw + "/ipfs/" + kHelloCid + "?format=raw'");
  EXPECT_EQ(raw.status, 200);
  EXPECT_EQ(raw.body, "hello world\n");
  // Content B never had needs the gateway, which is gone: 502 naming it.
  const std::string never = "never imported anywhere\n";
  const std::string never_cid =
      content::ipfs::Cid::sha256Of(content::ipfs::kRaw,
                                   {reinterpret_cast<const uint8_t*>(never.data()), never.size()})
          .toString();
  Http unreachable = curl_("'" + gw + "/ipfs/" + never_cid + "?format=raw'");
  EXPECT_EQ(unreachable.status, 502) << unreachable.body;
  EXPECT_TRUE(contains(unreachable.body, a.gateway())) << unreachable.body;
  EXPECT_EQ(b.metric("thunder_fetcher_downloads_total"), 2);
}

TEST_F(Origins, LyingIpfsGatewayIsRejectedAndNothingIsImported) {
  const std::string fixture = readFile(kDirWithFiles);
  std::string corrupt = fixture;
  const size_t hello_at = corrupt.find("hello world\n");
  ASSERT_NE(hello_at, std::string::npos);
  corrupt[hello_at] ^= 0x01;  // "iello world\n": the block of kHelloCid no longer hashes to it

  std::mutex mutex;
  std::vector<std::string> targets;  // what the gateway was asked
  TestOrigin liar;
  const std::string dir_path = std::string("/ipfs/") + kDirCid;
  const auto serve = [&](const std::string* car) {
    return [&, car](const TestRequest& request, TestExchange& exchange) {
      {
        std::lock_guard lock(mutex);
        targets.push_back(request.target);
      }
      if (car == nullptr) {
        exchange.respond(404, "not here\n");
      } else {
        exchange.respond(200, *car, {"Content-Type: application/vnd.ipld.car; version=1"});
      }
    };
  };
  liar.route(dir_path, serve(&corrupt));

  Node node(path("node"), "[ipfs]\ngateways = [\"" + liar.url("/") + "\"]\n");
  ASSERT_TRUE(node.running());
  const std::string gw = node.gateway();

  // The whole CAR is refused: 502 naming the block whose bytes do not hash to its CID.
  Http lied = curl_("'" + gw + dir_path + "/hello.txt'");
  EXPECT_EQ(lied.status, 502) << lied.body;
  EXPECT_TRUE(contains(lied.body, kHelloCid)) << lied.body;
  EXPECT_TRUE(contains(lied.body, "hash mismatch")) << lied.body;
  EXPECT_TRUE(contains(lied.body, liar.url(""))) << lied.body;
  EXPECT_EQ(liar.requests(dir_path), 1u);
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(targets.size(), 1u);
    EXPECT_EQ(targets[0], dir_path + "?format=car&dag-scope=all");
  }

  // The gateway now answers 404: so does the node, and its store has none of the CAR's blocks —
  // not the root, not the one that was corrupted, not the intact ones.
  liar.route(dir_path, serve(nullptr));
  Http root = curl_("'" + gw + dir_path + "?format=raw'");
  EXPECT_EQ(root.status, 404) << root.body;
  EXPECT_EQ(liar.requests(dir_path), 2u);  // asked again: the lie was not remembered
  Http hello = curl_("'" + gw + "/ipfs/" + kHelloCid + "?format=raw'");
  EXPECT_EQ(hello.status, 404) << hello.body;
  EXPECT_EQ(liar.requests(std::string("/ipfs/") + kHelloCid), 1u);  // TestOrigin: 404
  Http path_404 = curl_("'" + gw + dir_path + "/hello.txt'");
  EXPECT_EQ(path_404.status, 404) << path_404.body;

  // An honest answer at the same URL is then fetched, verified and imported.
  liar.route(dir_path, serve(&fixture));
  Http honest = curl_("'" + gw + dir_path + "/hello.txt'");
  EXPECT_EQ(honest.status, 200) << honest.body;
  EXPECT_EQ(honest.body, "hello world\n");
  EXPECT_EQ(curl_("'" + gw + "/ipfs/" + kHelloCid + "?format=raw'").body, "hello world\n");
}

// ---------------------------------------------------------------------------------------------
// Single flight through the node.

TEST_F(Origins, ConcurrentMissesOfOneUrlMakeOneOriginRequest) {
  constexpr size_t kClients = 8;
  const std::string body = randomBytes(200'000, 7);
  TestOrigin origin;
  origin.route("/slow.bin", [&](const TestRequest&, TestExchange& exchange) {
    origin.gate("release").wait();  // until every client's request joined the download
    exchange.respond(200, body);
  });
  Node node(path("node"), "[[origins]]\nname = \"slow\"\nurl = \"" + origin.url("/") + "\"\n");
  ASSERT_TRUE(node.running());
  const std::string url = node.gateway() + "/origin/slow/slow.bin?x=1";

  std::vector<Http> answers(kClients);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] { answers[i] = curl_("'" + url + "'"); });
  }
  // Every request reached the fetcher (one started the download, the others joined it) while
  // the origin holds its answer.
  origin.waitForRequests(1);
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (node.metric("thunder_fetcher_requests_total") < kClients &&
         std::chrono::steady_clock::now() < deadline) {
  }
  EXPECT_EQ(node.metric("thunder_fetcher_requests_total"), static_cast<double>(kClients));
  origin.gate("release").open();
  for (auto& client : clients) client.join();

  for (const Http& answer : answers) {
    EXPECT_EQ(answer.curl_exit, 0);
    EXPECT_EQ(answer.status, 200);
    EXPECT_TRUE(answer.body == body) << answer.body.size() << " bytes";
  }
  EXPECT_EQ(origin.requests("/slow.bin"), 1u);
  EXPECT_EQ(node.metric("thunder_fetcher_downloads_total"), 1);
  EXPECT_EQ(node.metric("thunder_fetcher_joined_total"), static_cast<double>(kClients - 1));
  // And afterwards from the store (or, if the put is still running, from the same download).
  EXPECT_TRUE(curl_("'" + url + "'").body == body);
  EXPECT_EQ(origin.requests("/slow.bin"), 1u);
  EXPECT_EQ(node.metric("thunder_fetcher_downloads_total"), 1);
}

}  // namespace
}  // namespace thunder::testing
