#include "engine/search/filter_cache.h"

#include <atomic>
#include <list>
#include <mutex>
#include <unordered_map>

namespace quidditch::engine {

struct FilterCache::Impl {
  struct Entry {
    std::string key;
    // The segment the bitset belongs to: a key reused by another reader (same name, other
    // index, or a reader freed and its address reused) is recognized as stale.
    std::weak_ptr<const SegmentReader> reader;
    std::shared_ptr<const DocBitset> bits;
  };
  mutable std::mutex mu;
  std::list<Entry> lru;  // front: most recent
  std::unordered_map<std::string, std::list<Entry>::iterator> index;
  uint64_t hits = 0;
  // lru.size(), readable without the lock: Clear() on an empty cache takes no lock (the
  // benchmark clears before every query, from several threads).
  std::atomic<size_t> entries{0};
};

FilterCache::Impl& FilterCache::impl() const {
  if (impl_ == nullptr) impl_ = std::make_shared<Impl>();
  return *impl_;
}

FilterCache& FilterCache::Default() {
  static FilterCache* cache = [] {
    auto* c = new FilterCache(512);
    c->impl();
    return c;
  }();
  return *cache;
}

Result<std::shared_ptr<const DocBitset>> FilterCache::GetOrBuild(
    const std::string& key, const Leaf& leaf,
    const std::function<Result<std::shared_ptr<const DocBitset>>()>& build) {
  Impl& im = impl();
  std::string full = key;
  full += '\0';
  full += leaf.reader->name();
  {
    std::lock_guard<std::mutex> lock(im.mu);
    auto it = im.index.find(full);
    if (it != im.index.end()) {
      if (it->second->reader.lock() == leaf.reader) {
        im.lru.splice(im.lru.begin(), im.lru, it->second);
        ++im.hits;
        return it->second->bits;
      }
      im.lru.erase(it->second);
      im.index.erase(it);
      im.entries.store(im.lru.size(), std::memory_order_relaxed);
    }
  }
  // Built outside the lock; two threads may build the same entry, the last one stays.
  QD_ASSIGN_OR_RETURN(std::shared_ptr<const DocBitset> bits, build());
  std::lock_guard<std::mutex> lock(im.mu);
  auto it = im.index.find(full);
  if (it != im.index.end()) {
    im.lru.erase(it->second);
    im.index.erase(it);
  }
  im.lru.push_front(Impl::Entry{full, leaf.reader, bits});
  im.index[full] = im.lru.begin();
  while (im.lru.size() > capacity_) {
    im.index.erase(im.lru.back().key);
    im.lru.pop_back();
  }
  im.entries.store(im.lru.size(), std::memory_order_relaxed);
  return bits;
}

void FilterCache::Clear() {
  Impl& im = impl();
  if (im.entries.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard<std::mutex> lock(im.mu);
  im.index.clear();
  im.lru.clear();
  im.entries.store(0, std::memory_order_relaxed);
}

size_t FilterCache::size() const {
  std::lock_guard<std::mutex> lock(impl().mu);
  return impl().lru.size();
}

uint64_t FilterCache::hits() const {
  std::lock_guard<std::mutex> lock(impl().mu);
  return impl().hits;
}

}  // namespace quidditch::engine
