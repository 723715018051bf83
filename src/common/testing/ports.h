// Test support: loopback ports for servers that tests start.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace quidditch::testing {

// A TCP port on 127.0.0.1 that is free now and that no other test process on this machine
// will hand out, for a server a test starts later (often in a child process).
//
// Two races made the obvious "bind port 0, read it, close" flaky when ctest runs tests in
// parallel (seen in CI: "Address already in use" when a master process bound its port):
//   - the kernel hands out such ports from the ephemeral range, where it also picks the
//     local port of every outgoing connection, so a client anywhere on the machine could
//     take the port before the server bound it. Ports here come from below that range
//     (20000-32767), which the kernel never picks for outgoing connections by default;
//   - two test processes could pick the same port. Each port is reserved with an exclusive
//     flock on /tmp/quidditch-test-ports/<port>, held until this process exits (the kernel
//     releases it even on a crash), and is checked to be bindable.
// Fails the process loudly if no port can be found (a machine with 12k ports in use).
inline int FreeLoopbackPort() {
  static constexpr int kFirst = 20000;
  static constexpr int kCount = 12768;  // up to 32767, below Linux's default ephemeral range
  static std::atomic<unsigned> next{static_cast<unsigned>(::getpid()) * 7919u};
  const char* dir = "/tmp/quidditch-test-ports";
  ::mkdir(dir, 0777);  // may exist already; open() below reports real failures
  for (int attempt = 0; attempt < kCount; ++attempt) {
    const int port = kFirst + static_cast<int>(next.fetch_add(1) % kCount);
    const std::string lock_path = std::string(dir) + "/" + std::to_string(port);
    const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lock_fd < 0) continue;
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(lock_fd);  // another test process holds this port
      continue;
    }
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (fd >= 0) ::close(fd);
    if (free) return port;  // lock_fd stays open: the reservation lasts for this process
    ::close(lock_fd);
  }
  std::fprintf(stderr, "FreeLoopbackPort: no free loopback port in [%d, %d)\n", kFirst,
               kFirst + kCount);
  std::abort();
}

}  // namespace quidditch::testing
