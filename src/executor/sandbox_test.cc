// Hostile-service tests for the sandbox: each runs thunder_test_hostile (tests/sandbox/hostile.cc)
// inside spawnSandboxed() and checks that one misbehaviour is contained. These need root or
// unprivileged user namespaces; the suite fails loudly (not skips) when the kernel refuses.
#include "executor/sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace thunder::executor {
namespace {

using std::chrono::milliseconds;

// A deadline for "the child must have finished by now", not a performance threshold.
constexpr milliseconds kDeadline{120'000};

struct SandboxRun {
  ExitStatus status;
  std::string output;
  SandboxReport report;
};

std::string readAll(int fd) {
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) > 0;) text.append(buffer, n);
  return text;
}

// The hostile program, copied to a world-traversable folder: the sandboxed (mapped,
// unprivileged) user must be able to reach the executable it binds, and a build tree may sit
// below a 0700 folder (e.g. a fresh clone made with mktemp -d).
class HostileCopy {
 public:
  HostileCopy() {
    char dir[] = "/tmp/thunder-sandbox-test.XXXXXX";
    if (::mkdtemp(dir) == nullptr) std::abort();
    dir_ = dir;
    ::chmod(dir_.c_str(), 0755);
    path_ = dir_ / "thunder_test_hostile";
    std::filesystem::copy_file(THUNDER_TEST_HOSTILE, path_);
    ::chmod(path_.c_str(), 0755);
  }
  ~HostileCopy() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path dir_;
  std::filesystem::path path_;
};

const std::string& hostileBinary() {
  static const HostileCopy copy;
  static const std::string path = copy.path().string();
  return path;
}

SandboxSpec hostileSpec(std::vector<std::string> args) {
  SandboxSpec spec;
  spec.executable = hostileBinary();
  spec.args = std::move(args);
  return spec;
}

// Runs the spec with stdout captured, waits (with a deadline) and reaps.
SandboxRun runCaptured(SandboxSpec spec) {
  int out[2];
  EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
  UniqueFd out_read(out[0]), out_write(out[1]);
  spec.fds.push_back({out_write.get(), 1});
  auto process = spawnSandboxed(spec);
  EXPECT_TRUE(process.has_value()) << (process ? "" : process.error().message);
  if (!process) return {};
  out_write.reset();
  auto status = process->wait(kDeadline);
  EXPECT_TRUE(status.has_value()) << (status ? "" : status.error().message);
  if (!status) return {};
  return SandboxRun{*status, readAll(out_read.get()), process->report()};
}

TEST(SandboxTest, ReadingEtcShadowFails) {
  ASSERT_EQ(::access("/etc/shadow", F_OK), 0) << "the host has no /etc/shadow to protect";
  SandboxRun run = runCaptured(hostileSpec({"read", "/etc/shadow"}));
  EXPECT_TRUE(run.status.exitedWith(10)) << run.status.describe() << " " << run.output;
  EXPECT_NE(run.output.find("read refused"), std::string::npos) << run.output;
}

TEST(SandboxTest, ReadingAFileOutsideTheAllowlistFails) {
  char dir_template[] = "/tmp/thunder-sandbox-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);
  std::string file = dir + "/secret.txt";
  std::ofstream(file) << "node secret key\n";
  ASSERT_EQ(::chmod(file.c_str(), 0644), 0);  // world-readable: only the mount namespace hides it

  SandboxRun run = runCaptured(hostileSpec({"read", file}));
  EXPECT_TRUE(run.status.exitedWith(10)) << run.status.describe() << " " << run.output;
  EXPECT_NE(run.output.find("read refused errno=2"), std::string::npos) << run.output;
  ::unlink(file.c_str());
  ::rmdir(dir.c_str());
}

TEST(SandboxTest, ReadingAnAllowlistedFileWorks) {  // the control for the two tests above
  SandboxRun run = runCaptured(hostileSpec({"read", hostileBinary()}));
  EXPECT_TRUE(run.status.exitedWith(0)) << run.status.describe() << " " << run.output;
  EXPECT_NE(run.output.find("read ok"), std::string::npos) << run.output;
}

TEST(SandboxTest, TcpConnectToLoopbackFails) {
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  ASSERT_TRUE(listener.valid());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 16), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);

  SandboxRun run =
      runCaptured(hostileSpec({"tcp-connect", "127.0.0.1", std::to_string(ntohs(addr.sin_port))}));
  EXPECT_TRUE(run.status.exitedWith(10)) << run.status.describe() << " " << run.output;
  EXPECT_NE(run.output.find("socket refused errno=1"), std::string::npos) << run.output;
  // The child is reaped, so any connection it made would already be queued on the listener.
  UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  EXPECT_FALSE(accepted.valid());
  EXPECT_EQ(errno, EAGAIN);
}

TEST(SandboxTest, ForkBombIsContainedByTheProcessLimit) {
  SandboxSpec spec = hostileSpec({"fork-bomb"});
  spec.limits.processes = 16;
  SandboxRun run = runCaptured(spec);
  EXPECT_TRUE(run.status.exitedWith(10)) << run.status.describe() << " " << run.output;
  EXPECT_NE(run.output.find("fork refused errno=11"), std::string::npos) << run.output;
  // The test process itself can still fork (the limit belongs to the sandbox's uid).
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(0);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  EXPECT_TRUE(WIFEXITED(wstatus));
}

TEST(SandboxTest, AllocForeverHitsTheMemoryLimit) {
  SandboxSpec spec = hostileSpec({"alloc-forever"});
  spec.limits.address_space_bytes = uint64_t{256} << 20;
  SandboxRun run = runCaptured(spec);
  bool refused = run.status.exitedWith(10) && run.output.find("alloc refused") != std::string::npos;
  bool killed = run.status.killedBy(SIGKILL);  // the cgroup OOM killer, when cgroups are in force
  EXPECT_TRUE(refused || killed) << run.status.describe() << " " << run.output;
}

TEST(SandboxTest, SpinIsKilledByTheCpuTimeLimit) {
  SandboxSpec spec = hostileSpec({"spin"});
  spec.limits.cpu_seconds = 1;
  SandboxRun run = runCaptured(spec);
  EXPECT_TRUE(run.status.killedBy(SIGXCPU) || run.status.killedBy(SIGKILL))
      << run.status.describe();
}

TEST(SandboxTest, PtraceIsRefused) {
  SandboxRun run = runCaptured(hostileSpec({"ptrace-self"}));
  EXPECT_TRUE(run.status.exitedWith(10)) << run.status.describe() << " " << run.output;
  EXPECT_NE(run.output.find("ptrace refused errno=1"), std::string::npos) << run.output;
}

TEST(SandboxTest, MountIsRefused) {
  SandboxRun run = runCaptured(hostileSpec({"mount"}));
  EXPECT_TRUE(run.status.exitedWith(10)) << run.status.describe() << " " << run.output;
  EXPECT_NE(run.output.find("mount refused errno=1"), std::string::npos) << run.output;
}

TEST(SandboxTest, SyscallOutsideTheAllowlistKillsTheService) {
  SandboxRun run = runCaptured(hostileSpec({"forbidden-syscall"}));
  EXPECT_TRUE(run.status.killedBy(SIGSYS)) << run.status.describe() << " " << run.output;
}

TEST(SandboxTest, RunsAsAnUnprivilegedMappedUserAndPid1) {
  ASSERT_EQ(::geteuid(), 0u) << "the id mapping checked here is the one used when the node is root";
  SandboxRun run = runCaptured(hostileSpec({"print-ids"}));
  EXPECT_TRUE(run.status.exitedWith(0)) << run.status.describe();
  EXPECT_EQ(run.output, "uid=1000 euid=1000 gid=1000 egid=1000 pid=1 ppid=0 capeff=0\n");
}

TEST(SandboxTest, InheritedSocketIsTheWorkingChannel) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd ours(pair[0]), theirs(pair[1]);
  SandboxSpec spec = hostileSpec({"echo-fd", "3"});
  spec.fds.push_back({theirs.get(), 3});
  auto process = spawnSandboxed(spec);
  ASSERT_TRUE(process.has_value()) << process.error().message;
  theirs.reset();
  const std::string message = "hello through the sandbox";
  ASSERT_EQ(::write(ours.get(), message.data(), message.size()),
            static_cast<ssize_t>(message.size()));
  ASSERT_EQ(::shutdown(ours.get(), SHUT_WR), 0);
  EXPECT_EQ(readAll(ours.get()), message);
  auto status = process->wait(kDeadline);
  ASSERT_TRUE(status.has_value()) << status.error().message;
  EXPECT_TRUE(status->exitedWith(0)) << status->describe();
}

TEST(SandboxTest, KillStopsARunningService) {
  auto process = spawnSandboxed(hostileSpec({"spin"}));
  ASSERT_TRUE(process.has_value()) << process.error().message;
  auto early = process->wait(milliseconds{0});
  ASSERT_FALSE(early.has_value());
  EXPECT_EQ(early.error().code, ErrorCode::kTimeout);
  ASSERT_TRUE(process->kill(SIGKILL).has_value());
  auto status = process->wait(kDeadline);
  ASSERT_TRUE(status.has_value()) << status.error().message;
  EXPECT_TRUE(status->killedBy(SIGKILL)) << status->describe();
}

TEST(SandboxTest, ReportNamesWhatIsInForce) {
  SandboxRun run = runCaptured(hostileSpec({"print-ids"}));
  std::string isolation, limits;
  for (const auto& item : run.report.isolation) isolation += item + " ";
  for (const auto& item : run.report.limits) limits += item + " ";
  EXPECT_NE(isolation.find("user-ns"), std::string::npos) << isolation;
  EXPECT_NE(isolation.find("seccomp:default=kill-process"), std::string::npos) << isolation;
  EXPECT_NE(limits.find("rlimit-nproc=64"), std::string::npos) << limits;
  EXPECT_FALSE(run.report.cgroup.empty());
  RecordProperty("isolation", isolation);
  RecordProperty("limits", limits);
  RecordProperty("cgroup", run.report.cgroup);
  std::printf("isolation: %s\nlimits: %s\ncgroup: %s\n", isolation.c_str(), limits.c_str(),
              run.report.cgroup.c_str());
}

TEST(SandboxTest, ExecutableBelowAPrivateFolderRuns) {
  // The node's data dir is 0700: the sandbox binds the executable from a descriptor, so the
  // unprivileged sandbox ids never need to search its parent folders.
  char dir_template[] = "/tmp/thunder-sandbox-private-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir = dir_template;
  ASSERT_EQ(::chmod(dir.c_str(), 0700), 0);
  const std::filesystem::path copy = dir / "inner" / "hostile";
  std::filesystem::create_directories(copy.parent_path());
  std::filesystem::copy_file(hostileBinary(), copy);
  ASSERT_EQ(::chmod(copy.c_str(), 0755), 0);
  SandboxSpec spec;
  spec.executable = copy;
  spec.args = {"print-ids"};
  SandboxRun run = runCaptured(spec);
  EXPECT_TRUE(run.status.exitedWith(0)) << run.status.describe() << " " << run.output;
  EXPECT_GT(run.status.usage.max_rss_bytes, 0u);
  std::filesystem::remove_all(dir);
}

TEST(SandboxTest, ExecutableWithoutOtherExecuteBitIsRejected) {
  char dir_template[] = "/tmp/thunder-sandbox-mode-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir = dir_template;
  const std::filesystem::path copy = dir / "hostile";
  std::filesystem::copy_file(hostileBinary(), copy);
  ASSERT_EQ(::chmod(copy.c_str(), 0700), 0);
  SandboxSpec spec;
  spec.executable = copy;
  auto process = spawnSandboxed(spec);
  ASSERT_FALSE(process.has_value());
  EXPECT_EQ(process.error().code, ErrorCode::kPermissionDenied) << process.error().message;
  std::filesystem::remove_all(dir);
}

TEST(SandboxTest, RelativeExecutableIsRejected) {
  SandboxSpec spec;
  spec.executable = "thunder_test_hostile";
  auto process = spawnSandboxed(spec);
  ASSERT_FALSE(process.has_value());
  EXPECT_EQ(process.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace thunder::executor
