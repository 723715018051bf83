#include "tests/k8s/kube_env.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

#include "common/testing/ports.h"

namespace quidditch::k8s::testing {

namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

std::string RbacManifest() {
  return std::string(QUIDDITCH_SOURCE_DIR) + "/deploy/kubernetes/k8s-native/rbac.yaml";
}

std::string CrdDir() { return std::string(QUIDDITCH_SOURCE_DIR) + "/deploy/kubernetes/crds"; }

// ---------------------------------------------------------------------------------------------
// Files

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("cannot read {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return Status::IOError(fmt::format("cannot write {}", path));
  return Status::OK();
}

// The last `max_bytes` of a file, from the start of a line when possible.
std::string Tail(const std::string& path, size_t max_bytes) {
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) return "(no log)";
  if (text->size() <= max_bytes) return *text;
  std::string tail = text->substr(text->size() - max_bytes);
  size_t newline = tail.find('\n');
  if (newline != std::string::npos && newline + 1 < tail.size()) tail.erase(0, newline + 1);
  return "...\n" + tail;
}

// ---------------------------------------------------------------------------------------------
// Child processes

// True when `program` is an executable file in a directory of $PATH.
bool InPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Forks and execs `argv` (argv[0] is the program; searched in PATH when it has no '/'), with
// stdout and stderr appended to `log_path`. The child gets SIGKILL when the calling thread dies
// and closes every inherited descriptor but 0-2. Returns the child's pid, or -1 when fork fails.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_path) {
  // Everything the child needs is prepared before fork: after fork in a multithreaded process,
  // the child may only call async-signal-safe functions.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;
  // Child.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(126);  // the parent died before prctl took effect
  int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log >= 0) {
    dup2(log, 1);
    dup2(log, 2);
  }
  int devnull = open("/dev/null", O_RDONLY);
  if (devnull >= 0) dup2(devnull, 0);
  close_range(3, ~0U, 0);
  setpgid(0, 0);  // a Ctrl-C in the terminal reaches the test binary, which then takes us along
  execvp(args[0], args.data());
  constexpr char kExecFailed[] = "exec failed: program not found or not executable\n";
  ssize_t ignored = write(2, kExecFailed, sizeof(kExecFailed) - 1);
  (void)ignored;
  _exit(127);
}

// "exited with code 1", "killed by signal 9".
std::string DescribeExit(int wait_status) {
  if (WIFEXITED(wait_status)) return fmt::format("exited with code {}", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return fmt::format("killed by signal {}", WTERMSIG(wait_status));
  return "stopped";
}

// True (and *pid = -1, the exit described in *how) when the child has exited.
bool Exited(pid_t* pid, std::string* how) {
  if (*pid <= 0) {
    *how = "not running";
    return true;
  }
  int status = 0;
  if (waitpid(*pid, &status, WNOHANG) != *pid) return false;
  *pid = -1;
  *how = DescribeExit(status);
  return true;
}

// Sends `sig`; after `grace` without an exit, SIGKILL. Reaps the child; *pid becomes -1.
void StopProcess(pid_t* pid, int sig, milliseconds grace) {
  if (*pid <= 0) return;
  kill(*pid, sig);
  const auto deadline = Clock::now() + grace;
  while (Clock::now() < deadline) {
    if (waitpid(*pid, nullptr, WNOHANG) == *pid) {
      *pid = -1;
      return;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  kill(*pid, SIGKILL);
  waitpid(*pid, nullptr, 0);
  *pid = -1;
}

// Runs the commands concurrently to completion, output appended to `log_path`. Unavailable
// when a program is missing; Internal with the log's tail when one fails.
Status RunTools(const std::vector<std::vector<std::string>>& commands,
                const std::string& log_path) {
  std::vector<pid_t> pids;
  for (const std::vector<std::string>& argv : commands) pids.push_back(Spawn(argv, log_path));
  Status result;
  for (size_t i = 0; i < commands.size(); ++i) {
    const std::vector<std::string>& argv = commands[i];
    if (pids[i] < 0) {
      result = Status::Internal(fmt::format("fork for {}: {}", argv[0], strerror(errno)));
      continue;
    }
    int status = 0;
    while (waitpid(pids[i], &status, 0) < 0 && errno == EINTR) {
    }
    if (!result.ok() || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) continue;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
      result = Status::Unavailable(fmt::format("`{}` is not installed", argv[0]));
      continue;
    }
    std::string command;
    for (const std::string& a : argv) command += (command.empty() ? "" : " ") + a;
    result = Status::Internal(
        fmt::format("`{}` {}:\n{}", command, DescribeExit(status), Tail(log_path, 2048)));
  }
  return result;
}

// A plain HTTP/1.0 GET to 127.0.0.1:`port` (etcd's client port speaks HTTP without TLS here).
// The whole response, headers included; empty when nothing answered within a second.
std::string LoopbackHttpGet(int port, std::string_view path) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval timeout{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = fmt::format("GET {} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return response;
}

// ---------------------------------------------------------------------------------------------
// YAML -> JSON

// A plain scalar typed by the YAML 1.2 core schema.
Json PlainScalar(const std::string& s) {
  static const std::regex kNull("~|null|Null|NULL|");
  static const std::regex kTrue("true|True|TRUE");
  static const std::regex kFalse("false|False|FALSE");
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kOct("0o[0-7]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  static const std::regex kInf("[-+]?\\.(inf|Inf|INF)");
  static const std::regex kNan("\\.(nan|NaN|NAN)");
  if (std::regex_match(s, kNull)) return nullptr;
  if (std::regex_match(s, kTrue)) return true;
  if (std::regex_match(s, kFalse)) return false;
  auto integer = [&s](size_t skip, int base) -> Json {
    const char* begin = s.data() + skip;
    if (*begin == '+') ++begin;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(begin, s.data() + s.size(), v, base);
    if (ec == std::errc() && end == s.data() + s.size()) return v;
    return std::strtod(s.c_str(), nullptr);  // too large for int64
  };
  if (std::regex_match(s, kInt)) return integer(0, 10);
  if (std::regex_match(s, kOct)) return integer(2, 8);
  if (std::regex_match(s, kHex)) return integer(2, 16);
  if (std::regex_match(s, kFloat)) return std::strtod(s.c_str(), nullptr);
  if (std::regex_match(s, kInf)) {
    return s[0] == '-' ? -std::numeric_limits<double>::infinity()
                       : std::numeric_limits<double>::infinity();
  }
  if (std::regex_match(s, kNan)) return std::numeric_limits<double>::quiet_NaN();
  return s;
}

Json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar:
      // "!": quoted or block scalar; explicit !!str. Anything else resolves like a plain one.
      if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return node.Scalar();
      return PlainScalar(node.Scalar());
    case YAML::NodeType::Sequence: {
      Json array = Json::array();
      for (const YAML::Node& item : node) array.push_back(YamlToJson(item));
      return array;
    }
    case YAML::NodeType::Map: {
      Json object = Json::object();
      for (auto it = node.begin(); it != node.end(); ++it) {
        object[it->first.as<std::string>()] = YamlToJson(it->second);
      }
      return object;
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Misc

// A DNS-1123 label prefix: lowercase, [a-z0-9-], starting and ending alphanumeric.
std::string SanitizePrefix(std::string_view prefix, size_t max_len) {
  std::string out;
  for (char c : prefix) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '-';
  }
  if (out.size() > max_len) out.resize(max_len);
  while (!out.empty() && out.front() == '-') out.erase(0, 1);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "test" : out;
}

std::string RandomSuffix(size_t n) {
  static constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::uniform_int_distribution<size_t> pick(0, kAlphabet.size() - 1);
  std::string out;
  for (size_t i = 0; i < n; ++i) out += kAlphabet[pick(rd)];
  return out;
}

// The JSON of a Raw response, or Internal naming the request.
Result<Json> ParseBody(const RawResponse& response, std::string_view what) {
  Json body = Json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return Status::Internal(fmt::format("{}: HTTP {} with a body that is not JSON: {}", what,
                                        response.status, response.body.substr(0, 512)));
  }
  return body;
}

// The Status for a Raw response that is not 2xx, following kube_client.h's mapping.
Status StatusOfResponse(const RawResponse& response, std::string_view what) {
  Json body = Json::parse(response.body, nullptr, false);
  std::string message = body.is_object() && body.contains("message") && body["message"].is_string()
                            ? body["message"].get<std::string>()
                            : response.body.substr(0, 512);
  message = fmt::format("{}: HTTP {}: {}", what, response.status, message);
  switch (response.status) {
    case 400:
    case 422:
      return Status::InvalidArgument(message);
    case 401:
    case 403:
      return Status::PermissionDenied(message);
    case 404:
      return Status::NotFound(message);
    case 409:
      return Status::Conflict(message);
    case 410:
      return Status::Gone(message);
    default:
      return response.status >= 500 ? Status::Unavailable(message) : Status::Internal(message);
  }
}

std::string StringAt(const Json& object, const Json::json_pointer& pointer) {
  if (!object.contains(pointer)) return "";
  const Json& v = object.at(pointer);
  return v.is_string() ? v.get<std::string>() : "";
}

// An RFC 3339 time in UTC with whole seconds, as the API server writes condition times; now
// when it does not parse.
std::chrono::system_clock::time_point ParseTimestamp(const std::string& text) {
  std::tm tm{};
  if (std::sscanf(text.c_str(), "%d-%d-%dT%d:%d:%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return std::chrono::system_clock::now();
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

const ResourceType& CrdResource() {
  static const ResourceType kType{"apiextensions.k8s.io", "v1", "customresourcedefinitions", false};
  return kType;
}

}  // namespace

// -----------------------------------------------------------------------------------------------
// LoadManifest

Result<std::vector<Json>> LoadManifest(const std::string& path) {
  QD_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  std::vector<Json> objects;
  try {
    for (const YAML::Node& doc : YAML::LoadAll(text)) {
      if (doc.IsNull() || !doc.IsDefined()) continue;
      objects.push_back(YamlToJson(doc));
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("{}: invalid YAML: {}", path, e.what()));
  }
  return objects;
}

// -----------------------------------------------------------------------------------------------
// Start-up and teardown

Result<std::unique_ptr<KubeEnv>> KubeEnv::Start() {
  const char* env_tools = std::getenv("QUIDDITCH_K8S_TOOLS_DIR");
  const std::string tools_dir =
      env_tools != nullptr && *env_tools != '\0' ? env_tools : QUIDDITCH_K8S_TOOLS_DIR;
  for (const char* binary : {"etcd", "kube-apiserver"}) {
    if (access((tools_dir + "/" + binary).c_str(), X_OK) != 0) {
      return Status::Unavailable(fmt::format(
          "{}/{} is missing: kube-apiserver and etcd are built by scripts/build-k8s-tools "
          "(target k8s_tools), which needs Go",
          tools_dir, binary));
    }
  }
  if (!InPath("openssl")) {
    return Status::Unavailable("`openssl` is not installed: it makes the test certificates");
  }
  // A port picked by FreeLoopbackPort can be taken by another process before etcd or
  // kube-apiserver binds it (ctest -j); then everything starts again on other ports.
  constexpr int kAttempts = 3;
  for (int attempt = 1;; ++attempt) {
    std::unique_ptr<KubeEnv> env(new KubeEnv());
    env->tools_dir_ = tools_dir;
    std::string tmpl = (fs::temp_directory_path() / "qd-kube-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      return Status::IOError(fmt::format("mkdtemp {}: {}", tmpl, strerror(errno)));
    }
    env->dir_ = tmpl;
    env->etcd_port_ = ::quidditch::testing::FreeLoopbackPort();
    env->etcd_peer_port_ = ::quidditch::testing::FreeLoopbackPort();
    env->apiserver_port_ = ::quidditch::testing::FreeLoopbackPort();

    Status s = env->Boot();
    if (s.ok()) return env;
    if (attempt == kAttempts || s.message().find("address already in use") == std::string::npos) {
      // Not Unavailable, whatever the step said: the tools are there, so this is a failure.
      return Status::Internal(fmt::format("KubeEnv start-up failed: {}", s.ToString()));
    }
  }
}

Status KubeEnv::Boot() {
  const auto start = Clock::now();
  auto lap = [this, last = start](std::string_view phase) mutable {
    const auto now = Clock::now();
    startup_timings_ += fmt::format("{}{} {} ms", startup_timings_.empty() ? "" : ", ", phase,
                                    std::chrono::duration_cast<milliseconds>(now - last).count());
    last = now;
  };
  // etcd needs no certificates: it starts while openssl makes them.
  QD_RETURN_IF_ERROR(StartEtcd());
  QD_RETURN_IF_ERROR(MakeCertificates());
  lap("certificates");
  KubeConfig admin;
  admin.server = server();
  admin.ca_file = ca_file();
  admin.client_cert_file = dir_ + "/pki/admin.crt";
  admin.client_key_file = dir_ + "/pki/admin.key";
  QD_ASSIGN_OR_RETURN(admin_, KubeClient::Create(admin));
  QD_ASSIGN_OR_RETURN(probe_, KubeClient::Create(admin, RetryPolicy{.max_attempts = 1}));
  QD_RETURN_IF_ERROR(WaitForEtcd());
  lap("etcd");
  QD_RETURN_IF_ERROR(StartApiServer());
  QD_RETURN_IF_ERROR(WaitForApiServer(seconds(60)));
  lap("kube-apiserver");
  QD_ASSIGN_OR_RETURN(const std::chrono::system_clock::time_point established, InstallCrds());
  QD_RETURN_IF_ERROR(ApplyObjects(RbacManifest(), {}, Scope::kClusterScoped, nullptr));
  lap("CRDs and ClusterRoles");
  // The API server delays every create of a custom resource by 2 s while its CRD became
  // Established less than 2 s ago (customresource_handler.go: for HA peers that have not seen
  // the CRD yet). Wait that out here rather than stall the first test's first create.
  const auto quiet = established + seconds(2) + milliseconds(50);
  if (quiet > std::chrono::system_clock::now()) std::this_thread::sleep_until(quiet);
  lap("new-CRD create delay");
  return Status::OK();
}

KubeEnv* KubeEnv::Shared(std::string* why, Status* status) {
  static std::once_flag once;
  static std::unique_ptr<KubeEnv> shared;  // destroyed at exit: kills both processes
  static Status failure;
  std::call_once(once, [] {
    const auto start = Clock::now();
    Result<std::unique_ptr<KubeEnv>> env = Start();
    if (!env.ok()) {
      failure = env.status();
      return;
    }
    shared = std::move(env).value();
    std::cerr << fmt::format(
        "KubeEnv: kube-apiserver {} (etcd 127.0.0.1:{}) ready in {} ms ({}); logs in {}\n",
        shared->server(), shared->etcd_port_,
        std::chrono::duration_cast<milliseconds>(Clock::now() - start).count(),
        shared->startup_timings_, shared->dir_);
  });
  if (shared == nullptr && why != nullptr) *why = failure.ToString();
  if (shared == nullptr && status != nullptr) *status = failure;
  return shared.get();
}

KubeEnv::~KubeEnv() {
  // The API server first: it would otherwise log etcd connection errors while shutting down.
  StopProcess(&apiserver_pid_, SIGTERM, seconds(10));
  StopProcess(&etcd_pid_, SIGTERM, seconds(5));
  const char* keep = std::getenv("QUIDDITCH_KUBE_ENV_KEEP");
  if (keep != nullptr && *keep != '\0') {
    std::cerr << fmt::format("KubeEnv: kept {} (QUIDDITCH_KUBE_ENV_KEEP)\n", dir_);
  } else if (!dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

std::string KubeEnv::server() const { return fmt::format("https://127.0.0.1:{}", apiserver_port_); }

std::string KubeEnv::ApiServerLogTail(size_t max_bytes) const {
  return Tail(dir_ + "/kube-apiserver.log", max_bytes);
}

std::string KubeEnv::EtcdLogTail(size_t max_bytes) const {
  return Tail(dir_ + "/etcd.log", max_bytes);
}

Status KubeEnv::MakeCertificates() {
  const std::string pki = dir_ + "/pki";
  std::error_code ec;
  fs::create_directories(pki, ec);
  if (ec) return Status::IOError(fmt::format("mkdir {}: {}", pki, ec.message()));
  QD_RETURN_IF_ERROR(WriteFile(pki + "/serving.ext",
                               "basicConstraints=critical,CA:FALSE\n"
                               "keyUsage=critical,digitalSignature,keyEncipherment\n"
                               "extendedKeyUsage=serverAuth\n"
                               "subjectAltName=IP:127.0.0.1,DNS:localhost,"
                               "DNS:kubernetes.default.svc\n"));
  QD_RETURN_IF_ERROR(WriteFile(pki + "/client.ext",
                               "basicConstraints=critical,CA:FALSE\n"
                               "keyUsage=critical,digitalSignature,keyEncipherment\n"
                               "extendedKeyUsage=clientAuth\n"));
  const std::string log = pki + "/openssl.log";
  // Keys first, all at once (RSA key generation is what takes time): the CA's with its
  // self-signed certificate, the API server's (serving) and the admin's (client) with their
  // signing requests, and the service-account token signing key.
  auto key_and_csr = [&pki](const std::string& name, const std::string& subject) {
    return std::vector<std::string>{"openssl",
                                    "req",
                                    "-newkey",
                                    "rsa:2048",
                                    "-nodes",
                                    "-keyout",
                                    pki + "/" + name + ".key",
                                    "-out",
                                    pki + "/" + name + ".csr",
                                    "-subj",
                                    subject};
  };
  QD_RETURN_IF_ERROR(RunTools(
      {{"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", pki + "/ca.key",
        "-out", pki + "/ca.crt", "-days", "2", "-subj", "/CN=quidditch-test-ca", "-addext",
        "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
       key_and_csr("apiserver", "/CN=kube-apiserver"),
       key_and_csr("admin", "/O=system:masters/CN=quidditch-test-admin"),
       {"openssl", "genrsa", "-out", pki + "/sa.key", "2048"}},
      log));
  // Then the CA signs both certificates; the service-account public key is extracted.
  auto sign = [&pki](const std::string& name, const std::string& ext, const std::string& serial) {
    return std::vector<std::string>{"openssl",
                                    "x509",
                                    "-req",
                                    "-in",
                                    pki + "/" + name + ".csr",
                                    "-CA",
                                    pki + "/ca.crt",
                                    "-CAkey",
                                    pki + "/ca.key",
                                    "-set_serial",
                                    serial,
                                    "-days",
                                    "2",
                                    "-extfile",
                                    pki + "/" + ext,
                                    "-out",
                                    pki + "/" + name + ".crt"};
  };
  return RunTools({sign("apiserver", "serving.ext", "2"),
                   sign("admin", "client.ext", "3"),
                   {"openssl", "rsa", "-in", pki + "/sa.key", "-pubout", "-out", pki + "/sa.pub"}},
                  log);
}

Status KubeEnv::StartEtcd() {
  const std::string log = dir_ + "/etcd.log";
  const std::string client_url = fmt::format("http://127.0.0.1:{}", etcd_port_);
  const std::string peer_url = fmt::format("http://127.0.0.1:{}", etcd_peer_port_);
  etcd_pid_ =
      Spawn({tools_dir_ + "/etcd", "--name", "qd-test", "--data-dir", dir_ + "/etcd",
             "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
             "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
             "--initial-cluster", "qd-test=" + peer_url, "--unsafe-no-fsync", "--log-level=warn"},
            log);
  if (etcd_pid_ < 0) return Status::Internal(fmt::format("fork for etcd: {}", strerror(errno)));
  return Status::OK();
}

Status KubeEnv::WaitForEtcd() {
  const auto deadline = Clock::now() + seconds(30);
  while (Clock::now() < deadline) {
    std::string how;
    if (Exited(&etcd_pid_, &how)) {
      return Status::Internal(fmt::format("etcd {}:\n{}", how, EtcdLogTail()));
    }
    if (LoopbackHttpGet(etcd_port_, "/health").find("\"health\":\"true\"") != std::string::npos) {
      return Status::OK();
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  return Status::Timeout(fmt::format("etcd not healthy after 30 s:\n{}", EtcdLogTail()));
}

Status KubeEnv::StartApiServer() {
  const std::string pki = dir_ + "/pki";
  apiserver_pid_ = Spawn(
      {tools_dir_ + "/kube-apiserver",
       fmt::format("--etcd-servers=http://127.0.0.1:{}", etcd_port_),
       "--cert-dir=" + dir_ + "/apiserver-certs", fmt::format("--secure-port={}", apiserver_port_),
       "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
       "--tls-cert-file=" + pki + "/apiserver.crt",
       "--tls-private-key-file=" + pki + "/apiserver.key", "--client-ca-file=" + pki + "/ca.crt",
       "--service-account-issuer=https://kubernetes.default.svc",
       "--service-account-key-file=" + pki + "/sa.pub",
       "--service-account-signing-key-file=" + pki + "/sa.key", "--authorization-mode=RBAC",
       "--service-cluster-ip-range=10.0.0.0/24", "--allow-privileged=true",
       // No controller-manager runs: nothing would create a pod's default ServiceAccount.
       "--disable-admission-plugins=ServiceAccount", "--enable-priority-and-fairness=false",
       "-v=0"},
      dir_ + "/kube-apiserver.log");
  if (apiserver_pid_ < 0) {
    return Status::Internal(fmt::format("fork for kube-apiserver: {}", strerror(errno)));
  }
  return Status::OK();
}

Status KubeEnv::WaitForApiServer(seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last = "no answer";
  while (Clock::now() < deadline) {
    std::string how;
    if (Exited(&apiserver_pid_, &how)) {
      return Status::Internal(fmt::format("kube-apiserver {}:\n{}", how, ApiServerLogTail()));
    }
    Result<RawResponse> r = probe_->Raw("GET", "/readyz", "", "application/json",
                                        std::min(Clock::now() + seconds(2), deadline));
    if (r.ok() && r->status == 200) return Status::OK();
    last = r.ok() ? fmt::format("HTTP {}: {}", r->status, r->body.substr(0, 2048))
                  : r.status().ToString();
    std::this_thread::sleep_for(milliseconds(50));
  }
  return Status::Timeout(fmt::format("kube-apiserver not ready after {} s ({}):\n{}",
                                     timeout.count(), last, ApiServerLogTail()));
}

Result<std::chrono::system_clock::time_point> KubeEnv::InstallCrds() {
  std::vector<std::string> files;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(CrdDir(), ec)) {
    if (e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  if (ec) return Status::IOError(fmt::format("{}: {}", CrdDir(), ec.message()));
  std::sort(files.begin(), files.end());
  std::vector<Json> crds;
  for (const std::string& file : files) {
    QD_RETURN_IF_ERROR(ApplyObjects(file, {}, Scope::kAll, &crds));
  }
  // Established: the API server serves the resource. Then wait for discovery to list it too,
  // as envtest does, so that ResourceFor (and kubectl-like clients) find it.
  const auto deadline = Clock::now() + seconds(30);
  std::chrono::system_clock::time_point latest_established{};
  for (const Json& crd : crds) {
    if (crd.value("kind", "") != "CustomResourceDefinition") continue;
    const std::string name = StringAt(crd, "/metadata/name"_json_pointer);
    std::string last;
    for (bool established = false; !established;) {
      if (Clock::now() > deadline) {
        return Status::Timeout(fmt::format("CRD {} not Established after 30 s: {}", name, last));
      }
      Result<Json> got = probe_->Get(CrdResource(), "", name);
      if (got.ok()) {
        last = got->contains("status") ? (*got)["status"].dump() : "no status";
        for (const Json& c : got->value("/status/conditions"_json_pointer, Json::array())) {
          if (c.value("type", "") == "Established" && c.value("status", "") == "True") {
            established = true;
            latest_established =
                std::max(latest_established, ParseTimestamp(c.value("lastTransitionTime", "")));
          }
        }
      } else {
        last = got.status().ToString();
      }
      if (!established) std::this_thread::sleep_for(milliseconds(20));
    }
    const std::string group = StringAt(crd, "/spec/group"_json_pointer);
    const std::string kind = StringAt(crd, "/spec/names/kind"_json_pointer);
    for (const Json& version : crd.value("/spec/versions"_json_pointer, Json::array())) {
      if (!version.value("served", false)) continue;
      const std::string api_version = group + "/" + version.value("name", "");
      Result<ResourceType> type = ResourceFor(api_version, kind);
      while (!type.ok()) {
        if (Clock::now() > deadline) {
          return Status::Timeout(fmt::format("{} {} not in discovery after 30 s: {}", api_version,
                                             kind, type.status().ToString()));
        }
        std::this_thread::sleep_for(milliseconds(20));
        type = ResourceFor(api_version, kind);
      }
      // The API server fills the resource's watch cache on the first request (a 429 until it
      // is filled, and a first create waits 2 s for it): do that now, not in the first test.
      const std::string list_path = type->Path("") + "?limit=1";
      for (;;) {
        Result<RawResponse> r = probe_->Raw("GET", list_path, "");
        if (r.ok() && r->status == 200) break;
        if (Clock::now() > deadline) {
          return Status::Timeout(fmt::format(
              "GET {} still fails after 30 s: {}", list_path,
              r.ok() ? fmt::format("HTTP {}: {}", r->status, r->body) : r.status().ToString()));
        }
        std::this_thread::sleep_for(milliseconds(20));
      }
    }
  }
  return latest_established;
}

// -----------------------------------------------------------------------------------------------
// Objects

Result<ResourceType> KubeEnv::ResourceFor(std::string_view api_version, std::string_view kind) {
  const std::string key = fmt::format("{}/{}", api_version, kind);
  std::lock_guard<std::mutex> lock(discovery_mutex_);
  if (auto it = discovery_.find(key); it != discovery_.end()) return it->second;
  // Not cached (or not served when last asked): read the group version's discovery document.
  const size_t slash = api_version.find('/');
  const std::string group =
      slash == std::string_view::npos ? "" : std::string(api_version.substr(0, slash));
  const std::string version =
      std::string(slash == std::string_view::npos ? api_version : api_version.substr(slash + 1));
  const std::string path =
      group.empty() ? "/api/" + version : fmt::format("/apis/{}/{}", group, version);
  QD_ASSIGN_OR_RETURN(RawResponse response, admin_->Raw("GET", path, ""));
  if (response.status == 404) {
    return Status::NotFound(fmt::format("the API server serves no {}", api_version));
  }
  if (response.status != 200) return StatusOfResponse(response, "GET " + path);
  QD_ASSIGN_OR_RETURN(Json list, ParseBody(response, "GET " + path));
  for (const Json& r : list.value("resources", Json::array())) {
    const std::string name = r.value("name", "");
    if (name.empty() || name.find('/') != std::string::npos) continue;  // a subresource
    discovery_[fmt::format("{}/{}", api_version, r.value("kind", ""))] =
        ResourceType{group, version, name, r.value("namespaced", false)};
  }
  if (auto it = discovery_.find(key); it != discovery_.end()) return it->second;
  return Status::NotFound(fmt::format("the API server serves no {} {}", api_version, kind));
}

Result<Json> KubeEnv::Apply(const Json& object, std::string_view ns) {
  if (!object.is_object() || !object.contains("apiVersion") || !object.contains("kind") ||
      StringAt(object, "/metadata/name"_json_pointer).empty()) {
    return Status::InvalidArgument("Apply: the object needs apiVersion, kind and metadata.name: " +
                                   object.dump().substr(0, 256));
  }
  QD_ASSIGN_OR_RETURN(ResourceType type, ResourceFor(object["apiVersion"].get<std::string>(),
                                                     object["kind"].get<std::string>()));
  Json obj = object;
  std::string target_ns;
  if (type.namespaced) {
    const std::string original = StringAt(obj, "/metadata/namespace"_json_pointer);
    target_ns = !ns.empty() ? std::string(ns) : !original.empty() ? original : "default";
    obj["metadata"]["namespace"] = target_ns;
    if (!ns.empty() && !original.empty() && original != target_ns && obj.contains("subjects")) {
      for (Json& subject : obj["subjects"]) {
        if (subject.value("namespace", "") == original) subject["namespace"] = target_ns;
      }
    }
  } else {
    obj["metadata"].erase("namespace");
  }
  Result<Json> created = admin_->Create(type, target_ns, obj);
  if (created.ok() || !created.status().IsAlreadyExists()) return created;
  // It exists: replace it, with the stored resourceVersion as the precondition; a concurrent
  // writer makes that a Conflict, and then the next round reads again.
  const std::string name = obj["metadata"]["name"].get<std::string>();
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    QD_ASSIGN_OR_RETURN(Json current, admin_->Get(type, target_ns, name));
    obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"];
    Result<Json> updated = admin_->Update(type, target_ns, obj);
    if (updated.ok() || !updated.status().IsConflict()) return updated;
    last = updated.status();
  }
  return last;
}

Status KubeEnv::ApplyFile(const std::string& path, std::string_view ns) {
  return ApplyObjects(path, ns, Scope::kAll, nullptr);
}

Status KubeEnv::ApplyObjects(const std::string& path, std::string_view ns, Scope scope,
                             std::vector<Json>* applied) {
  QD_ASSIGN_OR_RETURN(std::vector<Json> objects, LoadManifest(path));
  for (const Json& object : objects) {
    const std::string what = fmt::format("{}: {} {}", path, object.value("kind", "?"),
                                         StringAt(object, "/metadata/name"_json_pointer));
    if (scope != Scope::kAll) {
      Result<ResourceType> type =
          ResourceFor(object.value("apiVersion", ""), object.value("kind", ""));
      if (!type.ok()) return type.status().WithPrefix(what);
      if (type->namespaced != (scope == Scope::kNamespaced)) continue;
    }
    Result<Json> stored = Apply(object, ns);
    if (!stored.ok()) return stored.status().WithPrefix(what);
    if (applied != nullptr) applied->push_back(std::move(stored).value());
  }
  return Status::OK();
}

// -----------------------------------------------------------------------------------------------
// Namespaces and identities

Result<std::string> KubeEnv::NewNamespace(std::string_view prefix) {
  const std::string suffix = fmt::format("-{}-{}", namespace_counter_++, RandomSuffix(5));
  const std::string name = SanitizePrefix(prefix, 63 - suffix.size()) + suffix;
  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
  QD_RETURN_IF_ERROR(admin_->Create(NamespacesResource(), "", ns).status());
  std::vector<Json> applied;
  QD_RETURN_IF_ERROR(ApplyObjects(RbacManifest(), name, Scope::kNamespaced, &applied));
  for (const Json& object : applied) {
    if (object.value("kind", "") == "RoleBinding") {
      QD_RETURN_IF_ERROR(WaitForBinding(object, name));
    }
  }
  return name;
}

Status KubeEnv::WaitForBinding(const Json& binding, std::string_view ns) {
  const std::string role_kind = StringAt(binding, "/roleRef/kind"_json_pointer);
  const std::string role_name = StringAt(binding, "/roleRef/name"_json_pointer);
  const std::string role_path =
      role_kind == "ClusterRole"
          ? "/apis/rbac.authorization.k8s.io/v1/clusterroles/" + role_name
          : fmt::format("/apis/rbac.authorization.k8s.io/v1/namespaces/{}/roles/{}", ns, role_name);
  QD_ASSIGN_OR_RETURN(RawResponse role_response, admin_->Raw("GET", role_path, ""));
  if (role_response.status != 200) return StatusOfResponse(role_response, "GET " + role_path);
  QD_ASSIGN_OR_RETURN(Json role, ParseBody(role_response, "GET " + role_path));
  // The first resource rule of the role: what a subject is allowed once the binding is known.
  Json attributes;
  for (const Json& rule : role.value("rules", Json::array())) {
    const Json groups = rule.value("apiGroups", Json::array());
    const Json resources = rule.value("resources", Json::array());
    const Json verbs = rule.value("verbs", Json::array());
    if (groups.empty() || resources.empty() || verbs.empty()) continue;
    std::string resource = resources[0].get<std::string>();
    std::string subresource;
    if (size_t slash = resource.find('/'); slash != std::string::npos) {
      subresource = resource.substr(slash + 1);
      resource.resize(slash);
    }
    attributes = {{"namespace", ns},      {"group", groups[0]},
                  {"resource", resource}, {"subresource", subresource},
                  {"verb", verbs[0]},     {"name", ""}};
    break;
  }
  if (attributes.is_null()) return Status::OK();  // nothing to check
  const std::string review_path = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
  for (const Json& subject : binding.value("subjects", Json::array())) {
    if (subject.value("kind", "") != "ServiceAccount") continue;
    const std::string sa_ns = subject.value("namespace", std::string(ns));
    Json review = {
        {"apiVersion", "authorization.k8s.io/v1"},
        {"kind", "SubjectAccessReview"},
        {"spec",
         {{"user", fmt::format("system:serviceaccount:{}:{}", sa_ns, subject.value("name", ""))},
          {"groups",
           {"system:serviceaccounts", "system:serviceaccounts:" + sa_ns, "system:authenticated"}},
          {"resourceAttributes", attributes}}}};
    const auto deadline = Clock::now() + seconds(10);
    for (;;) {
      QD_ASSIGN_OR_RETURN(RawResponse r, admin_->Raw("POST", review_path, review.dump()));
      if (r.status != 201 && r.status != 200) return StatusOfResponse(r, "POST " + review_path);
      QD_ASSIGN_OR_RETURN(Json answer, ParseBody(r, "POST " + review_path));
      if (answer.value("/status/allowed"_json_pointer, false)) break;
      if (Clock::now() > deadline) {
        return Status::Timeout(
            fmt::format("RoleBinding {}/{}: RBAC does not grant {} after 10 s: {}", ns,
                        StringAt(binding, "/metadata/name"_json_pointer),
                        review["spec"]["user"].get<std::string>(), answer.dump()));
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  return Status::OK();
}

Result<KubeConfig> KubeEnv::ServiceAccountConfig(std::string_view ns, std::string_view sa) {
  const std::string path = fmt::format("/api/v1/namespaces/{}/serviceaccounts/{}/token", ns, sa);
  const Json request = {{"apiVersion", "authentication.k8s.io/v1"},
                        {"kind", "TokenRequest"},
                        {"spec", {{"expirationSeconds", 3600}}}};
  QD_ASSIGN_OR_RETURN(RawResponse r, admin_->Raw("POST", path, request.dump()));
  if (r.status != 201 && r.status != 200) return StatusOfResponse(r, "POST " + path);
  QD_ASSIGN_OR_RETURN(Json answer, ParseBody(r, "POST " + path));
  KubeConfig config;
  config.server = server();
  config.ca_file = ca_file();
  config.token = StringAt(answer, "/status/token"_json_pointer);
  config.default_namespace = std::string(ns);
  if (config.token.empty()) {
    return Status::Internal(fmt::format("POST {}: no status.token in {}", path, r.body));
  }
  return config;
}

Result<std::string> KubeEnv::WriteKubeconfig(const KubeConfig& config, std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
    return Status::InvalidArgument(fmt::format("WriteKubeconfig: bad name '{}'", name));
  }
  const std::string base = fmt::format("{}/kubeconfig-{}", dir_, name);
  // PEM text goes to files beside the kubeconfig: no base64 to get wrong.
  auto file_of = [&base](const std::string& file, const std::string& data,
                         const std::string& suffix) -> Result<std::string> {
    if (data.empty()) return file;
    const std::string path = base + suffix;
    QD_RETURN_IF_ERROR(WriteFile(path, data));
    return path;
  };
  QD_ASSIGN_OR_RETURN(std::string ca, file_of(config.ca_file, config.ca_data, "-ca.crt"));
  QD_ASSIGN_OR_RETURN(std::string cert,
                      file_of(config.client_cert_file, config.client_cert_data, "-client.crt"));
  QD_ASSIGN_OR_RETURN(std::string key,
                      file_of(config.client_key_file, config.client_key_data, "-client.key"));

  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "apiVersion" << YAML::Value << "v1";
  out << YAML::Key << "kind" << YAML::Value << "Config";
  out << YAML::Key << "clusters" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << "test";
  out << YAML::Key << "cluster" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "server" << YAML::Value << config.server;
  if (!ca.empty()) out << YAML::Key << "certificate-authority" << YAML::Value << ca;
  if (config.insecure_skip_tls_verify) {
    out << YAML::Key << "insecure-skip-tls-verify" << YAML::Value << true;
  }
  out << YAML::EndMap << YAML::EndMap << YAML::EndSeq;
  out << YAML::Key << "users" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << "test";
  out << YAML::Key << "user" << YAML::Value << YAML::BeginMap;
  if (!cert.empty()) out << YAML::Key << "client-certificate" << YAML::Value << cert;
  if (!key.empty()) out << YAML::Key << "client-key" << YAML::Value << key;
  if (!config.token.empty()) out << YAML::Key << "token" << YAML::Value << config.token;
  if (!config.token_file.empty()) {
    out << YAML::Key << "tokenFile" << YAML::Value << config.token_file;
  }
  out << YAML::EndMap << YAML::EndMap << YAML::EndSeq;
  out << YAML::Key << "contexts" << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value << "test";
  out << YAML::Key << "context" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "cluster" << YAML::Value << "test";
  out << YAML::Key << "user" << YAML::Value << "test";
  out << YAML::Key << "namespace" << YAML::Value << config.default_namespace;
  out << YAML::EndMap << YAML::EndMap << YAML::EndSeq;
  out << YAML::Key << "current-context" << YAML::Value << "test";
  out << YAML::EndMap;
  if (!out.good()) return Status::Internal("WriteKubeconfig: " + out.GetLastError());
  const std::string path = base + ".yaml";
  QD_RETURN_IF_ERROR(WriteFile(path, std::string(out.c_str()) + "\n"));
  return path;
}

// -----------------------------------------------------------------------------------------------
// Restart

Status KubeEnv::RestartApiServer(bool kill) {
  const auto start = Clock::now();
  StopProcess(&apiserver_pid_, kill ? SIGKILL : SIGTERM, seconds(30));
  const auto stopped = Clock::now();
  QD_RETURN_IF_ERROR(StartApiServer());
  QD_RETURN_IF_ERROR(WaitForApiServer(seconds(60)));
  std::cerr << fmt::format(
      "KubeEnv: kube-apiserver {} in {} ms, ready again {} ms later\n", kill ? "killed" : "stopped",
      std::chrono::duration_cast<milliseconds>(stopped - start).count(),
      std::chrono::duration_cast<milliseconds>(Clock::now() - stopped).count());
  return Status::OK();
}

void PrintSkipBanner(std::string_view why) {
  std::cerr << fmt::format(
      "\n********************************************************************************\n"
      "*** SKIPPED: Kubernetes-mode test without a Kubernetes API server\n"
      "*** {}\n"
      "********************************************************************************\n\n",
      why);
}

}  // namespace quidditch::k8s::testing
