// Test harness: a real Kubernetes API server (kube-apiserver + etcd, built by
// scripts/build-k8s-tools) on loopback, started the way controller-runtime's envtest does, with
// the project's CRDs and RBAC rules installed.
//
// What runs is the API server alone: no kube-controller-manager, scheduler or kubelet. So
// namespaces never finish deleting, no ServiceAccount token Secrets appear (ServiceAccountConfig
// mints tokens through the TokenRequest API), nothing is garbage-collected and no pod ever runs.
// Each test works in a namespace of its own (NewNamespace).
//
// Authentication and authorization are real: the admin client presents a certificate of group
// system:masters; ServiceAccount tokens are checked against the RBAC rules of
// deploy/kubernetes/k8s-native/rbac.yaml, so a rule missing there fails the tests.
//
//   TEST(Foo, Bar) {
//     KubeEnv* env = QD_KUBE_ENV_OR_SKIP();
//     Result<std::string> ns = env->NewNamespace("foo-bar");
//     ...
//   }
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "k8s/kube_client.h"

namespace quidditch::k8s::testing {

// Objects of a manifest: every document of a multi-document YAML file, as JSON (plain scalars
// typed by the YAML 1.2 core schema: null, booleans, integers, floats; quoted scalars are
// strings). Empty documents are dropped. InvalidArgument naming the file when it does not
// parse; NotFound when it cannot be read.
Result<std::vector<Json>> LoadManifest(const std::string& path);

// Thread safety: after Start(), every method may be called concurrently except
// RestartApiServer, which must not overlap another call of this KubeEnv (other clients may
// keep talking to the API server meanwhile: that is what restart tests are about).
class KubeEnv {
 public:
  // Starts etcd and kube-apiserver on free loopback ports in a fresh temporary directory, waits
  // until /readyz answers ok, applies every CRD in deploy/kubernetes/crds/ and waits until each
  // is Established, and applies the cluster-scoped objects (the ClusterRoles) of
  // deploy/kubernetes/k8s-native/rbac.yaml. Takes about 4-5 s, 2 of them because the API server
  // delays creates of a custom resource for 2 s after its CRD is Established (waited out here).
  //
  // The binaries come from QUIDDITCH_K8S_TOOLS_DIR (the build's k8s-tools/bin; the environment
  // variable of the same name overrides it). Unavailable when they or `openssl` are missing (no
  // Go: scripts/build-k8s-tools built nothing); any other failure is Internal and carries the
  // tail of the failing process's log.
  //
  // The child processes are killed by the kernel when the thread that started them exits
  // (PR_SET_PDEATHSIG), so call Start and RestartApiServer from a thread that outlives the
  // KubeEnv (the test's main thread).
  static Result<std::unique_ptr<KubeEnv>> Start();

  // The KubeEnv of this test binary: started on the first call, torn down at exit. nullptr when
  // it cannot start, with the reason in *why and the status in *status (each when not null);
  // later calls return the same answer without trying again.
  static KubeEnv* Shared(std::string* why, Status* status = nullptr);

  // SIGTERM, then SIGKILL after a grace period, to kube-apiserver and etcd; removes the
  // temporary directory unless the environment variable QUIDDITCH_KUBE_ENV_KEEP is set (to
  // read the logs after a failure).
  ~KubeEnv();
  KubeEnv(const KubeEnv&) = delete;
  KubeEnv& operator=(const KubeEnv&) = delete;

  // A client authenticated as CN=quidditch-test-admin, O=system:masters (everything allowed).
  KubeClient& admin() { return *admin_; }
  const KubeConfig& admin_config() const { return admin_->config(); }
  // "https://127.0.0.1:<port>".
  std::string server() const;
  // The temporary directory: certificates, logs, kubeconfigs, etcd's data.
  const std::string& dir() const { return dir_; }
  // The test CA's certificate (PEM file): trusts the API server.
  std::string ca_file() const { return dir_ + "/pki/ca.crt"; }
  // The last `max_bytes` of kube-apiserver's and etcd's logs (for failure messages).
  std::string ApiServerLogTail(size_t max_bytes = 4096) const;
  std::string EtcdLogTail(size_t max_bytes = 4096) const;

  // Creates a namespace "<prefix>-<counter>-<random>" (the prefix lowercased, anything but
  // [a-z0-9-] turned into '-', shortened to fit 63 characters) holding the namespaced objects of
  // rbac.yaml (the ServiceAccounts and RoleBindings, their namespace and their subjects'
  // namespace rewritten from quidditch-system to the new one). Returns once the RBAC
  // authorizer grants each bound ServiceAccount its role (it learns of new bindings
  // asynchronously), so a token minted right after works.
  Result<std::string> NewNamespace(std::string_view prefix);

  // A configuration authenticating as ServiceAccount `sa` of namespace `ns` with a 1-hour token
  // minted through the TokenRequest API, trusting the test CA, with default_namespace = ns.
  // NotFound when the ServiceAccount does not exist.
  Result<KubeConfig> ServiceAccountConfig(std::string_view ns, std::string_view sa);

  // Writes `config` as a kubeconfig file (one cluster, user and context, all named "test")
  // for child processes and returns its path, "<dir>/kubeconfig-<name>.yaml". PEM data in the
  // config is written to files beside it and referenced by path. InvalidArgument when `name`
  // is not a plain file name component.
  Result<std::string> WriteKubeconfig(const KubeConfig& config, std::string_view name);

  // Applies every object of a multi-document YAML file in order: create, or update (replace)
  // when it exists. Cluster-scoped objects are applied as they are; namespaced objects go to
  // `ns` when it is not empty (and subjects of RoleBindings that named the object's original
  // namespace are rewritten to `ns`), else to their metadata.namespace, else to "default".
  Status ApplyFile(const std::string& path, std::string_view ns = {});
  // The same for one object. Returns the stored object.
  Result<Json> Apply(const Json& object, std::string_view ns = {});

  // Where objects of `api_version` + `kind` live, from the API server's discovery documents
  // (cached). NotFound when the server serves no such kind.
  Result<ResourceType> ResourceFor(std::string_view api_version, std::string_view kind);

  // Stops kube-apiserver (SIGTERM and wait, or SIGKILL when `kill` is true) and starts it again
  // on the same port with the same etcd, then waits until /readyz answers ok (typically 2-4 s
  // in all; the times go to stderr). Clients keep working: they reconnect. For "watches
  // survive an API server restart" tests. Note that between listening and /readyz the new
  // server answers ServiceAccount requests 403 while its RBAC caches fill, as a real one does:
  // a client retrying through the restart sees PermissionDenied for a moment.
  Status RestartApiServer(bool kill = false);

 private:
  enum class Scope { kAll, kClusterScoped, kNamespaced };

  KubeEnv() = default;

  // Everything Start does, on the ports and in the directory already chosen.
  Status Boot();
  // Its steps.
  Status StartEtcd();
  Status MakeCertificates();
  Status WaitForEtcd();
  Status StartApiServer();
  Status WaitForApiServer(std::chrono::seconds timeout);
  // Applies the CRDs and waits until they are served; returns when the last became Established.
  Result<std::chrono::system_clock::time_point> InstallCrds();

  // Applies the objects of `path` whose scope matches `scope`; the applied objects are
  // appended to `applied` when not null.
  Status ApplyObjects(const std::string& path, std::string_view ns, Scope scope,
                      std::vector<Json>* applied);
  // Waits until the RBAC authorizer lets each ServiceAccount subject of `binding` (a
  // RoleBinding in `ns`) do the first thing its role allows.
  Status WaitForBinding(const Json& binding, std::string_view ns);

  std::string dir_;
  std::string tools_dir_;
  int etcd_port_ = 0;
  int etcd_peer_port_ = 0;
  int apiserver_port_ = 0;
  pid_t etcd_pid_ = -1;
  pid_t apiserver_pid_ = -1;
  std::unique_ptr<KubeClient> admin_;
  // The same identity without retries: for polls that have their own loop.
  std::unique_ptr<KubeClient> probe_;
  std::string startup_timings_;  // "certificates 312 ms, etcd 5 ms, ..."

  std::atomic<int> namespace_counter_{0};
  std::mutex discovery_mutex_;
  // "<apiVersion>/<kind>" -> where it lives.
  std::map<std::string, ResourceType> discovery_;  // GUARDED_BY(discovery_mutex_)
};

// Prints a banner on stderr saying that a Kubernetes test is skipped and why.
void PrintSkipBanner(std::string_view why);

}  // namespace quidditch::k8s::testing

// In a test body (or any function returning void): evaluates to the shared KubeEnv*. When the
// tools are missing (Unavailable: no Go), skips the current test loudly: a banner on stderr and
// GTEST_SKIP() with the reason. When they are there but the API server does not start, fails
// the test instead: a broken harness must not pass as "skipped". A GNU statement expression
// (GCC and Clang), because GTEST_SKIP() and GTEST_FAIL() return from the test.
#define QD_KUBE_ENV_OR_SKIP()                                                               \
  ({                                                                                        \
    std::string qd_kube_env_why;                                                            \
    ::quidditch::Status qd_kube_env_status;                                                 \
    ::quidditch::k8s::testing::KubeEnv* qd_kube_env =                                       \
        ::quidditch::k8s::testing::KubeEnv::Shared(&qd_kube_env_why, &qd_kube_env_status);  \
    if (qd_kube_env == nullptr && !qd_kube_env_status.IsUnavailable()) {                    \
      GTEST_FAIL() << "the Kubernetes test environment did not start: " << qd_kube_env_why; \
    }                                                                                       \
    if (qd_kube_env == nullptr) {                                                           \
      ::quidditch::k8s::testing::PrintSkipBanner(qd_kube_env_why);                          \
      GTEST_SKIP() << "no Kubernetes API server (" << qd_kube_env_why << ")";               \
    }                                                                                       \
    qd_kube_env;                                                                            \
  })
