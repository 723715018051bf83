// K8sControlPlane: the ControlPlane of Kubernetes-native mode. The cluster state lives in custom
// resources (controlplane/k8s/objects.h) in one namespace; every node keeps an informer cache of
// them and rebuilds its ClusterState from it.
//
// Reads: from the cache, no network call (linearizable reads first list the three resources, a
// consistent read, and fold in anything newer than the cache).
//
// Writes: a command is applied to the cached state with the same Apply() as Raft mode (so it
// fails with the same typed errors), and the objects whose content changed are written with
// resourceVersion preconditions; a precondition that fails (another writer was first) re-reads
// and retries until the deadline. The server's answer is folded into the cache at once, so a
// caller reads its own writes.
//   - CreateIndex creates a QuidditchIndex (with a finalizer) and waits until the operator has
//     accepted its spec and run the allocator (conditions Ready and Allocated for the object's
//     generation); a spec the operator rejects is InvalidArgument with its message.
//   - UpdateIndexSettings / PutMapping / SetIndexClosed patch the spec and wait the same way.
//   - UpdateAliases deletes the indices of its remove_index actions (as DeleteIndex), then
//     patches spec.aliases of every index it changes, one object after the other, each waiting
//     as above: all of it is checked first, but it is not atomic across objects.
//   - DeleteIndex deletes the object and waits until the operator, having released the index's
//     shards, removed the finalizer and the object is gone.
//   - PutTemplate creates or replaces (PUT of the whole object, conditional on its version) a
//     QuidditchIndexTemplate, DeleteTemplate deletes it (conditional the same way); nothing
//     waits for the operator, which does not judge templates.
//   - The cluster uuid is not proposed (SetClusterUuidCmd is refused): Start() reads it from, or
//     first writes it to, the ConfigMap quidditch-cluster, and every state built carries it.
//   - Shard allocation and shard-state changes write the index's status subresource; node
//     registration, heartbeats and removal write QuidditchNode objects. A node's copies fail
//     (in every node's view, in the same change) as soon as the node is DOWN, gone or without
//     the data role; the writer then records that in the indices' status too.
//
// The state version is derived from the API server's ordering: a change observed in an object
// with resourceVersion R gets version max(R, previous + 1) — etcd revisions are one global,
// increasing sequence; the "+1" only matters when two watch streams deliver out of order. It
// never comes from a clock. Watch events carry it; slow watchers get a RESYNC (StateStore).
//
// Thread safety: as ControlPlane.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/config.h"
#include "controlplane/k8s/objects.h"
#include "controlplane/state_backed_control_plane.h"
#include "k8s/informer.h"
#include "k8s/kube_client.h"

namespace quidditch::controlplane::k8s {

struct K8sControlPlaneOptions {
  quidditch::k8s::KubeConfig kube;
  // Where the resources live; empty means the KubeConfig's default namespace.
  std::string ns;
  // Milliseconds since the epoch (tests may pin it).
  std::function<int64_t()> clock;
};

// How this process reaches the API server: the kubeconfig file when controlPlane.k8s.kubeconfig
// names one, else the pod's in-cluster service account.
Result<quidditch::k8s::KubeConfig> KubeConfigFor(const K8sConfig& config);

class K8sControlPlane : public StateBackedControlPlane {
 public:
  explicit K8sControlPlane(K8sControlPlaneOptions options);
  ~K8sControlPlane() override;

  // Connects, reads the cluster uuid (creating its ConfigMap when this is the first process of
  // the cluster), starts the informers (indices, nodes, templates) and waits (up to 30 s) until
  // each has listed.
  Status Start() override;
  Status Stop() override;
  // Started, not stopped, every cache synced and every watch connected to the API server.
  bool IsHealthy() const override;

  // --- for the operator (same process) ---------------------------------------------------------

  const std::string& ns() const { return ns_; }
  cluster::StatePtr CurrentState() const { return store().Current(); }
  quidditch::k8s::KubeClient& client() { return *client_; }
  // Every cached QuidditchIndex / QuidditchNode.
  std::vector<IndexObject> IndexObjects() const;
  std::vector<NodeObjectView> NodeObjects() const;
  // Called (on an informer or writer thread, without locks held) after every change of an index
  // or node in the cache: which kind of object changed and its name, or an empty name after a
  // (re)list. Template changes are not reported.
  using OnChange = std::function<void(bool is_index, const std::string& object_name)>;
  void SetOnChange(OnChange on_change);
  // Writes an index's status (precondition: the object's resourceVersion) and folds the answer
  // into the cache.
  Status WriteIndexStatus(const IndexObject& object, const Json& status,
                          quidditch::k8s::KubeClient::Deadline deadline =
                              quidditch::k8s::KubeClient::DefaultDeadline());
  // Removes Quidditch's finalizer (and only it) from a deleting index (precondition:
  // resourceVersion).
  Status ReleaseIndex(const IndexObject& object, quidditch::k8s::KubeClient::Deadline deadline =
                                                     quidditch::k8s::KubeClient::DefaultDeadline());
  // Registers `node` for the data pod `pod_name` (spec.podName): its liveness is then the pod's
  // readiness rather than heartbeats.
  Status RegisterPodNode(const CallContext& ctx, const cluster::NodeInfo& node,
                         const std::string& pod_name);

 protected:
  Result<int64_t> Propose(const CallContext& ctx,
                          const std::vector<cluster::Command>& commands) override;
  Status SyncForRead(const CallContext& ctx) override;

 private:
  // The resources the cache holds.
  enum class Kind { kIndex, kNode, kTemplate };
  struct Cache;
  // The state and the objects it was built from, at one instant.
  struct Snapshot {
    cluster::StatePtr state;
    std::map<std::string, NodeObjectView> nodes;      // by node id
    std::map<std::string, IndexObject> indices;       // by index name: accepted, not deleting
    std::map<std::string, TemplateObject> templates;  // by object name
  };
  Snapshot TakeSnapshot() const;
  // The uuid in ConfigMap quidditch-cluster, which this call creates when there is none.
  Result<std::string> LoadClusterUuid(quidditch::k8s::KubeClient::Deadline deadline);
  // Spec-level commands: one object write, then the operator's answer.
  Status CreateIndexObject(const CallContext& ctx, const cluster::CreateIndexCmd& cmd);
  // Patches the given spec fields, conditional on the snapshot's version of the object.
  Status PatchIndexSpec(const CallContext& ctx, const Snapshot& before, const std::string& name,
                        const Json& spec);
  // Whether the index's spec has a change the operator has not judged yet (or the snapshot
  // holds no object for it).
  static bool SpecChangePending(const Snapshot& before, const std::string& name);
  // An alias change: deletes the indices `desired` lacks (remove_index), then patches
  // spec.aliases of every index whose aliases differ between `before` and `desired`, one object
  // at a time, each waiting for the operator (see the .cc for the order).
  Status PatchAliases(const CallContext& ctx, const Snapshot& before,
                      const cluster::ClusterState& desired);
  Status DeleteIndexObject(const CallContext& ctx, const Snapshot& before, const std::string& name);
  // Template commands, already applied to `before`: one object written (see the .cc for the
  // errors of a writer that was overtaken).
  Status PutTemplateObject(const CallContext& ctx, const Snapshot& before,
                           const cluster::PutTemplateCmd& cmd);
  Status DeleteTemplateObject(const CallContext& ctx, const Snapshot& before,
                              const cluster::DeleteTemplateCmd& cmd);
  // Waits until the operator has judged `generation` of the index object `object_name`.
  Status AwaitAccepted(const CallContext& ctx, const std::string& object_name, int64_t generation);
  // Routing and node commands: writes the objects whose content differs between `before` and
  // `desired`, each conditional on the snapshot's resourceVersion. `pod_name` marks the node of
  // that id as registered for a pod.
  Status WriteChanges(const CallContext& ctx, const Snapshot& before,
                      const cluster::ClusterState& desired, const std::string& pod_name);
  // Writes into each index's status what the view shows of it, where they differ (copies
  // failed with their node), retrying conflicts until the deadline.
  Status RecordViewInIndices(const CallContext& ctx);
  Result<int64_t> ProposeFor(const CallContext& ctx, const std::vector<cluster::Command>& commands,
                             const std::string& pod_name);

  // Cache updates (a write's answer, a watch event, a list). Each rebuilds the state and
  // publishes it when it changed, then calls the on-change hook. The *Locked variants need
  // cache_->mu and return whether anything changed.
  void UpsertIndex(const Json& object);
  void UpsertNode(const Json& object);
  // `from_stream`: delivered by the watch (not a write's answer).
  void Upsert(Kind kind, const Json& object, bool from_stream);
  void Remove(Kind kind, const Json& object, bool from_stream);
  void Replace(Kind kind, const std::vector<Json>& items, int64_t list_version);
  bool UpsertLocked(Kind kind, const Json& object);
  bool RemoveLocked(Kind kind, const std::string& object_name, int64_t version);
  void PublishLocked(int64_t resource_version);
  void Notify(Kind kind, const std::string& object_name);

  const std::string ns_;
  const quidditch::k8s::KubeConfig kube_;
  std::unique_ptr<quidditch::k8s::KubeClient> client_;
  std::unique_ptr<Cache> cache_;
  std::string cluster_uuid_;  // set by Start() before the informers start; never changed
  std::unique_ptr<quidditch::k8s::Informer> index_informer_;
  std::unique_ptr<quidditch::k8s::Informer> node_informer_;
  std::unique_ptr<quidditch::k8s::Informer> template_informer_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
};

}  // namespace quidditch::controlplane::k8s
