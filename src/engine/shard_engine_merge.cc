// ShardEngine: background merging.
//
// Policy (a small tiered policy): segments are sized by their live documents' share of their
// bytes, with everything below kFloorBytes counted as kFloorBytes. Sorted by size, the first
// window of merge_factor (default 10) consecutive segments whose largest is at most kMaxSkew times
// its smallest is merged. Each document is thus rewritten about log_merge_factor(total / floor)
// times: write amplification stays bounded.
#include <algorithm>

#include "engine/file_util.h"
#include "engine/shard_engine_impl.h"

namespace quidditch::engine {

namespace {

constexpr double kMaxSkew = 8.0;
constexpr uint64_t kFloorBytes = 2 << 20;

uint64_t LiveBytes(const SegmentState& s) {
  uint32_t max_doc = s.reader->max_doc();
  if (max_doc == 0) return kFloorBytes;
  double live = static_cast<double>(max_doc - s.live.num_deleted()) / max_doc;
  return std::max<uint64_t>(kFloorBytes, static_cast<uint64_t>(s.reader->size_in_bytes() * live));
}

}  // namespace

Result<bool> ShardEngine::Impl::MergeOnce() {
  std::vector<std::shared_ptr<SegmentState>> picked;
  std::vector<LiveDocs> captured;  // the deletes the merge sees
  std::string name;
  const size_t merge_factor = static_cast<size_t>(std::max(2, options.merge_factor));
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!failed.ok()) return failed;
    std::vector<std::shared_ptr<SegmentState>> candidates;
    for (const auto& s : segments) {
      if (!s->merging) candidates.push_back(s);
    }
    if (candidates.size() < merge_factor) return false;
    std::sort(candidates.begin(), candidates.end(),
              [](const auto& a, const auto& b) { return LiveBytes(*a) < LiveBytes(*b); });
    for (size_t i = 0; i + merge_factor <= candidates.size(); ++i) {
      uint64_t lo = LiveBytes(*candidates[i]);
      uint64_t hi = LiveBytes(*candidates[i + merge_factor - 1]);
      if (static_cast<double>(hi) <= kMaxSkew * static_cast<double>(lo)) {
        picked.assign(candidates.begin() + static_cast<ptrdiff_t>(i),
                      candidates.begin() + static_cast<ptrdiff_t>(i + merge_factor));
        break;
      }
    }
    if (picked.empty()) return false;
    // Keep the segments' relative order (oldest first) in the merged segment.
    std::sort(picked.begin(), picked.end(), [&](const auto& a, const auto& b) {
      auto pos = [&](const SegmentState* s) {
        for (size_t i = 0; i < segments.size(); ++i) {
          if (segments[i].get() == s) return i;
        }
        return segments.size();
      };
      return pos(a.get()) < pos(b.get());
    });
    for (const auto& s : picked) {
      s->merging = true;
      captured.push_back(s->live);
    }
    name = "_" + std::to_string(next_segment++);
    merging_outputs.insert(name);
  }

  uint64_t live_docs = 0;
  std::vector<MergeSource> sources;
  for (size_t i = 0; i < picked.size(); ++i) {
    live_docs += captured[i].max_doc() - captured[i].num_deleted();
    sources.push_back(MergeSource{picked[i]->reader, &captured[i]});
  }
  std::string dir = segments_dir + "/" + name;
  Result<std::shared_ptr<const SegmentReader>> reader = Status::Internal("unset");
  if (live_docs > 0) {
    Status s = CreateDirs(dir);
    if (s.ok()) s = MergeSegments(sources, dir, name, stored_codec);
    reader =
        s.ok() ? SegmentReader::Open(dir, name) : Result<std::shared_ptr<const SegmentReader>>(s);
  }

  if (options.merge_hook_for_testing) options.merge_hook_for_testing();
  std::lock_guard<std::mutex> lock(mu);
  merging_outputs.erase(name);
  for (const auto& s : picked) s->merging = false;
  if (live_docs > 0 && !reader.ok()) {
    DeleteUnreferencedFilesLocked();
    return reader.status().WithPrefix("merge");
  }
  std::shared_ptr<SegmentState> merged;
  if (live_docs > 0) {
    merged = std::make_shared<SegmentState>();
    merged->name = name;
    merged->reader = *reader;
    merged->live = LiveDocs((*reader)->max_doc());
    // Carry over the deletes that arrived while merging: old doc -> new doc is the rank of
    // the old doc among the live docs the merge saw, in source order.
    uint32_t next = 0;
    for (size_t i = 0; i < picked.size(); ++i) {
      const LiveDocs& saw = captured[i];
      const LiveDocs& now = picked[i]->live;
      for (uint32_t d = 0; d < saw.max_doc(); ++d) {
        if (!saw.IsLive(d)) continue;
        if (!now.IsLive(d)) merged->live.Delete(next);
        ++next;
      }
    }
    merged->dirty_since_publish = merged->live.num_deleted() > 0;
    merged->dirty_since_commit = true;
  }
  // The merged segment takes the place of the first source; the others leave.
  std::vector<std::shared_ptr<SegmentState>> next_segments;
  for (const auto& s : segments) {
    bool is_source = std::find(picked.begin(), picked.end(), s) != picked.end();
    if (!is_source) {
      next_segments.push_back(s);
    } else if (s == picked.front() && merged) {
      next_segments.push_back(merged);
    }
  }
  segments = std::move(next_segments);
  PublishLocked();
  DeleteUnreferencedFilesLocked();
  ++merge_total;
  return true;
}

}  // namespace quidditch::engine
