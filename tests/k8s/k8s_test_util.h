// Quidditch processes against the test API server: an in-process operator and control plane in
// a namespace of their own, each authenticated as the project's service accounts.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

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

// Polls `done` until it holds or `timeout` passes; `done`'s last answer.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout,
             std::chrono::milliseconds poll = std::chrono::milliseconds(50));

// GET http://127.0.0.1:<port><path>: the status and body (status 0 when nothing answered).
std::pair<long, std::string> HttpGet(int port, const std::string& path);

// Starts the `quidditch` binary (QUIDDITCH_BINARY) with `args` after the program name, its
// stdout and stderr written to the file `log` (created or truncated), `env` added to the
// environment it inherits, and SIGKILL sent to it when the thread that spawned it exits. Returns
// its pid, or -1 when fork() failed; the caller kills and reaps it.
pid_t SpawnQuidditch(const std::vector<std::string>& args, const std::string& log,
                     const std::vector<std::pair<std::string, std::string>>& env = {});

}  // namespace quidditch::k8s::testing
