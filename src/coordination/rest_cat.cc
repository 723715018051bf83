#include "coordination/rest_cat.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <set>
#include <utility>

#include "cluster/health.h"
#include "coordination/rest_cluster.h"
#include "coordination/rest_stats.h"

namespace quidditch::rest {

namespace {

constexpr int64_t kKb = 1024;
constexpr int64_t kMb = kKb * 1024;
constexpr int64_t kGb = kMb * 1024;
constexpr int64_t kTb = kGb * 1024;
constexpr int64_t kPb = kTb * 1024;

// Java's Strings.format1Decimals for value = numerator / denominator: one decimal, truncated,
// ".0" dropped. Integer arithmetic keeps the truncation exact.
std::string OneDecimal(int64_t numerator, int64_t denominator, std::string_view suffix) {
  // numerator * 10 would overflow only past ~800 PB.
  __int128 tenths = static_cast<__int128>(numerator) * 10 / denominator;
  int64_t whole = static_cast<int64_t>(tenths / 10);
  int digit = static_cast<int>(tenths % 10);
  std::string out = std::to_string(whole);
  if (digit != 0) {
    out += '.';
    out += static_cast<char>('0' + digit);
  }
  out += suffix;
  return out;
}

bool IsTrue(const HttpRequest& request, std::string_view name, bool fallback) {
  if (!request.HasParam(name)) return fallback;
  std::string_view value = request.Param(name);
  if (value.empty() || value == "true") return true;
  if (value == "false") return false;
  return fallback;
}

// "yaml" output of an array of flat string objects, as Jackson's YAML generator writes it.
std::string YamlQuote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

std::string HostOf(const cluster::NodeInfo* node) { return node == nullptr ? "" : node->address; }

}  // namespace

std::string FormatByteSize(int64_t bytes) {
  if (bytes < 0) return std::to_string(bytes) + "b";
  if (bytes >= kPb) return OneDecimal(bytes, kPb, "pb");
  if (bytes >= kTb) return OneDecimal(bytes, kTb, "tb");
  if (bytes >= kGb) return OneDecimal(bytes, kGb, "gb");
  if (bytes >= kMb) return OneDecimal(bytes, kMb, "mb");
  if (bytes >= kKb) return OneDecimal(bytes, kKb, "kb");
  return std::to_string(bytes) + "b";
}

std::string FormatTimeValue(int64_t millis) {
  if (millis < 0) return std::to_string(millis);
  if (millis == 0) return "0s";
  constexpr int64_t kSecond = 1000, kMinute = 60 * kSecond, kHour = 60 * kMinute, kDay = 24 * kHour;
  if (millis >= kDay) return OneDecimal(millis, kDay, "d");
  if (millis >= kHour) return OneDecimal(millis, kHour, "h");
  if (millis >= kMinute) return OneDecimal(millis, kMinute, "m");
  if (millis >= kSecond) return OneDecimal(millis, kSecond, "s");
  return std::to_string(millis) + "ms";
}

// --- CatValue ----------------------------------------------------------------------------------

CatValue CatValue::Text(std::string text) {
  CatValue v;
  v.kind_ = Kind::kText;
  v.text_ = std::move(text);
  return v;
}

CatValue CatValue::Number(int64_t value) {
  CatValue v;
  v.kind_ = Kind::kNumber;
  v.number_ = value;
  return v;
}

CatValue CatValue::Bytes(int64_t bytes) {
  CatValue v;
  v.kind_ = Kind::kBytes;
  v.number_ = bytes;
  return v;
}

CatValue CatValue::Millis(int64_t millis) {
  CatValue v;
  v.kind_ = Kind::kMillis;
  v.number_ = millis;
  return v;
}

std::string CatValue::Render(const HttpRequest& request) const {
  switch (kind_) {
    case Kind::kNull:
      return "";
    case Kind::kText:
      return text_;
    case Kind::kNumber:
      return std::to_string(number_);
    case Kind::kBytes: {
      std::string_view unit = request.Param("bytes");
      if (unit == "b") return std::to_string(number_);
      if (unit == "k" || unit == "kb") return std::to_string(number_ / kKb);
      if (unit == "m" || unit == "mb") return std::to_string(number_ / kMb);
      if (unit == "g" || unit == "gb") return std::to_string(number_ / kGb);
      if (unit == "t" || unit == "tb") return std::to_string(number_ / kTb);
      if (unit == "p" || unit == "pb") return std::to_string(number_ / kPb);
      return FormatByteSize(number_);
    }
    case Kind::kMillis: {
      std::string_view unit = request.Param("time");
      if (unit == "nanos") return std::to_string(number_ * 1000000);
      if (unit == "micros") return std::to_string(number_ * 1000);
      if (unit == "ms") return std::to_string(number_);
      if (unit == "s") return std::to_string(number_ / 1000);
      if (unit == "m") return std::to_string(number_ / 60000);
      if (unit == "h") return std::to_string(number_ / 3600000);
      if (unit == "d") return std::to_string(number_ / 86400000);
      return FormatTimeValue(number_);
    }
  }
  return "";
}

int CatValue::Compare(const CatValue& a, const CatValue& b) {
  if (a.is_null() || b.is_null()) return a.is_null() == b.is_null() ? 0 : (a.is_null() ? -1 : 1);
  if (a.kind_ == b.kind_ && a.kind_ != Kind::kText) {
    return a.number_ < b.number_ ? -1 : (a.number_ > b.number_ ? 1 : 0);
  }
  // Java's String.compareTo on the default rendering (UTF-16 order equals byte order for
  // the ASCII these tables hold).
  static const HttpRequest kDefault;
  int c = a.Render(kDefault).compare(b.Render(kDefault));
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

// --- CatTable ----------------------------------------------------------------------------------

CatTable::CatTable(std::vector<CatColumn> columns) : columns_(std::move(columns)) {}

void CatTable::AddRow(std::vector<CatValue> row) {
  // A row of the wrong width is a bug in the endpoint that builds it.
  if (row.size() != columns_.size()) std::abort();
  rows_.push_back(std::move(row));
}

std::optional<size_t> CatTable::FindColumn(std::string_view name) const {
  for (size_t i = 0; i < columns_.size(); ++i) {
    if (columns_[i].name == name) return i;
  }
  for (size_t i = 0; i < columns_.size(); ++i) {
    for (const std::string& alias : SplitComma(columns_[i].aliases)) {
      if (alias == name) return i;
    }
  }
  return std::nullopt;
}

std::vector<CatTable::Display> CatTable::DisplayedColumns(const HttpRequest& request) const {
  const bool with_timestamps = IsTrue(request, "ts", true);
  auto shown = [&](size_t i) {
    return with_timestamps || (columns_[i].name != "epoch" && columns_[i].name != "timestamp");
  };
  std::vector<Display> out;
  if (!request.HasParam("h")) {
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (columns_[i].shown_by_default && shown(i)) out.push_back(Display{i, columns_[i].name});
    }
    return out;
  }
  // As RestTable.expandHeadersFromRequest: wildcards expand to column names (matched by name
  // or alias); plain entries stay as typed; each is shown once.
  std::vector<std::string> wanted;
  std::set<std::string, std::less<>> seen;
  auto add = [&](std::string name) {
    if (seen.insert(name).second) wanted.push_back(std::move(name));
  };
  for (const std::string& entry : SplitComma(request.Param("h"))) {
    if (entry.find('*') == std::string::npos) {
      add(entry);
      continue;
    }
    for (const CatColumn& column : columns_) {
      bool match = GlobMatch(entry, column.name);
      for (const std::string& alias : SplitComma(column.aliases)) {
        match = match || GlobMatch(entry, alias);
      }
      if (match) add(column.name);
    }
  }
  for (const std::string& name : wanted) {
    std::optional<size_t> column = FindColumn(name);
    if (!column || !shown(*column)) continue;
    out.push_back(Display{*column, name});
    const std::string& sibling = columns_[*column].sibling;
    if (sibling.empty() || !IsTrue(request, sibling, false)) continue;
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (columns_[i].name == sibling + "." + columns_[*column].name) {
        out.push_back(Display{i, sibling + "." + name});
      }
    }
  }
  return out;
}

Result<std::vector<size_t>> CatTable::RowOrder(const HttpRequest& request) const {
  std::vector<size_t> order(rows_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  if (!request.HasParam("s")) return order;
  std::vector<std::pair<size_t, bool>> keys;  // column, descending
  for (std::string key : SplitComma(request.Param("s"))) {
    bool descending = false;
    if (key.size() > 5 && key.ends_with(":desc")) {
      key.resize(key.size() - 5);
      descending = true;
    } else if (key.size() > 4 && key.ends_with(":asc")) {
      key.resize(key.size() - 4);
    }
    std::optional<size_t> column = FindColumn(key);
    if (!column) {
      return Status::Internal("Unable to sort by unknown sort key `" + key + "`");
    }
    keys.emplace_back(*column, descending);
  }
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    for (const auto& [column, descending] : keys) {
      int c = CatValue::Compare(rows_[a][column], rows_[b][column]);
      if (c != 0) return descending ? c > 0 : c < 0;
    }
    return false;
  });
  return order;
}

std::string CatTable::Help() const {
  size_t widths[3] = {0, 0, 0};
  for (const CatColumn& column : columns_) {
    widths[0] = std::max(widths[0], column.name.size());
    widths[1] = std::max(widths[1], column.aliases.size());
    widths[2] = std::max(widths[2], column.description.size());
  }
  // Every cell left-aligned and padded, the last one too, as AbstractCatAction writes it.
  auto pad = [](std::string text, size_t width) {
    text.resize(std::max(width, text.size()), ' ');
    return text;
  };
  std::string out;
  for (const CatColumn& column : columns_) {
    out += pad(column.name, widths[0]) + " | " + pad(column.aliases, widths[1]) + " | " +
           pad(column.description, widths[2]) + "\n";
  }
  return out;
}

HttpResponse CatTable::Render(const HttpRequest& request) const {
  HttpResponse text;
  text.status = 200;
  text.content_type = std::string(kTextContentType);
  if (IsTrue(request, "help", false)) {
    text.body = Help();
    return text;
  }
  Result<std::vector<size_t>> order = RowOrder(request);
  if (!order.ok()) {
    // OpenSearch throws UnsupportedOperationException, which answers 500.
    return OpenSearchErrorResponse(500, "unsupported_operation_exception",
                                   order.status().message());
  }
  const std::vector<Display> displayed = DisplayedColumns(request);

  std::string_view format = request.Param("format");
  if (!request.HasParam("format")) {
    // RestTable falls back to the Accept header when no format is given.
    std::string_view accept = request.headers.Get("Accept").value_or("");
    if (accept.starts_with("application/json")) format = "json";
    if (accept.starts_with("application/yaml")) format = "yaml";
  }
  if (format == "json") {
    OrderedJson out = OrderedJson::array();
    for (size_t row : *order) {
      OrderedJson object = OrderedJson::object();
      for (const Display& d : displayed) {
        const CatValue& value = rows_[row][d.column];
        object[d.name] =
            value.is_null() ? OrderedJson(nullptr) : OrderedJson(value.Render(request));
      }
      out.push_back(std::move(object));
    }
    return JsonResponse(200, out);
  }
  if (format == "yaml") {
    std::string body = "---\n";
    if (order->empty()) body = "--- []\n";
    for (size_t row : *order) {
      bool first = true;
      for (const Display& d : displayed) {
        const CatValue& value = rows_[row][d.column];
        body += first ? "- " : "  ";
        first = false;
        body +=
            d.name + ": " + (value.is_null() ? "null" : YamlQuote(value.Render(request))) + "\n";
      }
      if (first) body += "- {}\n";
    }
    HttpResponse response;
    response.content_type = "application/yaml";
    response.body = std::move(body);
    return response;
  }

  const bool header = IsTrue(request, "v", false);
  std::vector<std::vector<std::string>> cells;
  if (header) {
    std::vector<std::string> line;
    for (const Display& d : displayed) line.push_back(d.name);
    cells.push_back(std::move(line));
  }
  for (size_t row : *order) {
    std::vector<std::string> line;
    for (const Display& d : displayed) line.push_back(rows_[row][d.column].Render(request));
    cells.push_back(std::move(line));
  }
  std::vector<size_t> width(displayed.size(), 0);
  for (const auto& line : cells) {
    for (size_t c = 0; c < line.size(); ++c) width[c] = std::max(width[c], line[c].size());
  }
  std::string body;
  for (const auto& line : cells) {
    for (size_t c = 0; c < line.size(); ++c) {
      const bool last = c + 1 == line.size();
      const size_t pad = width[c] - line[c].size();
      // RestTable.pad: the header cell shares its column's alignment.
      if (pad > 0 && columns_[displayed[c].column].right_align) {
        body.append(pad, ' ');
        body += line[c];
      } else {
        body += line[c];
        if (!last) body.append(pad, ' ');
      }
      if (!last) body += ' ';
    }
    body += '\n';
  }
  text.body = std::move(body);
  return text;
}

// --- endpoints ---------------------------------------------------------------------------------

namespace {

using cluster::ClusterState;
using cluster::ShardState;
using cluster::StatePtr;

std::pair<CatValue, CatValue> EpochAndTimestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char hms[16];
  std::strftime(hms, sizeof(hms), "%H:%M:%S", &tm);
  return {CatValue::Number(static_cast<int64_t>(now)), CatValue::Text(hms)};
}

std::string FormatPercent(double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%", value);
  return buf;
}

CatColumn Col(std::string name, std::string aliases, std::string description, bool right = false,
              bool by_default = true) {
  return CatColumn{std::move(name), std::move(aliases), std::move(description),
                   right,           by_default,         ""};
}

// A column of totals over every copy whose primaries-only column "pri.<name>" is shown next
// to it with `pri` (OpenSearch's "sibling:pri").
CatColumn WithPriSibling(CatColumn total) {
  total.sibling = "pri";
  return total;
}

// The names an optional {index} path parameter resolves to (every index without it), with
// the request's expand_wildcards / ignore_unavailable / allow_no_indices.
Result<std::vector<std::string>> CatIndices(const ClusterState& state, const HttpRequest& request,
                                            const PathParams& params) {
  // The _cat APIs list closed indices too (strictExpand); their shards are not asked.
  IndicesOptions defaults;
  defaults.expand_closed = true;
  defaults.forbid_closed = false;
  QD_ASSIGN_OR_RETURN(IndicesOptions options, IndicesOptionsOf(request, defaults));
  auto it = params.find("index");
  return ResolveIndices(state, it == params.end() ? std::string_view("_all") : it->second, options);
}

HttpResponse CatHealth(const RestContext& context, const HttpRequest& request) {
  Result<StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  cluster::ClusterHealth health = cluster::ComputeHealth(**state);
  const bool discovered = context.control_plane->IsHealthy();
  CatTable table({
      Col("epoch", "t,time", "seconds since 1970-01-01 00:00:00"),
      Col("timestamp", "ts,hms,hhmmss", "time in HH:MM:SS"),
      Col("cluster", "cl", "cluster name"),
      Col("status", "st", "health status"),
      Col("node.total", "nt,nodeTotal", "total number of nodes", true),
      Col("node.data", "nd,nodeData", "number of nodes that can store data", true),
      Col("discovered_master", "dm", "cluster manager is discovered (deprecated)", true, false),
      Col("discovered_cluster_manager", "dcm", "cluster manager is discovered", true),
      Col("shards", "t,sh,shards.total,shardsTotal", "total number of shards", true),
      Col("pri", "p,shards.primary,shardsPrimary", "number of primary shards", true),
      Col("relo", "r,shards.relocating,shardsRelocating", "number of relocating nodes", true),
      Col("init", "i,shards.initializing,shardsInitializing", "number of initializing nodes", true),
      Col("unassign", "u,shards.unassigned,shardsUnassigned", "number of unassigned shards", true),
      Col("pending_tasks", "pt,pendingTasks", "number of pending tasks", true),
      Col("max_task_wait_time", "mtwt,maxTaskWaitTime", "wait time of longest task pending", true),
      Col("active_shards_percent", "asp,activeShardsPercent", "active number of shards in percent",
          true),
  });
  auto [epoch, timestamp] = EpochAndTimestamp();
  table.AddRow(
      {epoch, timestamp, CatValue::Text(context.identity.cluster_name),
       CatValue::Text(std::string(cluster::HealthStatusName(health.status))),
       CatValue::Number(health.number_of_nodes), CatValue::Number(health.number_of_data_nodes),
       CatValue::Text(discovered ? "true" : "false"), CatValue::Text(discovered ? "true" : "false"),
       CatValue::Number(health.shards.active_shards),
       CatValue::Number(health.shards.active_primary_shards),
       CatValue::Number(health.shards.relocating_shards),
       CatValue::Number(health.shards.initializing_shards),
       CatValue::Number(health.shards.unassigned_shards), CatValue::Number(0), CatValue::Text("-"),
       CatValue::Text(FormatPercent(health.active_shards_percent))});
  return table.Render(request);
}

HttpResponse CatNodes(const RestContext& context, const HttpRequest& request) {
  Result<StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  CatTable table({
      Col("id", "id,nodeId", "unique node id", false, false),
      Col("ip", "i", "ip address"),
      Col("port", "po", "bound transport port", true, false),
      Col("http_address", "http", "bound http address", false, false),
      Col("version", "v", "opensearch version", false, false),
      Col("heap.percent", "hp,heapPercent", "used heap ratio", true),
      Col("ram.percent", "rp,ramPercent", "used machine memory ratio", true),
      Col("ram.max", "rm,ramMax", "total machine memory", true, false),
      Col("cpu", "", "recent cpu usage", true),
      Col("load_1m", "l", "1m load avg", true),
      Col("load_5m", "l", "5m load avg", true),
      Col("load_15m", "l", "15m load avg", true),
      Col("disk.total", "dt,diskTotal", "total disk space", true, false),
      Col("disk.avail", "d,da,disk,diskAvail", "available disk space", true, false),
      Col("node.role", "r,role,nodeRole",
          "m:cluster manager eligible node, d:data node, -:coordinating node only"),
      Col("node.roles", "rs,all roles", "-:coordinating node only"),
      Col("cluster_manager", "cm,m", "*:current cluster manager, -:not cluster manager"),
      Col("name", "n", "node name"),
  });
  const cluster::NodeInfo* manager = ClusterManagerNode(**state);
  for (const auto& [id, node] : (*state)->nodes) {
    if (!IsLiveNode(node)) continue;
    std::string letters;
    if (node.roles.data) letters += 'd';
    if (node.roles.master) letters += 'm';
    if (letters.empty()) letters = "-";
    std::string names;
    for (const std::string& role : OpenSearchRoles(node)) {
      if (!names.empty()) names += ',';
      names += role;
    }
    if (names.empty()) names = "-";
    // Resources are what the node last reported; zero means it reported nothing.
    const cluster::NodeResources& r = node.resources;
    table.AddRow(
        {CatValue::Text(id), CatValue::Text(node.address), CatValue::Number(node.grpc_port),
         CatValue::Text(HostPort(node.address, node.http_port)),
         CatValue::Text(std::string(kOpenSearchVersion)), CatValue(), CatValue(),
         r.memory_bytes > 0 ? CatValue::Bytes(r.memory_bytes) : CatValue(), CatValue(), CatValue(),
         CatValue(), CatValue(), r.disk_bytes > 0 ? CatValue::Bytes(r.disk_bytes) : CatValue(),
         r.disk_bytes > 0 ? CatValue::Bytes(r.disk_available) : CatValue(), CatValue::Text(letters),
         CatValue::Text(names), CatValue::Text(manager == &node ? "*" : "-"), CatValue::Text(id)});
  }
  return table.Render(request);
}

// Sums of the stats of an index's copies.
struct IndexSums {
  bool primaries_known = true;  // every primary answered
  bool total_known = true;      // every assigned copy answered
  engine::EngineStats primaries;
  engine::EngineStats total;
};

void Add(engine::EngineStats* into, const engine::EngineStats& s) {
  into->docs_count += s.docs_count;
  into->docs_deleted += s.docs_deleted;
  into->segment_count += s.segment_count;
  into->store_size_bytes += s.store_size_bytes;
  into->index_total += s.index_total;
  into->refresh_total += s.refresh_total;
  into->flush_total += s.flush_total;
  into->get_total += s.get_total;
}

std::map<std::string, IndexSums> SumByIndex(const std::vector<ShardCopyStats>& copies) {
  std::map<std::string, IndexSums> sums;
  for (const ShardCopyStats& c : copies) {
    IndexSums& s = sums[c.index->name];
    const bool assigned = c.copy->state != ShardState::kUnassigned;
    if (c.stats) {
      Add(&s.total, *c.stats);
      if (c.copy->primary) Add(&s.primaries, *c.stats);
    } else {
      if (c.copy->primary) s.primaries_known = false;
      if (assigned || c.copy->primary) s.total_known = false;
    }
  }
  return sums;
}

HttpResponse CatIndicesHandler(const RestContext& context, const HttpRequest& request,
                               const PathParams& params) {
  Result<StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  Result<std::vector<std::string>> names = CatIndices(**state, request, params);
  if (!names.ok()) return ErrorResponse(names.status());
  std::optional<cluster::HealthStatus> health_filter;
  if (request.HasParam("health")) {
    std::string_view h = request.Param("health");
    if (h == "green") {
      health_filter = cluster::HealthStatus::kGreen;
    } else if (h == "yellow") {
      health_filter = cluster::HealthStatus::kYellow;
    } else if (h == "red") {
      health_filter = cluster::HealthStatus::kRed;
    } else {
      return OpenSearchErrorResponse(400, "illegal_argument_exception",
                                     "unknown health status [" + std::string(h) + "]");
    }
  }
  const cluster::ClusterHealth health = cluster::ComputeHealth(**state);
  const std::map<std::string, IndexSums> sums =
      SumByIndex(CollectShardStats(context, **state, *names));
  CatTable table({
      Col("health", "h", "current health status"),
      Col("status", "s", "open/close status"),
      Col("index", "i,idx", "index name"),
      Col("uuid", "id,uuid", "index uuid"),
      Col("pri", "p,shards.primary,shardsPrimary", "number of primary shards", true),
      Col("rep", "r,shards.replica,shardsReplica", "number of replica shards", true),
      Col("docs.count", "dc,docsCount", "available docs", true),
      Col("docs.deleted", "dd,docsDeleted", "deleted docs", true),
      Col("creation.date", "cd", "index creation date (millisecond value)", true, false),
      Col("creation.date.string", "cds", "index creation date (as string)", false, false),
      WithPriSibling(Col("store.size", "ss,storeSize", "store size of primaries & replicas", true)),
      Col("pri.store.size", "", "store size of primaries", true),
      WithPriSibling(Col("indexing.index_total", "iito,indexingIndexTotal",
                         "number of indexing ops", true, false)),
      Col("pri.indexing.index_total", "", "number of indexing ops", true, false),
      WithPriSibling(Col("get.total", "gto,getTotal", "number of get ops", true, false)),
      Col("pri.get.total", "", "number of get ops", true, false),
      WithPriSibling(Col("refresh.total", "rto,refreshTotal", "total refreshes", true, false)),
      Col("pri.refresh.total", "", "total refreshes", true, false),
      WithPriSibling(Col("flush.total", "ft,flushTotal", "number of flushes", true, false)),
      Col("pri.flush.total", "", "number of flushes", true, false),
      WithPriSibling(Col("segments.count", "sc,segmentsCount", "number of segments", true, false)),
      Col("pri.segments.count", "", "number of segments", true, false),
  });
  for (const std::string& name : *names) {
    const cluster::Index* index = (*state)->FindIndex(name);
    if (index == nullptr) continue;
    auto h = health.indices.find(name);
    cluster::HealthStatus status =
        h == health.indices.end() ? cluster::HealthStatus::kRed : h->second.status;
    if (health_filter && status != *health_filter) continue;
    const IndexSums& s = sums.count(name) ? sums.at(name) : IndexSums{};
    auto pri = [&](int64_t v) { return s.primaries_known ? CatValue::Number(v) : CatValue(); };
    auto tot = [&](int64_t v) { return s.total_known ? CatValue::Number(v) : CatValue(); };
    char date[32] = "";
    std::time_t seconds = static_cast<std::time_t>(index->created_at_ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    char millis[8];
    std::snprintf(millis, sizeof(millis), ".%03dZ", static_cast<int>(index->created_at_ms % 1000));
    table.AddRow({
        CatValue::Text(std::string(cluster::HealthStatusName(status))),
        CatValue::Text(index->closed ? "close" : "open"),
        CatValue::Text(name),
        CatValue::Text(index->uuid),
        CatValue::Number(index->settings.shards),
        CatValue::Number(index->settings.replicas),
        pri(s.primaries.docs_count),
        pri(s.primaries.docs_deleted),
        CatValue::Number(index->created_at_ms),
        CatValue::Text(std::string(date) + millis),
        s.total_known ? CatValue::Bytes(static_cast<int64_t>(s.total.store_size_bytes))
                      : CatValue(),
        s.primaries_known ? CatValue::Bytes(static_cast<int64_t>(s.primaries.store_size_bytes))
                          : CatValue(),
        tot(s.total.index_total),
        pri(s.primaries.index_total),
        tot(s.total.get_total),
        pri(s.primaries.get_total),
        tot(s.total.refresh_total),
        pri(s.primaries.refresh_total),
        tot(s.total.flush_total),
        pri(s.primaries.flush_total),
        tot(s.total.segment_count),
        pri(s.primaries.segment_count),
    });
  }
  return table.Render(request);
}

HttpResponse CatShards(const RestContext& context, const HttpRequest& request,
                       const PathParams& params) {
  Result<StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  Result<std::vector<std::string>> names = CatIndices(**state, request, params);
  if (!names.ok()) return ErrorResponse(names.status());
  CatTable table({
      Col("index", "i,idx", "index name"),
      Col("shard", "s,sh", "shard name"),
      Col("prirep", "p,pr,primaryOrReplica", "primary or replica"),
      Col("state", "st", "shard state"),
      Col("docs", "d,dc", "number of docs in shard", true),
      Col("store", "sto", "store size of shard (how much disk it uses)", true),
      Col("ip", "", "ip of node where it lives"),
      Col("id", "", "unique id of node where it lives", false, false),
      Col("node", "n", "name of node where it lives"),
      Col("segments.count", "sc,segmentsCount", "number of segments", true, false),
      Col("indexing.index_total", "iito,indexingIndexTotal", "number of indexing ops", true, false),
  });
  for (const ShardCopyStats& c : CollectShardStats(context, **state, *names)) {
    const bool assigned = c.copy->state != ShardState::kUnassigned;
    const cluster::NodeInfo* node = assigned ? (*state)->FindNode(c.copy->node_id) : nullptr;
    const engine::EngineStats* s = c.stats ? &*c.stats : nullptr;
    table.AddRow({
        CatValue::Text(c.index->name),
        CatValue::Number(c.shard),
        CatValue::Text(c.copy->primary ? "p" : "r"),
        CatValue::Text(std::string(cluster::ShardStateName(c.copy->state))),
        s ? CatValue::Number(s->docs_count) : CatValue(),
        s ? CatValue::Bytes(static_cast<int64_t>(s->store_size_bytes)) : CatValue(),
        node ? CatValue::Text(node->address) : CatValue(),
        assigned ? CatValue::Text(c.copy->node_id) : CatValue(),
        assigned ? CatValue::Text(c.copy->node_id) : CatValue(),
        s ? CatValue::Number(s->segment_count) : CatValue(),
        s ? CatValue::Number(s->index_total) : CatValue(),
    });
  }
  return table.Render(request);
}

HttpResponse CatCount(const RestContext& context, const HttpRequest& request,
                      const PathParams& params) {
  Result<StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  Result<std::vector<std::string>> names = CatIndices(**state, request, params);
  if (!names.ok()) return ErrorResponse(names.status());
  int64_t count = 0;
  for (const ShardCopyStats& c : CollectShardStats(context, **state, *names)) {
    if (!c.copy->primary || c.index->closed) continue;  // a closed index counts nothing
    if (!c.stats) {
      // OpenSearch's count would fail its search on this shard; so do we, rather than
      // report a count that silently leaves the shard out.
      return ErrorResponse(
          Status::Unavailable("no_shard_available_action_exception: No shard available for [" +
                              data::ShardName({c.index->name, c.shard}) + "]"));
    }
    count += c.stats->docs_count;
  }
  CatTable table({
      Col("epoch", "t,time", "seconds since 1970-01-01 00:00:00"),
      Col("timestamp", "ts,hms,hhmmss", "time in HH:MM:SS"),
      Col("count", "dc,docs.count,docsCount", "the document count"),
  });
  auto [epoch, timestamp] = EpochAndTimestamp();
  table.AddRow({epoch, timestamp, CatValue::Number(count)});
  return table.Render(request);
}

HttpResponse CatAliases(const RestContext& context, const HttpRequest& request,
                        const PathParams& params) {
  Result<StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  CatTable table({
      Col("alias", "a", "alias name"),
      Col("index", "i,idx", "index alias points to"),
      Col("filter", "f,fi", "filter"),
      Col("routing.index", "ri,routingIndex", "index routing"),
      Col("routing.search", "rs,routingSearch", "search routing"),
      Col("is_write_index", "w,isWriteIndex", "write index"),
  });
  // {name}: a comma list of alias names and patterns.
  auto name = params.find("name");
  const std::vector<std::string> patterns =
      name == params.end() ? std::vector<std::string>{} : SplitComma(name->second);
  auto wanted = [&](const std::string& alias) {
    if (patterns.empty()) return true;
    return std::any_of(patterns.begin(), patterns.end(),
                       [&](const std::string& p) { return p == "_all" || GlobMatch(p, alias); });
  };
  auto text_or_dash = [](const std::string& text) {
    return CatValue::Text(text.empty() ? "-" : text);
  };
  for (const auto& [index_name, index] : (*state)->indices) {
    for (const auto& [alias, metadata] : index->aliases) {
      if (!wanted(alias)) continue;
      table.AddRow({
          CatValue::Text(alias),
          CatValue::Text(index_name),
          CatValue::Text(metadata.filter.is_null() ? "-" : "*"),
          text_or_dash(metadata.index_routing),
          text_or_dash(metadata.search_routing),
          CatValue::Text(metadata.is_write_index ? (*metadata.is_write_index ? "true" : "false")
                                                 : "-"),
      });
    }
  }
  return table.Render(request);
}

HttpResponse CatTemplates(const RestContext& context, const HttpRequest& request,
                          const PathParams& params) {
  Result<StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  CatTable table({
      Col("name", "n", "template name"),
      Col("index_patterns", "t", "template index patterns"),
      Col("order", "o,p", "template application order/priority number"),
      Col("version", "v", "version"),
      Col("composed_of", "c", "component templates comprising index template"),
  });
  auto name = params.find("name");
  auto wanted = [&](const std::string& template_name) {
    return name == params.end() || GlobMatch(name->second, template_name);
  };
  // OpenSearch's row: "[a*, b*]", the order (legacy) or priority (composable), and "[]" as the
  // component templates of a composable one.
  auto add = [&](const std::string& template_name, const nlohmann::json& body, bool composable) {
    std::string patterns;
    for (const nlohmann::json& p : body.value("index_patterns", nlohmann::json::array())) {
      patterns += (patterns.empty() ? "" : ", ") + (p.is_string() ? p.get<std::string>() : "");
    }
    const nlohmann::json version = body.value("version", nlohmann::json());
    table.AddRow({
        CatValue::Text(template_name),
        CatValue::Text("[" + patterns + "]"),
        CatValue::Text(std::to_string(body.value(composable ? "priority" : "order", int64_t{0}))),
        CatValue::Text(version.is_number() ? version.dump() : ""),
        CatValue::Text(composable ? "[]" : ""),
    });
  };
  for (const auto& [n, body] : (*state)->legacy_templates) {
    if (wanted(n)) add(n, body, false);
  }
  for (const auto& [n, body] : (*state)->index_templates) {
    if (wanted(n)) add(n, body, true);
  }
  return table.Render(request);
}

HttpResponse CatAllocation(const RestContext& context, const HttpRequest& request,
                           const PathParams& params) {
  Result<StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  std::vector<std::string> all;
  for (const auto& [name, index] : (*state)->indices) all.push_back(name);
  std::map<std::string, int64_t> shards_on;
  std::map<std::string, int64_t> bytes_on;
  int64_t unassigned = 0;
  for (const ShardCopyStats& c : CollectShardStats(context, **state, all)) {
    if (c.copy->state == ShardState::kUnassigned) {
      ++unassigned;
      continue;
    }
    ++shards_on[c.copy->node_id];
    if (c.stats) bytes_on[c.copy->node_id] += static_cast<int64_t>(c.stats->store_size_bytes);
  }
  std::vector<std::string> filter;
  if (auto it = params.find("node_id"); it != params.end()) filter = SplitComma(it->second);
  auto wanted = [&](const std::string& id) {
    if (filter.empty()) return true;
    for (const std::string& f : filter) {
      if (f == "_all" || GlobMatch(f, id)) return true;
    }
    return false;
  };
  CatTable table({
      Col("shards", "s", "number of shards on node", true),
      Col("disk.indices", "di,diskIndices", "disk used by ES indices", true),
      Col("disk.used", "du,diskUsed", "disk used (total, not just ES)", true),
      Col("disk.avail", "da,diskAvail", "disk available", true),
      Col("disk.total", "dt,diskTotal", "total capacity of all volumes", true),
      Col("disk.percent", "dp,diskPercent", "percent disk used", true),
      Col("host", "h", "host of node"),
      Col("ip", "", "ip of node"),
      Col("node", "n", "name of node"),
  });
  for (const auto& [id, node] : (*state)->nodes) {
    if (!IsLiveNode(node) || !node.roles.data || !wanted(id)) continue;
    const cluster::NodeResources& r = node.resources;
    const bool disk = r.disk_bytes > 0;  // the node reported its disk
    const int64_t used = r.disk_bytes - r.disk_available;
    table.AddRow({
        CatValue::Number(shards_on.count(id) ? shards_on.at(id) : 0),
        CatValue::Bytes(bytes_on.count(id) ? bytes_on.at(id) : 0),
        disk ? CatValue::Bytes(used) : CatValue(),
        disk ? CatValue::Bytes(r.disk_available) : CatValue(),
        disk ? CatValue::Bytes(r.disk_bytes) : CatValue(),
        disk ? CatValue::Number(used * 100 / r.disk_bytes) : CatValue(),
        CatValue::Text(node.address),
        CatValue::Text(node.address),
        CatValue::Text(id),
    });
  }
  if (unassigned > 0 && filter.empty()) {
    table.AddRow({CatValue::Number(unassigned), CatValue(), CatValue(), CatValue(), CatValue(),
                  CatValue(), CatValue(), CatValue(), CatValue::Text("UNASSIGNED")});
  }
  return table.Render(request);
}

HttpResponse CatRecovery(const RestContext& context, const HttpRequest& request,
                         const PathParams& params) {
  Result<StatePtr> state = ReadClusterState(context);
  if (!state.ok()) return ErrorResponse(state.status());
  Result<std::vector<std::string>> names = CatIndices(**state, request, params);
  if (!names.ok()) return ErrorResponse(names.status());
  Result<bool> active_only = BoolParam(request, "active_only", false);
  if (!active_only.ok()) return ErrorResponse(active_only.status());
  CatTable table({
      Col("index", "i,idx", "index name"),
      Col("shard", "s,sh", "shard name"),
      Col("time", "t,ti", "recovery time", true),
      Col("type", "ty", "recovery type"),
      Col("stage", "st", "recovery stage"),
      Col("source_host", "shost", "source host"),
      Col("source_node", "snode", "source node name"),
      Col("target_host", "thost", "target host"),
      Col("target_node", "tnode", "target node name"),
      Col("repository", "rep", "repository"),
      Col("snapshot", "snap", "snapshot"),
      Col("files", "f", "number of files to recover", true),
      Col("files_recovered", "fr", "files recovered", true),
      Col("files_percent", "fp", "percent of files recovered", true),
      Col("files_total", "tf", "total number of files", true),
      Col("bytes", "b", "number of bytes to recover", true),
      Col("bytes_recovered", "br", "bytes recovered", true),
      Col("bytes_percent", "bp", "percent of bytes recovered", true),
      Col("bytes_total", "tb", "total number of bytes", true),
      Col("translog_ops", "to", "number of translog ops to recover", true),
      Col("translog_ops_recovered", "tor", "translog ops recovered", true),
      Col("translog_ops_percent", "top", "percent of translog ops recovered", true),
  });
  for (const ShardCopyStats& c : CollectShardStats(context, **state, *names)) {
    if (c.copy->state == ShardState::kUnassigned) continue;
    const bool done = cluster::IsActive(c.copy->state);
    if (*active_only && done) continue;
    std::string type = "peer";
    if (c.copy->primary) {
      // No recovery record is kept; a last commit holding operations means the copy opened
      // an existing store (a restart), which is all this can tell.
      type = c.stats && c.stats->local_checkpoint >= 0 ? "existing_store" : "empty_store";
    }
    const cluster::NodeInfo* node = (*state)->FindNode(c.copy->node_id);
    std::string source_host = "n/a", source_node = "n/a";
    if (!c.copy->primary) {
      const cluster::ShardCopy& primary =
          c.index->routing.shards[static_cast<size_t>(c.shard)].primary();
      source_node = primary.node_id;
      source_host = HostOf((*state)->FindNode(primary.node_id));
    }
    table.AddRow({
        CatValue::Text(c.index->name),
        CatValue::Number(c.shard),
        CatValue::Millis(0),
        CatValue::Text(type),
        CatValue::Text(done ? "done" : "init"),
        CatValue::Text(source_host),
        CatValue::Text(source_node),
        CatValue::Text(HostOf(node)),
        CatValue::Text(c.copy->node_id),
        CatValue::Text("n/a"),
        CatValue::Text("n/a"),
        CatValue::Number(0),
        CatValue::Number(0),
        CatValue::Text("0.0%"),
        CatValue::Number(0),
        CatValue::Number(0),
        CatValue::Number(0),
        CatValue::Text("0.0%"),
        CatValue::Number(0),
        CatValue::Number(0),
        CatValue::Number(0),
        CatValue::Text("100.0%"),
    });
  }
  return table.Render(request);
}

constexpr std::string_view kCatList =
    "=^.^=\n"
    "/_cat/allocation\n"
    "/_cat/shards\n"
    "/_cat/shards/{index}\n"
    "/_cat/nodes\n"
    "/_cat/indices\n"
    "/_cat/indices/{index}\n"
    "/_cat/count\n"
    "/_cat/count/{index}\n"
    "/_cat/recovery\n"
    "/_cat/recovery/{index}\n"
    "/_cat/health\n"
    "/_cat/aliases\n"
    "/_cat/aliases/{alias}\n"
    "/_cat/templates\n";

}  // namespace

Status RegisterCatHandlers(const RestContext& context, Router* router) {
  if (context.control_plane == nullptr || router == nullptr) {
    return Status::InvalidArgument("RegisterCatHandlers needs a control plane and a router");
  }
  using Handler = HttpResponse (*)(const RestContext&, const HttpRequest&, const PathParams&);
  auto bind = [&context](Handler handler) {
    return [context, handler](const HttpRequest& request, const PathParams& params) {
      return handler(context, request, params);
    };
  };
  QD_RETURN_IF_ERROR(
      router->Register(HttpMethod::kGet, "/_cat", [](const HttpRequest&, const PathParams&) {
        HttpResponse response;
        response.content_type = std::string(kTextContentType);
        response.body = std::string(kCatList);
        return response;
      }));
  // What CatTable::Render reads; local and the cluster-manager timeout change nothing here.
  // `pri` shows the primaries-only sibling of a column asked for by `h=` (only _cat/indices has
  // such columns); `size` would render count columns, which no table here has.
  const RouteParams table = {"bytes",
                             "cluster_manager_timeout",
                             "format",
                             "h",
                             "help",
                             "local",
                             "master_timeout",
                             "pri",
                             "s",
                             "size",
                             "time",
                             "ts",
                             "v"};
  const RouteParams indices_table = Params({table, kIndexOptionParams});
  QD_RETURN_IF_ERROR(router->Register(HttpMethod::kGet, "/_cat/health",
                                      bind([](const RestContext& c, const HttpRequest& r,
                                              const PathParams&) { return CatHealth(c, r); }),
                                      table));
  QD_RETURN_IF_ERROR(router->Register(HttpMethod::kGet, "/_cat/nodes",
                                      bind([](const RestContext& c, const HttpRequest& r,
                                              const PathParams&) { return CatNodes(c, r); }),
                                      table));
  struct Table {
    std::initializer_list<std::string_view> paths;
    Handler handler;
    RouteParams params;
  };
  const Table tables[] = {
      {{"/_cat/indices", "/_cat/indices/{index}"},
       &CatIndicesHandler,
       Params({indices_table, {"health"}})},
      {{"/_cat/shards", "/_cat/shards/{index}"}, &CatShards, indices_table},
      {{"/_cat/count", "/_cat/count/{index}"}, &CatCount, indices_table},
      {{"/_cat/recovery", "/_cat/recovery/{index}"},
       &CatRecovery,
       Params({indices_table, {"active_only"}})},
      {{"/_cat/allocation", "/_cat/allocation/{node_id}"}, &CatAllocation, table},
  };
  for (const Table& t : tables) {
    for (std::string_view path : t.paths) {
      QD_RETURN_IF_ERROR(router->Register(HttpMethod::kGet, path, bind(t.handler), t.params));
    }
  }
  auto aliases = [context](const HttpRequest& request, const PathParams& params) {
    return CatAliases(context, request, params);
  };
  QD_RETURN_IF_ERROR(router->Register(HttpMethod::kGet, "/_cat/aliases", aliases, table));
  QD_RETURN_IF_ERROR(router->Register(HttpMethod::kGet, "/_cat/aliases/{name}", aliases, table));
  auto templates = [context](const HttpRequest& request, const PathParams& params) {
    return CatTemplates(context, request, params);
  };
  QD_RETURN_IF_ERROR(router->Register(HttpMethod::kGet, "/_cat/templates", templates, table));
  return router->Register(HttpMethod::kGet, "/_cat/templates/{name}", templates, table);
}

}  // namespace quidditch::rest
