// KubeClient: a small Kubernetes API client over libcurl and OpenSSL.
//
// Why hand-written: Debian packages no C++ Kubernetes client, and the official C client
// (kubernetes-client/c) is generated code that is not packaged either. What we need is a thin
// layer over HTTPS + JSON: the REST verbs with resourceVersion preconditions, streaming
// watches, retries, and errors that say which request was refused.
//
// Objects are nlohmann::json values exactly as the API server sends them.
//
// Errors (Status codes):
//   NotFound          404
//   AlreadyExists     409 with reason AlreadyExists (create of an existing name)
//   Conflict          409 otherwise: a resourceVersion / uid precondition failed
//   InvalidArgument   400, 422 (the API server's message is kept)
//   PermissionDenied  401, 403: "unauthorized|forbidden: <verb> <resource> "<name>" in namespace
//                     <ns>: <message>" (401: the credentials were not accepted; 403: RBAC)
//   Gone              410: the watch or list resourceVersion is too old; relist
//   Unavailable       connection failures, and 429/5xx after the retries are spent
//   Timeout           the call's deadline passed
//   Corruption        a 2xx answer (or watch event) that is not the JSON it should be
// Other 4xx answers are InvalidArgument, other statuses Internal; every message names the
// request ("get pods "web-0" in namespace prod") and keeps the API server's message.
// 429 and 5xx (and connection failures) are retried with exponential backoff and jitter,
// honouring Retry-After, until the RetryPolicy or the call's deadline is spent. Writes are
// retried too: every write here is either idempotent or guarded by a resourceVersion
// precondition, so a retry after a lost response fails with AlreadyExists/Conflict at worst.
//
// Namespaces: for a namespaced type, an empty `ns` means config().default_namespace in the
// calls on one object (Get, Create, Update, UpdateStatus, Patch, Delete) and all namespaces in
// List and Watch. For a cluster-scoped type `ns` is ignored.
//
// Thread safety: every method may be called concurrently (one curl easy handle per call).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace quidditch::k8s {

using Json = nlohmann::json;

// Where the service-account files of a pod live.
inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

// How to reach and authenticate to one API server.
struct KubeConfig {
  std::string server;  // "https://host:port"
  // Server trust: a PEM file or PEM text; both empty means the system trust store.
  std::string ca_file;
  std::string ca_data;
  bool insecure_skip_tls_verify = false;
  // Client certificate authentication: files or PEM text.
  std::string client_cert_file, client_key_file;
  std::string client_cert_data, client_key_data;
  // Bearer token authentication: a fixed token, or a file re-read whenever it changes (the
  // kubelet rotates projected service-account tokens).
  std::string token;
  std::string token_file;
  // The namespace to use when the caller names none ("default" if unknown).
  std::string default_namespace = "default";
};

// The in-cluster configuration: KUBERNETES_SERVICE_HOST/PORT from `env`, and token, ca.crt
// and namespace from `sa_dir`. InvalidArgument naming what is missing.
Result<KubeConfig> InClusterConfig(const std::function<const char*(const char*)>& env = ::getenv,
                                   const std::string& sa_dir = std::string(kServiceAccountDir));

// A kubeconfig file (clusters, users, contexts; the current context unless `context` is
// given). Supports certificate-authority(-data), insecure-skip-tls-verify,
// client-certificate(-data), client-key(-data), token, tokenFile and the context's namespace;
// anything else it needs (exec plugins, auth providers) is InvalidArgument naming it.
Result<KubeConfig> LoadKubeconfig(const std::string& path, const std::string& context = "");

// A kind of resource: where it lives in the API.
struct ResourceType {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string plural;   // "pods", "quidditchindices"
  bool namespaced = true;

  // "/api/v1" or "/apis/<group>/<version>", then "/namespaces/<ns>" when namespaced and
  // `ns` is not empty, then "/<plural>", then "/<name>" when given.
  std::string Path(std::string_view ns, std::string_view name = {}) const;
  // "pods", "quidditchindices.quidditch.io": how errors name it.
  std::string Name() const;
};

// Resource types the project uses.
const ResourceType& PodsResource();
const ResourceType& EventsResource();
const ResourceType& LeasesResource();
const ResourceType& NamespacesResource();
const ResourceType& ConfigMapsResource();

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  // Page size; List follows `continue` tokens and returns every item.
  int64_t page_size = 500;
};

struct ListResult {
  std::vector<Json> items;
  std::string resource_version;  // the list's metadata.resourceVersion: where a watch starts
};

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark };

struct WatchEvent {
  WatchEventType type;
  Json object;  // for a bookmark: only metadata.resourceVersion is meaningful
};

struct WatchOptions {
  std::string resource_version;  // start after this version ("" = now, with synthetic ADDs)
  std::string label_selector;
  std::string field_selector;
  bool allow_bookmarks = true;
  // The server ends the stream after this long (watch's timeoutSeconds); Watch then returns
  // OK and the caller watches again from the last version it saw.
  std::chrono::seconds timeout{300};
  // Called once, on the watching thread, when the server has accepted the watch: with the first
  // event, or (when Watch has a cancel flag) within about a second of the answer even if no
  // event comes.
  std::function<void()> on_open;
};

enum class PatchType {
  kMerge,  // application/merge-patch+json (RFC 7386)
  kJson,   // application/json-patch+json (RFC 6902)
};

struct RetryPolicy {
  int max_attempts = 6;
  std::chrono::milliseconds initial_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
};

// A finished HTTP exchange (for Raw).
struct RawResponse {
  long status = 0;
  std::string body;
};

class KubeClient {
 public:
  // Validates the configuration (readable CA, certificate and key, token) and prepares the
  // TLS options; no request is made.
  static Result<std::unique_ptr<KubeClient>> Create(KubeConfig config, RetryPolicy retry = {});
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  const KubeConfig& config() const;

  // Every call takes a deadline; the default is 30 seconds from the call.
  using Deadline = std::chrono::steady_clock::time_point;
  static Deadline DefaultDeadline() {
    return std::chrono::steady_clock::now() + std::chrono::seconds(30);
  }

  Result<Json> Get(const ResourceType& type, std::string_view ns, std::string_view name,
                   Deadline deadline = DefaultDeadline());
  // A consistent (quorum) list of every item, following continue tokens. A page's token that
  // expires midway (410) restarts the list once from the beginning.
  Result<ListResult> List(const ResourceType& type, std::string_view ns,
                          const ListOptions& options = {}, Deadline deadline = DefaultDeadline());
  // POST. The namespace is `ns` (metadata.namespace is ignored). Returns the stored object.
  Result<Json> Create(const ResourceType& type, std::string_view ns, const Json& object,
                      Deadline deadline = DefaultDeadline());
  // PUT of the whole object. When object.metadata.resourceVersion is set the server applies
  // it only if the stored object still has that version (else Conflict).
  Result<Json> Update(const ResourceType& type, std::string_view ns, const Json& object,
                      Deadline deadline = DefaultDeadline());
  // PUT to the status subresource; the same precondition rule as Update.
  Result<Json> UpdateStatus(const ResourceType& type, std::string_view ns, const Json& object,
                            Deadline deadline = DefaultDeadline());
  // PATCH of the object or (status = true) of its status subresource. A merge patch may carry
  // metadata.resourceVersion as a precondition; a JSON patch may carry a "test" operation.
  Result<Json> Patch(const ResourceType& type, std::string_view ns, std::string_view name,
                     PatchType patch_type, const Json& patch, bool status = false,
                     Deadline deadline = DefaultDeadline());
  // DELETE, with preconditions when given. Returns the object as the server returned it:
  // the last state of a deleted object, or the object with deletionTimestamp set while
  // finalizers hold it.
  Result<Json> Delete(const ResourceType& type, std::string_view ns, std::string_view name,
                      std::optional<std::string> precondition_resource_version = std::nullopt,
                      Deadline deadline = DefaultDeadline());

  // Streams watch events to `on_event` (called on this thread, in order) until the server ends
  // the stream (OK), `on_event` returns false (OK), `cancel` becomes true (OK, noticed within
  // about a second), or a failure: Gone when the resourceVersion is too old (also when it
  // arrives as an ERROR event in the stream), else the error. Connection failures before the
  // stream starts are retried like any call; a stream that breaks midway is not (the caller
  // resumes from the last version it saw).
  Status Watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
               const std::function<bool(const WatchEvent&)>& on_event,
               const std::atomic<bool>* cancel = nullptr);

  // Any request (for paths without a ResourceType: /readyz, token requests, /version).
  // `path` may carry a query. Retries like the other calls (so a 429/5xx that persists ends in
  // Unavailable or Timeout); returns whatever other status the server answered.
  Result<RawResponse> Raw(std::string_view method, std::string_view path, std::string_view body,
                          std::string_view content_type = "application/json",
                          Deadline deadline = DefaultDeadline());

 private:
  struct Impl;
  explicit KubeClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The resourceVersion of an object or a list, as an integer. The API calls it opaque; etcd
// makes it the store's revision, which is what the Kubernetes control plane's state version is
// derived from (see docs/architecture.md). 0 when absent or not a number.
int64_t ResourceVersionOf(const Json& object);

}  // namespace quidditch::k8s
