#include "k8s/informer.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <random>

namespace quidditch::k8s {

Informer::Informer(KubeClient* client, ResourceType type, std::string ns,
                   std::string label_selector, Handler handler)
    : client_(client),
      type_(std::move(type)),
      ns_(std::move(ns)),
      label_selector_(std::move(label_selector)),
      handler_(std::move(handler)) {}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Informer::RequestStop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

void Informer::Stop() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

bool Informer::WaitForSync(std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_until(lock, deadline, [&] { return synced_.load() || stop_.load(); });
  return synced_.load();
}

void Informer::Backoff(std::chrono::milliseconds& delay) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, delay, [&] { return stop_.load(); });
  delay = std::min(delay * 2, std::chrono::milliseconds(2000));
}

std::string Informer::ListAndReplace() {
  ListOptions options;
  options.label_selector = label_selector_;
  Result<ListResult> list = client_->List(type_, ns_, options);
  if (!list.ok()) {
    if (connected_.exchange(false) || !synced_) {
      spdlog::warn("cannot list {} in namespace {}: {}", type_.Name(), ns_,
                   list.status().ToString());
    }
    return "";
  }
  connected_ = true;
  int64_t version = 0;
  const std::string& rv = list->resource_version;
  std::from_chars(rv.data(), rv.data() + rv.size(), version);
  handler_.replace(list->items, version);
  if (!synced_.exchange(true)) {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }
  return list->resource_version;
}

void Informer::Run() {
  std::mt19937 rng(std::random_device{}());
  std::chrono::milliseconds delay(100);
  std::string version;
  while (!stop_) {
    if (version.empty()) {
      version = ListAndReplace();
      if (version.empty()) {
        Backoff(delay);
        continue;
      }
    }
    WatchOptions options;
    options.resource_version = version;
    options.label_selector = label_selector_;
    // Spread the server-side watch timeouts, as client-go does.
    options.timeout = std::chrono::seconds(300 + rng() % 300);
    // A watch the server accepted is a connection that works, even before any event.
    options.on_open = [&] {
      connected_ = true;
      delay = std::chrono::milliseconds(100);
    };
    Status s = client_->Watch(
        type_, ns_, options,
        [&](const WatchEvent& event) {
          connected_ = true;
          delay = std::chrono::milliseconds(100);
          const std::string rv = event.object.value("metadata", Json::object())
                                     .value("resourceVersion", std::string());
          switch (event.type) {
            case WatchEventType::kAdded:
            case WatchEventType::kModified:
              handler_.upsert(event.object);
              break;
            case WatchEventType::kDeleted:
              handler_.remove(event.object);
              break;
            case WatchEventType::kBookmark:
              break;
          }
          if (!rv.empty()) version = rv;
          return !stop_.load();
        },
        &stop_);
    if (stop_) break;
    if (s.ok()) {  // the server ended the stream: watch again from `version`
      // A success even when no event came (a quiet stream that timed out).
      connected_ = true;
      delay = std::chrono::milliseconds(100);
      continue;
    }
    if (s.IsGone()) {
      spdlog::info("watch of {} in {}: version {} is too old; listing again", type_.Name(), ns_,
                   version);
      version.clear();
      continue;
    }
    if (connected_.exchange(false)) {
      spdlog::warn("watch of {} in namespace {} failed: {}; retrying", type_.Name(), ns_,
                   s.ToString());
    }
    Backoff(delay);
  }
}

}  // namespace quidditch::k8s
