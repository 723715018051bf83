// Internal to engine/mapping: the representation of a Mapping, shared by mapping.cc (building,
// merging, serializing) and document_parser.cc (ParseDocument).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/mapping/mapping.h"

namespace quidditch::engine {
namespace mapping_internal {

enum class Dynamic : uint8_t { kTrue, kFalse, kStrict };

// One object, leaf field or multi-field of a mapping tree.
struct Node {
  FieldMapping field;              // field.path is the full dotted path ("" for the root)
  bool coerce = true;              // numeric: accept numbers in strings and truncate decimals
  bool enabled = true;             // object: false keeps the subtree in _source only
  std::optional<Dynamic> dynamic;  // object: unset inherits the parent's setting
  // Object children by their name (one path segment); multi-fields by their name.
  std::map<std::string, std::unique_ptr<Node>, std::less<>> properties;
  std::map<std::string, std::unique_ptr<Node>, std::less<>> fields;

  // Derived by Rep::Finalize (not copied by Clone):
  int32_t slot = -1;  // leaves: dense index 0..leaves.size()-1
  // Leaves: the names `_field_names` gets when this field has a value: its own path and
  // the paths of the objects (and, for a multi-field, the field) above it.
  std::vector<const std::string*> exists_names;

  bool is_object() const { return field.type == FieldType::kObject; }
  std::unique_ptr<Node> Clone() const;
};

std::vector<std::string> DefaultDynamicDateFormats();

}  // namespace mapping_internal

struct Mapping::Rep {
  mapping_internal::Node root;  // an object with path ""; root.dynamic is always set
  bool date_detection = true;
  std::vector<std::string> dynamic_date_formats = mapping_internal::DefaultDynamicDateFormats();
  bool source_enabled = true;
  std::vector<std::string> source_includes;
  std::vector<std::string> source_excludes;

  // Derived by Finalize():
  std::map<std::string, const mapping_internal::Node*, std::less<>> by_path;  // not the root
  std::vector<const mapping_internal::Node*> leaves;                          // by slot

  Rep();
  // A deep copy, not finalized.
  std::unique_ptr<Rep> Clone() const;
  // Computes slots, exists_names, by_path and leaves. Call once the tree is complete.
  void Finalize();
};

// Friend of Mapping: the parser's access to the representation.
struct MappingAccess {
  using Rep = Mapping::Rep;
  static const Mapping::Rep& rep(const Mapping& m) { return *m.rep_; }
  static Mapping Make(std::unique_ptr<Mapping::Rep> rep) {
    rep->Finalize();
    Mapping m;
    m.rep_ = std::shared_ptr<const Mapping::Rep>(std::move(rep));
    return m;
  }
};

namespace mapping_internal {

// Adds to `parent` (an object) a field of `type` called `name` as dynamic mapping makes it:
// strings get a keyword multi-field, dates `date_formats` (empty: the default formats).
Node* AddDynamicField(Node* parent, std::string_view name, FieldType type,
                      std::vector<std::string> date_formats);

}  // namespace mapping_internal
}  // namespace quidditch::engine
