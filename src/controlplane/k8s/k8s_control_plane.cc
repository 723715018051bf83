#include "controlplane/k8s/k8s_control_plane.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <thread>

#include "cluster/apply.h"
#include "cluster/codec.h"
#include "cluster/diff.h"

namespace quidditch::controlplane::k8s {

using cluster::ClusterState;
using cluster::Command;
using quidditch::k8s::KubeClient;
using Clock = std::chrono::steady_clock;

namespace {

// Objects deleted through this process, remembered so that a lagging watch event for them
// cannot bring them back: object name -> the version at which it was deleted.
using Tombstones = std::map<std::string, int64_t>;

template <typename T>
bool IsSpecCommand(const Command& c) {
  return std::holds_alternative<T>(c.op);
}

}  // namespace

// The informer caches and the state built from them. Every change rebuilds the ClusterState and
// publishes it when it differs (see the header for the version rule).
struct K8sControlPlane::Cache {
  mutable std::mutex mu;
  std::condition_variable changed;                                       // any object changed
  std::map<std::string, IndexObject> indices;                            // by object name
  std::map<std::string, std::shared_ptr<const cluster::Index>> applied;  // by object name
  std::map<std::string, NodeObjectView> nodes;                           // by object name
  std::map<std::string, TemplateObject> templates;                       // by object name
  Tombstones index_tombstones, node_tombstones, template_tombstones;
  // The newest version the node watch (or a node list) has delivered: write-through answers do
  // not count, as they say nothing about other nodes.
  int64_t node_stream_version = 0;
  // The newest list of each resource (the informer's or a linearizable read's).
  int64_t index_list_mark = 0, node_list_mark = 0, template_list_mark = 0;
  OnChange on_change;

  Tombstones& TombstonesOf(Kind kind) {
    return kind == Kind::kIndex  ? index_tombstones
           : kind == Kind::kNode ? node_tombstones
                                 : template_tombstones;
  }
  int64_t& ListMarkOf(Kind kind) {
    return kind == Kind::kIndex  ? index_list_mark
           : kind == Kind::kNode ? node_list_mark
                                 : template_list_mark;
  }
  // The cached version of an object, or nullopt when it is not cached.
  std::optional<int64_t> VersionOf(Kind kind, const std::string& name) const {
    auto find = [&](const auto& map) -> std::optional<int64_t> {
      auto it = map.find(name);
      if (it == map.end()) return std::nullopt;
      return it->second.resource_version;
    };
    return kind == Kind::kIndex  ? find(indices)
           : kind == Kind::kNode ? find(nodes)
                                 : find(templates);
  }
  // The cached objects of a kind: name and version.
  std::vector<std::pair<std::string, int64_t>> Versions(Kind kind) const {
    std::vector<std::pair<std::string, int64_t>> out;
    auto collect = [&](const auto& map) {
      for (const auto& [name, o] : map) out.emplace_back(name, o.resource_version);
    };
    if (kind == Kind::kIndex) collect(indices);
    if (kind == Kind::kNode) collect(nodes);
    if (kind == Kind::kTemplate) collect(templates);
    return out;
  }
};

Result<quidditch::k8s::KubeConfig> KubeConfigFor(const K8sConfig& config) {
  if (!config.kubeconfig.empty()) return quidditch::k8s::LoadKubeconfig(config.kubeconfig);
  return quidditch::k8s::InClusterConfig();
}

K8sControlPlane::K8sControlPlane(K8sControlPlaneOptions options)
    : StateBackedControlPlane(options.clock),
      ns_(options.ns.empty() ? options.kube.default_namespace : options.ns),
      kube_(std::move(options.kube)),
      cache_(std::make_unique<Cache>()) {}

K8sControlPlane::~K8sControlPlane() { (void)Stop(); }

Status K8sControlPlane::Start() {
  QD_ASSIGN_OR_RETURN(client_, KubeClient::Create(kube_));
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  Result<std::string> uuid = LoadClusterUuid(deadline);
  if (!uuid.ok()) {
    return uuid.status().WithPrefix(
        fmt::format("cannot read or create ConfigMap {} (the cluster uuid) in namespace {}: is "
                    "the API server reachable and may this account get and create ConfigMaps?",
                    kClusterConfigMapName, ns_));
  }
  cluster_uuid_ = std::move(uuid).value();
  auto handler = [this](Kind kind) {
    quidditch::k8s::Informer::Handler h;
    h.upsert = [this, kind](const Json& o) { Upsert(kind, o, /*from_stream=*/true); };
    h.remove = [this, kind](const Json& o) { Remove(kind, o, /*from_stream=*/true); };
    h.replace = [this, kind](const std::vector<Json>& items, int64_t rv) {
      Replace(kind, items, rv);
    };
    return h;
  };
  index_informer_ = std::make_unique<quidditch::k8s::Informer>(client_.get(), IndicesResource(),
                                                               ns_, "", handler(Kind::kIndex));
  node_informer_ = std::make_unique<quidditch::k8s::Informer>(client_.get(), NodesResource(), ns_,
                                                              "", handler(Kind::kNode));
  template_informer_ = std::make_unique<quidditch::k8s::Informer>(
      client_.get(), TemplatesResource(), ns_, "", handler(Kind::kTemplate));
  index_informer_->Start();
  node_informer_->Start();
  template_informer_->Start();
  if (!index_informer_->WaitForSync(deadline) || !node_informer_->WaitForSync(deadline) ||
      !template_informer_->WaitForSync(deadline)) {
    (void)Stop();
    return Status::Unavailable(fmt::format(
        "cannot list the Quidditch resources in namespace {} at {} within 30 s: is the API "
        "server reachable, are the CRDs installed and may this account list them?",
        ns_, kube_.server));
  }
  started_ = true;
  spdlog::info(
      "Kubernetes control plane: namespace {}, API server {}, cluster uuid {}, state version {}",
      ns_, kube_.server, cluster_uuid_, store().Current()->version);
  return Status::OK();
}

Result<std::string> K8sControlPlane::LoadClusterUuid(KubeClient::Deadline deadline) {
  const auto& configmaps = quidditch::k8s::ConfigMapsResource();
  // Two rounds: a create that finds the ConfigMap already there (another process was first)
  // reads that one.
  for (int round = 0; round < 2; ++round) {
    Result<Json> existing = client_->Get(configmaps, ns_, kClusterConfigMapName, deadline);
    if (existing.ok()) return ClusterUuidOf(*existing);
    if (!existing.status().IsNotFound()) return existing.status();
    const std::string uuid = NewUuid();
    Result<Json> created = client_->Create(configmaps, ns_, NewClusterConfigMap(uuid), deadline);
    if (created.ok()) {
      spdlog::info("Kubernetes control plane: a new cluster: created ConfigMap {} with uuid {}",
                   kClusterConfigMapName, uuid);
      return ClusterUuidOf(*created);
    }
    if (!created.status().IsAlreadyExists()) return created.status();
  }
  return Status::Conflict("it was created and deleted again while this process read it");
}

Status K8sControlPlane::Stop() {
  if (stopped_.exchange(true)) return Status::OK();
  for (auto* informer : {index_informer_.get(), node_informer_.get(), template_informer_.get()}) {
    if (informer != nullptr) informer->RequestStop();
  }
  for (auto* informer : {index_informer_.get(), node_informer_.get(), template_informer_.get()}) {
    if (informer != nullptr) informer->Stop();
  }
  store().Close();
  { std::lock_guard<std::mutex> lock(cache_->mu); }
  cache_->changed.notify_all();
  return Status::OK();
}

bool K8sControlPlane::IsHealthy() const {
  return started_ && !stopped_ && index_informer_->synced() && node_informer_->synced() &&
         template_informer_->synced() && index_informer_->connected() &&
         node_informer_->connected() && template_informer_->connected();
}

// --- the cache ---------------------------------------------------------------------------------

void K8sControlPlane::SetOnChange(OnChange on_change) {
  std::lock_guard<std::mutex> lock(cache_->mu);
  cache_->on_change = std::move(on_change);
}

std::vector<IndexObject> K8sControlPlane::IndexObjects() const {
  std::lock_guard<std::mutex> lock(cache_->mu);
  std::vector<IndexObject> out;
  for (const auto& [name, object] : cache_->indices) out.push_back(object);
  return out;
}

std::vector<NodeObjectView> K8sControlPlane::NodeObjects() const {
  std::lock_guard<std::mutex> lock(cache_->mu);
  std::vector<NodeObjectView> out;
  for (const auto& [name, object] : cache_->nodes) out.push_back(object);
  return out;
}

void K8sControlPlane::UpsertIndex(const Json& object) { Upsert(Kind::kIndex, object, false); }
void K8sControlPlane::UpsertNode(const Json& object) { Upsert(Kind::kNode, object, false); }

void K8sControlPlane::Upsert(Kind kind, const Json& object, bool from_stream) {
  {
    std::lock_guard<std::mutex> lock(cache_->mu);
    if (from_stream && kind == Kind::kNode) {
      cache_->node_stream_version =
          std::max(cache_->node_stream_version, quidditch::k8s::ResourceVersionOf(object));
    }
    if (!UpsertLocked(kind, object)) return;
    PublishLocked(quidditch::k8s::ResourceVersionOf(object));
  }
  Notify(kind, object.value("metadata", Json::object()).value("name", ""));
}

bool K8sControlPlane::UpsertLocked(Kind kind, const Json& object) {
  const int64_t rv = quidditch::k8s::ResourceVersionOf(object);
  const std::string name = object.value("metadata", Json::object()).value("name", "");
  Tombstones& tombstones = cache_->TombstonesOf(kind);
  if (auto t = tombstones.find(name); t != tombstones.end()) {
    if (rv <= t->second) return false;
    tombstones.erase(t);
  }
  const std::optional<int64_t> cached = cache_->VersionOf(kind, name);
  if (!cached && rv <= cache_->ListMarkOf(kind)) {
    return false;  // a lagging event of an object a newer list no longer held
  }
  if (cached && *cached >= rv) return false;
  if (kind == Kind::kIndex) {
    Result<IndexObject> decoded = DecodeIndexObject(object);
    if (!decoded.ok()) {
      spdlog::error("ignoring QuidditchIndex {} in {}: {}", name, ns_, decoded.status().ToString());
      return false;
    }
    if (decoded->applied) {
      cache_->applied[name] = std::make_shared<const cluster::Index>(*decoded->applied);
    } else {
      cache_->applied.erase(name);
    }
    cache_->indices[name] = std::move(decoded).value();
  } else if (kind == Kind::kNode) {
    Result<NodeObjectView> decoded = DecodeNodeObject(object);
    if (!decoded.ok()) {
      spdlog::error("ignoring QuidditchNode {} in {}: {}", name, ns_, decoded.status().ToString());
      return false;
    }
    cache_->nodes[name] = std::move(decoded).value();
  } else {
    Result<TemplateObject> decoded = DecodeTemplateObject(object);
    if (!decoded.ok()) {
      spdlog::error("ignoring QuidditchIndexTemplate {} in {}: {}", name, ns_,
                    decoded.status().ToString());
      // An object edited into one that holds no template (say, another templateName under the
      // old object name): the template it held is gone, not frozen at its last valid version.
      return cached.has_value() && RemoveLocked(kind, name, rv);
    }
    cache_->templates[name] = std::move(decoded).value();
  }
  return true;
}

bool K8sControlPlane::RemoveLocked(Kind kind, const std::string& name, int64_t rv) {
  Tombstones& tombstones = cache_->TombstonesOf(kind);
  tombstones[name] = std::max(tombstones[name], rv);
  const std::optional<int64_t> cached = cache_->VersionOf(kind, name);
  if (!cached || *cached > rv) return false;
  if (kind == Kind::kIndex) {
    cache_->indices.erase(name);
    cache_->applied.erase(name);
  } else if (kind == Kind::kNode) {
    cache_->nodes.erase(name);
  } else {
    cache_->templates.erase(name);
  }
  return true;
}

void K8sControlPlane::Remove(Kind kind, const Json& object, bool from_stream) {
  const int64_t rv = quidditch::k8s::ResourceVersionOf(object);
  const std::string name = object.value("metadata", Json::object()).value("name", "");
  {
    std::lock_guard<std::mutex> lock(cache_->mu);
    if (from_stream && kind == Kind::kNode) {
      cache_->node_stream_version = std::max(cache_->node_stream_version, rv);
    }
    if (!RemoveLocked(kind, name, rv)) return;
    PublishLocked(rv);
  }
  Notify(kind, name);
}

void K8sControlPlane::Replace(Kind kind, const std::vector<Json>& items, int64_t list_rv) {
  {
    std::lock_guard<std::mutex> lock(cache_->mu);
    std::set<std::string> listed;
    for (const Json& item : items) {
      listed.insert(item.value("metadata", Json::object()).value("name", ""));
      UpsertLocked(kind, item);
    }
    for (const auto& [name, rv] : cache_->Versions(kind)) {
      if (!listed.count(name) && rv <= list_rv) RemoveLocked(kind, name, list_rv);
    }
    if (kind == Kind::kNode) {
      cache_->node_stream_version = std::max(cache_->node_stream_version, list_rv);
    }
    // The list is authoritative up to its version: an object it did not hold and the cache does
    // not hold either can only come back with a newer version (see UpsertLocked), so older
    // tombstones are no longer needed.
    int64_t& mark = cache_->ListMarkOf(kind);
    mark = std::max(mark, list_rv);
    std::erase_if(cache_->TombstonesOf(kind), [&](const auto& t) { return t.second <= list_rv; });
    PublishLocked(list_rv);
  }
  Notify(kind, "");
}

void K8sControlPlane::PublishLocked(int64_t resource_version) {
  cache_->changed.notify_all();
  auto next = std::make_shared<ClusterState>();
  next->cluster_uuid = cluster_uuid_;
  for (const auto& [name, view] : cache_->nodes) next->nodes[view.node.node_id] = view.node;
  for (const auto& [name, object] : cache_->indices) {
    next->next_allocation_id = std::max(next->next_allocation_id, object.next_allocation_id);
    auto applied = cache_->applied.find(name);
    if (applied != cache_->applied.end()) next->indices[applied->second->name] = applied->second;
  }
  for (const auto& [name, object] : cache_->templates) {
    (object.kind == cluster::TemplateKind::kComposable ? next->index_templates
                                                       : next->legacy_templates)
        .emplace(object.template_name, object.body);
  }
  const cluster::StatePtr current = store().Current();
  next->version = current->version;
  // A node missing from the cache is gone, rather than not seen yet, when it was deleted here or
  // when the node stream has delivered everything up to the newest index write (an index
  // referring to a node was written while the node existed).
  int64_t newest_index = 0;
  for (const auto& [name, object] : cache_->indices) {
    newest_index = std::max(newest_index, object.resource_version);
  }
  auto known_gone = [&](const std::string& node_id) {
    return cache_->node_tombstones.count(ObjectNameFor(node_id)) > 0 ||
           cache_->node_stream_version >= newest_index;
  };
  cluster::StatePtr normalized = cluster::FailCopiesOnDeadNodes(next, known_gone);
  if (*normalized == *current) return;
  auto published = std::make_shared<ClusterState>(*normalized);
  published->version = std::max(resource_version, current->version + 1);
  std::vector<cluster::ClusterStateEvent> events =
      cluster::DiffEvents(*current, *published, published->version, NowMs());
  store().Publish(std::move(published), {}, std::move(events));
}

void K8sControlPlane::Notify(Kind kind, const std::string& object_name) {
  // Templates concern no reconcile of the operator's: nobody is told.
  if (kind == Kind::kTemplate) return;
  OnChange on_change;
  {
    std::lock_guard<std::mutex> lock(cache_->mu);
    on_change = cache_->on_change;
  }
  if (on_change) on_change(kind == Kind::kIndex, object_name);
}

// --- writes ------------------------------------------------------------------------------------

Result<int64_t> K8sControlPlane::Propose(const CallContext& ctx,
                                         const std::vector<Command>& commands) {
  return ProposeFor(ctx, commands, "");
}

Status K8sControlPlane::RegisterPodNode(const CallContext& ctx, const cluster::NodeInfo& node,
                                        const std::string& pod_name) {
  return ProposeFor(ctx, {Command{NowMs(), cluster::RegisterNodeCmd{node}}}, pod_name).status();
}

Result<int64_t> K8sControlPlane::ProposeFor(const CallContext& ctx,
                                            const std::vector<Command>& commands,
                                            const std::string& pod_name) {
  if (stopped_) return Status::Unavailable("the Kubernetes control plane is stopped");
  if (commands.empty()) return Status::InvalidArgument("empty command batch");
  if (std::any_of(commands.begin(), commands.end(), [](const Command& c) {
        return std::holds_alternative<cluster::SetClusterUuidCmd>(c.op);
      })) {
    return Status::InvalidArgument(fmt::format(
        "the cluster uuid is kept in ConfigMap {} in Kubernetes mode; it is not proposed",
        kClusterConfigMapName));
  }
  const bool spec_command = std::any_of(commands.begin(), commands.end(), [](const Command& c) {
    return IsSpecCommand<cluster::CreateIndexCmd>(c) || IsSpecCommand<cluster::DeleteIndexCmd>(c) ||
           IsSpecCommand<cluster::UpdateIndexSettingsCmd>(c) ||
           IsSpecCommand<cluster::PutMappingCmd>(c) ||
           IsSpecCommand<cluster::UpdateAliasesCmd>(c) ||
           IsSpecCommand<cluster::SetIndexClosedCmd>(c) ||
           IsSpecCommand<cluster::PutTemplateCmd>(c) ||
           IsSpecCommand<cluster::DeleteTemplateCmd>(c);
  });
  if (spec_command && commands.size() != 1) {
    return Status::InvalidArgument(
        "index and template commands are proposed one at a time in Kubernetes mode");
  }
  while (true) {
    // The state and the objects it was built from, taken together: every write below is
    // conditional on the resourceVersion the decision was based on.
    const Snapshot before = TakeSnapshot();
    // The same checks and errors as every other mode.
    QD_ASSIGN_OR_RETURN(cluster::ApplyResult applied, cluster::ApplyBatch(before.state, commands));
    Status s;
    if (spec_command) {
      const Command& c = commands.front();
      if (const auto* create = std::get_if<cluster::CreateIndexCmd>(&c.op)) {
        s = CreateIndexObject(ctx, *create);
      } else if (const auto* del = std::get_if<cluster::DeleteIndexCmd>(&c.op)) {
        s = DeleteIndexObject(ctx, before, del->name);
      } else if (const auto* close = std::get_if<cluster::SetIndexClosedCmd>(&c.op)) {
        // Closing a closed index succeeds without a write (Apply only touched its time).
        if (before.state->FindIndex(close->name)->closed == close->closed &&
            !SpecChangePending(before, close->name)) {
          return store().Current()->version;
        }
        s = PatchIndexSpec(ctx, before, close->name, Json{{"closed", close->closed}});
      } else if (std::holds_alternative<cluster::UpdateAliasesCmd>(c.op)) {
        s = PatchAliases(ctx, before, *applied.state);
      } else if (const auto* put = std::get_if<cluster::PutTemplateCmd>(&c.op)) {
        s = PutTemplateObject(ctx, before, *put);
      } else if (const auto* del = std::get_if<cluster::DeleteTemplateCmd>(&c.op)) {
        s = DeleteTemplateObject(ctx, before, *del);
      } else if (const auto* put = std::get_if<cluster::PutMappingCmd>(&c.op)) {
        s = PatchIndexSpec(ctx, before, put->name,
                           Json{{"mappings", applied.state->FindIndex(put->name)->mappings}});
      } else {
        const auto& update = std::get<cluster::UpdateIndexSettingsCmd>(c.op);
        Json spec = Json::object();
        if (update.update.replicas) spec["replicas"] = *update.update.replicas;
        if (update.update.refresh_interval) {
          spec["refreshInterval"] = *update.update.refresh_interval;
        }
        if (update.update.other) {
          // A merge patch of spec.other: the update's nulls remove keys there too.
          spec["other"] = *update.update.other;
        }
        s = PatchIndexSpec(ctx, before, update.name, spec);
      }
    } else {
      s = WriteChanges(ctx, before, *applied.state, pod_name);
    }
    if (s.ok()) return store().Current()->version;
    if (!s.IsConflict()) return s;
    // Another writer was first: wait for its change to reach the cache, then decide again.
    if (Clock::now() + std::chrono::milliseconds(20) >= ctx.deadline) {
      return Status::Timeout(
          fmt::format("gave up at the deadline after write conflicts: {}", s.message()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

K8sControlPlane::Snapshot K8sControlPlane::TakeSnapshot() const {
  Snapshot snap;
  std::lock_guard<std::mutex> lock(cache_->mu);
  snap.state = store().Current();  // published under cache_->mu: it is the cache's state
  for (const auto& [name, view] : cache_->nodes) snap.nodes[view.node.node_id] = view;
  for (const auto& [name, object] : cache_->indices) {
    if (object.applied && !object.deleting) snap.indices[object.index_name] = object;
  }
  snap.templates = cache_->templates;
  return snap;
}

Status K8sControlPlane::WriteChanges(const CallContext& ctx, const Snapshot& before,
                                     const ClusterState& desired, const std::string& pod_name) {
  const std::map<std::string, NodeObjectView>& nodes = before.nodes;
  const std::map<std::string, IndexObject>& indices = before.indices;
  // Nodes first: a node going DOWN fails its copies in every view in the same change; the
  // indices' status then records what the views already show.
  bool wrote_node = false;
  std::set<std::string> node_ids;
  for (const auto& [id, node] : desired.nodes) node_ids.insert(id);
  for (const auto& [id, node] : before.state->nodes) node_ids.insert(id);
  for (const std::string& id : node_ids) {
    const cluster::NodeInfo* want = desired.FindNode(id);
    auto have = nodes.find(id);
    Result<Json> written = Status::OK();
    if (want == nullptr && have == nodes.end()) continue;
    if (want == nullptr) {
      written = client_->Delete(NodesResource(), ns_, have->second.object_name,
                                std::to_string(have->second.resource_version), ctx.deadline);
      if (!written.ok()) {
        return written.status().IsNotFound() ? Status::Conflict("node gone") : written.status();
      }
      // The answer may be the object as it was or a Status; the watch's DELETED event, later,
      // carries the deletion's version. Either removes it; the other is then ignored.
      const std::string& object_name = have->second.object_name;
      Remove(Kind::kNode,
             Json{{"metadata",
                   {{"name", object_name},
                    {"resourceVersion",
                     std::to_string(std::max(have->second.resource_version,
                                             quidditch::k8s::ResourceVersionOf(*written)))}}}},
             /*from_stream=*/false);
      wrote_node = true;
      continue;
    }
    const std::string pod = !pod_name.empty() && id == pod_name ? pod_name
                            : have != nodes.end()               ? have->second.pod_name
                                                                : "";
    const cluster::NodeInfo* had = before.state->FindNode(id);
    if (had != nullptr && *had == *want && have->second.pod_name == pod) continue;
    Json object = NodeObject(*want, pod);
    if (have == nodes.end()) {
      written = client_->Create(NodesResource(), ns_, object, ctx.deadline);
      if (written.status().IsAlreadyExists()) return Status::Conflict(written.status().message());
    } else {
      // A merge patch of spec and status only, conditional on the version: labels, annotations
      // and other metadata someone else keeps on the object stay.
      Json patch{{"metadata", {{"resourceVersion", std::to_string(have->second.resource_version)}}},
                 {"spec", object["spec"]},
                 {"status", object["status"]}};
      for (const char* optional : {"nodeId", "podName"}) {
        if (!patch["spec"].contains(optional)) patch["spec"][optional] = nullptr;
      }
      written = client_->Patch(NodesResource(), ns_, have->second.object_name,
                               quidditch::k8s::PatchType::kMerge, patch, false, ctx.deadline);
      if (written.status().IsNotFound()) return Status::Conflict(written.status().message());
    }
    if (!written.ok()) return written.status();
    UpsertNode(*written);
    wrote_node = true;
  }
  // Once a node change is in, the command has happened: every view already shows its effect on
  // the shard copies. What is left is to record that in the indices' status, whoever else
  // writes them meanwhile, so a conflict there is retried here and not by the caller.
  if (wrote_node) return RecordViewInIndices(ctx);
  for (const auto& [name, index] : desired.indices) {
    const cluster::Index* had = before.state->FindIndex(name);
    auto have = indices.find(name);
    if (had == nullptr || *had == *index || have == indices.end()) continue;
    Json object{{"apiVersion", kApiVersion},
                {"kind", "QuidditchIndex"},
                {"metadata",
                 {{"name", have->second.object_name},
                  {"resourceVersion", std::to_string(have->second.resource_version)}}},
                {"status", IndexStatus(*index, desired.next_allocation_id, have->second.status)}};
    Result<Json> written = client_->UpdateStatus(IndicesResource(), ns_, object, ctx.deadline);
    if (written.status().IsNotFound()) return Status::Conflict(written.status().message());
    if (!written.ok()) return written.status();
    UpsertIndex(*written);
  }
  return Status::OK();
}

Status K8sControlPlane::RecordViewInIndices(const CallContext& ctx) {
  while (true) {
    const cluster::StatePtr view = store().Current();
    std::vector<IndexObject> stale;
    {
      std::lock_guard<std::mutex> lock(cache_->mu);
      for (const auto& [name, object] : cache_->indices) {
        if (!object.applied || object.deleting) continue;
        const cluster::Index* seen = view->FindIndex(object.index_name);
        if (seen != nullptr && !(*seen == *object.applied)) stale.push_back(object);
      }
    }
    Status s;
    for (const IndexObject& object : stale) {
      const cluster::Index& seen = *view->FindIndex(object.index_name);
      s = WriteIndexStatus(object, IndexStatus(seen, view->next_allocation_id, object.status));
      if (!s.ok()) break;
    }
    if (s.ok()) return s;
    if (!s.IsConflict() && !s.IsNotFound()) return s;
    if (Clock::now() + std::chrono::milliseconds(10) >= ctx.deadline) {
      return Status::Timeout("could not record failed shard copies before the deadline: " +
                             s.message());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Status K8sControlPlane::CreateIndexObject(const CallContext& ctx,
                                          const cluster::CreateIndexCmd& cmd) {
  const Json object = NewIndexObject(cmd.name, cmd.uuid, cmd.settings, cmd.mappings, cmd.aliases);
  const std::string object_name = object["metadata"]["name"];
  Result<Json> created = client_->Create(IndicesResource(), ns_, object, ctx.deadline);
  int64_t generation = 1;
  if (created.ok()) {
    generation = created->value("metadata", Json::object()).value("generation", int64_t{1});
    UpsertIndex(*created);
  } else if (created.status().IsAlreadyExists()) {
    QD_ASSIGN_OR_RETURN(Json existing,
                        client_->Get(IndicesResource(), ns_, object_name, ctx.deadline));
    QD_ASSIGN_OR_RETURN(IndexObject found, DecodeIndexObject(existing));
    if (found.index_name != cmd.name) {
      return Status::Conflict(
          fmt::format("index [{}] maps to the Kubernetes object {}, which holds index [{}]",
                      cmd.name, object_name, found.index_name));
    }
    if (found.requested_uuid != cmd.uuid) {
      return Status::AlreadyExists(
          fmt::format("index [{}/{}] already exists", cmd.name, found.requested_uuid));
    }
    generation = found.generation;  // our own create, retried
    UpsertIndex(existing);
  } else {
    return created.status();
  }
  return AwaitAccepted(ctx, object_name, generation);
}

Status K8sControlPlane::PatchIndexSpec(const CallContext& ctx, const Snapshot& before,
                                       const std::string& name, const Json& spec) {
  auto it = before.indices.find(name);
  if (it == before.indices.end()) return Status::Conflict("index object not cached yet");
  const IndexObject& object = it->second;
  // Changes are judged against the spec in force; while another change of the spec waits for the
  // operator, wait too (a patch now would be judged against the wrong base).
  if (object.observed_generation < object.generation) {
    return Status::Conflict("an earlier spec change of the index is not accepted yet");
  }
  const std::string object_name = object.object_name;
  const int64_t rv = object.resource_version;
  Json patch{{"metadata", {{"resourceVersion", std::to_string(rv)}}}, {"spec", spec}};
  Result<Json> patched =
      client_->Patch(IndicesResource(), ns_, object_name, quidditch::k8s::PatchType::kMerge, patch,
                     false, ctx.deadline);
  if (patched.status().IsNotFound()) return Status::Conflict(patched.status().message());
  if (!patched.ok()) return patched.status();
  UpsertIndex(*patched);
  return AwaitAccepted(ctx, object_name,
                       patched->value("metadata", Json::object()).value("generation", int64_t{1}));
}

bool K8sControlPlane::SpecChangePending(const Snapshot& before, const std::string& name) {
  auto it = before.indices.find(name);
  return it == before.indices.end() || it->second.observed_generation < it->second.generation;
}

Status K8sControlPlane::PatchAliases(const CallContext& ctx, const Snapshot& before,
                                     const ClusterState& desired) {
  // Each object's new spec is judged by the operator against the state of the others, so the
  // order matters where write indices move: an index may become an alias's write index only
  // once the one before it has stopped being it. Hence two rounds: first every index gets its
  // new aliases without the write flags it gains (it keeps the flag it had, or none), then the
  // indices that gain one get it. Either round alone is valid against Apply's checks, whatever
  // order the objects are written in within it.
  std::vector<std::pair<std::string, cluster::Aliases>> steps;  // index name, its aliases then
  std::vector<std::pair<std::string, cluster::Aliases>> gains;
  for (const auto& [name, index] : desired.indices) {
    const cluster::Index* had = before.state->FindIndex(name);
    if (had == nullptr || had->aliases == index->aliases) continue;
    cluster::Aliases first = index->aliases;
    for (auto& [alias, metadata] : first) {
      if (metadata.is_write_index != true) continue;
      auto old = had->aliases.find(alias);
      const bool was_write = old != had->aliases.end() && old->second.is_write_index == true;
      if (!was_write) {
        metadata.is_write_index =
            old != had->aliases.end() ? old->second.is_write_index : std::nullopt;
      }
    }
    if (first != had->aliases) steps.emplace_back(name, first);
    if (first != index->aliases) gains.emplace_back(name, index->aliases);
  }
  steps.insert(steps.end(), gains.begin(), gains.end());
  // Indices that remove_index deletes go before any alias changes, as OpenSearch applies them:
  // an alias may then take the name of a deleted index.
  std::vector<std::string> deletes;
  for (const auto& [name, index] : before.state->indices) {
    if (desired.FindIndex(name) == nullptr) deletes.push_back(name);
  }
  // Until the first write lands, a conflict is the caller's: it decides again on a new
  // snapshot. After it, the change is under way: each further object is written towards its
  // target against a fresh snapshot until the deadline (not atomic across objects).
  bool wrote = false;
  // Runs `step` (OK once its object is as wanted) until it succeeds or gives up.
  auto run = [&](const std::string& name, const std::function<Status(const Snapshot&)>& step) {
    while (true) {
      std::optional<Snapshot> fresh;
      if (wrote) fresh = TakeSnapshot();
      Status s = step(wrote ? *fresh : before);
      if (s.ok()) break;
      if (!s.IsConflict() || !wrote) return s;
      if (Clock::now() + std::chrono::milliseconds(20) >= ctx.deadline) {
        return Status::Timeout(fmt::format(
            "gave up at the deadline with the alias change done only in part (index [{}] not "
            "yet): {}",
            name, s.message()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    wrote = true;
    return Status::OK();
  };
  for (const std::string& name : deletes) {
    QD_RETURN_IF_ERROR(run(name, [&](const Snapshot& now) {
      // Gone already after a conflict: an earlier attempt's delete, or another writer's.
      if (wrote && now.state->FindIndex(name) == nullptr) return Status::OK();
      return DeleteIndexObject(ctx, now, name);
    }));
  }
  for (const auto& [name, target] : steps) {
    QD_RETURN_IF_ERROR(run(name, [&](const Snapshot& now) {
      const cluster::Index* index = now.state->FindIndex(name);
      if (index == nullptr) {
        return Status::NotFound(fmt::format(
            "no such index [{}]: deleted while its aliases were being changed (the aliases of "
            "indices written before it are changed)",
            name));
      }
      if (index->aliases == target && !SpecChangePending(now, name)) return Status::OK();
      auto object = now.indices.find(name);
      if (object == now.indices.end()) return Status::Conflict("index object not cached yet");
      return PatchIndexSpec(
          ctx, now, name,
          Json{{"aliases", cluster::MergePatchBetween(object->second.spec_aliases,
                                                      cluster::EncodeAliases(target))}});
    }));
  }
  return Status::OK();
}

Status K8sControlPlane::PutTemplateObject(const CallContext& ctx, const Snapshot& before,
                                          const cluster::PutTemplateCmd& cmd) {
  const std::string object_name = TemplateObjectName(cmd.kind, cmd.name);
  auto have = before.templates.find(object_name);
  Result<Json> written = Status::OK();
  if (have == before.templates.end()) {
    written = client_->Create(TemplatesResource(), ns_,
                              NewTemplateObject(cmd.kind, cmd.name, cmd.body), ctx.deadline);
    if (written.status().IsAlreadyExists()) {
      // Another writer created it after the snapshot. Into the cache with it, so that the next
      // decision (and the caller's next read) sees it.
      Result<Json> existing = client_->Get(TemplatesResource(), ns_, object_name, ctx.deadline);
      if (existing.ok()) Upsert(Kind::kTemplate, *existing, /*from_stream=*/false);
      if (cmd.create) {
        return Status::AlreadyExists(fmt::format("index template [{}] already exists", cmd.name));
      }
      return Status::Conflict(written.status().message());  // replace what is there now
    }
  } else {
    // A PUT of the whole object with the stored metadata (its resourceVersion the precondition,
    // labels and annotations kept): the body is replaced as given. A merge patch would merge
    // nested objects of the old body into the new one, and could not carry a null.
    Json metadata = have->second.metadata;
    metadata.erase("managedFields");
    Json object{
        {"apiVersion", kApiVersion},
        {"kind", "QuidditchIndexTemplate"},
        {"metadata", std::move(metadata)},
        {"spec",
         {{"templateName", cmd.name}, {"kind", TemplateKindName(cmd.kind)}, {"body", cmd.body}}}};
    written = client_->Update(TemplatesResource(), ns_, object, ctx.deadline);
    // Deleted meanwhile: decide again (a replace then creates it).
    if (written.status().IsNotFound()) return Status::Conflict(written.status().message());
  }
  if (!written.ok()) return written.status();
  Upsert(Kind::kTemplate, *written, /*from_stream=*/false);
  return Status::OK();
}

Status K8sControlPlane::DeleteTemplateObject(const CallContext& ctx, const Snapshot& before,
                                             const cluster::DeleteTemplateCmd& cmd) {
  const std::string object_name = TemplateObjectName(cmd.kind, cmd.name);
  auto have = before.templates.find(object_name);
  // Apply found the template in the snapshot's state, which is built from these objects.
  if (have == before.templates.end()) return Status::Conflict("template object not cached yet");
  // Conditional on the version the decision saw: a template replaced meanwhile is decided again.
  Result<Json> deleted =
      client_->Delete(TemplatesResource(), ns_, object_name,
                      std::to_string(have->second.resource_version), ctx.deadline);
  if (deleted.status().IsNotFound()) {
    // Another writer deleted it first: for this call it is missing, as in every other mode.
    Remove(Kind::kTemplate,
           Json{{"metadata",
                 {{"name", object_name},
                  {"resourceVersion", std::to_string(have->second.resource_version)}}}},
           /*from_stream=*/false);
    return Status::NotFound(fmt::format("index_template [{}] missing", cmd.name));
  }
  if (!deleted.ok()) return deleted.status();
  // The answer is the object's last state or a Status; the watch's DELETED event, later,
  // carries the deletion's version. Either removes it; the other is then ignored.
  Remove(Kind::kTemplate,
         Json{{"metadata",
               {{"name", object_name},
                {"resourceVersion",
                 std::to_string(std::max(have->second.resource_version,
                                         quidditch::k8s::ResourceVersionOf(*deleted)))}}}},
         /*from_stream=*/false);
  return Status::OK();
}

Status K8sControlPlane::AwaitAccepted(const CallContext& ctx, const std::string& object_name,
                                      int64_t generation) {
  std::unique_lock<std::mutex> lock(cache_->mu);
  Status result = Status::Timeout(fmt::format(
      "the operator has not accepted QuidditchIndex {} (generation {}) in namespace {} before the "
      "deadline: is the Quidditch operator running?",
      object_name, generation, ns_));
  cache_->changed.wait_until(lock, ctx.deadline, [&] {
    if (stopped_) {
      result = Status::Unavailable("the Kubernetes control plane is stopped");
      return true;
    }
    auto it = cache_->indices.find(object_name);
    if (it == cache_->indices.end()) {
      result = Status::NotFound(fmt::format("QuidditchIndex {} was deleted", object_name));
      return true;
    }
    const Json* ready = FindCondition(it->second.status, kReadyCondition);
    if (ready != nullptr && ready->value("observedGeneration", int64_t{0}) >= generation &&
        ready->value("status", "") == "False") {
      result = Status::InvalidArgument(ready->value("message", "rejected by the operator"));
      return true;
    }
    const Json* allocated = FindCondition(it->second.status, kAllocatedCondition);
    if (it->second.applied && it->second.observed_generation >= generation &&
        allocated != nullptr && allocated->value("observedGeneration", int64_t{0}) >= generation) {
      result = Status::OK();
      return true;
    }
    return false;
  });
  return result;
}

Status K8sControlPlane::DeleteIndexObject(const CallContext& ctx, const Snapshot& before,
                                          const std::string& name) {
  auto it = before.indices.find(name);
  if (it == before.indices.end()) return Status::Conflict("index object not cached yet");
  const std::string object_name = it->second.object_name;
  const std::string uuid = it->second.requested_uuid;
  // Conditional on the version the decision saw: never a same-named index made since.
  Result<Json> deleted = client_->Delete(IndicesResource(), ns_, object_name,
                                         std::to_string(it->second.resource_version), ctx.deadline);
  if (deleted.status().IsNotFound()) return Status::Conflict("index object already gone");
  if (!deleted.ok()) return deleted.status();
  // The operator releases the shards and removes the finalizer; then the object goes.
  std::unique_lock<std::mutex> lock(cache_->mu);
  const bool gone = cache_->changed.wait_until(lock, ctx.deadline, [&] {
    auto it = cache_->indices.find(object_name);
    return stopped_ || it == cache_->indices.end() || it->second.requested_uuid != uuid;
  });
  if (stopped_) return Status::Unavailable("the Kubernetes control plane is stopped");
  if (!gone) {
    return Status::Timeout(fmt::format(
        "QuidditchIndex {} in namespace {} is still held by its finalizer {}: is the Quidditch "
        "operator running?",
        object_name, ns_, kIndexFinalizer));
  }
  return Status::OK();
}

Status K8sControlPlane::WriteIndexStatus(const IndexObject& object, const Json& status,
                                         KubeClient::Deadline deadline) {
  Json body{{"apiVersion", kApiVersion},
            {"kind", "QuidditchIndex"},
            {"metadata",
             {{"name", object.object_name},
              {"resourceVersion", std::to_string(object.resource_version)}}},
            {"status", status}};
  QD_ASSIGN_OR_RETURN(Json written, client_->UpdateStatus(IndicesResource(), ns_, body, deadline));
  UpsertIndex(written);
  return Status::OK();
}

Status K8sControlPlane::ReleaseIndex(const IndexObject& object, KubeClient::Deadline deadline) {
  Json finalizers = Json::array();
  for (const std::string& f : object.finalizers) {
    if (f != kIndexFinalizer) finalizers.push_back(f);
  }
  Json patch{{"metadata",
              {{"resourceVersion", std::to_string(object.resource_version)},
               {"finalizers", std::move(finalizers)}}}};
  // The object goes once no finalizer is left; the DELETED event comes through the watch.
  return client_
      ->Patch(IndicesResource(), ns_, object.object_name, quidditch::k8s::PatchType::kMerge, patch,
              false, deadline)
      .status();
}

Status K8sControlPlane::SyncForRead(const CallContext& ctx) {
  for (Kind kind : {Kind::kIndex, Kind::kNode, Kind::kTemplate}) {
    const quidditch::k8s::ResourceType& type = kind == Kind::kIndex  ? IndicesResource()
                                               : kind == Kind::kNode ? NodesResource()
                                                                     : TemplatesResource();
    QD_ASSIGN_OR_RETURN(quidditch::k8s::ListResult list,
                        client_->List(type, ns_, {}, ctx.deadline));
    Replace(kind, list.items,
            quidditch::k8s::ResourceVersionOf(
                Json{{"metadata", {{"resourceVersion", list.resource_version}}}}));
  }
  return Status::OK();
}

}  // namespace quidditch::controlplane::k8s
