// The custom resources of Kubernetes-native mode, and how cluster-state values map onto them
// (deploy/kubernetes/crds/, docs/kubernetes.md).
//
//   QuidditchIndex  spec: what was asked for (shards, replicas, refreshInterval, codec,
//                   mappings, aliases, closed). status: what the leading operator accepted
//                   (appliedSpec, uuid) and the routing table (shardAllocations: every copy in
//                   order, primary first; shards: primary term and in-sync copies), the index
//                   state, times, conditions, observedGeneration. An index is part of the cluster
//                   state once the operator has accepted its spec: until then it has no status.
//   QuidditchNode   one registered node: spec (roles, addresses) and status (state, last seen,
//                   resources), written together in one update.
//   QuidditchIndexTemplate  one index template: spec (templateName, kind, body); no status (the
//                   cluster core only stores templates, nothing judges them).
//   ConfigMap quidditch-cluster  the cluster's uuid (data.clusterUuid), immutable: the first
//                   Quidditch process to start in the namespace creates it, every other reads it.
//
// Object names: an index or node name that is a valid Kubernetes object name (RFC 1123
// subdomain) is used as is; any other name (with '_', capitals, ...) gets a derived object name
// and is kept in spec.indexName / spec.nodeId. A template's object name is derived the same way
// from "<kind>-<name>" (TemplateObjectName), so the two kinds never share an object.
//
// Pure: JSON in, values out. Decoding is strict about what Quidditch itself writes (Corruption
// naming the field) and applies the CRD defaults for what a user may leave out of a spec.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cluster/cluster_state.h"
#include "cluster/commands.h"
#include "cluster/types.h"
#include "common/status.h"
#include "k8s/kube_client.h"

namespace quidditch::controlplane::k8s {

using Json = cluster::Json;

inline constexpr std::string_view kApiVersion = "quidditch.io/v1";
// Held by every QuidditchIndex until its shard data is dropped.
inline constexpr std::string_view kIndexFinalizer = "quidditch.io/shard-data";
// The condition the operator sets when it has judged the current spec.
inline constexpr std::string_view kReadyCondition = "Ready";
// The condition the operator sets when it has run the allocator after accepting a spec.
inline constexpr std::string_view kAllocatedCondition = "Allocated";

const quidditch::k8s::ResourceType& IndicesResource();
const quidditch::k8s::ResourceType& NodesResource();
const quidditch::k8s::ResourceType& ClustersResource();
const quidditch::k8s::ResourceType& TemplatesResource();

// The object name for an index or node name (see above).
std::string ObjectNameFor(std::string_view name);

// RFC 3339 UTC with milliseconds ("2026-11-26T08:00:00.123Z"), and back (nullopt when
// malformed).
std::string FormatTime(int64_t ms);
std::optional<int64_t> ParseTime(std::string_view text);

// --- QuidditchIndex ---------------------------------------------------------------------------

// A new QuidditchIndex: spec from the request, the finalizer, and `uuid` as an annotation (the
// operator makes it the index uuid, so that a retried create is recognised). Aliases are
// written in cluster::EncodeAliases's shape, and left out when there are none.
Json NewIndexObject(std::string_view name, std::string_view uuid,
                    const cluster::IndexSettings& settings, const Json& mappings,
                    const cluster::Aliases& aliases = {});

// What a QuidditchIndex says.
struct IndexObject {
  std::string object_name;
  std::string index_name;  // spec.indexName, or the object name
  int64_t resource_version = 0;
  int64_t generation = 0;
  bool deleting = false;                // metadata.deletionTimestamp is set
  bool has_finalizer = false;           // metadata.finalizers holds kIndexFinalizer
  std::vector<std::string> finalizers;  // metadata.finalizers
  std::string requested_uuid;           // the annotation, or metadata.uid
  // The spec, with the CRD's defaults for missing fields. Not validated here.
  cluster::IndexSettings spec_settings;
  Json spec_mappings = Json::object();
  // spec.aliases as written (an object when absent): a user's object may hold anything the
  // CRD lets through, and a malformed alias is the operator's to judge (cluster::DecodeAliases),
  // never a reason to ignore the whole object.
  Json spec_aliases = Json::object();
  bool spec_closed = false;
  // status as stored (conditions and message included); null when there is none.
  Json status;
  int64_t observed_generation = 0;
  // The index as the cluster state shows it: set once the operator has accepted a spec.
  std::optional<cluster::Index> applied;
  int64_t next_allocation_id = 1;  // status.nextAllocationId
};

Result<IndexObject> DecodeIndexObject(const Json& object);

// The status for `index`: everything Quidditch derives from an index, over `previous` (the
// stored status), whose conditions, message and observedGeneration are kept.
Json IndexStatus(const cluster::Index& index, int64_t next_allocation_id, const Json& previous);

// The condition `type` of a status, or null.
const Json* FindCondition(const Json& status, std::string_view type);
// Sets condition `type` in `status` (lastTransitionTime moves only when status flips).
void SetCondition(Json& status, std::string_view type, bool ok, std::string_view reason,
                  std::string_view message, int64_t generation, int64_t now_ms);

// --- QuidditchNode ----------------------------------------------------------------------------

// The whole QuidditchNode for `node` (spec and status), without metadata.resourceVersion.
Json NodeObject(const cluster::NodeInfo& node, std::string_view pod_name = {});

struct NodeObjectView {
  std::string object_name;
  int64_t resource_version = 0;
  std::string pod_name;  // spec.podName: registered by the operator for a data pod
  cluster::NodeInfo node;
};

Result<NodeObjectView> DecodeNodeObject(const Json& object);

// --- QuidditchIndexTemplate -------------------------------------------------------------------

// "composable" / "legacy": spec.kind, and the object name's prefix.
std::string_view TemplateKindName(cluster::TemplateKind kind);
// The object name of template `name` of `kind`: ObjectNameFor("<kind>-<name>").
std::string TemplateObjectName(cluster::TemplateKind kind, std::string_view name);

// A new QuidditchIndexTemplate holding `body` as given.
Json NewTemplateObject(cluster::TemplateKind kind, std::string_view name, const Json& body);

// What a QuidditchIndexTemplate says.
struct TemplateObject {
  std::string object_name;
  int64_t resource_version = 0;
  // metadata as stored (labels, annotations, resourceVersion, ...): a replace writes it back, so
  // whatever else someone keeps on the object stays.
  Json metadata = Json::object();
  cluster::TemplateKind kind = cluster::TemplateKind::kComposable;
  std::string template_name;
  Json body = Json::object();
};

// Strict: spec.templateName, spec.kind and an object spec.body are required, and the object
// name must be TemplateObjectName(kind, templateName) (Corruption otherwise) — so one template
// is never held by two objects.
Result<TemplateObject> DecodeTemplateObject(const Json& object);

// --- ConfigMap quidditch-cluster -------------------------------------------------------------

inline constexpr std::string_view kClusterConfigMapName = "quidditch-cluster";

// A new, immutable ConfigMap kClusterConfigMapName holding `uuid`.
Json NewClusterConfigMap(std::string_view uuid);
// The uuid the ConfigMap holds (Corruption when data.clusterUuid is missing or empty).
Result<std::string> ClusterUuidOf(const Json& config_map);

}  // namespace quidditch::controlplane::k8s
