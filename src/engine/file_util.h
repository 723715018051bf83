// Small POSIX file helpers for the engine's durable files (translog, commit points, live docs).
//
// Every function reports failures as IOError naming the path and errno text; none throws.
// Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace quidditch::engine {

// fsyncs the directory `dir` so that entries created, renamed or removed in it are durable.
Status SyncDir(const std::string& dir);

// Creates `dir` and its parents when missing, fsyncing the parent of each one it creates.
Status CreateDirs(const std::string& dir);

// Writes `data` to `path` atomically and durably: `<path>.tmp` is written and fsynced, renamed
// over `path`, and the directory is fsynced. A crash leaves either the old or the new file
// (plus perhaps a stale `.tmp`, which readers ignore).
Status WriteFileAtomic(const std::string& path, std::string_view data);

// The whole content of `path`; NotFound when it does not exist.
Result<std::string> ReadFile(const std::string& path);

// Names (not paths) of the entries of `dir`, sorted; NotFound when `dir` does not exist.
Result<std::vector<std::string>> ListDir(const std::string& dir);

// Removes the file `path`; OK when it does not exist.
Status RemoveFile(const std::string& path);

// Removes `path` and everything under it; OK when it does not exist.
Status RemoveAll(const std::string& path);

// Total size in bytes of the regular files under `path` (recursively); 0 when missing.
uint64_t DiskUsage(const std::string& path);

// Writes all of `data` to `fd` at its current offset, retrying short writes and EINTR.
Status WriteFully(int fd, std::string_view data, const std::string& path_for_errors);

}  // namespace quidditch::engine
