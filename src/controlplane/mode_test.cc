#include "controlplane/mode.h"

#include <gtest/gtest.h>

namespace quidditch::controlplane {
namespace {

TEST(ResolveMode, ExplicitModesAreKept) {
  auto never = [](std::string_view) { return false; };
  auto always = [](std::string_view) { return true; };
  std::map<std::string, std::string> k8s_env{{"KUBERNETES_SERVICE_HOST", "10.0.0.1"}};
  EXPECT_EQ(ResolveMode(ControlPlaneMode::kRaft, k8s_env, always).mode, ControlPlaneMode::kRaft);
  EXPECT_EQ(ResolveMode(ControlPlaneMode::kK8s, {}, never).mode, ControlPlaneMode::kK8s);
}

TEST(ResolveMode, AutoNeedsBothServiceHostAndToken) {
  std::string asked;
  auto token = [&](std::string_view path) {
    asked = path;
    return true;
  };
  auto no_token = [](std::string_view) { return false; };
  std::map<std::string, std::string> k8s_env{{"KUBERNETES_SERVICE_HOST", "10.0.0.1"}};
  ResolvedMode in_cluster = ResolveMode(ControlPlaneMode::kAuto, k8s_env, token);
  EXPECT_EQ(in_cluster.mode, ControlPlaneMode::kK8s);
  EXPECT_EQ(asked, kServiceAccountTokenPath);
  EXPECT_EQ(ResolveMode(ControlPlaneMode::kAuto, k8s_env, no_token).mode, ControlPlaneMode::kRaft);
  EXPECT_EQ(ResolveMode(ControlPlaneMode::kAuto, {}, token).mode, ControlPlaneMode::kRaft);
  std::map<std::string, std::string> empty_host{{"KUBERNETES_SERVICE_HOST", ""}};
  EXPECT_EQ(ResolveMode(ControlPlaneMode::kAuto, empty_host, token).mode, ControlPlaneMode::kRaft);
}

}  // namespace
}  // namespace quidditch::controlplane
