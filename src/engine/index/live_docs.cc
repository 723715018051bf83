// LiveDocs: the deleted docs of a segment as a CRoaring bitmap (deletes are usually few).
//
// Encoded form: fixed32 magic, fixed32 max_doc, fixed32 length of the bitmap, the bitmap in
// CRoaring's portable format, fixed32 CRC-32 of everything before it.
#include <roaring/roaring.h>

#include "engine/index/coding.h"
#include "engine/index/crc32c.h"
#include "engine/index/segment.h"

namespace quidditch::engine {

namespace {
constexpr uint32_t kLiveDocsMagic = 0x4c564451;  // "QDVL"
using index_internal::Crc32;
}  // namespace

struct LiveDocs::Impl {
  uint32_t max_doc = 0;
  roaring_bitmap_t* deleted = nullptr;  // owned

  ~Impl() {
    if (deleted != nullptr) roaring_bitmap_free(deleted);
  }
};

LiveDocs::LiveDocs(uint32_t max_doc) : impl_(std::make_unique<Impl>()) {
  impl_->max_doc = max_doc;
  impl_->deleted = roaring_bitmap_create();
}

LiveDocs::LiveDocs(const LiveDocs& other) : impl_(std::make_unique<Impl>()) {
  impl_->max_doc = other.impl_->max_doc;
  impl_->deleted = roaring_bitmap_copy(other.impl_->deleted);
}

LiveDocs& LiveDocs::operator=(const LiveDocs& other) {
  if (this != &other) {
    auto copy = std::make_unique<Impl>();
    copy->max_doc = other.impl_->max_doc;
    copy->deleted = roaring_bitmap_copy(other.impl_->deleted);
    impl_ = std::move(copy);
  }
  return *this;
}

LiveDocs::~LiveDocs() = default;

bool LiveDocs::IsLive(uint32_t doc) const {
  return doc < impl_->max_doc && !roaring_bitmap_contains(impl_->deleted, doc);
}

void LiveDocs::Delete(uint32_t doc) {
  if (doc < impl_->max_doc) roaring_bitmap_add(impl_->deleted, doc);
}

uint32_t LiveDocs::num_deleted() const {
  return static_cast<uint32_t>(roaring_bitmap_get_cardinality(impl_->deleted));
}

uint32_t LiveDocs::max_doc() const { return impl_->max_doc; }

std::string LiveDocs::Encode() const {
  // Run-optimize a copy: Encode may be called concurrently on a shared (const) LiveDocs.
  roaring_bitmap_t* bitmap = roaring_bitmap_copy(impl_->deleted);
  roaring_bitmap_run_optimize(bitmap);
  size_t n = roaring_bitmap_portable_size_in_bytes(bitmap);
  std::string out;
  index_internal::PutFixed32(&out, kLiveDocsMagic);
  index_internal::PutFixed32(&out, impl_->max_doc);
  index_internal::PutFixed32(&out, static_cast<uint32_t>(n));
  size_t at = out.size();
  out.resize(at + n);
  roaring_bitmap_portable_serialize(bitmap, out.data() + at);
  roaring_bitmap_free(bitmap);
  index_internal::PutFixed32(&out, Crc32(out));
  return out;
}

Result<LiveDocs> LiveDocs::Decode(std::string_view bytes) {
  if (bytes.size() < 16) return Status::Corruption("live docs: too short (torn?)");
  const uint8_t* p = reinterpret_cast<const uint8_t*>(bytes.data());
  uint32_t crc = index_internal::GetFixed32(p + bytes.size() - 4);
  if (Crc32(bytes.substr(0, bytes.size() - 4)) != crc) {
    return Status::Corruption("live docs: checksum mismatch");
  }
  if (index_internal::GetFixed32(p) != kLiveDocsMagic) {
    return Status::Corruption("live docs: bad magic");
  }
  uint32_t max_doc = index_internal::GetFixed32(p + 4);
  uint32_t n = index_internal::GetFixed32(p + 8);
  if (uint64_t{n} + 16 != bytes.size()) return Status::Corruption("live docs: bad length");
  roaring_bitmap_t* bitmap = roaring_bitmap_portable_deserialize_safe(bytes.data() + 12, n);
  if (bitmap == nullptr) return Status::Corruption("live docs: malformed bitmap");
  if (roaring_bitmap_get_cardinality(bitmap) > 0 && roaring_bitmap_maximum(bitmap) >= max_doc) {
    roaring_bitmap_free(bitmap);
    return Status::Corruption("live docs: deleted doc beyond max_doc");
  }
  LiveDocs live(max_doc);
  roaring_bitmap_free(live.impl_->deleted);
  live.impl_->deleted = bitmap;
  return live;
}

}  // namespace quidditch::engine
