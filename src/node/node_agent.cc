#include "node/node_agent.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace quidditch::node {

NodeAgent::NodeAgent(controlplane::ControlPlane* control_plane, cluster::NodeInfo self,
                     std::string data_dir, std::chrono::milliseconds heartbeat_interval)
    : control_plane_(control_plane),
      self_(std::move(self)),
      data_dir_(std::move(data_dir)),
      interval_(heartbeat_interval) {}

NodeAgent::~NodeAgent() { Stop(); }

void NodeAgent::Start() {
  thread_ = std::thread([this] { Run(); });
}

void NodeAgent::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

cluster::NodeResources NodeAgent::MeasureResources(const std::string& data_dir) {
  cluster::NodeResources r;
  r.cpu_cores = static_cast<int32_t>(std::max(1L, sysconf(_SC_NPROCESSORS_ONLN)));
  r.memory_bytes = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  struct statvfs fs;
  if (statvfs(data_dir.c_str(), &fs) == 0) {
    r.disk_bytes = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
    r.disk_available = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  }
  return r;
}

void NodeAgent::Run() {
  bool registered = false;
  Status last_error;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (stop_cv_.wait_for(lock, registered ? interval_ : std::chrono::milliseconds(200),
                            [&] { return stopping_; })) {
        return;
      }
    }
    auto ctx = controlplane::CallContext::WithTimeout(
        std::max(interval_, std::chrono::milliseconds(2000)));
    Status s;
    if (!registered) {
      cluster::NodeInfo info = self_;
      info.resources = MeasureResources(data_dir_);
      s = control_plane_->RegisterNode(ctx, info);
      if (s.ok()) {
        registered = true;
        spdlog::info("node [{}] registered with the control plane", self_.node_id);
      }
    } else {
      cluster::NodeStatus status{cluster::NodeState::kActive, MeasureResources(data_dir_)};
      s = control_plane_->UpdateNodeStatus(ctx, self_.node_id, status);
      // Someone unregistered this node: register it again.
      if (s.IsNotFound()) registered = false;
    }
    if (!s.ok() && s.ToString() != last_error.ToString()) {
      spdlog::warn("node [{}]: {} failed: {}; retrying", self_.node_id,
                   registered ? "heartbeat" : "registration", s.ToString());
    }
    if (s.ok() && !last_error.ok())
      spdlog::info("node [{}]: control plane reachable again", self_.node_id);
    last_error = s;
  }
}

}  // namespace quidditch::node
