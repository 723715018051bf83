// The roles a Quidditch process runs: any non-empty mix of master, coordination and data.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace quidditch {

struct Roles {
  bool master = false;
  bool coordination = false;
  bool data = false;

  static Roles All() { return Roles{true, true, true}; }
  bool empty() const { return !master && !coordination && !data; }

  // The flag for role `name` ("master", "coordination", "data"), or nullptr for an unknown
  // name.
  bool* Slot(std::string_view name) {
    if (name == "master") return &master;
    if (name == "coordination") return &coordination;
    if (name == "data") return &data;
    return nullptr;
  }

  // The names of the roles held, in the fixed order master, coordination, data.
  std::vector<std::string> Names() const {
    std::vector<std::string> names;
    if (master) names.emplace_back("master");
    if (coordination) names.emplace_back("coordination");
    if (data) names.emplace_back("data");
    return names;
  }

  friend bool operator==(const Roles&, const Roles&) = default;
};

}  // namespace quidditch
