#include "k8s/kube_client.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

namespace quidditch::k8s {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using Deadline = KubeClient::Deadline;

// How long one connection attempt may take at most (the call's deadline may be shorter).
constexpr milliseconds kConnectTimeout{10000};
// A watch may outlive its timeoutSeconds by this much before we call the stream stalled.
constexpr std::chrono::seconds kWatchGrace{30};
// A token file is re-read when it changes, and at least this often (file times are coarse).
constexpr std::chrono::seconds kTokenRefresh{10};

Result<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument(
        fmt::format("cannot read the {} {}: {}", what, path, std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Checks that `pem` holds a certificate (or a private key) that OpenSSL can read.
Status CheckPem(const std::string& pem, bool key, std::string_view what) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  // No password prompt: an encrypted key is refused, not asked for on the terminal.
  auto no_password = [](char*, int, int, void*) { return 0; };
  bool ok;
  if (key) {
    EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr);
    ok = pkey != nullptr;
    EVP_PKEY_free(pkey);
  } else {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr);
    ok = cert != nullptr;
    X509_free(cert);
  }
  ERR_clear_error();
  if (ok) return Status::OK();
  return Status::InvalidArgument(fmt::format("the {} is not a PEM {}", what,
                                             key ? "private key (unencrypted)" : "certificate"));
}

// Reads (when `file` is set) and checks one PEM input of the configuration.
Status CheckPemSource(const std::string& file, const std::string& data, bool key,
                      std::string_view what) {
  if (!file.empty()) {
    QD_ASSIGN_OR_RETURN(std::string pem, ReadFile(file, what));
    return CheckPem(pem, key, fmt::format("{} {}", what, file));
  }
  if (!data.empty()) return CheckPem(data, key, fmt::format("{} data", what));
  return Status::OK();
}

// The JSON value at `keys` in `json`, or nullptr.
const Json* Find(const Json& json, std::initializer_list<const char*> keys) {
  const Json* at = &json;
  for (const char* key : keys) {
    if (!at->is_object()) return nullptr;
    auto it = at->find(key);
    if (it == at->end()) return nullptr;
    at = &*it;
  }
  return at;
}

std::string StringAt(const Json& json, std::initializer_list<const char*> keys) {
  const Json* value = Find(json, keys);
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

// Percent-encodes a query parameter value.
std::string Escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// Builds "?a=1&b=2" from the pairs whose value is not empty.
std::string Query(std::initializer_list<std::pair<const char*, std::string>> params) {
  std::string query;
  for (const auto& [name, value] : params) {
    if (value.empty()) continue;
    query += fmt::format("{}{}={}", query.empty() ? '?' : '&', name, Escape(value));
  }
  return query;
}

// Which request failed, as error messages name it: `get pods "web-0" in namespace prod`.
struct Target {
  std::string verb;      // "get", or the method for Raw
  std::string resource;  // "pods", "leases.coordination.k8s.io/status", or the path for Raw
  std::string ns;
  std::string name;
  bool namespaced = false;

  std::string Describe() const {
    std::string text = fmt::format("{} {}", verb, resource);
    if (!name.empty()) text += fmt::format(" \"{}\"", name);
    if (namespaced) text += ns.empty() ? " in all namespaces" : fmt::format(" in namespace {}", ns);
    return text;
  }
};

// Maps an API server error (its HTTP code and `Status` object, if any) to a Status.
Status ErrorFromStatusObject(long code, const Json& status, std::string_view raw_body,
                             const Target& target) {
  const std::string reason = StringAt(status, {"reason"});
  std::string message = StringAt(status, {"message"});
  if (message.empty()) message = Trim(raw_body.substr(0, 300));
  if (message.empty()) message = reason.empty() ? "no message" : reason;
  const std::string what = target.Describe();
  switch (code) {
    case 400:
    case 422:
      return Status::InvalidArgument(fmt::format("{}: {}", what, message));
    case 401:
      return Status::PermissionDenied(fmt::format("unauthorized: {}: {}", what, message));
    case 403:
      return Status::PermissionDenied(fmt::format("forbidden: {}: {}", what, message));
    case 404:
      return Status::NotFound(fmt::format("{}: {}", what, message));
    case 409:
      if (reason == "AlreadyExists") {
        return Status::AlreadyExists(fmt::format("{}: {}", what, message));
      }
      return Status::Conflict(fmt::format("{}: {}", what, message));
    case 410:
      return Status::Gone(fmt::format("{}: {}", what, message));
    default:
      break;
  }
  if (code == 429 || code >= 500) {
    return Status::Unavailable(fmt::format("{}: HTTP {}: {}", what, code, message));
  }
  if (code >= 400 && code < 500) {
    return Status::InvalidArgument(fmt::format("{}: HTTP {}: {}", what, code, message));
  }
  return Status::Internal(fmt::format("{}: unexpected HTTP {}: {}", what, code, message));
}

Status ErrorFromResponse(long code, const std::string& body, const Target& target) {
  const Json status = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  return ErrorFromStatusObject(code, status, body, target);
}

// The API server's message in an error body, for retry logs and errors.
std::string ServerMessage(const std::string& body) {
  const Json status = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  std::string message = StringAt(status, {"message"});
  return message.empty() ? Trim(std::string_view(body).substr(0, 300)) : message;
}

bool RetryableCurlError(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:  // the connect timeout; the deadline is checked first
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

// Exponential backoff with "equal jitter": a uniform pick in [backoff/2, backoff].
milliseconds Backoff(const RetryPolicy& policy, int attempt) {
  const int64_t cap = std::max<int64_t>(policy.max_backoff.count(), 1);
  int64_t backoff = std::max<int64_t>(policy.initial_backoff.count(), 1);
  for (int i = 1; i < attempt && backoff < cap; ++i) backoff *= 2;
  backoff = std::min(backoff, cap);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return milliseconds(std::uniform_int_distribution<int64_t>(backoff / 2, backoff)(rng));
}

// Sleeps for `duration`, waking early when `cancel` becomes true; false when cancelled.
bool SleepUnlessCancelled(milliseconds duration, const std::atomic<bool>* cancel) {
  const auto until = steady_clock::now() + duration;
  while (steady_clock::now() < until) {
    if (cancel != nullptr && cancel->load()) return false;
    std::this_thread::sleep_for(
        std::min<steady_clock::duration>(milliseconds(50), until - steady_clock::now()));
  }
  return cancel == nullptr || !cancel->load();
}

struct Request {
  std::string method;  // "GET"
  std::string path;    // with its query
  std::string body;    // sent when not empty
  std::string content_type = "application/json";
};

// One HTTP exchange on one curl easy handle.
struct Exchange {
  CURLcode curl_code = CURLE_OK;
  std::string curl_error;
  long status = 0;
  std::string body;  // unless streamed
  std::optional<std::chrono::seconds> retry_after;
  bool streamed = false;   // some of a 2xx body went to the stream callback
  bool aborted = false;    // the stream callback stopped the transfer
  bool cancelled = false;  // `cancel` stopped the transfer
};

// Streams a 2xx body piece by piece; false stops the transfer.
using StreamFn = std::function<bool(std::string_view)>;

// What the curl callbacks see.
struct TransferState {
  CURL* curl = nullptr;
  Exchange* exchange = nullptr;
  const StreamFn* stream = nullptr;
  const std::atomic<bool>* cancel = nullptr;
};

size_t OnWrite(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<TransferState*>(user);
  const size_t length = size * count;
  long status = 0;
  curl_easy_getinfo(state->curl, CURLINFO_RESPONSE_CODE, &status);
  if (state->stream == nullptr || status < 200 || status >= 300) {
    state->exchange->body.append(data, length);
    return length;
  }
  state->exchange->streamed = true;
  if ((*state->stream)(std::string_view(data, length))) return length;
  state->exchange->aborted = true;
  return 0;  // anything but `length` makes curl stop with CURLE_WRITE_ERROR
}

// Called at least about once a second, even while no data flows.
int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* state = static_cast<TransferState*>(user);
  if (state->stream != nullptr && !state->exchange->streamed) {
    // The server accepted a stream that has carried nothing yet: tell the stream function
    // with an empty piece (a quiet watch is a working watch).
    long status = 0;
    curl_easy_getinfo(state->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
      state->exchange->streamed = true;
      if (!(*state->stream)(std::string_view())) {
        state->exchange->aborted = true;
        return 1;
      }
    }
  }
  if (state->cancel == nullptr || !state->cancel->load()) return 0;
  state->exchange->cancelled = true;
  return 1;  // CURLE_ABORTED_BY_CALLBACK
}

struct CurlCleanup {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

// Sets a PEM blob option; curl copies the data.
void SetBlob(CURL* curl, CURLoption option, const std::string& pem) {
  curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(curl, option, &blob);
}

}  // namespace

struct KubeClient::Impl {
  KubeConfig config;
  RetryPolicy retry;

  // Idle easy handles. A handle keeps its connection (and TLS session) open after a call, so
  // reusing handles saves a TCP + TLS handshake per request.
  static constexpr size_t kMaxIdleHandles = 8;
  std::mutex pool_mu;
  std::vector<CURL*> idle;  // GUARDED_BY(pool_mu)

  ~Impl() {
    for (CURL* curl : idle) curl_easy_cleanup(curl);
  }

  // A handle with no options set; back to the pool when the returned pointer is destroyed.
  auto AcquireHandle() {
    CURL* curl = nullptr;
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!idle.empty()) {
        curl = idle.back();
        idle.pop_back();
      }
    }
    if (curl == nullptr) curl = curl_easy_init();
    auto release = [this](CURL* c) {
      curl_easy_reset(c);
      std::lock_guard<std::mutex> lock(pool_mu);
      if (idle.size() < kMaxIdleHandles) {
        idle.push_back(c);
      } else {
        curl_easy_cleanup(c);
      }
    };
    return std::unique_ptr<CURL, decltype(release)>(curl, release);
  }

  std::mutex token_mu;
  std::string token;          // GUARDED_BY(token_mu): the token file's content when last read
  struct stat token_stat {};  // GUARDED_BY(token_mu)
  steady_clock::time_point token_read_at;  // GUARDED_BY(token_mu)

  // The bearer token: the fixed one, or the token file's, re-read when the file changed.
  Result<std::string> BearerToken() {
    if (config.token_file.empty()) return config.token;
    std::lock_guard<std::mutex> lock(token_mu);
    struct stat now_stat {};
    const bool stat_ok = ::stat(config.token_file.c_str(), &now_stat) == 0;
    const bool changed = !stat_ok || now_stat.st_ino != token_stat.st_ino ||
                         now_stat.st_size != token_stat.st_size ||
                         now_stat.st_mtim.tv_sec != token_stat.st_mtim.tv_sec ||
                         now_stat.st_mtim.tv_nsec != token_stat.st_mtim.tv_nsec;
    if (!changed && steady_clock::now() - token_read_at < kTokenRefresh) return token;
    Result<std::string> text = ReadFile(config.token_file, "token file");
    std::string fresh = text.ok() ? Trim(*text) : std::string();
    if (fresh.empty()) {
      // Mid-rotation the file may be briefly absent or empty: keep the last good token.
      if (!token.empty()) return token;
      return text.ok() ? Status::InvalidArgument(
                             fmt::format("the token file {} is empty", config.token_file))
                       : text.status();
    }
    token = std::move(fresh);
    token_stat = now_stat;
    token_read_at = steady_clock::now();
    return token;
  }

  // The namespace of a call on one object.
  std::string NamespaceOf(const ResourceType& type, std::string_view ns) const {
    if (!type.namespaced) return "";
    return ns.empty() ? config.default_namespace : std::string(ns);
  }

  // One attempt of `request`, bounded by `deadline`.
  Result<Exchange> PerformOnce(const Request& request, Deadline deadline, const StreamFn* stream,
                               const std::atomic<bool>* cancel) {
    QD_ASSIGN_OR_RETURN(std::string bearer, BearerToken());
    auto handle = AcquireHandle();
    if (handle == nullptr) return Status::Internal("curl_easy_init failed");
    CURL* curl = handle.get();
    Exchange exchange;
    TransferState state{curl, &exchange, stream, cancel};
    char error[CURL_ERROR_SIZE] = {0};

    const std::string url = config.server + request.path;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM: we run on many threads
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (!request.body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    }
    if (request.method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);

    curl_slist* raw_headers = nullptr;
    raw_headers = curl_slist_append(raw_headers, "Accept: application/json");
    raw_headers = curl_slist_append(raw_headers, "Expect:");  // no 100-continue round trip
    raw_headers = curl_slist_append(raw_headers, "User-Agent: quidditch/" QUIDDITCH_VERSION);
    if (!request.body.empty()) {
      raw_headers =
          curl_slist_append(raw_headers, ("Content-Type: " + request.content_type).c_str());
    }
    if (!bearer.empty()) {
      raw_headers = curl_slist_append(raw_headers, ("Authorization: Bearer " + bearer).c_str());
    }
    std::unique_ptr<curl_slist, CurlCleanup> headers(raw_headers);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());

    if (!config.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, config.ca_file.c_str());
    if (!config.ca_data.empty()) SetBlob(curl, CURLOPT_CAINFO_BLOB, config.ca_data);
    if (config.insecure_skip_tls_verify) {
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(curl, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(curl, CURLOPT_SSLKEYTYPE, "PEM");
    if (!config.client_cert_file.empty()) {
      curl_easy_setopt(curl, CURLOPT_SSLCERT, config.client_cert_file.c_str());
    }
    if (!config.client_cert_data.empty()) {
      SetBlob(curl, CURLOPT_SSLCERT_BLOB, config.client_cert_data);
    }
    if (!config.client_key_file.empty()) {
      curl_easy_setopt(curl, CURLOPT_SSLKEY, config.client_key_file.c_str());
    }
    if (!config.client_key_data.empty()) {
      SetBlob(curl, CURLOPT_SSLKEY_BLOB, config.client_key_data);
    }

    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
    const int64_t timeout_ms = std::max<int64_t>(remaining.count(), 1);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min<int64_t>(timeout_ms, kConnectTimeout.count())));
    // Keepalive probes find a dead peer of a quiet watch stream.
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPINTVL, 10L);

    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnWrite);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
    if (cancel != nullptr) {
      curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, OnProgress);
      curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &state);
    }

    exchange.curl_code = curl_easy_perform(curl);
    if (exchange.curl_code != CURLE_OK) {
      exchange.curl_error = error[0] != '\0' ? std::string(error)
                                             : std::string(curl_easy_strerror(exchange.curl_code));
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &exchange.status);
    curl_off_t retry_after = 0;
    if (curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK &&
        retry_after > 0) {
      exchange.retry_after = std::chrono::seconds(retry_after);
    }
    return exchange;
  }

  // `request` with retries on connection failures, 429 and 5xx. Returns the exchange that
  // ended it: an answer that is not retried, a streamed or cancelled transfer, or a failure
  // that is not retried; else Timeout or Unavailable.
  Result<Exchange> Execute(const Request& request, const Target& target, Deadline deadline,
                           const StreamFn* stream = nullptr,
                           const std::atomic<bool>* cancel = nullptr) {
    const int max_attempts = std::max(retry.max_attempts, 1);
    std::string last_error = "no attempt made";
    for (int attempt = 1;; ++attempt) {
      if (steady_clock::now() >= deadline) {
        return Status::Timeout(
            fmt::format("{}: the deadline passed (last error: {})", target.Describe(), last_error));
      }
      QD_ASSIGN_OR_RETURN(Exchange exchange, PerformOnce(request, deadline, stream, cancel));
      if (exchange.streamed || exchange.cancelled) return exchange;
      if (exchange.curl_code != CURLE_OK) {
        if (exchange.curl_code == CURLE_OPERATION_TIMEDOUT && steady_clock::now() >= deadline) {
          // The last attempt ran into the deadline; what failed before it says more.
          return Status::Timeout(fmt::format(
              "{}: no answer from {} before the deadline: {}{}", target.Describe(), config.server,
              exchange.curl_error, attempt > 1 ? "; the attempt before: " + last_error : ""));
        }
        last_error = exchange.curl_error;
        if (!RetryableCurlError(exchange.curl_code)) {
          return Status::Unavailable(
              fmt::format("{}: {}: {}", target.Describe(), config.server, last_error));
        }
      } else if (exchange.status == 429 || exchange.status >= 500) {
        last_error = fmt::format("HTTP {}: {}", exchange.status, ServerMessage(exchange.body));
      } else {
        return exchange;
      }
      if (attempt >= max_attempts) {
        return Status::Unavailable(fmt::format("{}: gave up after {} attempts; last error: {}",
                                               target.Describe(), attempt, last_error));
      }
      milliseconds wait = Backoff(retry, attempt);
      if (exchange.retry_after) wait = std::max<milliseconds>(wait, *exchange.retry_after);
      if (steady_clock::now() + wait >= deadline) {
        return Status::Timeout(
            fmt::format("{}: the deadline comes before the next retry (in {} ms); last error: {}",
                        target.Describe(), wait.count(), last_error));
      }
      if (!SleepUnlessCancelled(wait, cancel)) {
        exchange.cancelled = true;
        return exchange;
      }
    }
  }

  // A request whose 2xx answer is a JSON object; other answers become errors.
  Result<Json> Call(const Request& request, const Target& target, Deadline deadline) {
    QD_ASSIGN_OR_RETURN(Exchange exchange, Execute(request, target, deadline));
    if (exchange.status < 200 || exchange.status >= 300) {
      return ErrorFromResponse(exchange.status, exchange.body, target);
    }
    if (exchange.body.empty()) return Json::object();
    Json json = Json::parse(exchange.body, nullptr, /*allow_exceptions=*/false);
    if (json.is_discarded()) {
      return Status::Corruption(fmt::format("{}: the answer is not JSON: {}", target.Describe(),
                                            exchange.body.substr(0, 200)));
    }
    return json;
  }

  // PUT of `object` to its path (plus `suffix`).
  Result<Json> Put(const ResourceType& type, std::string_view ns, const Json& object,
                   std::string_view suffix, Deadline deadline) {
    const std::string name = StringAt(object, {"metadata", "name"});
    const std::string resource = type.Name() + std::string(suffix);
    if (name.empty()) {
      return Status::InvalidArgument(
          fmt::format("update {}: the object has no metadata.name", resource));
    }
    const std::string namespace_name = NamespaceOf(type, ns);
    Target target{"update", resource, namespace_name, name, type.namespaced};
    return Call(
        Request{"PUT", type.Path(namespace_name, name) + std::string(suffix), object.dump()},
        target, deadline);
  }
};

std::string ResourceType::Path(std::string_view ns, std::string_view name) const {
  std::string path =
      group.empty() ? fmt::format("/api/{}", version) : fmt::format("/apis/{}/{}", group, version);
  if (namespaced && !ns.empty()) path += fmt::format("/namespaces/{}", ns);
  path += "/" + plural;
  if (!name.empty()) path += fmt::format("/{}", name);
  return path;
}

std::string ResourceType::Name() const {
  return group.empty() ? plural : fmt::format("{}.{}", plural, group);
}

const ResourceType& PodsResource() {
  static const auto* const type = new ResourceType{"", "v1", "pods", true};
  return *type;
}
const ResourceType& EventsResource() {
  static const auto* const type = new ResourceType{"", "v1", "events", true};
  return *type;
}
const ResourceType& LeasesResource() {
  static const auto* const type = new ResourceType{"coordination.k8s.io", "v1", "leases", true};
  return *type;
}
const ResourceType& NamespacesResource() {
  static const auto* const type = new ResourceType{"", "v1", "namespaces", false};
  return *type;
}
const ResourceType& ConfigMapsResource() {
  static const auto* const type = new ResourceType{"", "v1", "configmaps", true};
  return *type;
}

int64_t ResourceVersionOf(const Json& object) {
  const std::string text = StringAt(object, {"metadata", "resourceVersion"});
  int64_t version = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (error != std::errc() || end != text.data() + text.size()) return 0;
  return version;
}

Result<std::unique_ptr<KubeClient>> KubeClient::Create(KubeConfig config, RetryPolicy retry) {
  // Thread-safe once: curl_global_init is not, in the libcurl versions we may meet.
  static const CURLcode init = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (init != CURLE_OK) {
    return Status::Internal(fmt::format("curl_global_init: {}", curl_easy_strerror(init)));
  }
  while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
  if (!config.server.starts_with("https://") && !config.server.starts_with("http://")) {
    return Status::InvalidArgument(fmt::format(
        "the API server address \"{}\" is not an https:// (or http://) URL", config.server));
  }
  const bool has_cert = !config.client_cert_file.empty() || !config.client_cert_data.empty();
  const bool has_key = !config.client_key_file.empty() || !config.client_key_data.empty();
  if (has_cert != has_key) {
    return Status::InvalidArgument(has_cert ? "a client certificate is given without its key"
                                            : "a client key is given without its certificate");
  }
  QD_RETURN_IF_ERROR(CheckPemSource(config.ca_file, config.ca_data, false, "CA certificate"));
  QD_RETURN_IF_ERROR(CheckPemSource(config.client_cert_file, config.client_cert_data, false,
                                    "client certificate"));
  QD_RETURN_IF_ERROR(
      CheckPemSource(config.client_key_file, config.client_key_data, true, "client key"));
  if (config.default_namespace.empty()) config.default_namespace = "default";

  auto impl = std::make_unique<Impl>();
  impl->config = std::move(config);
  impl->retry = retry;
  QD_RETURN_IF_ERROR(impl->BearerToken().status());  // a token file must be readable now
  return std::unique_ptr<KubeClient>(new KubeClient(std::move(impl)));
}

KubeClient::KubeClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KubeClient::~KubeClient() = default;

const KubeConfig& KubeClient::config() const { return impl_->config; }

Result<Json> KubeClient::Get(const ResourceType& type, std::string_view ns, std::string_view name,
                             Deadline deadline) {
  const std::string namespace_name = impl_->NamespaceOf(type, ns);
  Target target{"get", type.Name(), namespace_name, std::string(name), type.namespaced};
  return impl_->Call(Request{"GET", type.Path(namespace_name, name)}, target, deadline);
}

Result<ListResult> KubeClient::List(const ResourceType& type, std::string_view ns,
                                    const ListOptions& options, Deadline deadline) {
  Target target{"list", type.Name(), std::string(ns), "", type.namespaced};
  const std::string limit = options.page_size > 0 ? std::to_string(options.page_size) : "";
  for (int pass = 1;; ++pass) {
    ListResult result;
    std::string next;  // the continue token
    bool expired = false;
    do {
      const std::string path = type.Path(ns) + Query({{"limit", limit},
                                                      {"continue", next},
                                                      {"labelSelector", options.label_selector},
                                                      {"fieldSelector", options.field_selector}});
      Result<Json> page = impl_->Call(Request{"GET", path}, target, deadline);
      if (!page.ok()) {
        // The continue token outlived etcd's compaction: list again from the start, once.
        expired = page.status().IsGone() && !next.empty() && pass == 1;
        if (expired) break;
        return page.status();
      }
      if (Json* items = page->is_object() ? &(*page)["items"] : nullptr;
          items != nullptr && items->is_array()) {
        for (Json& item : *items) result.items.push_back(std::move(item));
      }
      result.resource_version = StringAt(*page, {"metadata", "resourceVersion"});
      next = StringAt(*page, {"metadata", "continue"});
    } while (!next.empty());
    if (!expired) return result;
  }
}

Result<Json> KubeClient::Create(const ResourceType& type, std::string_view ns, const Json& object,
                                Deadline deadline) {
  const std::string namespace_name = impl_->NamespaceOf(type, ns);
  Json body = object;
  if (body.is_object() && body.contains("metadata") && body["metadata"].is_object()) {
    body["metadata"].erase("namespace");  // the server takes it from the path
  }
  Target target{"create", type.Name(), namespace_name, StringAt(object, {"metadata", "name"}),
                type.namespaced};
  return impl_->Call(Request{"POST", type.Path(namespace_name), body.dump()}, target, deadline);
}

Result<Json> KubeClient::Update(const ResourceType& type, std::string_view ns, const Json& object,
                                Deadline deadline) {
  return impl_->Put(type, ns, object, "", deadline);
}

Result<Json> KubeClient::UpdateStatus(const ResourceType& type, std::string_view ns,
                                      const Json& object, Deadline deadline) {
  return impl_->Put(type, ns, object, "/status", deadline);
}

Result<Json> KubeClient::Patch(const ResourceType& type, std::string_view ns, std::string_view name,
                               PatchType patch_type, const Json& patch, bool status,
                               Deadline deadline) {
  const std::string namespace_name = impl_->NamespaceOf(type, ns);
  const std::string suffix = status ? "/status" : "";
  Target target{"patch", type.Name() + suffix, namespace_name, std::string(name), type.namespaced};
  Request request{"PATCH", type.Path(namespace_name, name) + suffix, patch.dump(),
                  patch_type == PatchType::kMerge ? "application/merge-patch+json"
                                                  : "application/json-patch+json"};
  return impl_->Call(request, target, deadline);
}

Result<Json> KubeClient::Delete(const ResourceType& type, std::string_view ns,
                                std::string_view name,
                                std::optional<std::string> precondition_resource_version,
                                Deadline deadline) {
  const std::string namespace_name = impl_->NamespaceOf(type, ns);
  Target target{"delete", type.Name(), namespace_name, std::string(name), type.namespaced};
  Request request{"DELETE", type.Path(namespace_name, name)};
  if (precondition_resource_version) {
    request.body = Json{{"kind", "DeleteOptions"},
                        {"apiVersion", "v1"},
                        {"preconditions", {{"resourceVersion", *precondition_resource_version}}}}
                       .dump();
  }
  return impl_->Call(request, target, deadline);
}

Status KubeClient::Watch(const ResourceType& type, std::string_view ns, const WatchOptions& options,
                         const std::function<bool(const WatchEvent&)>& on_event,
                         const std::atomic<bool>* cancel) {
  Target target{"watch", type.Name(), std::string(ns), "", type.namespaced};
  const std::string path =
      type.Path(ns) +
      Query({{"watch", "true"},
             {"resourceVersion", options.resource_version},
             {"allowWatchBookmarks", options.allow_bookmarks ? "true" : ""},
             {"timeoutSeconds", std::to_string(std::max<int64_t>(options.timeout.count(), 1))},
             {"labelSelector", options.label_selector},
             {"fieldSelector", options.field_selector}});
  const Deadline deadline = steady_clock::now() + options.timeout + kWatchGrace;

  Status failure;       // why the stream was stopped, when it was an error
  std::string pending;  // the bytes after the last newline
  // One line of the stream is one event. False stops the stream.
  auto handle_line = [&](std::string_view line) {
    if (Trim(line).empty()) return true;
    Json event = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    const std::string type_name = event.is_discarded() ? "" : StringAt(event, {"type"});
    const Json* object = event.is_discarded() ? nullptr : Find(event, {"object"});
    static const std::pair<std::string_view, WatchEventType> kTypes[] = {
        {"ADDED", WatchEventType::kAdded},
        {"MODIFIED", WatchEventType::kModified},
        {"DELETED", WatchEventType::kDeleted},
        {"BOOKMARK", WatchEventType::kBookmark}};
    if (type_name == "ERROR" && object != nullptr) {
      const Json* code = Find(*object, {"code"});
      failure = ErrorFromStatusObject(
          code != nullptr && code->is_number_integer() ? code->get<long>() : 500, *object, line,
          target);
      return false;
    }
    for (const auto& [name, event_type] : kTypes) {
      if (type_name != name || object == nullptr) continue;
      return on_event(WatchEvent{event_type, *object});
    }
    failure = Status::Corruption(
        fmt::format("{}: not a watch event: {}", target.Describe(), line.substr(0, 200)));
    return false;
  };
  bool opened = false;
  const StreamFn stream = [&](std::string_view data) {
    if (!opened) {
      opened = true;
      if (options.on_open) options.on_open();
    }
    pending.append(data);
    size_t start = 0;
    for (size_t end; (end = pending.find('\n', start)) != std::string::npos; start = end + 1) {
      if (!handle_line(std::string_view(pending).substr(start, end - start))) return false;
    }
    pending.erase(0, start);
    return true;
  };

  QD_ASSIGN_OR_RETURN(Exchange exchange,
                      impl_->Execute(Request{"GET", path}, target, deadline, &stream, cancel));
  if (exchange.cancelled) return Status::OK();
  if (!failure.ok()) return failure;
  if (exchange.aborted) return Status::OK();  // on_event returned false
  if (exchange.curl_code != CURLE_OK) {
    return Status::Unavailable(fmt::format("{}: the stream from {} broke: {}", target.Describe(),
                                           impl_->config.server, exchange.curl_error));
  }
  if (exchange.status < 200 || exchange.status >= 300) {
    return ErrorFromResponse(exchange.status, exchange.body, target);
  }
  if (!pending.empty() && !handle_line(pending)) return failure;  // a last line without '\n'
  return Status::OK();
}

Result<RawResponse> KubeClient::Raw(std::string_view method, std::string_view path,
                                    std::string_view body, std::string_view content_type,
                                    Deadline deadline) {
  Target target{std::string(method), std::string(path)};
  Request request{std::string(method), std::string(path), std::string(body),
                  std::string(content_type)};
  QD_ASSIGN_OR_RETURN(Exchange exchange, impl_->Execute(request, target, deadline));
  return RawResponse{exchange.status, std::move(exchange.body)};
}

}  // namespace quidditch::k8s
