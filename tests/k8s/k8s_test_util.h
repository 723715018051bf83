// Quidditch processes against the test API server: an in-process operator and control plane in
// a namespace of their own, each authenticated as the project's service accounts.
#pragma once

#include <memory>
#include <string>

#include "controlplane/k8s/k8s_control_plane.h"
#include "operator/operator.h"
#include "tests/k8s/kube_env.h"

namespace quidditch::k8s::testing {

// Operator options for tests: the quidditch-operator account of `ns`, no HTTP ports, a node
// heartbeat timeout long enough never to interfere.
Result<op::OperatorOptions> TestOperatorOptions(KubeEnv& env, const std::string& ns,
                                                const std::string& identity);

// A started K8sControlPlane as the node account `quidditch` of `ns`.
Result<std::unique_ptr<controlplane::k8s::K8sControlPlane>> StartNodeControlPlane(
    KubeEnv& env, const std::string& ns);

// GET http://127.0.0.1:<port><path>: the status and body (status 0 when nothing answered).
std::pair<long, std::string> HttpGet(int port, const std::string& path);

}  // namespace quidditch::k8s::testing
