#include "tests/k8s/k8s_test_util.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <thread>

namespace quidditch::k8s::testing {

Result<op::OperatorOptions> TestOperatorOptions(KubeEnv& env, const std::string& ns,
                                                const std::string& identity) {
  op::OperatorOptions options;
  QD_ASSIGN_OR_RETURN(options.kube, env.ServiceAccountConfig(ns, "quidditch-operator"));
  options.ns = ns;
  options.identity = identity;
  options.health_port = -1;
  options.metrics_port = -1;
  options.node_heartbeat_timeout = std::chrono::minutes(10);
  return options;
}

Result<std::unique_ptr<controlplane::k8s::K8sControlPlane>> StartNodeControlPlane(
    KubeEnv& env, const std::string& ns) {
  controlplane::k8s::K8sControlPlaneOptions options;
  QD_ASSIGN_OR_RETURN(options.kube, env.ServiceAccountConfig(ns, "quidditch"));
  options.ns = ns;
  auto cp = std::make_unique<controlplane::k8s::K8sControlPlane>(std::move(options));
  QD_RETURN_IF_ERROR(cp->Start());
  return cp;
}

std::pair<long, std::string> HttpGet(int port, const std::string& path) {
  std::string body;
  long status = 0;
  CURL* curl = curl_easy_init();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(
      curl, CURLOPT_WRITEFUNCTION, +[](char* data, size_t size, size_t n, void* out) {
        static_cast<std::string*>(out)->append(data, size * n);
        return size * n;
      });
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  return {status, body};
}

pid_t SpawnQuidditch(const std::vector<std::string>& args, const std::string& log,
                     const std::vector<std::pair<std::string, std::string>>& env) {
  // The command line is built before fork(): the test process has threads.
  std::vector<std::string> command = {QUIDDITCH_BINARY};
  command.insert(command.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : command) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
  }
  execv(argv[0], argv.data());
  _exit(127);
}

bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout,
             std::chrono::milliseconds poll) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(poll);
  }
  return done();
}

}  // namespace quidditch::k8s::testing
