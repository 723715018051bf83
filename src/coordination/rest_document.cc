// The document endpoints (see rest_document.h). Writes build a DocWrite and go through the
// shared write path of rest_bulk.h; reads ask an active copy of the document's shard.
#include "coordination/rest_document.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/cluster_state.h"
#include "coordination/rest_bulk.h"
#include "engine/errors.h"

namespace quidditch::rest {

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

constexpr std::chrono::milliseconds kWaitForPrimaries{30000};
// How long the snapshot a by-query request reads stays open between its pages.
constexpr std::chrono::milliseconds kByQueryKeepAlive{300000};
constexpr size_t kByQueryPageSize = 1000;

Status IllegalArgument(std::string_view reason) {
  return Status::InvalidArgument(std::string("illegal_argument_exception: ").append(reason));
}

Status ValidationFailed(std::string_view error) {
  return Status::InvalidArgument(
      "action_request_validation_exception: Validation Failed: 1: " + std::string(error) + ";");
}

std::string PathParam(const PathParams& path, std::string_view name) {
  auto it = path.find(name);
  return it == path.end() ? std::string() : it->second;
}

// A response without a body for HEAD requests (the status is the answer).
HttpResponse HeadResponse(int status) {
  HttpResponse response;
  response.status = status;
  return response;
}

// --- writes ------------------------------------------------------------------------------------

// The parameters every single-document write takes: routing, versioning, require_alias,
// pipeline.
Status ApplyWriteParams(const HttpRequest& request, DocWrite* write) {
  engine::WriteParams& params = write->item.params;
  params.routing = std::string(request.Param("routing"));
  if (request.HasParam("version")) {
    QD_ASSIGN_OR_RETURN(int64_t version, IntParam(request, "version", 0));
    params.version = version;
  }
  if (request.HasParam("version_type")) {
    QD_ASSIGN_OR_RETURN(params.version_type, ParseVersionType(request.Param("version_type")));
  }
  if (request.HasParam("if_seq_no")) {
    QD_ASSIGN_OR_RETURN(int64_t seq_no, IntParam(request, "if_seq_no", 0));
    params.if_seq_no = seq_no;
  }
  if (request.HasParam("if_primary_term")) {
    QD_ASSIGN_OR_RETURN(int64_t term, IntParam(request, "if_primary_term", 0));
    params.if_primary_term = term;
  }
  QD_ASSIGN_OR_RETURN(write->require_alias, BoolParam(request, "require_alias", false));
  if (request.HasParam("pipeline") && request.Param("pipeline") != "_none") {
    return IllegalArgument("pipeline with id [" + std::string(request.Param("pipeline")) +
                           "] does not exist");
  }
  return Status::OK();
}

// Executes one write and answers as OpenSearch's single-document actions do.
HttpResponse RunSingleWrite(const RestContext& context, const HttpRequest& request,
                            DocWrite write) {
  std::vector<DocWrite> writes;
  writes.push_back(std::move(write));
  Status valid = ValidateWrites(writes);
  if (!valid.ok()) return ErrorResponse(valid);
  Result<data::RefreshPolicy> refresh = RefreshParam(request);
  if (!refresh.ok()) return ErrorResponse(refresh.status());
  Result<std::chrono::milliseconds> timeout = TimeParam(request, "timeout", kWaitForPrimaries);
  if (!timeout.ok()) return ErrorResponse(timeout.status());
  WriteOptions options;
  options.refresh = *refresh;
  options.timeout = std::min(*timeout, kWaitForPrimaries);
  Result<std::vector<WriteOutcome>> outcomes = ExecuteWrites(context, &writes, options);
  if (!outcomes.ok()) return ErrorResponse(outcomes.status());
  const DocWrite& done = writes.front();
  const WriteOutcome& outcome = outcomes->front();
  int status = WriteStatus(outcome);
  if (!outcome.status.ok()) return ErrorObjectResponse(WriteErrorObject(done, outcome), status);
  std::string body;
  RenderWriteResponse(done, outcome, /*with_status=*/false, &body);
  HttpResponse response = HttpResponse::Json(status, std::move(body));
  if (status == 201) {
    // OpenSearch's DocWriteResponse.getLocation: the document's URI, routing included.
    std::string location = "/" + done.index + "/_doc/" + done.item.id;
    const std::string& routing = done.action == DocWrite::Action::kUpdate
                                     ? done.item.update.routing
                                     : done.item.params.routing;
    if (!routing.empty()) location += "?routing=" + routing;
    response.headers.Set("Location", location);
  }
  return response;
}

HttpResponse HandleIndex(const RestContext& context, const HttpRequest& request,
                         const PathParams& path, bool create) {
  DocWrite write;
  write.index = PathParam(path, "index");
  write.item.id = PathParam(path, "id");
  write.item.kind = engine::BulkItem::Kind::kIndex;
  write.action = create ? DocWrite::Action::kCreate : DocWrite::Action::kIndex;
  if (request.HasParam("op_type")) {
    std::string_view op_type = request.Param("op_type");
    if (op_type == "create") {
      write.action = DocWrite::Action::kCreate;
    } else if (op_type != "index") {
      return ErrorResponse(IllegalArgument("opType must be 'create' or 'index', found: [" +
                                           std::string(op_type) + "]"));
    }
  }
  if (write.action == DocWrite::Action::kCreate) {
    write.item.params.op_type = engine::OpType::kCreate;
  }
  Status params = ApplyWriteParams(request, &write);
  if (!params.ok()) return ErrorResponse(params);
  if (request.body.empty()) {
    return ErrorResponse(Status::InvalidArgument("parse_exception: request body is required"));
  }
  write.item.source = request.body;
  return RunSingleWrite(context, request, std::move(write));
}

HttpResponse HandleDelete(const RestContext& context, const HttpRequest& request,
                          const PathParams& path) {
  DocWrite write;
  write.action = DocWrite::Action::kDelete;
  write.index = PathParam(path, "index");
  write.item.id = PathParam(path, "id");
  write.item.kind = engine::BulkItem::Kind::kDelete;
  Status params = ApplyWriteParams(request, &write);
  if (!params.ok()) return ErrorResponse(params);
  return RunSingleWrite(context, request, std::move(write));
}

HttpResponse HandleUpdate(const RestContext& context, const HttpRequest& request,
                          const PathParams& path) {
  if (request.HasParam("version") || request.HasParam("version_type")) {
    // RestUpdateAction refuses versioning outright.
    return ErrorResponse(ValidationFailed(
        "internal versioning can not be used for optimistic concurrency control. Please use "
        "`if_seq_no` and `if_primary_term` instead"));
  }
  DocWrite write;
  write.action = DocWrite::Action::kUpdate;
  write.index = PathParam(path, "index");
  write.item.id = PathParam(path, "id");
  Status params = ApplyWriteParams(request, &write);
  if (!params.ok()) return ErrorResponse(params);
  if (request.body.empty()) {
    return ErrorResponse(Status::InvalidArgument("parse_exception: request body is required"));
  }
  Status body = ParseUpdateRequestBody(request.body, &write);
  if (!body.ok()) return ErrorResponse(body);
  engine::UpdateRequest& update = write.item.update;
  update.routing = write.item.params.routing;
  if (write.item.params.if_seq_no) update.if_seq_no = write.item.params.if_seq_no;
  if (write.item.params.if_primary_term) {
    update.if_primary_term = write.item.params.if_primary_term;
  }
  write.item.params = engine::WriteParams{};
  write.item.params.routing = update.routing;
  Result<int64_t> retries = IntParam(request, "retry_on_conflict", 0);
  if (!retries.ok()) return ErrorResponse(retries.status());
  update.retry_on_conflict = static_cast<int>(*retries);
  Result<std::optional<engine::SourceFilter>> filter = SourceFilterParam(request);
  if (!filter.ok()) return ErrorResponse(filter.status());
  if (*filter) write.fetch_source = **filter;
  if (update.doc.empty() && !update.upsert && write.error.ok()) {
    return ErrorResponse(ValidationFailed("script or doc is missing"));
  }
  return RunSingleWrite(context, request, std::move(write));
}

// --- reads -------------------------------------------------------------------------------------

// What one get asks for.
struct GetSpec {
  std::string index;
  std::string id;
  std::string routing;
  std::optional<engine::SourceFilter> source;  // nullopt: the whole _source
  bool stored_fields_only = false;             // stored_fields given without _source: no _source
  std::optional<int64_t> version;
  engine::VersionType version_type = engine::VersionType::kInternal;
};

// The result of one get: the response object, or an error on the document's shard.
struct GetAnswer {
  Status status;
  int32_t shard = -1;
  std::string index_uuid;
  bool found = false;
  std::string body;    // the GET response object (found or not) when status is OK
  std::string source;  // the filtered _source when found and fetched
  bool has_source = false;
};

void AppendString(std::string_view s, std::string* out) { out->append(Dump(OrderedJson(s))); }

GetAnswer RunGet(const RestContext& context, const cluster::ClusterState& state,
                 const GetSpec& spec, bool realtime, bool refresh) {
  GetAnswer answer;
  // Through an alias: its only index.
  Result<DocTarget> target = ReadTarget(state, spec.index, spec.routing);
  if (!target.ok()) {
    answer.status = target.status();
    return answer;
  }
  const std::string& routing = target->routing;  // an alias's index_routing
  const cluster::Index* index = state.FindIndex(target->index);
  if (index == nullptr) {
    answer.status = IndexNotFoundError(spec.index);
    return answer;
  }
  answer.index_uuid = index->uuid;
  if (Status open = CheckOpen(*index); !open.ok()) {
    answer.status = open;
    return answer;
  }
  answer.shard = ShardForRouting(routing.empty() ? spec.id : routing, index->settings.shards);
  Result<data::ShardService*> service = ReadShardService(context, *index, answer.shard);
  if (!service.ok()) {
    answer.status = service.status();
    return answer;
  }
  data::ShardKey key{index->name, answer.shard};
  if (refresh) {
    answer.status = (*service)->Refresh(key);
    if (!answer.status.ok()) return answer;
  }
  Result<engine::GetResult> got = (*service)->Get(key, spec.id, realtime);
  if (!got.ok()) {
    answer.status = got.status();
    return answer;
  }
  if (got->found && spec.version) {
    // VersionType.isVersionConflictForReads: internal and external compare for equality,
    // external_gte lets a newer document through.
    bool conflict = spec.version_type == engine::VersionType::kExternalGte
                        ? got->version < *spec.version
                        : got->version != *spec.version;
    if (conflict) {
      answer.status = engine::VersionConflict(
          "[" + spec.id + "]: version conflict, current version [" + std::to_string(got->version) +
          "] is different than the one provided [" + std::to_string(*spec.version) + "]");
      return answer;
    }
  }
  answer.found = got->found;
  std::string& out = answer.body;
  out.append("{\"_index\":");
  AppendString(index->name, &out);
  out.append(",\"_id\":");
  AppendString(spec.id, &out);
  if (!got->found) {
    out.append(",\"found\":false}");
    return answer;
  }
  out.append(",\"_version\":").append(std::to_string(got->version));
  out.append(",\"_seq_no\":").append(std::to_string(got->seq_no));
  out.append(",\"_primary_term\":").append(std::to_string(got->primary_term));
  if (!routing.empty()) {
    out.append(",\"_routing\":");
    AppendString(routing, &out);
  }
  out.append(",\"found\":true");
  bool fetch = spec.source ? spec.source->fetch() : !spec.stored_fields_only;
  if (fetch) {
    Result<std::string> filtered =
        spec.source ? spec.source->Apply(got->source) : Result<std::string>(got->source);
    if (!filtered.ok()) {
      answer.status = filtered.status();
      return answer;
    }
    answer.source = std::move(*filtered);
    answer.has_source = true;
    out.append(",\"_source\":").append(answer.source);
  }
  out.push_back('}');
  return answer;
}

HttpResponse GetErrorResponse(const GetSpec& spec, const GetAnswer& answer) {
  std::string type = ErrorTypeOf(answer.status).first;
  if (type == "index_not_found_exception") return ErrorResponse(answer.status, spec.index);
  if (type == "index_closed_exception" || type == "illegal_argument_exception") {
    return ErrorResponse(answer.status);
  }
  return ErrorObjectResponse(
      DocumentErrorObject(answer.status, spec.index, answer.shard, answer.index_uuid),
      ErrorTypeOf(answer.status).second);
}

// The read parameters shared by GET, _source and _mget: realtime, refresh, _source filtering.
struct ReadParams {
  bool realtime = true;
  bool refresh = false;
  std::optional<engine::SourceFilter> source;
  bool stored_fields_only = false;
};

Result<ReadParams> ReadParamsOf(const HttpRequest& request) {
  ReadParams params;
  QD_ASSIGN_OR_RETURN(params.realtime, BoolParam(request, "realtime", true));
  QD_ASSIGN_OR_RETURN(params.refresh, BoolParam(request, "refresh", false));
  QD_ASSIGN_OR_RETURN(params.source, SourceFilterParam(request));
  if (request.HasParam("fields")) {
    return IllegalArgument(
        "the parameter [fields] is no longer supported, please use [stored_fields] to retrieve "
        "stored fields or [_source] to load the field from _source");
  }
  params.stored_fields_only = request.HasParam("stored_fields") && !params.source;
  return params;
}

HttpResponse HandleGet(const RestContext& context, const HttpRequest& request,
                       const PathParams& path, bool source_only) {
  bool head = request.method == HttpMethod::kHead;
  Result<ReadParams> params = ReadParamsOf(request);
  if (!params.ok()) return head ? HeadResponse(400) : ErrorResponse(params.status());
  GetSpec spec;
  spec.index = PathParam(path, "index");
  spec.id = PathParam(path, "id");
  spec.routing = std::string(request.Param("routing"));
  spec.source = params->source;
  spec.stored_fields_only = !source_only && params->stored_fields_only;
  if (request.HasParam("version")) {
    Result<int64_t> version = IntParam(request, "version", 0);
    if (!version.ok()) return head ? HeadResponse(400) : ErrorResponse(version.status());
    spec.version = *version;
  }
  if (request.HasParam("version_type")) {
    Result<engine::VersionType> type = ParseVersionType(request.Param("version_type"));
    if (!type.ok()) return head ? HeadResponse(400) : ErrorResponse(type.status());
    spec.version_type = *type;
  }
  Result<cluster::StatePtr> state = ReadClusterState(context, {spec.index});
  if (!state.ok()) return head ? HeadResponse(503) : ErrorResponse(state.status());
  GetAnswer answer = RunGet(context, **state, spec, params->realtime, params->refresh);
  if (!answer.status.ok()) {
    HttpResponse error = GetErrorResponse(spec, answer);
    return head ? HeadResponse(error.status) : error;
  }
  if (source_only) {
    if (!answer.found) {
      if (head) return HeadResponse(404);
      return ErrorResponse(Status::NotFound("resource_not_found_exception: Document not found [" +
                                            spec.index + "]/[" + spec.id + "]"));
    }
    if (head) return HeadResponse(200);
    return HttpResponse::Json(200, answer.has_source ? answer.source : "{}");
  }
  int status = answer.found ? 200 : 404;
  if (head) return HeadResponse(status);
  return HttpResponse::Json(status, std::move(answer.body));
}

// --- _mget -------------------------------------------------------------------------------------

Status MgetParseError(std::string_view reason) {
  return Status::InvalidArgument("parse_exception: " + std::string(reason));
}

Result<GetSpec> MgetDocSpec(const json& doc, size_t position, const std::string& default_index,
                            const HttpRequest& request, const ReadParams& params) {
  GetSpec spec;
  spec.index = default_index;
  spec.routing = std::string(request.Param("routing"));
  spec.source = params.source;
  spec.stored_fields_only = params.stored_fields_only;
  if (!doc.is_object()) {
    return MgetParseError("failed to parse multi get request. expected an object for doc [" +
                          std::to_string(position) + "]");
  }
  bool has_id = false;
  for (const auto& [key, value] : doc.items()) {
    if (key == "_index") {
      if (!value.is_string()) return MgetParseError("failed to parse multi get request");
      spec.index = value.get<std::string>();
    } else if (key == "_id") {
      if (value.is_string()) {
        spec.id = value.get<std::string>();
      } else if (value.is_number()) {
        spec.id = value.dump();
      } else {
        return MgetParseError("failed to parse multi get request");
      }
      has_id = true;
    } else if (key == "routing" || key == "_routing") {
      spec.routing = value.is_string() ? value.get<std::string>() : value.dump();
    } else if (key == "_source") {
      QD_ASSIGN_OR_RETURN(engine::SourceFilter filter, engine::SourceFilter::Parse(&value));
      spec.source = std::move(filter);
    } else if (key == "stored_fields") {
      spec.stored_fields_only = !spec.source;
    } else if (key == "version") {
      if (!value.is_number_integer()) return MgetParseError("failed to parse multi get request");
      spec.version = value.get<int64_t>();
    } else if (key == "version_type") {
      if (!value.is_string()) return MgetParseError("failed to parse multi get request");
      QD_ASSIGN_OR_RETURN(spec.version_type, ParseVersionType(value.get<std::string>()));
    } else {
      return MgetParseError("failed to parse multi get request. unknown field [" + key + "]");
    }
  }
  if (spec.index.empty()) {
    return ValidationFailed("index is missing for doc " + std::to_string(position));
  }
  if (!has_id || spec.id.empty()) {
    return ValidationFailed("id is missing for doc " + std::to_string(position));
  }
  return spec;
}

HttpResponse HandleMget(const RestContext& context, const HttpRequest& request,
                        const PathParams& path) {
  Result<ReadParams> params = ReadParamsOf(request);
  if (!params.ok()) return ErrorResponse(params.status());
  Result<std::optional<json>> body = ParseJsonBody(request);
  if (!body.ok()) return ErrorResponse(body.status());
  std::string default_index = PathParam(path, "index");
  std::vector<GetSpec> specs;
  if (*body) {
    for (const auto& [key, value] : (**body).items()) {
      if (key == "docs") {
        if (!value.is_array()) {
          return ErrorResponse(MgetParseError("docs array element should include an object"));
        }
        for (const json& doc : value) {
          Result<GetSpec> spec = MgetDocSpec(doc, specs.size(), default_index, request, *params);
          if (!spec.ok()) return ErrorResponse(spec.status());
          specs.push_back(std::move(*spec));
        }
      } else if (key == "ids") {
        if (!value.is_array()) {
          return ErrorResponse(MgetParseError("ids array element should only contain ids"));
        }
        for (const json& id : value) {
          if (!id.is_string() && !id.is_number()) {
            return ErrorResponse(MgetParseError("ids array element should only contain ids"));
          }
          json doc = {{"_id", id.is_string() ? id.get<std::string>() : id.dump()}};
          Result<GetSpec> spec = MgetDocSpec(doc, specs.size(), default_index, request, *params);
          if (!spec.ok()) return ErrorResponse(spec.status());
          specs.push_back(std::move(*spec));
        }
      } else {
        return ErrorResponse(MgetParseError("unknown parameter [" + key +
                                            "] in request body or parameter is of the wrong "
                                            "type[" +
                                            std::string(engine::XContentTokenName(value)) + "] "));
      }
    }
  }
  if (specs.empty()) return ErrorResponse(ValidationFailed("no documents to get"));
  std::vector<std::string> names;
  for (const GetSpec& spec : specs) names.push_back(spec.index);
  Result<cluster::StatePtr> state = ReadClusterState(context, names);
  if (!state.ok()) return ErrorResponse(state.status());
  std::string out = "{\"docs\":[";
  for (size_t i = 0; i < specs.size(); ++i) {
    if (i > 0) out.push_back(',');
    GetAnswer answer = RunGet(context, **state, specs[i], params->realtime, params->refresh);
    if (answer.status.ok()) {
      out.append(answer.body);
      continue;
    }
    // A failed document: its index and id, and the error as a request failure reads.
    HttpResponse error = GetErrorResponse(specs[i], answer);
    json parsed = json::parse(error.body, nullptr, false);
    out.append("{\"_index\":");
    AppendString(specs[i].index, &out);
    out.append(",\"_id\":");
    AppendString(specs[i].id, &out);
    out.append(",\"error\":");
    out.append(parsed.is_object() ? parsed["error"].dump() : "{}");
    out.push_back('}');
  }
  out.append("]}");
  return HttpResponse::Json(200, std::move(out));
}

// --- _delete_by_query / _update_by_query -------------------------------------------------------

// One document a by-query request found.
struct FoundDoc {
  std::shared_ptr<const cluster::Index> index;
  int32_t shard = 0;
  std::string id;
  int64_t seq_no = 0;
  int64_t primary_term = 0;
  std::string source;
};

// Every document of one shard matching `query`, read from one snapshot page by page.
Status CollectShard(const RestContext& context, const std::shared_ptr<const cluster::Index>& index,
                    int32_t shard, const json& query, bool with_source, size_t limit,
                    std::vector<FoundDoc>* out) {
  QD_ASSIGN_OR_RETURN(data::ShardService * service, PrimaryShardService(context, *index, shard));
  data::ShardKey key{index->name, shard};
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  data::QueryPhaseRequest query_request;
  query_request.body = json::object({{"query", query}, {"track_total_hits", true}});
  query_request.now_millis = now;
  query_request.keep_alive = kByQueryKeepAlive;
  std::string reader;
  Status status;
  size_t taken = 0;
  while (taken < limit) {
    query_request.size = std::min(kByQueryPageSize, limit - taken);
    query_request.skip = taken;
    query_request.reader_id = reader;
    Result<data::QueryPhaseResult> page = service->ExecuteQuery(key, query_request);
    if (!page.ok()) {
      status = page.status();
      break;
    }
    reader = page->reader_id;
    if (page->hits.empty()) break;
    data::FetchPhaseRequest fetch;
    fetch.reader_id = reader;
    fetch.now_millis = now;
    fetch.release_reader = false;
    fetch.body = json::object({{"_source", with_source}, {"seq_no_primary_term", true}});
    for (const data::ShardHit& hit : page->hits) fetch.docs.push_back(hit.doc);
    Result<data::FetchPhaseResult> fetched = service->ExecuteFetch(key, fetch);
    if (!fetched.ok()) {
      status = fetched.status();
      break;
    }
    for (data::FetchedHit& hit : fetched->hits) {
      out->push_back(FoundDoc{index, shard, std::move(hit.id), hit.seq_no, hit.primary_term,
                              hit.source.value_or("")});
    }
    taken += page->hits.size();
    if (page->hits.size() < query_request.size) break;
  }
  if (!reader.empty()) {
    Status released = service->ReleaseReader(key, reader);
    // An expired reader is already gone; nothing is leaked either way.
    released.PermitUncheckedError();
  }
  return status;
}

HttpResponse HandleByQuery(const RestContext& context, const HttpRequest& request,
                           const PathParams& path, bool update) {
  auto start = Clock::now();
  Result<std::optional<json>> body = ParseJsonBody(request);
  if (!body.ok()) return ErrorResponse(body.status());
  std::optional<json> query;
  std::string conflicts = std::string(request.Param("conflicts", "abort"));
  int64_t max_docs = -1;
  if (request.HasParam("max_docs")) {
    Result<int64_t> v = IntParam(request, "max_docs", -1);
    if (!v.ok()) return ErrorResponse(v.status());
    max_docs = *v;
  }
  if (*body) {
    for (const auto& [key, value] : (**body).items()) {
      if (key == "query") {
        query = value;
      } else if (key == "conflicts" && value.is_string()) {
        conflicts = value.get<std::string>();
      } else if ((key == "max_docs" || key == "size") && value.is_number_integer()) {
        max_docs = value.get<int64_t>();
      } else if (key == "script") {
        return ErrorResponse(IllegalArgument("scripts are not supported"));
      } else {
        return ErrorResponse(Status::InvalidArgument("parsing_exception: Unknown key for a " +
                                                     std::string(engine::XContentTokenName(value)) +
                                                     " in [" + key + "]."));
      }
    }
  }
  if (conflicts != "abort" && conflicts != "proceed") {
    return ErrorResponse(IllegalArgument(
        "conflicts may only be \"proceed\" or \"abort\" but was [" + conflicts + "]"));
  }
  if (request.HasParam("slices") && request.Param("slices") != "1" &&
      request.Param("slices") != "auto") {
    return ErrorResponse(IllegalArgument("slices other than 1 are not supported yet"));
  }
  Result<bool> wait = BoolParam(request, "wait_for_completion", true);
  if (!wait.ok()) return ErrorResponse(wait.status());
  if (!*wait) {
    return ErrorResponse(IllegalArgument("wait_for_completion=false is not supported yet"));
  }
  Result<int64_t> scroll_size = IntParam(request, "scroll_size", 1000);
  if (!scroll_size.ok()) return ErrorResponse(scroll_size.status());
  if (*scroll_size <= 0) return ErrorResponse(IllegalArgument("scroll_size must be positive"));
  Result<bool> refresh = BoolParam(request, "refresh", false);
  if (!refresh.ok()) return ErrorResponse(refresh.status());
  if (!query) {
    // DeleteByQueryRequest.validate insists on a query; _update_by_query takes every document.
    if (!update) return ErrorResponse(ValidationFailed("query is missing"));
    query = json::object({{"match_all", json::object()}});
  }
  Result<IndicesOptions> indices_options = IndicesOptionsOf(request, IndicesOptions{});
  if (!indices_options.ok()) return ErrorResponse(indices_options.status());

  Result<cluster::StatePtr> state = ReadClusterState(context, SplitComma(PathParam(path, "index")));
  if (!state.ok()) return ErrorResponse(state.status());
  Result<std::vector<ResolvedIndex>> names =
      ResolveIndicesWithFilters(**state, PathParam(path, "index"), *indices_options);
  if (!names.ok()) return ErrorResponse(names.status());

  size_t limit = max_docs < 0 ? SIZE_MAX : static_cast<size_t>(max_docs);
  std::vector<FoundDoc> found;
  for (const ResolvedIndex& resolved : *names) {
    const std::string& name = resolved.name;
    std::shared_ptr<const cluster::Index> index = (*state)->indices.at(name);
    // Through a filtered alias, only the documents its filter matches.
    const json index_query = ApplyAliasFilters(*query, resolved.filters);
    for (int32_t shard = 0; shard < index->settings.shards; ++shard) {
      Status collected = CollectShard(context, index, shard, index_query, update, limit, &found);
      if (!collected.ok()) {
        auto [type, code] = ErrorTypeOf(collected);
        if (code >= 500 || type == "no_shard_available_action_exception") {
          return ErrorResponse(collected);
        }
        // A query that does not parse fails the search phase, as OpenSearch reports it.
        return ErrorResponse(collected, name);
      }
    }
  }
  if (found.size() > limit) found.resize(limit);

  int64_t done = 0, version_conflicts = 0, batches = 0;
  std::vector<OrderedJson> failures;
  int failure_status = 200;
  for (size_t begin = 0; begin < found.size() && failures.empty();
       begin += static_cast<size_t>(*scroll_size)) {
    size_t end = std::min(found.size(), begin + static_cast<size_t>(*scroll_size));
    ++batches;
    std::vector<DocWrite> writes;
    for (size_t i = begin; i < end; ++i) {
      const FoundDoc& doc = found[i];
      DocWrite write;
      write.index = doc.index->name;
      write.shard = doc.shard;
      write.item.id = doc.id;
      write.item.params.if_seq_no = doc.seq_no;
      write.item.params.if_primary_term = doc.primary_term;
      if (update) {
        write.action = DocWrite::Action::kIndex;
        write.item.kind = engine::BulkItem::Kind::kIndex;
        write.item.source = doc.source;
      } else {
        write.action = DocWrite::Action::kDelete;
        write.item.kind = engine::BulkItem::Kind::kDelete;
      }
      writes.push_back(std::move(write));
    }
    Result<std::vector<WriteOutcome>> outcomes = ExecuteWrites(context, &writes, WriteOptions{});
    if (!outcomes.ok()) return ErrorResponse(outcomes.status());
    for (size_t i = 0; i < writes.size(); ++i) {
      const WriteOutcome& outcome = (*outcomes)[i];
      if (outcome.status.ok()) {
        ++done;
        continue;
      }
      // A document changed or deleted since the search is a conflict (if_seq_no no longer
      // matches), counted, and fatal unless conflicts=proceed, as in OpenSearch.
      bool conflict = outcome.status.IsConflict();
      if (conflict) ++version_conflicts;
      if (conflict && conflicts == "proceed") continue;
      int status = WriteStatus(outcome);
      failure_status = std::max(failure_status, status);
      OrderedJson failure;
      failure["index"] = writes[i].index;
      failure["id"] = writes[i].item.id;
      failure["cause"] = WriteErrorObject(writes[i], outcome);
      failure["status"] = status;
      failures.push_back(std::move(failure));
    }
  }
  if (*refresh) {
    for (const ResolvedIndex& resolved : *names) {
      const std::string& name = resolved.name;
      const cluster::Index& index = *(*state)->indices.at(name);
      for (int32_t shard = 0; shard < index.settings.shards; ++shard) {
        Result<data::ShardService*> service = PrimaryShardService(context, index, shard);
        if (!service.ok()) return ErrorResponse(service.status());
        Status refreshed = (*service)->Refresh(data::ShardKey{name, shard});
        if (!refreshed.ok()) return ErrorResponse(refreshed);
      }
    }
  }

  OrderedJson out;
  out["took"] = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  out["timed_out"] = false;
  out["total"] = found.size();
  if (update) {
    out["updated"] = done;
    out["deleted"] = 0;
  } else {
    out["deleted"] = done;
  }
  out["batches"] = batches;
  out["version_conflicts"] = version_conflicts;
  out["noops"] = 0;
  out["retries"] = {{"bulk", 0}, {"search", 0}};
  out["throttled_millis"] = 0;
  out["requests_per_second"] = -1.0;
  out["throttled_until_millis"] = 0;
  out["failures"] = failures;
  return JsonResponse(failure_status, out);
}

}  // namespace

Status RegisterDocumentHandlers(const RestContext& context, Router* router) {
  auto bind = [&context](auto fn) -> RestHandler {
    return [context, fn](const HttpRequest& request, const PathParams& path) {
      return fn(context, request, path);
    };
  };
  using M = HttpMethod;
  // wait_for_active_shards and preference are accepted without effect (docs/api.md).
  const RouteParams versions = {"if_primary_term", "if_seq_no", "routing", "version",
                                "version_type"};
  const RouteParams write = Params({versions, {"refresh", "timeout", "wait_for_active_shards"}});
  const RouteParams index = Params({write, {"op_type", "pipeline", "require_alias"}});
  const RouteParams read =
      Params({kSourceFilterParams,
              {"fields", "preference", "realtime", "refresh", "routing", "stored_fields"}});
  const RouteParams by_query = Params(
      {kIndexOptionParams,
       {"conflicts", "max_docs", "refresh", "scroll_size", "slices", "wait_for_completion"}});
  QD_RETURN_IF_ERROR(
      router->Register({M::kPut, M::kPost}, "/{index}/_doc/{id}",
                       bind([](const RestContext& c, const HttpRequest& r, const PathParams& p) {
                         return HandleIndex(c, r, p, /*create=*/false);
                       }),
                       index));
  QD_RETURN_IF_ERROR(
      router->Register(M::kPost, "/{index}/_doc",
                       bind([](const RestContext& c, const HttpRequest& r, const PathParams& p) {
                         return HandleIndex(c, r, p, /*create=*/false);
                       }),
                       index));
  QD_RETURN_IF_ERROR(
      router->Register({M::kPut, M::kPost}, "/{index}/_create/{id}",
                       bind([](const RestContext& c, const HttpRequest& r, const PathParams& p) {
                         return HandleIndex(c, r, p, /*create=*/true);
                       }),
                       index));
  QD_RETURN_IF_ERROR(
      router->Register({M::kGet, M::kHead}, "/{index}/_doc/{id}",
                       bind([](const RestContext& c, const HttpRequest& r, const PathParams& p) {
                         return HandleGet(c, r, p, /*source_only=*/false);
                       }),
                       Params({read, {"version", "version_type"}})));
  QD_RETURN_IF_ERROR(
      router->Register({M::kGet, M::kHead}, "/{index}/_source/{id}",
                       bind([](const RestContext& c, const HttpRequest& r, const PathParams& p) {
                         return HandleGet(c, r, p, /*source_only=*/true);
                       }),
                       Params({read, {"version", "version_type"}})));
  QD_RETURN_IF_ERROR(router->Register(M::kDelete, "/{index}/_doc/{id}", bind(HandleDelete), write));
  QD_RETURN_IF_ERROR(router->Register(
      M::kPost, "/{index}/_update/{id}", bind(HandleUpdate),
      Params({write, kSourceFilterParams, {"pipeline", "require_alias", "retry_on_conflict"}})));
  for (std::string_view path : {"/_mget", "/{index}/_mget"}) {
    QD_RETURN_IF_ERROR(router->Register({M::kGet, M::kPost}, path, bind(HandleMget), read));
  }
  QD_RETURN_IF_ERROR(
      router->Register(M::kPost, "/{index}/_delete_by_query",
                       bind([](const RestContext& c, const HttpRequest& r, const PathParams& p) {
                         return HandleByQuery(c, r, p, /*update=*/false);
                       }),
                       by_query));
  QD_RETURN_IF_ERROR(
      router->Register(M::kPost, "/{index}/_update_by_query",
                       bind([](const RestContext& c, const HttpRequest& r, const PathParams& p) {
                         return HandleByQuery(c, r, p, /*update=*/true);
                       }),
                       by_query));
  return Status::OK();
}

}  // namespace quidditch::rest
