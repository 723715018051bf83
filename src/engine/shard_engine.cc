#include "engine/shard_engine.h"

#include <algorithm>
#include <chrono>

#include "engine/errors.h"
#include "engine/file_util.h"
#include "engine/shard_engine_impl.h"
#include "engine/source_merge.h"

namespace quidditch::engine {

namespace {

using Clock = std::chrono::steady_clock;

std::string Bracket(int64_t v) { return "[" + std::to_string(v) + "]"; }

Status ValidateParams(const WriteParams& p, bool is_create) {
  if (p.if_seq_no.has_value() != p.if_primary_term.has_value()) {
    return IllegalArgument("if_seq_no and if_primary_term must be set together");
  }
  if (p.if_seq_no && (*p.if_seq_no < 0 || *p.if_primary_term <= 0)) {
    return IllegalArgument("illegal if_seq_no or if_primary_term value");
  }
  if (p.version_type == VersionType::kInternal) {
    if (p.version) {
      return IllegalArgument(
          "internal versioning can not be used for optimistic concurrency control. Please use "
          "`if_seq_no` and `if_primary_term` instead");
    }
    return Status::OK();
  }
  if (p.if_seq_no) return IllegalArgument("compare and write operations can not use versioning");
  if (is_create) {
    return IllegalArgument("create operations only support internal versioning. use index instead");
  }
  if (!p.version || *p.version < 0) {
    return IllegalArgument(
        "illegal version value [" + std::to_string(p.version.value_or(-1)) +
        "] for version type [" +
        (p.version_type == VersionType::kExternal ? "EXTERNAL" : "EXTERNAL_GTE") + "]");
  }
  return Status::OK();
}

// Checks if_seq_no/if_primary_term against the current copy.
Status CheckSeqNo(std::string_view id, const WriteParams& p, const CurrentDoc& cur) {
  if (!p.if_seq_no) return Status::OK();
  std::string head = "[" + std::string(id) + "]: version conflict, required seqNo " +
                     Bracket(*p.if_seq_no) + ", primary term " + Bracket(*p.if_primary_term);
  if (!cur.exists) return VersionConflict(head + " but no document was found");
  if (cur.meta.seq_no != *p.if_seq_no || cur.meta.primary_term != *p.if_primary_term) {
    return VersionConflict(head + ". current document has seqNo " + Bracket(cur.meta.seq_no) +
                           " and primary term " + Bracket(cur.meta.primary_term));
  }
  return Status::OK();
}

// The version a write gets under `p`, or the conflict (OpenSearch's VersionType rules).
Result<int64_t> ResolveVersion(std::string_view id, const WriteParams& p, const CurrentDoc& cur) {
  std::string head = "[" + std::string(id) + "]: version conflict, current version ";
  switch (p.version_type) {
    case VersionType::kInternal:
      return cur.known() ? cur.meta.version + 1 : 1;
    case VersionType::kExternal:
      if (cur.known() && cur.meta.version >= *p.version) {
        return VersionConflict(head + Bracket(cur.meta.version) +
                               " is higher or equal to the one provided " + Bracket(*p.version));
      }
      return *p.version;
    case VersionType::kExternalGte:
      if (cur.known() && cur.meta.version > *p.version) {
        return VersionConflict(head + Bracket(cur.meta.version) +
                               " is higher than the one provided " + Bracket(*p.version));
      }
      return *p.version;
  }
  return Status::Internal("unknown version type");
}

}  // namespace

std::string_view WriteResultName(WriteResultKind kind) {
  switch (kind) {
    case WriteResultKind::kCreated:
      return "created";
    case WriteResultKind::kUpdated:
      return "updated";
    case WriteResultKind::kDeleted:
      return "deleted";
    case WriteResultKind::kNotFound:
      return "not_found";
    case WriteResultKind::kNoop:
      return "noop";
  }
  return "unknown";
}

ShardEngine::ShardEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ShardEngine::~ShardEngine() {
  impl_->StopBackgroundThreads();
  // Async durability: what was acknowledged since the last sync is made durable on close.
  Status s = impl_->translog->SyncAll();
  s.PermitUncheckedError();  // nothing to report it to; a failed sync loses only async writes
}

const AnalysisRegistry& ShardEngine::analysis() const { return *impl_->analysis; }

CurrentDoc ShardEngine::Impl::LookupLocked(std::string_view id) {
  CurrentDoc cur;
  auto it = versions.find(std::string(id));
  if (it != versions.end()) {
    cur.meta = it->second.meta;
    if (it->second.deleted) {
      cur.tombstone = true;
    } else {
      cur.exists = true;
      cur.buffer_doc = it->second.buffer_doc;
    }
    return cur;
  }
  // Newest segments first; at most one live copy exists.
  for (auto seg = segments.rbegin(); seg != segments.rend(); ++seg) {
    std::optional<TermState> term = (*seg)->reader->SeekExact(kIdField, id);
    if (!term) continue;
    std::unique_ptr<PostingsIterator> postings = (*seg)->reader->Postings(*term, false);
    for (uint32_t doc = postings->NextDoc(); doc != kNoMoreDocs; doc = postings->NextDoc()) {
      if (!(*seg)->live.IsLive(doc)) continue;
      cur.exists = true;
      cur.meta = (*seg)->reader->Meta(doc);
      cur.segment = seg->get();
      cur.doc = doc;
      return cur;
    }
  }
  return cur;
}

void ShardEngine::Impl::DeleteCopyLocked(const CurrentDoc& cur) {
  if (!cur.exists) return;
  if (cur.buffer_doc >= 0) {
    buffer[static_cast<size_t>(cur.buffer_doc)].live = false;
  } else if (cur.segment != nullptr) {
    cur.segment->live.Delete(cur.doc);
    cur.segment->dirty_since_publish = true;
    cur.segment->dirty_since_commit = true;
    deletes_since_publish = true;
  }
}

void ShardEngine::Impl::AddToBufferLocked(const CurrentDoc& cur, ParsedDocument doc,
                                          const DocMeta& meta) {
  DeleteCopyLocked(cur);
  // The mapping layer indexes _id itself; add it only if it did not (one field per name).
  bool has_id = std::any_of(doc.fields.begin(), doc.fields.end(),
                            [](const DocumentField& f) { return f.name == kIdField; });
  if (!has_id) {
    DocumentField id_field;
    id_field.name = kIdField;
    id_field.index_options = IndexOptions::kDocs;
    id_field.tokens.push_back(Token{doc.id, 0, 0, static_cast<uint32_t>(doc.id.size())});
    doc.fields.push_back(std::move(id_field));
  }
  uint32_t d = builder->AddDocument(doc, meta);
  if (buffer.size() <= d) buffer.resize(d + 1);
  buffer[d] = BufferDoc{doc.id, std::move(doc.source), meta, true};
  versions[buffer[d].id] = VersionEntry{meta, false, static_cast<int64_t>(d), {}};
}

ShardEngine::Impl::PreparedIndex ShardEngine::Impl::PrepareIndex(std::string_view id,
                                                                 std::string_view source,
                                                                 const WriteParams& params,
                                                                 const Mapping& mapping,
                                                                 uint64_t mapping_version) {
  auto start = Clock::now();
  PreparedIndex out;
  out.mapping_version = mapping_version;
  Status valid = ValidateParams(params, params.op_type == OpType::kCreate);
  if (!valid.ok()) {
    out.parsed = valid;
  } else if (id.empty()) {
    out.parsed = IllegalArgument("if _id is specified it must not be empty");
  } else {
    out.parsed = ParseDocument(mapping, *analysis, id, source);
  }
  out.parse_us =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  return out;
}

Result<WriteResult> ShardEngine::Impl::IndexLocked(std::string_view id, std::string_view source,
                                                   const WriteParams& params,
                                                   PreparedIndex prepared,
                                                   std::vector<TranslogOp>* pending) {
  auto start = Clock::now();
  if (!failed.ok()) return failed;
  Result<ParseResult>& parsed = prepared.parsed;
  if (parsed.ok() && prepared.mapping_version != mapping_version) {
    // Another write changed the mapping meanwhile (dynamic fields): parse against the new one
    // so that its fields are kept and this document's fields are typed consistently.
    parsed = ParseDocument(mapping, *analysis, id, source);
  }
  if (!parsed.ok()) {
    ++index_failed;
    return parsed.status();
  }
  CurrentDoc cur = LookupLocked(id);
  Status check = CheckSeqNo(id, params, cur);
  if (check.ok() && params.op_type == OpType::kCreate && cur.exists) {
    check = VersionConflict("[" + std::string(id) +
                            "]: version conflict, document already exists (current version " +
                            Bracket(cur.meta.version) + ")");
  }
  if (!check.ok()) {
    ++index_failed;
    return check;
  }
  Result<int64_t> version = ResolveVersion(id, params, cur);
  if (!version.ok()) {
    ++index_failed;
    return version.status();
  }
  TranslogOp& op = pending->emplace_back();
  op.type = TranslogOpType::kIndex;
  op.seq_no = ++max_seq_no;
  op.primary_term = options.primary_term;
  op.version = *version;
  op.id = std::string(id);
  op.source = std::string(source);
  op.routing = params.routing;
  DocMeta meta{op.seq_no, op.primary_term, op.version};
  if (parsed->updated_mapping) {
    mapping = *parsed->updated_mapping;
    ++mapping_version;
  }
  AddToBufferLocked(cur, std::move(parsed->doc), meta);
  ++index_total;
  index_time_us +=
      prepared.parse_us +
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  return WriteResult{meta.seq_no, meta.primary_term, meta.version,
                     cur.exists ? WriteResultKind::kUpdated : WriteResultKind::kCreated};
}

Result<WriteResult> ShardEngine::Impl::DeleteLocked(std::string_view id, const WriteParams& params,
                                                    std::vector<TranslogOp>* pending) {
  QD_RETURN_IF_ERROR(ValidateParams(params, false));
  if (!failed.ok()) return failed;
  CurrentDoc cur = LookupLocked(id);
  QD_RETURN_IF_ERROR(CheckSeqNo(id, params, cur));
  QD_ASSIGN_OR_RETURN(int64_t version, ResolveVersion(id, params, cur));
  TranslogOp& op = pending->emplace_back();
  op.type = TranslogOpType::kDelete;
  op.seq_no = ++max_seq_no;
  op.primary_term = options.primary_term;
  op.version = version;
  op.id = std::string(id);
  op.routing = params.routing;
  DeleteCopyLocked(cur);
  DocMeta meta{op.seq_no, op.primary_term, op.version};
  versions[op.id] = VersionEntry{meta, true, -1, Clock::now()};
  ++delete_total;
  return WriteResult{meta.seq_no, meta.primary_term, meta.version,
                     cur.exists ? WriteResultKind::kDeleted : WriteResultKind::kNotFound};
}

Result<TranslogLocation> ShardEngine::Impl::AppendLocked(std::vector<TranslogOp>* pending) {
  Result<TranslogLocation> loc = translog->AddAll(*pending);
  pending->clear();
  if (!loc.ok()) failed = loc.status().WithPrefix("engine failed: translog append");
  return loc;
}

Result<WriteResult> ShardEngine::Impl::ApplyIndex(std::string_view id, std::string_view source,
                                                  const WriteParams& params,
                                                  TranslogLocation* location) {
  Mapping parse_mapping;
  uint64_t parsed_version;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (!failed.ok()) return failed;
    parse_mapping = mapping;
    parsed_version = mapping_version;
  }
  PreparedIndex prepared = PrepareIndex(id, source, params, parse_mapping, parsed_version);
  std::lock_guard<std::mutex> lock(mu);
  std::vector<TranslogOp> pending;
  QD_ASSIGN_OR_RETURN(WriteResult r,
                      IndexLocked(id, source, params, std::move(prepared), &pending));
  QD_ASSIGN_OR_RETURN(*location, AppendLocked(&pending));
  return r;
}

Result<WriteResult> ShardEngine::Impl::ApplyDelete(std::string_view id, const WriteParams& params,
                                                   TranslogLocation* location) {
  std::lock_guard<std::mutex> lock(mu);
  std::vector<TranslogOp> pending;
  QD_ASSIGN_OR_RETURN(WriteResult r, DeleteLocked(id, params, &pending));
  QD_ASSIGN_OR_RETURN(*location, AppendLocked(&pending));
  return r;
}

Result<UpdateResult> ShardEngine::Impl::ApplyUpdate(std::string_view id,
                                                    const UpdateRequest& request,
                                                    TranslogLocation* location) {
  nlohmann::ordered_json changes;
  if (!request.doc.empty()) {
    try {
      changes = nlohmann::ordered_json::parse(request.doc);
    } catch (const nlohmann::json::exception& e) {
      return MapperParsingError(std::string("failed to parse the update doc: ") + e.what());
    }
    if (!changes.is_object()) return MapperParsingError("the update doc must be an object");
  } else if (!request.upsert) {
    return IllegalArgument("Validation Failed: 1: script or doc is missing;");
  }
  WriteParams requested;
  requested.if_seq_no = request.if_seq_no;
  requested.if_primary_term = request.if_primary_term;
  QD_RETURN_IF_ERROR(ValidateParams(requested, /*is_create=*/false));
  if (request.if_seq_no && request.retry_on_conflict > 0) {
    return IllegalArgument("compare and write operations can not be used with retry_on_conflict");
  }
  for (int attempt = 0;; ++attempt) {
    bool retry_allowed = attempt < request.retry_on_conflict;
    GetResult current;
    {
      std::lock_guard<std::mutex> lock(mu);
      QD_ASSIGN_OR_RETURN(current, GetLocked(id));
    }
    if (request.if_seq_no) {
      WriteParams cas;
      cas.if_seq_no = request.if_seq_no;
      cas.if_primary_term = request.if_primary_term;
      CurrentDoc cur;
      cur.exists = current.found;
      cur.meta = DocMeta{current.seq_no, current.primary_term, current.version};
      QD_RETURN_IF_ERROR(CheckSeqNo(id, cas, cur));
    }
    Result<WriteResult> written = Status::Internal("unset");
    std::string new_source;
    if (!current.found) {
      if (request.upsert) {
        new_source = *request.upsert;
      } else if (request.doc_as_upsert) {
        new_source = request.doc;
      } else {
        return DocumentMissing("[" + std::string(id) + "]: document missing");
      }
      WriteParams create;
      create.op_type = OpType::kCreate;
      create.routing = request.routing;
      written = ApplyIndex(id, new_source, create, location);
    } else {
      nlohmann::ordered_json doc;
      try {
        doc = nlohmann::ordered_json::parse(current.source);
      } catch (const nlohmann::json::exception& e) {
        return Status::Internal(std::string("stored _source does not parse: ") + e.what());
      }
      bool changed = MergeSource(&doc, changes);
      if (!changed && request.detect_noop) {
        ++noop_update_total;
        return UpdateResult{WriteResult{current.seq_no, current.primary_term, current.version,
                                        WriteResultKind::kNoop},
                            std::move(current.source)};
      }
      new_source = doc.dump();
      WriteParams cas;
      cas.if_seq_no = current.seq_no;
      cas.if_primary_term = current.primary_term;
      cas.routing = request.routing;
      written = ApplyIndex(id, new_source, cas, location);
    }
    if (!written.ok() && written.status().IsConflict() && retry_allowed) continue;
    if (!written.ok()) return written.status();
    return UpdateResult{*written, std::move(new_source)};
  }
}

Status ShardEngine::Impl::SyncForAck(const TranslogLocation& location) {
  if (async_durability) return Status::OK();
  Status s = translog->Sync(location);
  if (!s.ok()) {
    // The operation is in the buffer but its client gets an error: the engine stops (no
    // refresh, flush or merge publishes it) until the shard is reopened and the translog
    // replayed, as OpenSearch's failEngine.
    std::lock_guard<std::mutex> lock(mu);
    if (failed.ok()) failed = s.WithPrefix("engine failed: translog sync");
  }
  return s;
}

Result<GetResult> ShardEngine::Impl::GetLocked(std::string_view id) {
  CurrentDoc cur = LookupLocked(id);
  GetResult out;
  if (!cur.exists) return out;
  out.found = true;
  out.version = cur.meta.version;
  out.seq_no = cur.meta.seq_no;
  out.primary_term = cur.meta.primary_term;
  if (cur.buffer_doc >= 0) {
    out.source = buffer[static_cast<size_t>(cur.buffer_doc)].source;
  } else {
    std::string stored_id;
    QD_RETURN_IF_ERROR(cur.segment->reader->Document(cur.doc, &stored_id, &out.source));
  }
  return out;
}

Result<WriteResult> ShardEngine::Index(std::string_view id, std::string_view source,
                                       const WriteParams& params) {
  TranslogLocation loc;
  QD_ASSIGN_OR_RETURN(WriteResult r, impl_->ApplyIndex(id, source, params, &loc));
  QD_RETURN_IF_ERROR(impl_->SyncForAck(loc));
  return r;
}

Result<WriteResult> ShardEngine::Delete(std::string_view id, const WriteParams& params) {
  TranslogLocation loc;
  QD_ASSIGN_OR_RETURN(WriteResult r, impl_->ApplyDelete(id, params, &loc));
  QD_RETURN_IF_ERROR(impl_->SyncForAck(loc));
  return r;
}

Result<UpdateResult> ShardEngine::Update(std::string_view id, const UpdateRequest& request) {
  TranslogLocation loc;
  QD_ASSIGN_OR_RETURN(UpdateResult r, impl_->ApplyUpdate(id, request, &loc));
  if (r.write.result != WriteResultKind::kNoop) QD_RETURN_IF_ERROR(impl_->SyncForAck(loc));
  return r;
}

std::vector<BulkItemResult> ShardEngine::Bulk(const std::vector<BulkItem>& items) {
  // Applied in chunks. A chunk's documents are parsed outside the write mutex against one copy
  // of the mapping (concurrent bulks parse in parallel), then applied under one hold of the
  // mutex and appended to the translog with one write. The chunk size bounds how long a bulk
  // keeps other writers and realtime gets waiting.
  constexpr size_t kChunk = 128;
  Impl& im = *impl_;
  std::vector<BulkItemResult> out(items.size());
  TranslogLocation last;
  std::vector<Impl::PreparedIndex> prepared;
  std::vector<TranslogOp> pending;
  std::vector<size_t> pending_items;  // the items whose operations are in `pending`
  auto append = [&] {                 // REQUIRES: im.mu held
    if (pending.empty()) return;
    Result<TranslogLocation> loc = im.AppendLocked(&pending);
    if (loc.ok()) {
      last = std::max(last, *loc);
    } else {
      for (size_t i : pending_items) out[i].status = loc.status();
    }
    pending_items.clear();
  };
  for (size_t begin = 0; begin < items.size(); begin += kChunk) {
    const size_t end = std::min(items.size(), begin + kChunk);
    prepared.assign(end - begin, Impl::PreparedIndex{});
    if (std::any_of(items.begin() + static_cast<ptrdiff_t>(begin),
                    items.begin() + static_cast<ptrdiff_t>(end),
                    [](const BulkItem& item) { return item.kind == BulkItem::Kind::kIndex; })) {
      Mapping mapping;
      uint64_t mapping_version;
      {
        std::lock_guard<std::mutex> lock(im.mu);
        mapping = im.mapping;
        mapping_version = im.mapping_version;
      }
      for (size_t i = begin; i < end; ++i) {
        const BulkItem& item = items[i];
        if (item.kind != BulkItem::Kind::kIndex) continue;
        prepared[i - begin] =
            im.PrepareIndex(item.id, item.source, item.params, mapping, mapping_version);
      }
    }
    std::unique_lock<std::mutex> lock(im.mu);
    for (size_t i = begin; i < end; ++i) {
      const BulkItem& item = items[i];
      Result<WriteResult> written = Status::Internal("unset");
      switch (item.kind) {
        case BulkItem::Kind::kIndex:
          written = im.IndexLocked(item.id, item.source, item.params,
                                   std::move(prepared[i - begin]), &pending);
          break;
        case BulkItem::Kind::kDelete:
          written = im.DeleteLocked(item.id, item.params, &pending);
          break;
        case BulkItem::Kind::kUpdate: {
          // ApplyUpdate reads the document and writes it through ApplyIndex; both take `mu`
          // themselves.
          append();
          lock.unlock();
          TranslogLocation loc;
          Result<UpdateResult> r = im.ApplyUpdate(item.id, item.update, &loc);
          lock.lock();
          out[i].status = r.status();
          if (r.ok()) {
            out[i].write = r->write;
            out[i].source = std::move(r->source);
            last = std::max(last, loc);
          }
          continue;
        }
      }
      out[i].status = written.status();
      if (written.ok()) {
        out[i].write = *written;
        pending_items.push_back(i);
      }
    }
    append();
  }
  // One sync for the whole bulk, before any item is acknowledged.
  Status synced = im.SyncForAck(last);
  if (!synced.ok()) {
    for (BulkItemResult& r : out) {
      if (r.status.ok()) r.status = synced;
    }
  }
  return out;
}

Result<GetResult> ShardEngine::Get(std::string_view id, bool realtime) {
  ++impl_->get_total;
  GetResult out;
  if (realtime) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    QD_ASSIGN_OR_RETURN(out, impl_->GetLocked(id));
  } else {
    std::shared_ptr<const EngineSnapshot> snap = AcquireSnapshot();
    for (auto leaf = snap->leaves.rbegin(); leaf != snap->leaves.rend() && !out.found; ++leaf) {
      std::optional<TermState> term = leaf->reader->SeekExact(kIdField, id);
      if (!term) continue;
      std::unique_ptr<PostingsIterator> postings = leaf->reader->Postings(*term, false);
      for (uint32_t doc = postings->NextDoc(); doc != kNoMoreDocs; doc = postings->NextDoc()) {
        if (leaf->live && !leaf->live->IsLive(doc)) continue;
        DocMeta meta = leaf->reader->Meta(doc);
        std::string stored_id;
        QD_RETURN_IF_ERROR(leaf->reader->Document(doc, &stored_id, &out.source));
        out.found = true;
        out.version = meta.version;
        out.seq_no = meta.seq_no;
        out.primary_term = meta.primary_term;
        break;
      }
    }
  }
  if (out.found) ++impl_->get_exists_total;
  return out;
}

std::shared_ptr<const EngineSnapshot> ShardEngine::AcquireSnapshot() const {
  std::lock_guard<std::mutex> lock(impl_->snapshot_mu);
  return impl_->snapshot;
}

Mapping ShardEngine::mapping() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->mapping;
}

std::optional<std::chrono::milliseconds> ShardEngine::refresh_interval() const {
  const int64_t ms = impl_->refresh_interval_ms;
  if (ms <= 0) return std::nullopt;
  return std::chrono::milliseconds(ms);
}

int64_t ShardEngine::max_seq_no() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->max_seq_no;
}

Status ShardEngine::UpdateMapping(const nlohmann::json& update) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  QD_ASSIGN_OR_RETURN(Mapping merged, impl_->mapping.Merge(update, *impl_->analysis));
  // The translog does not carry mapping changes, so the change is made durable by a commit
  // before it is acknowledged: a replay after a crash must parse documents under it.
  Mapping previous = std::move(impl_->mapping);
  impl_->mapping = std::move(merged);
  ++impl_->mapping_version;
  Status flushed = impl_->FlushLocked();
  if (!flushed.ok()) {
    impl_->mapping = std::move(previous);
    ++impl_->mapping_version;
    return flushed.WithPrefix("update mapping");
  }
  return Status::OK();
}

Result<std::vector<TranslogOp>> ShardEngine::ChangesSince(int64_t from_seq_no) const {
  int64_t trimmed = impl_->translog->trimmed_max_seq_no();
  if (from_seq_no <= trimmed) {
    return Status::Gone("operations from seq_no [" + std::to_string(from_seq_no) +
                        "] are no longer retained; history starts after seq_no [" +
                        std::to_string(trimmed) + "]");
  }
  std::vector<TranslogOp> ops;
  QD_RETURN_IF_ERROR(impl_->translog->Read(0, [&](const TranslogOp& op) {
    if (op.seq_no >= from_seq_no && op.type != TranslogOpType::kNoOp) ops.push_back(op);
    return Status::OK();
  }));
  // Appends happen in seq_no order under the write mutex; this only guards the contract.
  for (size_t i = 1; i < ops.size(); ++i) {
    if (ops[i].seq_no <= ops[i - 1].seq_no) {
      return Status::Internal("translog operations out of seq_no order");
    }
  }
  // A trim that ran while we read is detected by a changed watermark.
  if (from_seq_no <= impl_->translog->trimmed_max_seq_no()) {
    return Status::Gone("operations from seq_no [" + std::to_string(from_seq_no) +
                        "] were trimmed while being read");
  }
  return ops;
}

void ShardEngine::SetRetentionSeqNo(int64_t seq_no) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->retention_seq_no = seq_no;
}

EngineStats ShardEngine::Stats() const {
  EngineStats s;
  std::shared_ptr<const EngineSnapshot> snap = AcquireSnapshot();
  for (const Leaf& leaf : snap->leaves) {
    uint32_t deleted = leaf.live ? leaf.live->num_deleted() : 0;
    s.docs_count += leaf.reader->max_doc() - deleted;
    s.docs_deleted += deleted;
    s.store_size_bytes += leaf.reader->size_in_bytes();
  }
  s.segment_count = static_cast<int64_t>(snap->leaves.size());
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    s.max_seq_no = impl_->max_seq_no;
    s.local_checkpoint = impl_->last_commit.local_checkpoint;
  }
  s.store_size_bytes += DiskUsage(impl_->livedocs_dir);
  for (const TranslogGenerationInfo& g : impl_->translog->generations()) {
    s.translog_operations += g.num_ops;
    s.translog_size_bytes += g.size_bytes;
  }
  s.translog_sync_total = impl_->translog->sync_count();
  s.index_total = impl_->index_total;
  s.index_failed = impl_->index_failed;
  s.index_time_ms = impl_->index_time_us / 1000;
  s.delete_total = impl_->delete_total;
  s.noop_update_total = impl_->noop_update_total;
  s.get_total = impl_->get_total;
  s.get_exists_total = impl_->get_exists_total;
  s.get_missing_total = s.get_total - s.get_exists_total;
  s.refresh_total = impl_->refresh_total;
  s.flush_total = impl_->flush_total;
  s.merge_total = impl_->merge_total;
  return s;
}

Status ShardEngine::Refresh() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->RefreshLocked();
}

Status ShardEngine::Flush() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->FlushLocked();
}

Result<bool> ShardEngine::MaybeMerge() { return impl_->MergeOnce(); }

}  // namespace quidditch::engine
