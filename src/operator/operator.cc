#include "operator/operator.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "cluster/allocator.h"
#include "cluster/apply.h"
#include "cluster/codec.h"
#include "cluster/health.h"
#include "controlplane/k8s/k8s_control_plane.h"
#include "coordination/http_server.h"
#include "k8s/informer.h"
#include "operator/leader_election.h"

namespace quidditch::op {

using cluster::Command;
using controlplane::CallContext;
using controlplane::k8s::IndexObject;
using controlplane::k8s::K8sControlPlane;
using quidditch::k8s::Json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A work queue of keys: a key is queued at most once; a key that failed comes back after an
// exponential backoff (per key, 10 ms doubling to 10 s), a key that succeeded forgets its
// failures (client-go's rate-limited queue, in small).
class WorkQueue {
 public:
  void Add(const std::string& key) { AddAt(key, Clock::now()); }

  // Blocks until a key is due; false after ShutDown.
  bool Get(std::string* key) {
    std::unique_lock<std::mutex> lock(mu_);
    while (!shut_down_) {
      auto due = std::min_element(pending_.begin(), pending_.end(),
                                  [](const auto& a, const auto& b) { return a.second < b.second; });
      if (due == pending_.end()) {
        cv_.wait(lock);
      } else if (due->second <= Clock::now()) {
        *key = due->first;
        pending_.erase(due);
        return true;
      } else {
        cv_.wait_until(lock, due->second);
      }
    }
    return false;
  }

  void Done(const std::string& key, bool ok) {
    if (ok) {
      std::lock_guard<std::mutex> lock(mu_);
      failures_.erase(key);
      return;
    }
    int n;
    {
      std::lock_guard<std::mutex> lock(mu_);
      n = std::min(failures_[key]++, 10);
    }
    AddAt(key, Clock::now() + std::chrono::milliseconds(10) * (1 << n));
  }

  void ShutDown() {
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
    cv_.notify_all();
  }

  size_t depth() const {
    std::lock_guard<std::mutex> lock(mu_);
    return pending_.size();
  }

 private:
  void AddAt(const std::string& key, Clock::time_point at) {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = pending_.emplace(key, at);
    if (!inserted && at < it->second) it->second = at;
    cv_.notify_all();
  }

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Clock::time_point> pending_;
  std::map<std::string, int> failures_;
  bool shut_down_ = false;
};

struct Pod {
  bool ready = false;
  std::string ip;
};

Pod PodOf(const Json& pod) {
  Pod out;
  const Json status = pod.value("status", Json::object());
  out.ip = status.value("podIP", "");
  if (status.value("phase", "") != "Running") return out;
  if (pod.value("metadata", Json::object()).contains("deletionTimestamp")) return out;
  for (const Json& c : status.value("conditions", Json::array())) {
    if (c.value("type", "") == "Ready" && c.value("status", "") == "True") out.ready = true;
  }
  return out;
}

std::string IndexKey(const std::string& object_name) { return "index/" + object_name; }
constexpr std::string_view kNodesKey = "nodes";
constexpr std::string_view kClustersKey = "clusters";

}  // namespace

struct Operator::Impl {
  OperatorOptions options;
  std::unique_ptr<K8sControlPlane> cp;
  std::unique_ptr<quidditch::k8s::Informer> pod_informer;
  std::unique_ptr<LeaderElector> elector;
  std::unique_ptr<HttpServer> health_server, metrics_server;
  WorkQueue queue;
  std::thread worker, ticker;
  std::atomic<bool> stopping{false};
  std::atomic<bool> leading{false};
  std::atomic<int64_t> reconciles{0}, reconcile_errors{0}, allocations{0};

  std::mutex pods_mu;
  std::map<std::string, Pod> pods;  // GUARDED_BY(pods_mu)

  std::mutex tick_mu;
  std::condition_variable tick_cv;

  static constexpr size_t kMaxPendingEvents = 1000;
  std::mutex events_mu;
  std::condition_variable events_cv;
  std::deque<Json> pending_events;  // GUARDED_BY(events_mu)
  std::thread event_recorder;

  const std::string& ns() const { return cp->ns(); }

  // The deadline of a write made as the leader: 10 s, and never past the moment this replica
  // stops leading unless it renews (so a deposed leader's writes cannot land late).
  Clock::time_point WriteDeadline() const {
    const auto deadline = Clock::now() + 10s;
    return elector ? std::min(deadline, elector->LeadingUntil()) : deadline;
  }
  CallContext WriteContext() const {
    CallContext ctx;
    ctx.deadline = WriteDeadline();
    return ctx;
  }

  // --- the loop ------------------------------------------------------------------------------

  // Nodes changed: node liveness, and every index with a copy still to place. (QuidditchCluster
  // status follows on the next tick.)
  void OnNodesChanged() {
    queue.Add(std::string(kNodesKey));
    const cluster::StatePtr view = cp->CurrentState();
    for (const IndexObject& o : cp->IndexObjects()) {
      if (HasUnplacedCopy(o, *view)) queue.Add(IndexKey(o.object_name));
    }
  }

  // Everything that may need work: the nodes, the clusters, and each index with something to
  // do (a new spec, a deletion, a missing finalizer, an unplaced copy, an allocation not yet
  // recorded for its generation). Settled indices are left alone, so a tick costs little.
  void EnqueueAll() {
    queue.Add(std::string(kNodesKey));
    queue.Add(std::string(kClustersKey));
    const cluster::StatePtr view = cp->CurrentState();
    for (const IndexObject& o : cp->IndexObjects()) {
      if (NeedsWork(o, *view)) queue.Add(IndexKey(o.object_name));
    }
  }

  bool NeedsWork(const IndexObject& o, const cluster::ClusterState& view) const {
    if (o.deleting || !o.has_finalizer || o.observed_generation < o.generation) return true;
    if (!o.applied) return false;  // a rejected spec waits for a new one
    const Json* allocated =
        controlplane::k8s::FindCondition(o.status, controlplane::k8s::kAllocatedCondition);
    if (allocated == nullptr || allocated->value("observedGeneration", int64_t{0}) < o.generation) {
      return true;
    }
    return HasUnplacedCopy(o, view);
  }

  // The index has a copy to place, or copies that failed with their node but are still recorded
  // as placed in its status.
  static bool HasUnplacedCopy(const IndexObject& o, const cluster::ClusterState& view) {
    const cluster::Index* seen = view.FindIndex(o.index_name);
    if (seen == nullptr || !o.applied) return false;
    if (!(*seen == *o.applied)) return true;
    for (const cluster::ShardRouting& shard : seen->routing.shards) {
      for (const cluster::ShardCopy& c : shard.copies) {
        if (c.state == cluster::ShardState::kUnassigned) return true;
      }
    }
    return false;
  }

  void Work() {
    std::string key;
    while (queue.Get(&key)) {
      if (!leading) continue;  // a new leader enqueues everything again
      ++reconciles;
      Status s = Reconcile(key);
      if (!s.ok()) {
        ++reconcile_errors;
        if (!s.IsConflict()) spdlog::warn("reconcile {} in {}: {}", key, ns(), s.ToString());
      }
      queue.Done(key, s.ok());
    }
  }

  void Tick() {
    std::unique_lock<std::mutex> lock(tick_mu);
    while (!stopping) {
      tick_cv.wait_for(lock, 1s, [&] { return stopping.load(); });
      if (!stopping && leading) EnqueueAll();
    }
  }

  Status Reconcile(const std::string& key) {
    if (key == kNodesKey) return ReconcileNodes();
    if (key == kClustersKey) return ReconcileClusters();
    const std::string name = key.substr(key.find('/') + 1);
    for (IndexObject& o : cp->IndexObjects()) {
      if (o.object_name == name) return ReconcileIndex(o);
    }
    return Status::OK();  // gone
  }

  // --- indices -------------------------------------------------------------------------------

  Status ReconcileIndex(const IndexObject& o) {
    if (o.deleting) {
      if (!o.has_finalizer) return Status::OK();  // not ours to hold
      // No data role acts on deletions yet; releasing the finalizer drops the index from every
      // node's state, which is what a data node watches to delete its shard files.
      QD_RETURN_IF_ERROR(cp->ReleaseIndex(o, WriteDeadline()));
      Event(o, false, "Deleted", fmt::format("index [{}] deleted", o.index_name));
      return Status::OK();
    }
    if (!o.has_finalizer) return AddFinalizer(o);
    if (o.observed_generation < o.generation || !o.status.is_object()) return JudgeSpec(o);
    if (!o.applied) return Status::OK();  // rejected spec, nothing to allocate
    return Allocate(o);
  }

  // Objects made by Quidditch carry the finalizer from the start; objects made by hand get it
  // before anything else happens to them.
  Status AddFinalizer(const IndexObject& o) {
    Result<Json> current =
        cp->client().Get(controlplane::k8s::IndicesResource(), ns(), o.object_name);
    QD_RETURN_IF_ERROR(current.status());
    const Json& metadata = (*current)["metadata"];
    Json finalizers = metadata.value("finalizers", Json::array());
    finalizers.push_back(controlplane::k8s::kIndexFinalizer);
    Json patch{
        {"metadata",
         {{"resourceVersion", metadata.value("resourceVersion", "")}, {"finalizers", finalizers}}}};
    return cp->client()
        .Patch(controlplane::k8s::IndicesResource(), ns(), o.object_name,
               quidditch::k8s::PatchType::kMerge, patch, false, WriteDeadline())
        .status();
  }

  Status JudgeSpec(const IndexObject& o) {
    const cluster::StatePtr state = cp->CurrentState();
    const int64_t now = WallMs();
    std::vector<Command> commands;
    Status verdict = Status::OK();
    // The CRD types the aliases' fields; what it lets through (a user's object, an older CRD)
    // and the codec refuses is a bad spec like any other.
    Result<cluster::Aliases> spec_aliases = cluster::DecodeAliases(o.spec_aliases);
    if (!spec_aliases.ok()) {
      verdict = Status::InvalidArgument("invalid spec.aliases: " + spec_aliases.status().message());
    } else if (!o.applied) {
      commands.push_back(
          Command{now, cluster::CreateIndexCmd{o.index_name, o.requested_uuid, o.spec_settings,
                                               o.spec_mappings, *spec_aliases}});
      if (o.spec_closed) {
        commands.push_back(Command{now, cluster::SetIndexClosedCmd{o.index_name, true}});
      }
    } else {
      cluster::IndexSettingsUpdate update;
      const cluster::IndexSettings& have = o.applied->settings;
      const cluster::IndexSettings& want = o.spec_settings;
      if (want.shards != have.shards) update.shards = want.shards;
      if (want.replicas != have.replicas) update.replicas = want.replicas;
      if (want.refresh_interval != have.refresh_interval) {
        update.refresh_interval = want.refresh_interval;
      }
      if (want.codec != have.codec) update.codec = want.codec;
      // A whole replacement: keys removed from the spec are removed (null in the patch).
      if (want.other != have.other)
        update.other = cluster::MergePatchBetween(have.other, want.other);
      if (update != cluster::IndexSettingsUpdate{}) {
        commands.push_back(Command{now, cluster::UpdateIndexSettingsCmd{o.index_name, update}});
      }
      if (o.spec_mappings != o.applied->mappings) {
        commands.push_back(Command{now, cluster::PutMappingCmd{o.index_name, o.spec_mappings}});
      }
      // The spec's aliases replace the index's: those gone are removed, new or changed ones
      // added (an add replaces an alias's metadata whole).
      std::vector<cluster::AliasAction> actions;
      for (const auto& [alias, metadata] : o.applied->aliases) {
        if (spec_aliases->count(alias) == 0) {
          actions.push_back(cluster::AliasAction{
              cluster::AliasAction::Type::kRemove, o.index_name, alias, {}, false});
        }
      }
      for (const auto& [alias, metadata] : *spec_aliases) {
        auto have = o.applied->aliases.find(alias);
        if (have == o.applied->aliases.end() || !(have->second == metadata)) {
          actions.push_back(cluster::AliasAction{cluster::AliasAction::Type::kAdd, o.index_name,
                                                 alias, metadata, false});
        }
      }
      if (!actions.empty()) {
        commands.push_back(Command{now, cluster::UpdateAliasesCmd{std::move(actions)}});
      }
      if (o.spec_closed != o.applied->closed) {
        commands.push_back(Command{now, cluster::SetIndexClosedCmd{o.index_name, o.spec_closed}});
      }
    }
    Json status = o.status.is_object() ? o.status : Json::object();
    if (verdict.ok() && !commands.empty()) {
      Result<cluster::ApplyResult> r = cluster::ApplyBatch(state, commands);
      if (r.ok()) {
        const cluster::Index* index = r->state->FindIndex(o.index_name);
        status = controlplane::k8s::IndexStatus(*index, r->state->next_allocation_id, status);
      } else {
        verdict = r.status();
      }
    }
    status["observedGeneration"] = o.generation;
    if (verdict.ok()) {
      status.erase("message");
      controlplane::k8s::SetCondition(status, controlplane::k8s::kReadyCondition, true, "Accepted",
                                      "the spec is in force", o.generation, WallMs());
    } else {
      if (!o.applied) status["state"] = "ERROR";
      status["message"] = verdict.message();
      controlplane::k8s::SetCondition(status, controlplane::k8s::kReadyCondition, false,
                                      "InvalidSpec", verdict.message(), o.generation, WallMs());
    }
    QD_RETURN_IF_ERROR(cp->WriteIndexStatus(o, status, WriteDeadline()));
    if (verdict.ok()) {
      Event(o, false, "Accepted",
            fmt::format("index [{}] generation {} accepted", o.index_name, o.generation));
      queue.Add(IndexKey(o.object_name));  // allocation is the next, separate change
    } else {
      spdlog::warn("QuidditchIndex {}/{} rejected: {}", ns(), o.object_name, verdict.message());
      Event(o, true, "InvalidSpec", verdict.message());
    }
    return Status::OK();
  }

  // Runs the allocator for this index and records, in one status write, the copies it placed
  // and the Allocated condition for the current generation.
  Status Allocate(const IndexObject& o) {
    const cluster::StatePtr state = cp->CurrentState();
    const cluster::Index* before = state->FindIndex(o.index_name);
    if (before == nullptr) return Status::OK();
    std::vector<Command> commands;
    for (Command& c : cluster::ComputeAllocation(*state, WallMs())) {
      const auto* allocate = std::get_if<cluster::AllocateShardCmd>(&c.op);
      if (allocate != nullptr && allocate->index == o.index_name) commands.push_back(std::move(c));
    }
    Json status = o.status;
    cluster::StatePtr after = state;
    if (!commands.empty()) {
      QD_ASSIGN_OR_RETURN(cluster::ApplyResult r, cluster::ApplyBatch(state, commands));
      after = r.state;
      status = controlplane::k8s::IndexStatus(*after->FindIndex(o.index_name),
                                              after->next_allocation_id, o.status);
    } else if (!(*before == *o.applied)) {
      // The view failed copies on dead nodes that the stored status still shows: record that.
      status = controlplane::k8s::IndexStatus(*before, state->next_allocation_id, o.status);
    }
    int total = 0, unassigned = 0;
    for (const cluster::ShardRouting& shard : after->FindIndex(o.index_name)->routing.shards) {
      for (const cluster::ShardCopy& c : shard.copies) {
        ++total;
        if (c.state == cluster::ShardState::kUnassigned) ++unassigned;
      }
    }
    const bool ok = unassigned == 0;
    controlplane::k8s::SetCondition(
        status, controlplane::k8s::kAllocatedCondition, ok, ok ? "AllAssigned" : "Unassigned",
        fmt::format("{} of {} shard copies assigned", total - unassigned, total), o.generation,
        WallMs());
    if (status == o.status) return Status::OK();
    QD_RETURN_IF_ERROR(cp->WriteIndexStatus(o, status, WriteDeadline()));
    if (!commands.empty()) {
      allocations += static_cast<int64_t>(commands.size());
      std::vector<std::string> placed;
      for (const Command& c : commands) {
        const auto& a = std::get<cluster::AllocateShardCmd>(c.op);
        placed.push_back(fmt::format("{}->{}", a.shard_id, a.node_id));
      }
      Event(o, false, "ShardsAllocated",
            fmt::format("index [{}]: shard copies allocated: {}", o.index_name,
                        fmt::join(placed, ", ")));
    }
    return Status::OK();
  }

  void Event(const IndexObject& o, bool warning, std::string_view reason,
             const std::string& message) {
    Event("QuidditchIndex", o.object_name, warning, reason, message);
  }

  void Event(std::string_view kind, const std::string& object_name, bool warning,
             std::string_view reason, const std::string& message) {
    const std::string now = controlplane::k8s::FormatTime(WallMs() / 1000 * 1000);
    const std::string seconds = now.substr(0, 19) + "Z";
    Json event{{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata", {{"generateName", object_name + "."}}},
               {"involvedObject",
                {{"apiVersion", controlplane::k8s::kApiVersion},
                 {"kind", kind},
                 {"name", object_name},
                 {"namespace", ns()}}},
               {"reason", reason},
               {"message", message},
               {"type", warning ? "Warning" : "Normal"},
               {"source", {{"component", "quidditch-operator"}, {"host", options.identity}}},
               {"reportingComponent", "quidditch-operator"},
               {"reportingInstance", options.identity},
               {"firstTimestamp", seconds},
               {"lastTimestamp", seconds},
               {"count", 1}};
    // Recorded off the reconcile path, best effort (as client-go's event recorder does): an
    // Event is for people, and a slow or failing write must not hold up allocation.
    std::lock_guard<std::mutex> lock(events_mu);
    if (pending_events.size() >= kMaxPendingEvents) {
      spdlog::warn("dropping event {} for {}: {} events already waiting", reason, object_name,
                   pending_events.size());
      return;
    }
    pending_events.push_back(std::move(event));
    events_cv.notify_one();
  }

  void RecordEvents() {
    std::unique_lock<std::mutex> lock(events_mu);
    while (true) {
      events_cv.wait(lock, [&] { return stopping.load() || !pending_events.empty(); });
      if (stopping) {
        if (!pending_events.empty()) {
          spdlog::info("stopping: {} events not recorded", pending_events.size());
        }
        return;
      }
      Json event = std::move(pending_events.front());
      pending_events.pop_front();
      lock.unlock();
      Status s = cp->client().Create(quidditch::k8s::EventsResource(), ns(), event).status();
      if (!s.ok()) {
        spdlog::warn("cannot record event {} for {}: {}", event.value("reason", ""),
                     event["involvedObject"].value("name", ""), s.ToString());
      }
      lock.lock();
    }
  }

  // --- nodes ---------------------------------------------------------------------------------

  Status ReconcileNodes() {
    const cluster::StatePtr state = cp->CurrentState();
    std::map<std::string, Pod> pods_now;
    {
      std::lock_guard<std::mutex> lock(pods_mu);
      pods_now = pods;
    }
    const CallContext ctx = WriteContext();
    Status first_error;
    auto note = [&](Status s) {
      if (!s.ok() && first_error.ok()) first_error = std::move(s);
    };
    for (const auto& [name, pod] : pods_now) {
      if (!pod.ready) continue;
      const cluster::NodeInfo* node = state->FindNode(name);
      if (node != nullptr && node->state != cluster::NodeState::kDown) continue;
      cluster::NodeInfo info;
      info.node_id = name;
      info.address = pod.ip;
      info.grpc_port = 9302;
      info.http_port = 9200;
      info.roles.data = true;
      if (node != nullptr) info = *node;  // back from DOWN with what it registered...
      info.address = pod.ip;              // ...at the pod's address now
      spdlog::info("data pod {} is ready: node [{}] ACTIVE", name, info.node_id);
      note(cp->RegisterPodNode(ctx, info, name));
    }
    const int64_t now = WallMs();
    for (const controlplane::k8s::NodeObjectView& view : cp->NodeObjects()) {
      const cluster::NodeInfo& node = view.node;
      if (node.state == cluster::NodeState::kDown) continue;
      std::string why;
      if (!view.pod_name.empty()) {
        auto pod = pods_now.find(view.pod_name);
        if (pod == pods_now.end())
          why = "its pod " + view.pod_name + " is gone";
        else if (!pod->second.ready)
          why = "its pod " + view.pod_name + " is not ready";
      } else if (now - node.last_seen_ms > options.node_heartbeat_timeout.count()) {
        why = fmt::format("no heartbeat for {} ms", now - node.last_seen_ms);
      }
      if (why.empty()) continue;
      spdlog::info("node [{}] is DOWN: {}", node.node_id, why);
      cluster::NodeStatus down;
      down.state = cluster::NodeState::kDown;
      Status s = cp->UpdateNodeStatus(ctx, node.node_id, down);
      if (s.ok()) {
        Event("QuidditchNode", view.object_name, true, "NodeDown",
              fmt::format("node [{}] is DOWN ({}); its shard copies failed and are reallocated",
                          node.node_id, why));
      }
      note(std::move(s));
    }
    return first_error;
  }

  // --- clusters ------------------------------------------------------------------------------

  Status ReconcileClusters() {
    QD_ASSIGN_OR_RETURN(quidditch::k8s::ListResult clusters,
                        cp->client().List(controlplane::k8s::ClustersResource(), ns()));
    if (clusters.items.empty()) return Status::OK();
    const cluster::StatePtr state = cp->CurrentState();
    const cluster::ClusterHealth health = cluster::ComputeHealth(*state);
    Json nodes = Json::array();
    bool all_active = true;
    for (const auto& [id, node] : state->nodes) {
      nodes.push_back({{"nodeId", id},
                       {"nodeType", fmt::format("{}", fmt::join(node.roles.Names(), ","))},
                       {"state", cluster::NodeStateName(node.state)}});
      all_active = all_active && node.state == cluster::NodeState::kActive;
    }
    for (Json& object : clusters.items) {
      Json status = object.value("status", Json::object());
      Json want = status;
      want["nodes"] = nodes;
      want["health"] = cluster::HealthStatusName(health.status);
      want["state"] = all_active ? "Running" : "Degraded";
      want["observedGeneration"] = object["metadata"].value("generation", int64_t{0});
      if (want == status) continue;
      object["status"] = want;
      QD_RETURN_IF_ERROR(
          cp->client()
              .UpdateStatus(controlplane::k8s::ClustersResource(), ns(), object, WriteDeadline())
              .status());
    }
    return Status::OK();
  }

  // --- HTTP ----------------------------------------------------------------------------------

  HttpResponse Health(const HttpRequest& request) {
    HttpResponse response;
    response.content_type = std::string(kTextContentType);
    if (request.path == "/healthz") {
      response.body = "ok\n";
    } else if (request.path == "/readyz") {
      const bool ready = cp->IsHealthy() && pod_informer->synced();
      response.status = ready ? 200 : 503;
      response.body = ready ? "ok\n" : "caches not synced\n";
    } else {
      response.status = 404;
      response.body = "not found\n";
    }
    return response;
  }

  HttpResponse Metrics(const HttpRequest& request) {
    HttpResponse response;
    response.content_type = "text/plain; version=0.0.4";
    if (request.path != "/metrics") {
      response.status = 404;
      return response;
    }
    const cluster::StatePtr state = cp->CurrentState();
    response.body = fmt::format(
        "# HELP quidditch_operator_leader 1 when this replica leads.\n"
        "# TYPE quidditch_operator_leader gauge\nquidditch_operator_leader {}\n"
        "# HELP quidditch_operator_reconciles_total Reconciles run.\n"
        "# TYPE quidditch_operator_reconciles_total counter\nquidditch_operator_reconciles_total "
        "{}\n"
        "# HELP quidditch_operator_reconcile_errors_total Reconciles that failed (retried).\n"
        "# TYPE quidditch_operator_reconcile_errors_total counter\n"
        "quidditch_operator_reconcile_errors_total {}\n"
        "# HELP quidditch_operator_shard_allocations_total Shard copies allocated.\n"
        "# TYPE quidditch_operator_shard_allocations_total counter\n"
        "quidditch_operator_shard_allocations_total {}\n"
        "# HELP quidditch_operator_workqueue_depth Keys waiting.\n"
        "# TYPE quidditch_operator_workqueue_depth gauge\nquidditch_operator_workqueue_depth {}\n"
        "# HELP quidditch_cluster_state_version The cluster-state version this replica sees.\n"
        "# TYPE quidditch_cluster_state_version gauge\nquidditch_cluster_state_version {}\n"
        "# HELP quidditch_indices Indices in the cluster state.\n"
        "# TYPE quidditch_indices gauge\nquidditch_indices {}\n",
        leading ? 1 : 0, reconciles.load(), reconcile_errors.load(), allocations.load(),
        queue.depth(), state->version, state->indices.size());
    return response;
  }
};

Operator::Operator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Operator::~Operator() { Stop(); }

Result<std::unique_ptr<Operator>> Operator::Start(OperatorOptions options) {
  // Owned by the Operator from the start, so that a failure below stops whatever has started.
  std::unique_ptr<Operator> op(new Operator(std::make_unique<Impl>()));
  Impl* self = op->impl_.get();
  Impl* impl = self;
  impl->options = options;
  controlplane::k8s::K8sControlPlaneOptions cp_options;
  cp_options.kube = options.kube;
  cp_options.ns = options.ns;
  impl->cp = std::make_unique<K8sControlPlane>(cp_options);
  QD_RETURN_IF_ERROR(impl->cp->Start());
  impl->cp->SetOnChange([self](bool is_index, const std::string& name) {
    if (!self->leading) return;
    if (is_index && !name.empty()) {
      self->queue.Add(IndexKey(name));
    } else {
      self->OnNodesChanged();
    }
  });

  quidditch::k8s::Informer::Handler pods;
  pods.replace = [self](const std::vector<Json>& items, int64_t) {
    std::lock_guard<std::mutex> lock(self->pods_mu);
    self->pods.clear();
    for (const Json& p : items) self->pods[p["metadata"].value("name", "")] = PodOf(p);
    self->OnNodesChanged();
  };
  pods.upsert = [self](const Json& p) {
    std::lock_guard<std::mutex> lock(self->pods_mu);
    self->pods[p["metadata"].value("name", "")] = PodOf(p);
    self->OnNodesChanged();
  };
  pods.remove = [self](const Json& p) {
    std::lock_guard<std::mutex> lock(self->pods_mu);
    self->pods.erase(p["metadata"].value("name", ""));
    self->OnNodesChanged();
  };
  impl->pod_informer = std::make_unique<quidditch::k8s::Informer>(
      &impl->cp->client(), quidditch::k8s::PodsResource(), impl->cp->ns(), "app=quidditch-data",
      std::move(pods));
  impl->pod_informer->Start();

  auto serve = [&](int port, auto method) -> Result<std::unique_ptr<HttpServer>> {
    if (port < 0) return std::unique_ptr<HttpServer>();
    HttpServerOptions http;
    http.bind_address = options.bind_address;
    http.port = static_cast<uint16_t>(port);
    http.threads = 1;
    return HttpServer::Start(http,
                             [self, method](const HttpRequest& r) { return (self->*method)(r); });
  };
  QD_ASSIGN_OR_RETURN(impl->health_server, serve(options.health_port, &Impl::Health));
  QD_ASSIGN_OR_RETURN(impl->metrics_server, serve(options.metrics_port, &Impl::Metrics));

  impl->worker = std::thread([self] { self->Work(); });
  impl->ticker = std::thread([self] { self->Tick(); });
  impl->event_recorder = std::thread([self] { self->RecordEvents(); });
  auto start_leading = [self] {
    self->leading = true;
    self->EnqueueAll();
  };
  if (options.leader_elect) {
    LeaderElectionOptions election;
    election.ns = impl->cp->ns();
    election.identity = options.identity;
    election.lease_duration = options.lease_duration;
    election.renew_deadline = options.renew_deadline;
    election.retry_period = options.retry_period;
    election.on_started_leading = start_leading;
    election.on_stopped_leading = [self] { self->leading = false; };
    impl->elector = std::make_unique<LeaderElector>(&impl->cp->client(), election);
    impl->elector->Start();
  } else {
    start_leading();
  }
  spdlog::info("operator {} started in namespace {} (leader election {})", options.identity,
               impl->cp->ns(), options.leader_elect ? "on" : "off");
  return op;
}

void Operator::Stop() {
  Impl& impl = *impl_;
  if (impl.stopping.exchange(true)) return;
  if (impl.pod_informer) impl.pod_informer->RequestStop();
  // Stop working as the leader before giving the lease away, so two leaders never overlap.
  impl.leading = false;
  impl.queue.ShutDown();
  impl.tick_cv.notify_all();
  if (impl.worker.joinable()) impl.worker.join();
  if (impl.ticker.joinable()) impl.ticker.join();
  if (impl.elector) impl.elector->Stop();  // releases the lease
  { std::lock_guard<std::mutex> lock(impl.events_mu); }
  impl.events_cv.notify_all();
  if (impl.event_recorder.joinable()) impl.event_recorder.join();
  if (impl.health_server) impl.health_server->Stop();
  if (impl.metrics_server) impl.metrics_server->Stop();
  if (impl.pod_informer) impl.pod_informer->Stop();
  if (impl.cp) impl.cp->Stop().PermitUncheckedError();  // Stop of a K8sControlPlane cannot fail
}

bool Operator::IsLeader() const { return impl_->leading; }
bool Operator::IsReady() const { return impl_->cp->IsHealthy() && impl_->pod_informer->synced(); }
uint16_t Operator::health_port() const {
  return impl_->health_server ? impl_->health_server->port() : 0;
}
uint16_t Operator::metrics_port() const {
  return impl_->metrics_server ? impl_->metrics_server->port() : 0;
}

int RunOperator(const OperatorOptions& options) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  Result<std::unique_ptr<Operator>> op = Operator::Start(options);
  if (!op.ok()) {
    spdlog::error("the operator cannot start: {}", op.status().ToString());
    return 1;
  }
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("received {}, stopping the operator", sig == SIGINT ? "SIGINT" : "SIGTERM");
  (*op)->Stop();
  return 0;
}

}  // namespace quidditch::op
