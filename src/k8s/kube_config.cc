// InClusterConfig and LoadKubeconfig (declared in kube_client.h).
#include <fmt/format.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "k8s/kube_client.h"

namespace quidditch::k8s {

namespace {

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

Status CheckReadable(const std::string& path, std::string_view what) {
  if (::access(path.c_str(), R_OK) == 0) return Status::OK();
  return Status::InvalidArgument(fmt::format("in-cluster config: cannot read the {} {}: {}", what,
                                             path, std::strerror(errno)));
}

// Standard base64 (RFC 4648, with padding; whitespace ignored), decoded by OpenSSL.
Result<std::string> DecodeBase64(std::string_view text, std::string_view what) {
  std::string clean;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) clean += c;
  }
  const Status invalid = Status::InvalidArgument(fmt::format("{} is not valid base64", what));
  if (clean.size() % 4 != 0) return invalid;
  std::string out(clean.size() / 4 * 3, '\0');
  const int length =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(clean.data()), clean.size());
  if (length < 0) return invalid;
  // EVP_DecodeBlock decodes each '=' of padding as a zero byte: drop them.
  const size_t padding = clean.ends_with("==") ? 2 : clean.ends_with("=") ? 1 : 0;
  out.resize(static_cast<size_t>(length) - padding);
  return out;
}

std::string Scalar(const YAML::Node& node) {
  return node && node.IsScalar() ? node.as<std::string>() : std::string();
}

// The `field` ("cluster", "user", "context") of the entry named `name` in the list `entries`.
YAML::Node FindNamed(const YAML::Node& entries, const std::string& name, const char* field) {
  if (entries && entries.IsSequence()) {
    for (const YAML::Node& entry : entries) {
      if (Scalar(entry["name"]) == name) return entry[field];
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

Result<KubeConfig> ParseKubeconfig(const YAML::Node& root, const std::string& path,
                                   const std::string& wanted_context) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  auto error = [&](std::string_view message) {
    return Status::InvalidArgument(fmt::format("kubeconfig {}: {}", path, message));
  };
  // A file named in the kubeconfig; relative paths are relative to the kubeconfig's folder.
  auto file_at = [&](const YAML::Node& node) {
    std::string name = Scalar(node);
    if (name.empty() || std::filesystem::path(name).is_absolute()) return name;
    return (dir / name).string();
  };
  // PEM data given as base64.
  auto data_at = [&](const YAML::Node& node, std::string_view what) -> Result<std::string> {
    return DecodeBase64(Scalar(node), fmt::format("kubeconfig {}: {}", path, what));
  };

  const std::string context_name =
      wanted_context.empty() ? Scalar(root["current-context"]) : wanted_context;
  if (context_name.empty()) return error("no current-context is set and no context was given");
  const YAML::Node context = FindNamed(root["contexts"], context_name, "context");
  if (!context || !context.IsMap()) return error(fmt::format("no context \"{}\"", context_name));

  const std::string cluster_name = Scalar(context["cluster"]);
  const YAML::Node cluster = FindNamed(root["clusters"], cluster_name, "cluster");
  if (!cluster || !cluster.IsMap()) {
    return error(fmt::format("context \"{}\" names cluster \"{}\", which is not defined",
                             context_name, cluster_name));
  }
  KubeConfig config;
  config.server = Scalar(cluster["server"]);
  if (config.server.empty())
    return error(fmt::format("cluster \"{}\" has no server", cluster_name));
  config.ca_file = file_at(cluster["certificate-authority"]);
  QD_ASSIGN_OR_RETURN(
      config.ca_data,
      data_at(cluster["certificate-authority-data"],
              fmt::format("cluster \"{}\" certificate-authority-data", cluster_name)));
  if (cluster["insecure-skip-tls-verify"]) {
    config.insecure_skip_tls_verify = cluster["insecure-skip-tls-verify"].as<bool>();
  }

  const std::string user_name = Scalar(context["user"]);
  if (!user_name.empty()) {
    const YAML::Node user = FindNamed(root["users"], user_name, "user");
    if (!user || !user.IsMap()) {
      return error(fmt::format("context \"{}\" names user \"{}\", which is not defined",
                               context_name, user_name));
    }
    for (const char* unsupported : {"exec", "auth-provider", "username", "password"}) {
      if (user[unsupported]) {
        return error(fmt::format(
            "user \"{}\" authenticates with {}, which is not supported (use a token, tokenFile "
            "or a client certificate)",
            user_name, unsupported));
      }
    }
    const std::string what = fmt::format("user \"{}\" ", user_name);
    config.client_cert_file = file_at(user["client-certificate"]);
    config.client_key_file = file_at(user["client-key"]);
    QD_ASSIGN_OR_RETURN(config.client_cert_data,
                        data_at(user["client-certificate-data"], what + "client-certificate-data"));
    QD_ASSIGN_OR_RETURN(config.client_key_data,
                        data_at(user["client-key-data"], what + "client-key-data"));
    config.token = Scalar(user["token"]);
    config.token_file = file_at(user["tokenFile"]);
  }
  const std::string ns = Scalar(context["namespace"]);
  if (!ns.empty()) config.default_namespace = ns;
  return config;
}

}  // namespace

Result<KubeConfig> InClusterConfig(const std::function<const char*(const char*)>& env,
                                   const std::string& sa_dir) {
  const char* host = env("KUBERNETES_SERVICE_HOST");
  const char* port = env("KUBERNETES_SERVICE_PORT");
  for (const auto& [name, value] :
       {std::pair{"KUBERNETES_SERVICE_HOST", host}, std::pair{"KUBERNETES_SERVICE_PORT", port}}) {
    if (value == nullptr || *value == '\0') {
      return Status::InvalidArgument(fmt::format(
          "in-cluster config: {} is not set (is this process running in a Kubernetes pod?)", name));
    }
  }
  KubeConfig config;
  std::string server_host = host;
  if (server_host.find(':') != std::string::npos && !server_host.starts_with("[")) {
    server_host = "[" + server_host + "]";  // an IPv6 address
  }
  config.server = fmt::format("https://{}:{}", server_host, port);
  config.token_file = sa_dir + "/token";
  config.ca_file = sa_dir + "/ca.crt";
  QD_RETURN_IF_ERROR(CheckReadable(config.token_file, "service-account token"));
  QD_RETURN_IF_ERROR(CheckReadable(config.ca_file, "service-account CA certificate"));
  std::ifstream namespace_file(sa_dir + "/namespace");
  if (namespace_file) {
    std::ostringstream text;
    text << namespace_file.rdbuf();
    if (std::string ns = Trim(text.str()); !ns.empty()) config.default_namespace = ns;
  }
  return config;
}

Result<KubeConfig> LoadKubeconfig(const std::string& path, const std::string& context) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument(
        fmt::format("cannot read the kubeconfig {}: {}", path, std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return ParseKubeconfig(YAML::Load(text.str()), path, context);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("kubeconfig {}: {}", path, e.what()));
  }
}

}  // namespace quidditch::k8s
