// thunder_test_hostile: a deliberately misbehaving program that the executor sandbox tests run
// inside the sandbox (src/executor/sandbox_test.cc). Each subcommand tries one hostile thing and
// reports the outcome on stdout as one line; exit code 0 means "the hostile action SUCCEEDED",
// 10 means "the kernel refused it" (the line says which errno), 2 means bad usage.
//
//   read FILE                   open and read FILE
//   tcp-connect 127.0.0.1 PORT  open a TCP connection
//   fork-bomb                   fork until fork fails
//   alloc-forever               allocate and touch memory until allocation fails
//   spin                        burn CPU forever
//   ptrace-self                 PTRACE_TRACEME
//   mount                       mount a tmpfs on /
//   print-ids                   print uid/gid/pid/ppid/effective capabilities
//   echo-fd N                   echo everything read from fd N back to fd N until EOF
//   forbidden-syscall           call syslog(2), which no service needs (not on the allowlist)
//
// Single-threaded, plain libc, no C++ runtime allocation in the hostile paths.
#include <arpa/inet.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

constexpr int kSucceeded = 0;
constexpr int kRefused = 10;
constexpr int kUsage = 2;

int refused(const char* what) {
  std::printf("%s refused errno=%d (%s)\n", what, errno, std::strerror(errno));
  std::fflush(stdout);
  return kRefused;
}

int readFile(const char* path) {
  FILE* file = std::fopen(path, "r");
  if (file == nullptr) return refused("read");
  char buffer[256];
  size_t n = std::fread(buffer, 1, sizeof buffer, file);
  std::fclose(file);
  std::printf("read ok bytes=%zu\n", n);
  return kSucceeded;
}

int tcpConnect(const char* host, const char* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return refused("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
  if (::inet_pton(AF_INET, host, &addr.sin_addr) != 1) return kUsage;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return refused("connect");
  }
  std::printf("connect ok\n");
  return kSucceeded;
}

int forkBomb() {
  constexpr int kGiveUpAfter = 100000;  // "unbounded" if this many forks succeed
  for (int count = 0; count < kGiveUpAfter; ++count) {
    pid_t pid = ::fork();
    if (pid < 0) {
      int saved = errno;
      std::printf("fork refused errno=%d (%s) after=%d\n", saved, std::strerror(saved), count);
      std::fflush(stdout);
      return kRefused;
    }
    if (pid == 0) {
      ::close(STDOUT_FILENO);
      for (;;) ::pause();
    }
  }
  std::printf("fork ok: %d processes\n", kGiveUpAfter);
  return kSucceeded;
}

int allocForever() {
  constexpr size_t kChunk = 16u << 20;
  size_t total_mib = 0;
  for (;;) {
    void* chunk = std::malloc(kChunk);
    if (chunk == nullptr) {
      int saved = errno;
      std::printf("alloc refused errno=%d after_mib=%zu\n", saved, total_mib);
      std::fflush(stdout);
      return kRefused;
    }
    std::memset(chunk, 0xA5, kChunk);
    total_mib += kChunk >> 20;
    if (total_mib >= (64u << 10)) {  // 64 GiB: nothing stopped us
      std::printf("alloc ok mib=%zu\n", total_mib);
      return kSucceeded;
    }
  }
}

int spin() {
  volatile unsigned long counter = 0;
  for (;;) counter = counter + 1;
}

int ptraceSelf() {
  if (::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) return refused("ptrace");
  std::printf("ptrace ok\n");
  return kSucceeded;
}

int mountTmpfs() {
  if (::mount("none", "/", "tmpfs", 0, nullptr) != 0) return refused("mount");
  std::printf("mount ok\n");
  return kSucceeded;
}

int printIds() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  unsigned long long effective = ~0ull;
  if (::syscall(SYS_capget, &header, data) == 0) {
    effective = (static_cast<unsigned long long>(data[1].effective) << 32) | data[0].effective;
  }
  std::printf("uid=%u euid=%u gid=%u egid=%u pid=%d ppid=%d capeff=%llx\n", ::getuid(), ::geteuid(),
              ::getgid(), ::getegid(), ::getpid(), ::getppid(), effective);
  return kSucceeded;
}

int forbiddenSyscall() {
  char buffer[64];
  if (::syscall(SYS_syslog, 3, buffer, static_cast<int>(sizeof buffer)) < 0)
    return refused("syslog");
  std::printf("syslog ok\n");
  return kSucceeded;
}

int echoFd(const char* fd_text) {
  int fd = std::atoi(fd_text);
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) return kSucceeded;
    if (n < 0) {
      if (errno == EINTR) continue;
      return refused("read fd");
    }
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::write(fd, buffer + off, static_cast<size_t>(n - off));
      if (w < 0) return refused("write fd");
      off += w;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return kUsage;
  const char* command = argv[1];
  if (std::strcmp(command, "read") == 0 && argc == 3) return readFile(argv[2]);
  if (std::strcmp(command, "tcp-connect") == 0 && argc == 4) return tcpConnect(argv[2], argv[3]);
  if (std::strcmp(command, "fork-bomb") == 0) return forkBomb();
  if (std::strcmp(command, "alloc-forever") == 0) return allocForever();
  if (std::strcmp(command, "spin") == 0) return spin();
  if (std::strcmp(command, "ptrace-self") == 0) return ptraceSelf();
  if (std::strcmp(command, "mount") == 0) return mountTmpfs();
  if (std::strcmp(command, "print-ids") == 0) return printIds();
  if (std::strcmp(command, "forbidden-syscall") == 0) return forbiddenSyscall();
  if (std::strcmp(command, "echo-fd") == 0 && argc == 3) return echoFd(argv[2]);
  std::fprintf(stderr, "usage: %s read FILE | tcp-connect HOST PORT | fork-bomb | ...\n", argv[0]);
  return kUsage;
}
