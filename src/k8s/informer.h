// Informer: keeps a handler up to date with every object of one resource type in one namespace,
// by list + watch (the client-go pattern).
//
// One background thread: list (a consistent read) -> Replace(items) -> watch from the list's
// resourceVersion -> Upsert/Remove per event, bookmarks advancing the version. When the stream
// ends it watches again from the last version seen; when that version is too old (410 Gone) it
// lists again and hands the handler the whole set. Errors (API server down, restarting) are
// retried with backoff, forever, until Stop(); nothing the server committed is missed, because
// every resumption starts from the last version delivered.
//
// Thread safety: Start/Stop/synced/connected from any thread. Handler calls come from the
// informer thread only, one at a time, in the server's order.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "k8s/kube_client.h"

namespace quidditch::k8s {

class Informer {
 public:
  struct Handler {
    // The complete set after a (re)list, at `resource_version`.
    std::function<void(const std::vector<Json>& items, int64_t resource_version)> replace;
    // An ADDED or MODIFIED object.
    std::function<void(const Json& object)> upsert;
    // A DELETED object (its last state).
    std::function<void(const Json& object)> remove;
  };

  // `client` must outlive the informer.
  Informer(KubeClient* client, ResourceType type, std::string ns, std::string label_selector,
           Handler handler);
  ~Informer();  // Stop()s
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void Start();
  // Ends the thread (within about a second). Idempotent.
  void Stop();
  // Asks the thread to end without waiting for it (Stop() then waits): stopping several
  // informers at once takes the time of one.
  void RequestStop();

  // True once the first list was handed to the handler.
  bool synced() const { return synced_.load(); }
  // True while the last list or watch request to the server succeeded.
  bool connected() const { return connected_.load(); }
  // Waits until synced(); false at the deadline or after Stop().
  bool WaitForSync(std::chrono::steady_clock::time_point deadline) const;

 private:
  void Run();
  // Lists and replaces; returns the list's version, or "" after a failure.
  std::string ListAndReplace();
  void Backoff(std::chrono::milliseconds& delay);

  KubeClient* const client_;
  const ResourceType type_;
  const std::string ns_;
  const std::string label_selector_;
  const Handler handler_;

  std::atomic<bool> stop_{false};
  std::atomic<bool> synced_{false};
  std::atomic<bool> connected_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // synced, or stopping
  std::thread thread_;
};

}  // namespace quidditch::k8s
