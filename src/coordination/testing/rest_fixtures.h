// Test support for the REST handlers: requests as the server parses them, and two fixtures —
// a cluster whose shards are placed by hand (metadata only, no shard services) and a real
// single node (control plane, data role and shards in process).
//
// Header-only, for the *_test.cc files of src/coordination. A test fixture derives from one of
// the fixtures, calls its SetUp() and registers the handlers it tests on router_.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controlplane/testing/direct_control_plane.h"
#include "coordination/http_types.h"
#include "coordination/rest_root.h"
#include "coordination/rest_util.h"
#include "data/testing/single_node.h"

namespace quidditch::rest::fixtures {

inline controlplane::CallContext Ctx() {
  return controlplane::CallContext::WithTimeout(std::chrono::seconds(5));
}

// `target` ("/logs/_search?q=x") parsed as the server parses it; a non-empty body gets
// `content_type`.
inline HttpRequest TestRequest(HttpMethod method, std::string_view target, std::string body = "",
                               std::string_view content_type = "application/json") {
  HttpRequest request;
  request.method = method;
  request.method_name = std::string(HttpMethodName(method));
  EXPECT_TRUE(ParseRequestTarget(target, &request).ok()) << target;
  if (!body.empty()) request.headers.Set("Content-Type", std::string(content_type));
  request.body = std::move(body);
  return request;
}

inline cluster::NodeInfo TestNode(const std::string& id, Roles roles, int grpc_port = 9300) {
  cluster::NodeInfo node;
  node.node_id = id;
  node.address = "10.0.0." + id.substr(1);
  node.grpc_port = grpc_port;
  node.http_port = 9200;
  node.roles = roles;
  return node;
}

// Nodes, indices and shard copies placed by hand on an in-process control plane.
class ManualClusterRestTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(cp_.Start().ok()); }
  void TearDown() override { EXPECT_TRUE(cp_.Stop().ok()); }

  HttpResponse Dispatch(std::string_view target) {
    return router_.Dispatch(TestRequest(HttpMethod::kGet, target));
  }
  nlohmann::json Body(std::string_view target, int expected_status = 200) {
    HttpResponse response = Dispatch(target);
    EXPECT_EQ(response.status, expected_status) << target << ": " << response.body;
    return nlohmann::json::parse(response.body);
  }
  // The text body of a GET that must succeed (the _cat tables).
  std::string Text(std::string_view target) {
    HttpResponse response = Dispatch(target);
    EXPECT_EQ(response.status, 200) << target << ": " << response.body;
    return response.body;
  }

  void AddNode(const std::string& id, Roles roles) {
    ASSERT_TRUE(cp_.RegisterNode(Ctx(), TestNode(id, roles)).ok());
  }
  void CreateIndex(const std::string& name, int shards, int replicas) {
    controlplane::CreateIndexRequest request;
    request.name = name;
    request.settings.shards = shards;
    request.settings.replicas = replicas;
    ASSERT_TRUE(cp_.CreateIndex(Ctx(), request).ok());
  }
  void StartCopy(const std::string& index, int shard, const std::string& node) {
    Status s = cp_.AllocateShard(Ctx(), index, shard, node);
    ASSERT_TRUE(s.ok()) << s;
    s = cp_.UpdateShardState(Ctx(), index, shard, node, cluster::ShardState::kStarted);
    ASSERT_TRUE(s.ok()) << s;
  }
  // n1 (master+data), n2 (data), n3 (coordination only); "green" (1 shard, 0 replicas,
  // started on n2) and "yellow" (1 shard, 1 replica: primary started on n1, replica
  // unassigned).
  void BuildGreenAndYellow() {
    AddNode("n1", Roles{true, true, true});
    AddNode("n2", Roles{false, false, true});
    AddNode("n3", Roles{false, true, false});
    CreateIndex("green", 1, 0);
    StartCopy("green", 0, "n2");
    CreateIndex("yellow", 1, 1);
    StartCopy("yellow", 0, "n1");
  }

  controlplane::testing::DirectControlPlane cp_{controlplane::testing::Allocation::kManual};
  Router router_;
};

// One real node: the control plane, the data role and its shards in this process.
class SingleNodeRestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(node_.status().ok()) << node_.status();
    context_ = node_.context();
  }

  HttpResponse Call(HttpMethod method, std::string_view target, std::string body = "",
                    std::string_view content_type = "application/json") {
    return router_.Dispatch(TestRequest(method, target, std::move(body), content_type));
  }
  // The parsed body of a call (null when empty), checking its status.
  nlohmann::json CallJson(HttpMethod method, std::string_view target, std::string body,
                          int expected_status) {
    HttpResponse response = Call(method, target, std::move(body));
    EXPECT_EQ(response.status, expected_status) << target << ": " << response.body;
    if (response.body.empty()) return nlohmann::json();
    return nlohmann::json::parse(response.body);
  }
  // The body of a GET, checking its status.
  nlohmann::json Body(std::string_view target, int expected_status = 200) {
    HttpResponse response = Call(HttpMethod::kGet, target);
    EXPECT_EQ(response.status, expected_status) << target << ": " << response.body;
    return nlohmann::json::parse(response.body);
  }
  // The text body of a GET that must succeed (the _cat tables).
  std::string Text(std::string_view target) {
    HttpResponse response = Call(HttpMethod::kGet, target);
    EXPECT_EQ(response.status, 200) << target << ": " << response.body;
    return response.body;
  }

  // Creates `name` and waits for its primaries.
  void CreateIndex(const std::string& name, int shards, int replicas = 0) {
    controlplane::CreateIndexRequest request;
    request.name = name;
    request.settings.shards = shards;
    request.settings.replicas = replicas;
    ASSERT_TRUE(node_.control_plane()->CreateIndex(Ctx(), request).ok());
    ASSERT_TRUE(node_.WaitForIndexStarted(name).ok());
  }
  // Indexes docs "0".."n-1" round-robin over the shards (the shard chosen here, not by
  // routing), refreshed.
  void IndexDocs(const std::string& index, int shards, int n) {
    for (int shard = 0; shard < shards; ++shard) {
      std::vector<engine::BulkItem> items;
      for (int i = shard; i < n; i += shards) {
        engine::BulkItem item;
        item.id = std::to_string(i);
        item.source = R"({"n":)" + std::to_string(i) + "}";
        items.push_back(std::move(item));
      }
      auto results = node_.shard_service()->Bulk(data::ShardKey{index, shard}, items,
                                                 data::RefreshPolicy::kRefresh);
      ASSERT_TRUE(results.ok()) << results.status();
      for (const auto& r : *results) ASSERT_TRUE(r.status.ok()) << r.status;
    }
  }
  std::string Uuid(const std::string& index) {
    Result<cluster::Index> meta = node_.control_plane()->GetIndex(Ctx(), index);
    EXPECT_TRUE(meta.ok()) << meta.status();
    return meta.ok() ? meta->uuid : "";
  }

  data::testing::SingleNode node_;
  RestContext context_;
  Router router_;
};

}  // namespace quidditch::rest::fixtures
