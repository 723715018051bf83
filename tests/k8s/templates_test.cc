// Index templates in Kubernetes mode against a real kube-apiserver: what a QuidditchIndexTemplate
// looks like to kubectl, how a change reaches every node's state through the watch, what a
// replace keeps and drops, objects made by hand, and writers overtaken by someone else. The
// shared conformance suite covers the ControlPlane calls themselves. No operator runs: nothing
// of a template waits for it.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "tests/k8s/k8s_test_util.h"

namespace quidditch::k8s::testing {
namespace {

using cluster::TemplateKind;
using controlplane::CallContext;
using controlplane::k8s::K8sControlPlane;
using controlplane::k8s::TemplatesResource;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

CallContext Ctx() { return CallContext::WithTimeout(20s); }

// k8s_test_util's WaitFor with this file's default of 10 s, polling every 20 ms.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
  return testing::WaitFor(done, timeout, 20ms);
}

class TemplatesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = QD_KUBE_ENV_OR_SKIP();
    Result<std::string> ns = env_->NewNamespace("templates");
    ASSERT_TRUE(ns.ok()) << ns.status();
    ns_ = *ns;
    for (auto* cp : {&a_, &b_}) {
      Result<std::unique_ptr<K8sControlPlane>> started = StartNodeControlPlane(*env_, ns_);
      ASSERT_TRUE(started.ok()) << started.status();
      *cp = std::move(started).value();
    }
  }
  void TearDown() override {
    for (auto* cp : {&a_, &b_}) {
      if (*cp) (*cp)->Stop().PermitUncheckedError();  // Stop of a K8sControlPlane cannot fail
    }
  }

  // The templates of `kind` in `cp`'s cached state.
  static std::map<std::string, Json> Templates(K8sControlPlane& cp, TemplateKind kind) {
    cluster::StatePtr state = cp.CurrentState();
    return kind == TemplateKind::kComposable ? state->index_templates : state->legacy_templates;
  }

  KubeEnv* env_ = nullptr;
  std::string ns_;
  std::unique_ptr<K8sControlPlane> a_, b_;
};

// A template written through one node: the object kubectl shows, and the other node's state
// through its watch.
TEST_F(TemplatesTest, AWriteIsOneObjectAndReachesTheOtherNode) {
  const Json body = Json::parse(R"({"index_patterns": ["logs-*"], "priority": 5,
    "template": {"settings": {"index": {"number_of_shards": "2"}},
                 "mappings": {"properties": {"msg": {"type": "text"}}},
                 "aliases": {"all-logs": {}}},
    "_meta": {"owner": "ops", "weight": 1.5, "none": null}})");
  ASSERT_TRUE(a_->PutTemplate(Ctx(), TemplateKind::kComposable, "logs", body, true).ok());
  ASSERT_TRUE(a_->PutTemplate(Ctx(), TemplateKind::kLegacy, "Old_Logs", body, true).ok());
  // Read your write, at once.
  EXPECT_EQ(Templates(*a_, TemplateKind::kComposable),
            (std::map<std::string, Json>{{"logs", body}}));

  Result<Json> object = env_->admin().Get(TemplatesResource(), ns_, "composable-logs");
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ((*object)["kind"], "QuidditchIndexTemplate");
  EXPECT_EQ((*object)["spec"],
            Json({{"templateName", "logs"}, {"kind", "composable"}, {"body", body}}))
      << "the body kept whole (preserve-unknown-fields), not pruned";
  // A name that is no valid object name: a derived one, the real name in spec.templateName.
  const std::string derived =
      controlplane::k8s::TemplateObjectName(TemplateKind::kLegacy, "Old_Logs");
  EXPECT_EQ(derived.rfind("legacy-old-logs-", 0), 0u) << derived;
  object = env_->admin().Get(TemplatesResource(), ns_, derived);
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ((*object)["spec"]["templateName"], "Old_Logs");

  EXPECT_TRUE(WaitFor([&] {
    return Templates(*b_, TemplateKind::kComposable) ==
               std::map<std::string, Json>{{"logs", body}} &&
           Templates(*b_, TemplateKind::kLegacy) == std::map<std::string, Json>{{"Old_Logs", body}};
  })) << "the other node's watch";

  ASSERT_TRUE(b_->DeleteTemplate(Ctx(), TemplateKind::kLegacy, "Old_Logs").ok());
  EXPECT_TRUE(Templates(*b_, TemplateKind::kLegacy).empty());
  EXPECT_TRUE(env_->admin().Get(TemplatesResource(), ns_, derived).status().IsNotFound());
  EXPECT_TRUE(WaitFor([&] { return Templates(*a_, TemplateKind::kLegacy).empty(); }));
  EXPECT_EQ(Templates(*a_, TemplateKind::kComposable).size(), 1u);
}

// A replace writes the new body as given: keys the old body had and the new one lacks are gone
// (a merge would have kept them), and what someone else keeps in the object's metadata stays.
TEST_F(TemplatesTest, AReplaceWritesTheBodyWholeAndKeepsTheMetadata) {
  const Json v1 = Json::parse(R"({"index_patterns": ["a-*"], "order": 1,
    "settings": {"index": {"number_of_replicas": "0", "refresh_interval": "5s"}}})");
  const Json v2 = Json::parse(R"({"index_patterns": ["a-*"], "order": 2,
    "settings": {"index": {"number_of_replicas": "1"}}})");
  ASSERT_TRUE(a_->PutTemplate(Ctx(), TemplateKind::kLegacy, "a", v1, true).ok());
  ASSERT_TRUE(env_->admin()
                  .Patch(TemplatesResource(), ns_, "legacy-a", PatchType::kMerge,
                         Json::parse(R"({"metadata": {"labels": {"team": "search"}}})"))
                  .ok());
  // The label change reaches a_'s cache before the replace, or the replace is refused as
  // outdated and decided again: either way it lands.
  ASSERT_TRUE(a_->PutTemplate(Ctx(), TemplateKind::kLegacy, "a", v2, false).ok());
  EXPECT_EQ(Templates(*a_, TemplateKind::kLegacy).at("a"), v2);
  Result<Json> object = env_->admin().Get(TemplatesResource(), ns_, "legacy-a");
  ASSERT_TRUE(object.ok()) << object.status();
  EXPECT_EQ((*object)["spec"]["body"], v2);
  EXPECT_EQ((*object)["metadata"]["labels"], Json({{"team", "search"}}));
}

// Objects made with kubectl: one under the derived name is a template like any other; one
// under another name, or with a body that is no object, is ignored (and logged).
TEST_F(TemplatesTest, HandMadeObjectsCountOnlyUnderTheDerivedName) {
  auto object = [](const std::string& name, const std::string& template_name, const Json& body) {
    return Json{
        {"apiVersion", "quidditch.io/v1"},
        {"kind", "QuidditchIndexTemplate"},
        {"metadata", {{"name", name}}},
        {"spec", {{"templateName", template_name}, {"kind", "composable"}, {"body", body}}}};
  };
  const Json body = Json::parse(R"({"index_patterns": ["m-*"]})");
  ASSERT_TRUE(
      env_->admin().Create(TemplatesResource(), ns_, object("my-template", "mine", body)).ok());
  ASSERT_TRUE(
      env_->admin().Create(TemplatesResource(), ns_, object("composable-hand", "hand", body)).ok());
  // The CRD refuses what it can: a kind outside the enum, a missing body.
  Json bad_kind = object("composable-x", "x", body);
  bad_kind["spec"]["kind"] = "component";
  EXPECT_TRUE(
      env_->admin().Create(TemplatesResource(), ns_, bad_kind).status().IsInvalidArgument());
  Json no_body = object("composable-y", "y", body);
  no_body["spec"].erase("body");
  EXPECT_TRUE(env_->admin().Create(TemplatesResource(), ns_, no_body).status().IsInvalidArgument());

  ASSERT_TRUE(WaitFor([&] { return Templates(*a_, TemplateKind::kComposable).count("hand"); }));
  // Created before "hand", so the same watch delivered it first: ignored, not late.
  EXPECT_EQ(Templates(*a_, TemplateKind::kComposable),
            (std::map<std::string, Json>{{"hand", body}}));
  // A linearizable read lists the templates too.
  CallContext read = Ctx();
  read.linearizable = true;
  Result<cluster::StatePtr> state = b_->GetClusterState(read);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ((*state)->index_templates, (std::map<std::string, Json>{{"hand", body}}));

  // Edited into another template's name under the same object: it holds no template any more
  // (ignored), and the one it held is gone rather than kept at its last valid version.
  ASSERT_TRUE(env_->admin()
                  .Patch(TemplatesResource(), ns_, "composable-hand", PatchType::kMerge,
                         Json::parse(R"({"spec": {"templateName": "renamed"}})"))
                  .ok());
  EXPECT_TRUE(WaitFor([&] { return Templates(*a_, TemplateKind::kComposable).empty(); }));
  // Edited back: there again.
  ASSERT_TRUE(env_->admin()
                  .Patch(TemplatesResource(), ns_, "composable-hand", PatchType::kMerge,
                         Json::parse(R"({"spec": {"templateName": "hand"}})"))
                  .ok());
  EXPECT_TRUE(WaitFor([&] { return Templates(*a_, TemplateKind::kComposable).count("hand"); }));
  // kubectl delete: gone from the state.
  ASSERT_TRUE(env_->admin().Delete(TemplatesResource(), ns_, "composable-hand").ok());
  EXPECT_TRUE(WaitFor([&] { return Templates(*a_, TemplateKind::kComposable).empty(); }));
}

// A writer whose cache is behind: the API server's answer decides, with the errors every mode
// gives (create over an existing template: AlreadyExists; delete of a missing one: NotFound),
// and the caller's next read agrees with it.
TEST_F(TemplatesTest, AnOvertakenWriterGetsTheSameErrorsAsEveryMode) {
  const Json theirs = Json::parse(R"({"index_patterns": ["t-*"], "priority": 1})");
  const Json ours = Json::parse(R"({"index_patterns": ["t-*"], "priority": 2})");
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // Created behind a_'s back; a_ may or may not have seen it when it decides.
    ASSERT_TRUE(
        env_->admin()
            .Create(TemplatesResource(), ns_,
                    controlplane::k8s::NewTemplateObject(TemplateKind::kComposable, "t", theirs))
            .ok());
    Status s = a_->PutTemplate(Ctx(), TemplateKind::kComposable, "t", ours, /*create=*/true);
    EXPECT_TRUE(s.IsAlreadyExists()) << s;
    EXPECT_EQ(Templates(*a_, TemplateKind::kComposable).at("t"), theirs);
    // Deleted behind a_'s back: the delete finds nothing, either way.
    ASSERT_TRUE(env_->admin().Delete(TemplatesResource(), ns_, "composable-t").ok());
    s = a_->DeleteTemplate(Ctx(), TemplateKind::kComposable, "t");
    EXPECT_TRUE(s.IsNotFound()) << s;
    EXPECT_TRUE(Templates(*a_, TemplateKind::kComposable).empty());
    // Created behind its back again, then replaced (not created): the replace lands.
    ASSERT_TRUE(
        env_->admin()
            .Create(TemplatesResource(), ns_,
                    controlplane::k8s::NewTemplateObject(TemplateKind::kComposable, "t", theirs))
            .ok());
    s = a_->PutTemplate(Ctx(), TemplateKind::kComposable, "t", ours, /*create=*/false);
    ASSERT_TRUE(s.ok()) << s;
    EXPECT_EQ(Templates(*a_, TemplateKind::kComposable).at("t"), ours);
    Result<Json> stored = env_->admin().Get(TemplatesResource(), ns_, "composable-t");
    ASSERT_TRUE(stored.ok()) << stored.status();
    EXPECT_EQ((*stored)["spec"]["body"], ours);
    ASSERT_TRUE(a_->DeleteTemplate(Ctx(), TemplateKind::kComposable, "t").ok());
  }
}

}  // namespace
}  // namespace quidditch::k8s::testing
