// The _cat API: a table writer shared by every _cat endpoint (OpenSearch's RestTable), and the
// endpoints themselves.
//
// CatTable renders a table of typed cells the way OpenSearch's RestTable does:
//   - text (default): one line per row, cells separated by one space and padded to the widest
//     cell of their column; columns declared right-aligned (numbers) are padded on the left,
//     header included; the last column is not padded on the right; null cells are empty.
//     `v` adds the header line. `ts=false` drops the epoch and timestamp columns.
//   - `format=json` (or, without `format`, an Accept header of application/json): an array of
//     objects mapping the displayed column names to strings (numbers included, as OpenSearch
//     renders every cell with toString) or null. `format=yaml` is the same array in YAML.
//     Other formats answer text, as OpenSearch does for a format it cannot map.
//   - `h`: comma list of column names or aliases, '*' wildcards allowed (matched against names
//     and aliases); a column asked by alias is displayed under that alias; unknown names are
//     ignored. Without `h`, the columns marked default.
//   - `s`: comma list of columns (names or aliases) to sort by, each optionally ":asc" or
//     ":desc"; numbers, bytes and times sort by value, text by its characters, nulls first.
//     An unknown column is 500 unsupported_operation_exception "Unable to sort by unknown sort
//     key `x`" (OpenSearch throws UnsupportedOperationException).
//   - `bytes` (b, k/kb, m/mb, g/gb, t/tb, p/pb): byte cells as whole units (rounded down);
//     otherwise as OpenSearch's ByteSizeValue ("208b", "5.2kb": one decimal, truncated).
//   - `time` (nanos, micros, ms, s, m, h, d): time cells as whole units; otherwise as
//     OpenSearch's TimeValue ("0s", "340ms", "1.5s").
//   - `help`: the column list, one "name | aliases | description" line per column.
//
// Endpoints (RegisterCatHandlers), answered from the control plane's cluster state and, for
// document and store figures, ShardService::Stats of the started copies:
//   GET /_cat                                 the list of _cat endpoints
//   GET /_cat/health                          cluster health in one row
//   GET /_cat/nodes                           one row per live node; heap, RAM, CPU and load
//                                             figures are not known and are null
//   GET /_cat/indices[/{index}]               health status index uuid pri rep docs.count
//                                             docs.deleted store.size pri.store.size (+ more
//                                             with h=); `health=` filters, `expand_wildcards`
//                                             and the index expression as every index API
//   GET /_cat/shards[/{index}]                one row per shard copy
//   GET /_cat/count[/{index}]                 live documents of the primaries (refreshed)
//   GET /_cat/aliases[/{name}]                empty: there are no aliases yet
//   GET /_cat/allocation[/{node_id}]          shards and disk per data node, plus an
//                                             UNASSIGNED row when shards are unassigned
//   GET /_cat/recovery[/{index}]              the recovery of each assigned copy: Quidditch
//                                             keeps no recovery records, so a started primary
//                                             is reported done from existing_store when its
//                                             last commit holds operations, else empty_store;
//                                             a replica as peer; file, byte and translog
//                                             counts are 0. `active_only` hides done rows.
//   GET /_cat/templates[/{name}]              empty: there are no templates yet
// Document and store cells of a copy whose shard service cannot be reached are null.
//
// Thread safety: CatTable is a value; the handlers are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "coordination/http_types.h"
#include "coordination/rest_root.h"
#include "coordination/rest_util.h"

namespace quidditch::rest {

// One column, as OpenSearch's table header cell ("alias:...;desc:...;text-align:right").
struct CatColumn {
  std::string name;
  std::string aliases;  // comma list, may be empty
  std::string description;
  bool right_align = false;
  bool shown_by_default = true;
  // OpenSearch's "sibling" attribute: when the column is asked for by `h=` and the request sets
  // this flag (`pri`), the column "<sibling>.<name>" is shown right after it.
  std::string sibling;
};

// One cell. The kind decides rendering (bytes=, time=) and sorting.
class CatValue {
 public:
  enum class Kind { kNull, kText, kNumber, kBytes, kMillis };

  CatValue() = default;  // null
  static CatValue Text(std::string text);
  static CatValue Number(int64_t value);
  static CatValue Bytes(int64_t bytes);
  static CatValue Millis(int64_t millis);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  // The cell as OpenSearch renders it for `request` (its bytes= and time= parameters).
  std::string Render(const HttpRequest& request) const;
  // OpenSearch's TableIndexComparator: null first; same-kind numbers, bytes and times by value;
  // anything else by the default rendering's characters.
  static int Compare(const CatValue& a, const CatValue& b);

 private:
  Kind kind_ = Kind::kNull;
  std::string text_;
  int64_t number_ = 0;
};

class CatTable {
 public:
  explicit CatTable(std::vector<CatColumn> columns);

  // REQUIRES: row.size() == number of columns.
  void AddRow(std::vector<CatValue> row);
  size_t num_rows() const { return rows_.size(); }

  // The response for `request` (see the header comment); 500 for an unknown `s` key.
  HttpResponse Render(const HttpRequest& request) const;

 private:
  struct Display {
    size_t column;
    std::string name;  // as displayed: the name, or the alias it was asked by
  };
  std::vector<Display> DisplayedColumns(const HttpRequest& request) const;
  // The column called `name` or having it as an alias.
  std::optional<size_t> FindColumn(std::string_view name) const;
  Result<std::vector<size_t>> RowOrder(const HttpRequest& request) const;
  std::string Help() const;

  std::vector<CatColumn> columns_;
  std::vector<std::vector<CatValue>> rows_;
};

// "208b", "5.2kb", "1gb": OpenSearch's ByteSizeValue.toString.
std::string FormatByteSize(int64_t bytes);
// "0s", "340ms", "1.5s", "2m": OpenSearch's TimeValue.toString.
std::string FormatTimeValue(int64_t millis);

// Registers every _cat endpoint above on `router`.
Status RegisterCatHandlers(const RestContext& context, Router* router);

}  // namespace quidditch::rest
