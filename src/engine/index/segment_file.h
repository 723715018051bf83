// The files of a segment: written through a buffering, checksumming writer and read through
// mmap. Every file ends with a 16-byte footer: magic (fixed64), format version (fixed32) and
// the CRC-32C of every byte before the CRC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace quidditch::engine::index_internal {

inline constexpr uint64_t kFooterMagic = 0x51444e4958534547ULL;  // "GESXINDQ"
inline constexpr uint32_t kFormatVersion = 6;
inline constexpr size_t kFooterSize = 16;

// Writes one file sequentially. Not thread-safe. Nothing is durable before Finish() returns OK.
class SegmentFileWriter {
 public:
  ~SegmentFileWriter();
  SegmentFileWriter(const SegmentFileWriter&) = delete;
  SegmentFileWriter& operator=(const SegmentFileWriter&) = delete;

  // Creates (truncates) `path`.
  static Result<std::unique_ptr<SegmentFileWriter>> Create(const std::string& path);

  // Bytes appended so far (the file offset of the next byte).
  uint64_t offset() const { return flushed_ + buffer_.size(); }
  // The pending buffer; append to it directly, then call MaybeFlush().
  std::string* buffer() { return &buffer_; }
  void Append(std::string_view data) { buffer_.append(data); }
  // Pads with zero bytes to a multiple of `alignment`.
  void Align(size_t alignment);
  Status MaybeFlush();
  // Appends the footer, writes, fsyncs and closes the file.
  Status Finish();

 private:
  SegmentFileWriter(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  // Writes the buffer out; `checksum`: and adds it to the file's CRC.
  Status Flush(bool checksum = true);

  std::string path_;
  int fd_;
  uint64_t flushed_ = 0;
  std::string buffer_;
  uint32_t crc_ = 0;
};

// A read-only mapping of a whole file, unmapped on destruction. Thread-safe (immutable).
class MappedFile {
 public:
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Maps `path` and verifies its footer and checksum; Corruption naming the file otherwise.
  static Result<std::unique_ptr<MappedFile>> Open(const std::string& path);

  const uint8_t* data() const { return data_; }
  // The size without the footer.
  size_t size() const { return size_; }
  size_t file_size() const { return file_size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, const uint8_t* data, size_t size, size_t file_size)
      : path_(std::move(path)), data_(data), size_(size), file_size_(file_size) {}

  std::string path_;
  const uint8_t* data_;
  size_t size_;
  size_t file_size_;
};

}  // namespace quidditch::engine::index_internal
