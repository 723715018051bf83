#include "engine/index/segment_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/index/coding.h"
#include "engine/index/crc32c.h"

namespace quidditch::engine::index_internal {

namespace {
constexpr size_t kFlushThreshold = 1 << 20;

Status ErrnoError(std::string_view what, const std::string& path, int err) {
  return Status::IOError(std::string(what) + " " + path + ": " + std::strerror(err));
}
}  // namespace

SegmentFileWriter::~SegmentFileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<SegmentFileWriter>> SegmentFileWriter::Create(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", path, errno);
  return std::unique_ptr<SegmentFileWriter>(new SegmentFileWriter(path, fd));
}

void SegmentFileWriter::Align(size_t alignment) {
  while (offset() % alignment != 0) buffer_.push_back('\0');
}

Status SegmentFileWriter::MaybeFlush() {
  if (buffer_.size() < kFlushThreshold) return Status::OK();
  return Flush();
}

Status SegmentFileWriter::Flush(bool checksum) {
  if (checksum) crc_ = Crc32cExtend(crc_, buffer_.data(), buffer_.size());
  const char* p = buffer_.data();
  size_t left = buffer_.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", path_, errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  flushed_ += buffer_.size();
  buffer_.clear();
  return Status::OK();
}

Status SegmentFileWriter::Finish() {
  PutFixed64(&buffer_, kFooterMagic);
  PutFixed32(&buffer_, kFormatVersion);
  QD_RETURN_IF_ERROR(Flush());
  PutFixed32(&buffer_, crc_);
  QD_RETURN_IF_ERROR(Flush(/*checksum=*/false));  // the CRC does not cover itself
  if (::fsync(fd_) != 0) return ErrnoError("cannot fsync", path_, errno);
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) return ErrnoError("cannot close", path_, errno);
  return Status::OK();
}

MappedFile::~MappedFile() {
  if (file_size_ > 0) ::munmap(const_cast<uint8_t*>(data_), file_size_);
}

Result<std::unique_ptr<MappedFile>> MappedFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::Corruption("segment file missing: " + path);
    return ErrnoError("cannot open", path, errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoError("cannot stat", path, err);
  }
  size_t file_size = static_cast<size_t>(st.st_size);
  if (file_size < kFooterSize) {
    ::close(fd);
    return Status::Corruption("segment file too short (torn?): " + path);
  }
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_SHARED, fd, 0);
  int err = errno;
  ::close(fd);
  if (map == MAP_FAILED) return ErrnoError("cannot mmap", path, err);
  std::unique_ptr<MappedFile> file(
      new MappedFile(path, static_cast<const uint8_t*>(map), file_size - kFooterSize, file_size));
  const uint8_t* footer = file->data_ + file->size_;
  if (GetFixed64(footer) != kFooterMagic) {
    return Status::Corruption("bad footer magic in segment file " + path);
  }
  if (GetFixed32(footer + 8) != kFormatVersion) {
    return Status::Corruption("unknown format version in segment file " + path);
  }
  if (Crc32cExtend(0, file->data_, file_size - 4) != GetFixed32(footer + 12)) {
    return Status::Corruption("checksum mismatch in segment file " + path);
  }
  return file;
}

}  // namespace quidditch::engine::index_internal
