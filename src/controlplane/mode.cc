#include "controlplane/mode.h"

namespace quidditch::controlplane {

ResolvedMode ResolveMode(ControlPlaneMode configured, const std::map<std::string, std::string>& env,
                         const std::function<bool(std::string_view path)>& file_exists) {
  switch (configured) {
    case ControlPlaneMode::kRaft:
      return {ControlPlaneMode::kRaft, "raft (configured)"};
    case ControlPlaneMode::kK8s:
      return {ControlPlaneMode::kK8s, "k8s (configured)"};
    case ControlPlaneMode::kAuto:
      break;
  }
  auto host = env.find("KUBERNETES_SERVICE_HOST");
  const bool has_host = host != env.end() && !host->second.empty();
  const bool has_token = file_exists(kServiceAccountTokenPath);
  if (has_host && has_token) {
    return {ControlPlaneMode::kK8s,
            "k8s (auto: KUBERNETES_SERVICE_HOST and the service-account token are present)"};
  }
  return {ControlPlaneMode::kRaft,
          has_host ? "raft (auto: KUBERNETES_SERVICE_HOST is set but there is no service-account "
                     "token)"
                   : "raft (auto: not running in Kubernetes)"};
}

}  // namespace quidditch::controlplane
