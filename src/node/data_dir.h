// The node's data directory: created on start and locked for the life of the process, so that
// two processes never share one (as OpenSearch's node.lock does).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace quidditch::node {

class DataDir {
 public:
  // Creates `path` (and its parents) if needed and takes an exclusive lock on
  // `<path>/node.lock`. Returns Unavailable when another process holds the lock, IOError when
  // the directory cannot be created or opened (naming the path and the OS reason).
  static Result<std::unique_ptr<DataDir>> Open(const std::string& path);

  // Releases the lock.
  ~DataDir();
  DataDir(const DataDir&) = delete;
  DataDir& operator=(const DataDir&) = delete;

  const std::string& path() const { return path_; }

 private:
  DataDir(std::string path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}

  std::string path_;
  int lock_fd_;
};

}  // namespace quidditch::node
