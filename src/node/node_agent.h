// NodeAgent: makes this process a member of the cluster through its ControlPlane: registers
// the node (retrying until the control plane can take it), then reports a heartbeat with the
// node's resources at a fixed interval. The leader marks a node DOWN when its heartbeats stop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "cluster/types.h"
#include "controlplane/control_plane.h"

namespace quidditch::node {

class NodeAgent {
 public:
  // `control_plane` must outlive the agent. `data_dir` is measured for disk resources.
  NodeAgent(controlplane::ControlPlane* control_plane, cluster::NodeInfo self, std::string data_dir,
            std::chrono::milliseconds heartbeat_interval);
  ~NodeAgent();  // calls Stop()

  // Starts the registration and heartbeat thread; returns at once.
  void Start();
  // Stops heartbeating (the node is then marked DOWN after the heartbeat timeout).
  void Stop();

  // This machine's resources: cores, memory, and the disk holding `data_dir`.
  static cluster::NodeResources MeasureResources(const std::string& data_dir);

 private:
  void Run();

  controlplane::ControlPlane* const control_plane_;
  const cluster::NodeInfo self_;
  const std::string data_dir_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace quidditch::node
