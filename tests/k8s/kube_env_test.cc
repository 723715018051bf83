// Smoke tests of the Kubernetes test harness: the API server it starts is real (version, CRDs,
// authentication, RBAC, persistence across restarts).
#include "tests/k8s/kube_env.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

namespace quidditch::k8s::testing {
namespace {

const ResourceType kIndices{"quidditch.io", "v1", "quidditchindices", true};

Json Index(const std::string& name, int shards) {
  return {{"apiVersion", "quidditch.io/v1"},
          {"kind", "QuidditchIndex"},
          {"metadata", {{"name", name}}},
          {"spec", {{"shards", shards}}}};
}

Json Lease(const std::string& name) {
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata", {{"name", name}}},
          {"spec", {{"holderIdentity", "test"}, {"leaseDurationSeconds", 15}}}};
}

std::unique_ptr<KubeClient> ClientFor(const KubeConfig& config) {
  Result<std::unique_ptr<KubeClient>> client = KubeClient::Create(config);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(client).value() : nullptr;
}

TEST(LoadManifest, TypesScalarsLikeTheYamlCoreSchema) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "qd-load-manifest-test.yaml").string();
  std::ofstream(path) << "# a comment\n"
                         "---\n"
                         "a: 1\nb: '1'\nc: true\nd: \"true\"\ne: null\nf: 1.5\ng: |\n  text\n"
                         "h: [x, 2]\ni: 0x1f\nj: 1s\nk:\n"
                         "---\n"
                         "---\n"
                         "kind: Second\n";
  Result<std::vector<Json>> docs = LoadManifest(path);
  std::filesystem::remove(path);
  ASSERT_TRUE(docs.ok()) << docs.status();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0], Json::parse(R"({"a": 1, "b": "1", "c": true, "d": "true", "e": null,
      "f": 1.5, "g": "text\n", "h": ["x", 2], "i": 31, "j": "1s", "k": null})"));
  EXPECT_EQ((*docs)[1], Json::parse(R"({"kind": "Second"})"));
  EXPECT_TRUE(LoadManifest("/nonexistent/x.yaml").status().IsNotFound());
}

TEST(KubeEnv, ServesTheBuiltVersion) {
  KubeEnv* env = QD_KUBE_ENV_OR_SKIP();
  Result<RawResponse> r = env->admin().Raw("GET", "/version", "");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body).value("gitVersion", ""), "v1.35.4") << r->body;
  Result<RawResponse> ready = env->admin().Raw("GET", "/readyz", "");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(env->server().rfind("https://127.0.0.1:", 0), 0u) << env->server();
}

TEST(KubeEnv, CrdsAreEstablishedWithTheirShortNames) {
  KubeEnv* env = QD_KUBE_ENV_OR_SKIP();
  const ResourceType crds{"apiextensions.k8s.io", "v1", "customresourcedefinitions", false};
  const std::map<std::string, std::string> short_names = {
      {"quidditchindices.quidditch.io", "qidx"},
      {"quidditchclusters.quidditch.io", "qcluster"},
      {"quidditchnodes.quidditch.io", "qnode"},
      {"quidditchindextemplates.quidditch.io", "qitmpl"}};
  for (const auto& [name, short_name] : short_names) {
    Result<Json> crd = env->admin().Get(crds, "", name);
    ASSERT_TRUE(crd.ok()) << name << ": " << crd.status();
    bool established = false;
    for (const Json& c : crd->value("/status/conditions"_json_pointer, Json::array())) {
      if (c.value("type", "") == "Established") established = c.value("status", "") == "True";
    }
    EXPECT_TRUE(established) << crd->dump(2);
    EXPECT_EQ(crd->value("/status/acceptedNames/shortNames"_json_pointer, Json::array()),
              Json::array({short_name}))
        << name;
    EXPECT_EQ(crd->value("/spec/scope"_json_pointer, std::string()), "Namespaced") << name;
  }
  // The schema is enforced: shards is required and at least 1; defaults are applied.
  Result<std::string> ns = env->NewNamespace("crd-schema");
  ASSERT_TRUE(ns.ok()) << ns.status();
  Result<Json> created = env->admin().Create(kIndices, *ns, Index("logs", 2));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ((*created)["spec"]["replicas"], 1);
  EXPECT_EQ((*created)["spec"]["refreshInterval"], "1s");
  EXPECT_TRUE(env->admin().Create(kIndices, *ns, Index("bad", 0)).status().IsInvalidArgument());
}

TEST(KubeEnv, RbacIsEnforcedForServiceAccountTokens) {
  KubeEnv* env = QD_KUBE_ENV_OR_SKIP();
  Result<std::string> ns = env->NewNamespace("rbac");
  ASSERT_TRUE(ns.ok()) << ns.status();
  Result<KubeConfig> node_config = env->ServiceAccountConfig(*ns, "quidditch");
  ASSERT_TRUE(node_config.ok()) << node_config.status();
  EXPECT_EQ(node_config->default_namespace, *ns);
  std::unique_ptr<KubeClient> node = ClientFor(*node_config);
  ASSERT_NE(node, nullptr);

  // quidditch-node: indices in its own namespace, yes.
  ASSERT_TRUE(node->Create(kIndices, *ns, Index("from-node", 1)).ok());
  Result<ListResult> indices = node->List(kIndices, *ns);
  ASSERT_TRUE(indices.ok()) << indices.status();
  EXPECT_EQ(indices->items.size(), 1u);
  // Index templates (PUT _index_template through a node): yes, every write.
  const ResourceType templates{"quidditch.io", "v1", "quidditchindextemplates", true};
  const Json tmpl = Json::parse(R"({"apiVersion": "quidditch.io/v1",
    "kind": "QuidditchIndexTemplate", "metadata": {"name": "composable-logs"},
    "spec": {"templateName": "logs", "kind": "composable", "body": {"index_patterns": ["l*"]}}})");
  ASSERT_TRUE(node->Create(templates, *ns, tmpl).ok());
  EXPECT_TRUE(node->List(templates, *ns).ok());
  // Pods anywhere, leases: no.
  Status pods = node->List(PodsResource(), "").status();
  EXPECT_TRUE(pods.IsPermissionDenied()) << pods;
  Status lease = node->Create(LeasesResource(), *ns, Lease("node-lease")).status();
  EXPECT_TRUE(lease.IsPermissionDenied()) << lease;

  // quidditch-operator: leases and pods of its namespace, yes; pods cluster-wide, no.
  Result<KubeConfig> operator_config = env->ServiceAccountConfig(*ns, "quidditch-operator");
  ASSERT_TRUE(operator_config.ok()) << operator_config.status();
  std::unique_ptr<KubeClient> op = ClientFor(*operator_config);
  ASSERT_NE(op, nullptr);
  Status op_lease = op->Create(LeasesResource(), *ns, Lease("operator-lease")).status();
  EXPECT_TRUE(op_lease.ok()) << op_lease;
  EXPECT_TRUE(op->List(PodsResource(), *ns).ok());
  EXPECT_TRUE(op->List(PodsResource(), "").status().IsPermissionDenied());
  // Templates: it reads them (its control plane caches the whole state) and writes none.
  Result<ListResult> op_templates = op->List(templates, *ns);
  ASSERT_TRUE(op_templates.ok()) << op_templates.status();
  EXPECT_EQ(op_templates->items.size(), 1u);
  Status op_delete = op->Delete(templates, *ns, "composable-logs").status();
  EXPECT_TRUE(op_delete.IsPermissionDenied()) << op_delete;
  EXPECT_TRUE(node->Delete(templates, *ns, "composable-logs").ok());

  // A token the API server did not sign is rejected.
  KubeConfig forged = *node_config;
  forged.token = "not-a-token";
  std::unique_ptr<KubeClient> stranger = ClientFor(forged);
  ASSERT_NE(stranger, nullptr);
  EXPECT_TRUE(stranger->List(kIndices, *ns).status().IsPermissionDenied());
  // A ServiceAccount that does not exist gets no token.
  EXPECT_TRUE(env->ServiceAccountConfig(*ns, "nobody").status().IsNotFound());
}

TEST(KubeEnv, ATokenOfOneNamespaceCannotReadAnother) {
  KubeEnv* env = QD_KUBE_ENV_OR_SKIP();
  Result<std::string> a = env->NewNamespace("tenant-a");
  Result<std::string> b = env->NewNamespace("tenant-b");
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_NE(*a, *b);
  ASSERT_TRUE(env->admin().Create(kIndices, *b, Index("secret", 1)).ok());
  Result<KubeConfig> config = env->ServiceAccountConfig(*a, "quidditch");
  ASSERT_TRUE(config.ok()) << config.status();
  std::unique_ptr<KubeClient> client = ClientFor(*config);
  ASSERT_NE(client, nullptr);
  EXPECT_TRUE(client->List(kIndices, *a).ok());
  EXPECT_TRUE(client->List(kIndices, *b).status().IsPermissionDenied());
  EXPECT_TRUE(client->Get(kIndices, *b, "secret").status().IsPermissionDenied());
}

TEST(KubeEnv, KubeconfigFilesLoadBack) {
  KubeEnv* env = QD_KUBE_ENV_OR_SKIP();
  Result<std::string> ns = env->NewNamespace("kubeconfig");
  ASSERT_TRUE(ns.ok()) << ns.status();
  Result<KubeConfig> sa = env->ServiceAccountConfig(*ns, "quidditch");
  ASSERT_TRUE(sa.ok()) << sa.status();
  for (const auto& [name, config] : std::vector<std::pair<std::string, KubeConfig>>{
           {"node", *sa}, {"admin", env->admin_config()}}) {
    Result<std::string> path = env->WriteKubeconfig(config, name);
    ASSERT_TRUE(path.ok()) << path.status();
    Result<KubeConfig> loaded = LoadKubeconfig(*path);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(loaded->server, env->server());
    EXPECT_EQ(loaded->token, config.token);
    EXPECT_EQ(loaded->default_namespace, config.default_namespace);
    std::unique_ptr<KubeClient> client = ClientFor(*loaded);
    ASSERT_NE(client, nullptr);
    Result<ListResult> list = client->List(kIndices, *ns);
    EXPECT_TRUE(list.ok()) << name << ": " << list.status();
  }
  EXPECT_TRUE(env->WriteKubeconfig(*sa, "../x").status().IsInvalidArgument());
}

TEST(KubeEnv, ApplyCreatesThenUpdates) {
  KubeEnv* env = QD_KUBE_ENV_OR_SKIP();
  Result<std::string> ns = env->NewNamespace("apply");
  ASSERT_TRUE(ns.ok()) << ns.status();
  Result<Json> first = env->Apply(Index("idx", 1), *ns);
  ASSERT_TRUE(first.ok()) << first.status();
  Result<Json> second = env->Apply(Index("idx", 3), *ns);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)["metadata"]["uid"], (*first)["metadata"]["uid"]);
  EXPECT_EQ((*second)["spec"]["shards"], 3);
  // rbac.yaml applied into the namespace: its RoleBindings name the new namespace's accounts.
  Result<Json> binding = env->admin().Get(
      ResourceType{"rbac.authorization.k8s.io", "v1", "rolebindings", true}, *ns, "quidditch-node");
  ASSERT_TRUE(binding.ok()) << binding.status();
  EXPECT_EQ((*binding)["subjects"][0]["namespace"], *ns);
}

TEST(KubeEnv, ObjectsSurviveAnApiServerRestart) {
  KubeEnv* env = QD_KUBE_ENV_OR_SKIP();
  Result<std::string> ns = env->NewNamespace("restart");
  ASSERT_TRUE(ns.ok()) << ns.status();
  Result<Json> created = env->admin().Create(kIndices, *ns, Index("durable", 2));
  ASSERT_TRUE(created.ok()) << created.status();
  Result<KubeConfig> sa = env->ServiceAccountConfig(*ns, "quidditch");
  ASSERT_TRUE(sa.ok()) << sa.status();

  for (bool kill : {false, true}) {
    SCOPED_TRACE(kill ? "SIGKILL" : "SIGTERM");
    Status restarted = env->RestartApiServer(kill);
    ASSERT_TRUE(restarted.ok()) << restarted << "\n" << env->ApiServerLogTail();
    Result<Json> got = env->admin().Get(kIndices, *ns, "durable");
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ((*got)["metadata"]["uid"], (*created)["metadata"]["uid"]);
    EXPECT_EQ((*got)["spec"]["shards"], 2);
    // A token minted before the restart still works: the signing key is the same.
    std::unique_ptr<KubeClient> client = ClientFor(*sa);
    ASSERT_NE(client, nullptr);
    Result<ListResult> list = client->List(kIndices, *ns);
    ASSERT_TRUE(list.ok()) << list.status();
    EXPECT_EQ(list->items.size(), 1u);
  }
}

}  // namespace
}  // namespace quidditch::k8s::testing
