// SingleNode: a whole one-node cluster in the test process, for tests of the REST handlers and
// the data role: a DirectControlPlane that allocates after every change, one data +
// coordination node "node-1" registered in it, and the data role (IndicesService +
// LocalShardService) on a data directory.
//
// TEST ONLY (header-only so that any test binary can use it without a library):
//
//   data::testing::SingleNode node;
//   ASSERT_TRUE(node.status().ok()) << node.status();
//   rest::RestContext context = node.context();
//   ... create an index through node.control_plane() or the REST handlers ...
//   ASSERT_TRUE(node.WaitForIndexStarted("logs").ok());
//
// The data directory is a fresh temporary directory removed by the destructor, unless a
// directory is given. The control plane lives in memory only: to test that data survives a
// restart, RestartDataRole() stops the data role and starts it again on the same directory
// with the control plane (and so the indices' uuids) kept.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "cluster/types.h"
#include "controlplane/testing/direct_control_plane.h"
#include "coordination/rest_util.h"
#include "data/indices_service.h"
#include "data/local_shard_service.h"

namespace quidditch::data::testing {

class SingleNode {
 public:
  static constexpr const char* kNodeId = "node-1";

  // `data_dir` empty: a new temporary directory, removed by the destructor.
  explicit SingleNode(std::string data_dir = "")
      : control_plane_(std::make_unique<controlplane::testing::DirectControlPlane>(
            controlplane::testing::Allocation::kAfterEachChange)) {
    if (data_dir.empty()) {
      std::string tmpl =
          (std::filesystem::temp_directory_path() / "qd-single-node-XXXXXX").string();
      if (::mkdtemp(tmpl.data()) == nullptr) {
        status_ = Status::IOError("mkdtemp failed");
        return;
      }
      data_dir_ = tmpl;
      owns_dir_ = true;
    } else {
      data_dir_ = std::move(data_dir);
    }
    status_ = control_plane_->Start();
    if (!status_.ok()) return;
    cluster::NodeInfo self;
    self.node_id = kNodeId;
    self.address = "127.0.0.1";
    self.roles = Roles{/*master=*/false, /*coordination=*/true, /*data=*/true};
    status_ = control_plane_->RegisterNode(controlplane::CallContext{}, self);
    if (!status_.ok()) return;
    status_ = StartDataRole();
  }

  ~SingleNode() {
    StopDataRole();
    control_plane_->Stop().PermitUncheckedError();  // an in-process control plane: cannot fail
    if (owns_dir_) {
      std::error_code ec;
      std::filesystem::remove_all(data_dir_, ec);
    }
  }

  SingleNode(const SingleNode&) = delete;
  SingleNode& operator=(const SingleNode&) = delete;

  // Whether construction succeeded.
  const Status& status() const { return status_; }

  controlplane::testing::DirectControlPlane* control_plane() { return control_plane_.get(); }
  IndicesService* indices() { return indices_.get(); }
  LocalShardService* shard_service() { return shard_service_.get(); }
  const std::string& data_dir() const { return data_dir_; }

  // What the REST handlers of this node get: the shard service for "node-1", null for any
  // other node id.
  rest::RestContext context() {
    rest::RestContext c;
    c.identity = NodeIdentity{kNodeId, "quidditch-test"};
    c.control_plane = control_plane_.get();
    c.shard_service = [this](const std::string& node_id) -> ShardService* {
      return node_id == kNodeId ? shard_service_.get() : nullptr;
    };
    c.control_plane_timeout = std::chrono::milliseconds(10000);
    return c;
  }

  // Waits until every primary of `index` is STARTED (the data role opened it and reported).
  Status WaitForIndexStarted(const std::string& index,
                             std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      Result<cluster::Index> meta = control_plane_->GetIndex(controlplane::CallContext{}, index);
      if (meta.ok()) {
        bool started = !meta->routing.shards.empty();
        for (const cluster::ShardRouting& shard : meta->routing.shards) {
          if (shard.primary().state != cluster::ShardState::kStarted) started = false;
        }
        if (started) return Status::OK();
      } else if (!meta.status().IsNotFound()) {
        return meta.status();
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return Status::Timeout("the primaries of [" + index + "] did not start in time");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  // Waits until the data role has applied the control plane's current state.
  bool WaitForApplied(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    Result<cluster::StatePtr> state = control_plane_->GetClusterState(controlplane::CallContext{});
    if (!state.ok()) return false;
    return indices_->WaitForApplied((*state)->version, timeout);
  }

  // Stops the data role and starts it again on the same directory (a restart of the data
  // node's process, with the control plane kept).
  Status RestartDataRole() {
    StopDataRole();
    return StartDataRole();
  }

 private:
  Status StartDataRole() {
    indices_ = std::make_unique<IndicesService>(control_plane_.get(), kNodeId, data_dir_);
    Status s = indices_->Start();
    if (!s.ok()) return s;
    shard_service_ = std::make_unique<LocalShardService>(indices_.get());
    return Status::OK();
  }

  void StopDataRole() {
    shard_service_.reset();
    if (indices_) indices_->Stop();
    indices_.reset();
  }

  std::unique_ptr<controlplane::testing::DirectControlPlane> control_plane_;
  std::string data_dir_;
  bool owns_dir_ = false;
  Status status_;
  std::unique_ptr<IndicesService> indices_;
  std::unique_ptr<LocalShardService> shard_service_;
};

}  // namespace quidditch::data::testing
