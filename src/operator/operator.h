// Operator: the Kubernetes-native control plane's reconciler (`quidditch operator`).
//
// Several replicas run; one leads through a Lease (leader_election.h) and only the leader
// writes. Every replica keeps its caches warm (QuidditchIndex and QuidditchNode through a
// K8sControlPlane, data pods through an informer), so a new leader starts reconciling at once.
//
// The leader reconciles, through a rate-limited work queue:
//   - each QuidditchIndex: adds the finalizer; judges a new spec generation with the same
//     Apply() as every mode (a valid one becomes status.appliedSpec with the routing table;
//     an invalid one gets state ERROR for a new index, or keeps the old spec, with a message,
//     condition Ready=False and a Warning Event, and the operator goes on); then runs the
//     shared Allocator and records the copies it assigns (condition Allocated, Events); on
//     deletion releases the shards and removes the finalizer;
//   - nodes: a Running and Ready pod labelled app=quidditch-data is registered as a data node
//     (spec.podName); when the pod goes away or stops being Ready the node is DOWN and its
//     copies fail (and are reallocated); a node without a pod is DOWN once its lastSeen is older
//     than the heartbeat timeout;
//   - each QuidditchCluster: status.nodes, state and health.
// Failed reconciles are retried with exponential backoff per key (10 ms .. 10 s); everything
// is also re-checked once a second.
//
// HTTP: /healthz and /readyz on the health port (ready once the caches are synced), /metrics
// (Prometheus text) on the metrics port.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"
#include "k8s/kube_client.h"

namespace quidditch::op {

struct OperatorOptions {
  quidditch::k8s::KubeConfig kube;
  std::string ns;        // empty: the KubeConfig's namespace
  std::string identity;  // this replica (the pod name)
  bool leader_elect = true;
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
  // A node without a pod that has not reported for this long is DOWN.
  std::chrono::milliseconds node_heartbeat_timeout{30000};
  // Ports of /healthz + /readyz and of /metrics; -1 disables; 0 picks a free port.
  std::string bind_address = "0.0.0.0";
  int health_port = 8081;
  int metrics_port = 8080;
};

class Operator {
 public:
  static Result<std::unique_ptr<Operator>> Start(OperatorOptions options);
  ~Operator();  // Stop()s
  // Stops reconciling, releases the lease, ends the HTTP servers. Idempotent.
  void Stop();

  bool IsLeader() const;
  bool IsReady() const;
  uint16_t health_port() const;
  uint16_t metrics_port() const;

  struct Impl;

 private:
  explicit Operator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `quidditch operator`: runs until SIGINT/SIGTERM. Returns the process exit code.
int RunOperator(const OperatorOptions& options);

}  // namespace quidditch::op
