// Which control plane a process runs: the configured mode, with `auto` resolved.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "common/config.h"

namespace quidditch::controlplane {

// The in-cluster service-account token every Kubernetes pod gets.
inline constexpr std::string_view kServiceAccountTokenPath =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";

struct ResolvedMode {
  ControlPlaneMode mode;  // kRaft or kK8s, never kAuto
  std::string reason;     // one line for the start-up log
};

// `auto` picks Kubernetes when KUBERNETES_SERVICE_HOST is set in `env` and `file_exists`
// reports the service-account token; Raft otherwise. Explicit modes are kept.
ResolvedMode ResolveMode(ControlPlaneMode configured, const std::map<std::string, std::string>& env,
                         const std::function<bool(std::string_view path)>& file_exists);

}  // namespace quidditch::controlplane
