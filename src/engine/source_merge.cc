#include "engine/source_merge.h"

namespace quidditch::engine {

// nlohmann's merge_patch deletes keys set to null, which OpenSearch's update does not; hence
// this small recursive merge.
bool MergeSource(nlohmann::ordered_json* source, const nlohmann::ordered_json& changes) {
  bool modified = false;
  for (auto it = changes.begin(); it != changes.end(); ++it) {
    auto old = source->find(it.key());
    if (old == source->end()) {
      (*source)[it.key()] = it.value();
      modified = true;
    } else if (old->is_object() && it.value().is_object()) {
      modified |= MergeSource(&*old, it.value());
    } else if (*old != it.value()) {
      *old = it.value();
      modified = true;
    }
  }
  return modified;
}

}  // namespace quidditch::engine
