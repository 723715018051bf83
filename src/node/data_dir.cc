#include "node/data_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace quidditch::node {

Result<std::unique_ptr<DataDir>> DataDir::Open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return Status::IOError(fmt::format("cannot create data directory {}: {}", path, ec.message()));
  }
  const std::string lock_path = path + "/node.lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError(fmt::format("cannot open {}: {}", lock_path, std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::Unavailable(fmt::format(
          "data directory {} is in use by another quidditch process (lock {})", path, lock_path));
    }
    return Status::IOError(fmt::format("cannot lock {}: {}", lock_path, std::strerror(err)));
  }
  return std::unique_ptr<DataDir>(new DataDir(path, fd));
}

DataDir::~DataDir() { ::close(lock_fd_); }  // closing the descriptor releases the flock

}  // namespace quidditch::node
