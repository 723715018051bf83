#include "k8s/informer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "k8s/testing/fake_api_server.h"

namespace quidditch::k8s {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing::FakeApiServer;
using testing::FakeRequest;
using testing::FakeResponse;
using Calls = std::vector<std::string>;

// One attempt per call: every failure the server scripts reaches the informer, whose own
// backoff is then what the tests see.
constexpr RetryPolicy kNoRetry{1, 1ms, 1ms};

Json Pod(const std::string& name, int64_t version) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name}, {"namespace", "prod"}, {"resourceVersion", std::to_string(version)}}}};
}

Json Bookmark(int64_t version) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"resourceVersion", std::to_string(version)}}}};
}

// A watch event line.
std::string Event(const std::string& type, const Json& object) {
  return Json{{"type", type}, {"object", object}}.dump() + "\n";
}

// The Status object of a watch whose version is too old, as the API server sends it in an ERROR
// event.
Json ExpiredStatus() {
  return {{"kind", "Status"},
          {"apiVersion", "v1"},
          {"status", "Failure"},
          {"reason", "Expired"},
          {"message", "too old resource version: 10 (25)"},
          {"code", 410}};
}

FakeResponse PodList(int64_t version, const std::vector<Json>& items) {
  return FakeResponse::Json(200, {{"kind", "PodList"},
                                  {"apiVersion", "v1"},
                                  {"metadata", {{"resourceVersion", std::to_string(version)}}},
                                  {"items", items}});
}

// A watch stream of `events` that the server then ends normally, or holds open idle.
FakeResponse Stream(const std::string& events, bool hold_open = false) {
  FakeResponse response;
  response.streamed = true;
  response.hold_open = hold_open;
  if (!events.empty()) response.chunks.push_back({0ms, events});
  return response;
}

// A watch stream of `events` whose connection then breaks.
FakeResponse Broken(const std::string& events) {
  FakeResponse response = Stream(events);
  response.break_stream = true;
  return response;
}

FakeResponse Dropped() {
  FakeResponse response;
  response.drop = true;
  return response;
}

// Polls `condition` until it holds or `timeout` passes.
template <typename Condition>
bool Eventually(Condition condition, milliseconds timeout = 5s) {
  const auto deadline = steady_clock::now() + timeout;
  while (!condition()) {
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// An API server whose list and watch answers are scripted, each kind in order. When its script
// runs out a list fails with 500 and a watch is held open idle.
class ScriptedServer {
 public:
  ScriptedServer() : server_([this](const FakeRequest& request) { return Answer(request); }) {}

  void OnList(FakeResponse response) {
    std::lock_guard<std::mutex> lock(mu_);
    lists_.push_back(std::move(response));
  }
  void OnWatch(FakeResponse response) {
    std::lock_guard<std::mutex> lock(mu_);
    watches_.push_back(std::move(response));
  }

  std::string url() const { return server_.url(); }
  // The list or watch requests received so far, in order.
  std::vector<FakeRequest> Lists() const { return Requests(/*watch=*/false); }
  std::vector<FakeRequest> Watches() const { return Requests(/*watch=*/true); }
  // When each watch request arrived.
  std::vector<steady_clock::time_point> WatchTimes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return watch_times_;
  }

 private:
  static bool IsWatch(const FakeRequest& request) { return request.Query("watch") == "true"; }

  std::vector<FakeRequest> Requests(bool watch) const {
    std::vector<FakeRequest> requests;
    for (FakeRequest& request : server_.requests()) {
      if (IsWatch(request) == watch) requests.push_back(std::move(request));
    }
    return requests;
  }

  FakeResponse Answer(const FakeRequest& request) {
    std::lock_guard<std::mutex> lock(mu_);
    const bool watch = IsWatch(request);
    if (watch) watch_times_.push_back(steady_clock::now());
    std::deque<FakeResponse>& script = watch ? watches_ : lists_;
    if (script.empty()) {
      return watch ? Stream("", /*hold_open=*/true)
                   : FakeResponse::KubeStatus(500, "InternalError", "no list scripted");
    }
    FakeResponse response = std::move(script.front());
    script.pop_front();
    return response;
  }

  mutable std::mutex mu_;
  std::deque<FakeResponse> lists_;                     // GUARDED_BY(mu_)
  std::deque<FakeResponse> watches_;                   // GUARDED_BY(mu_)
  std::vector<steady_clock::time_point> watch_times_;  // GUARDED_BY(mu_)
  // Last: it stops (joining the threads that run Answer) before the scripts go away.
  FakeApiServer server_;
};

// The informer's handler calls as text: "replace a@5 b@7 @10", "upsert b@11", "remove a@13".
class Recorder {
 public:
  Informer::Handler Handler() {
    Informer::Handler handler;
    handler.replace = [this](const std::vector<Json>& items, int64_t version) {
      std::string call = "replace";
      for (const Json& item : items) call += " " + Name(item);
      Record(call + " @" + std::to_string(version));
    };
    handler.upsert = [this](const Json& object) { Record("upsert " + Name(object)); };
    handler.remove = [this](const Json& object) { Record("remove " + Name(object)); };
    return handler;
  }

  Calls calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  bool WaitForCalls(size_t count) {
    return Eventually([&] { return calls().size() >= count; });
  }
  // Every handler call from now on is a late one.
  void Close() { closed_ = true; }
  int late_calls() const { return late_calls_.load(); }

 private:
  static std::string Name(const Json& object) {
    return object["metadata"].value("name", "") + "@" + std::to_string(ResourceVersionOf(object));
  }
  void Record(std::string call) {
    if (closed_) ++late_calls_;
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(std::move(call));
  }

  mutable std::mutex mu_;
  Calls calls_;  // GUARDED_BY(mu_)
  std::atomic<bool> closed_{false};
  std::atomic<int> late_calls_{0};
};

class InformerTest : public ::testing::Test {
 protected:
  // Starts an informer of the pods in namespace "prod".
  void Start(const std::string& label_selector = "") {
    KubeConfig config;
    config.server = server_.url();
    auto client = KubeClient::Create(config, kNoRetry);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(client).value();
    informer_ = std::make_unique<Informer>(client_.get(), PodsResource(), "prod", label_selector,
                                           recorder_.Handler());
    informer_->Start();
  }
  bool WaitForWatches(size_t count) {
    return Eventually([&] { return server_.Watches().size() >= count; });
  }

  // Destroyed in reverse: the informer stops before the client, handler and server go away.
  ScriptedServer server_;
  Recorder recorder_;
  std::unique_ptr<KubeClient> client_;
  std::unique_ptr<Informer> informer_;
};

TEST_F(InformerTest, ListsReplacesSyncsThenWatchesFromTheListVersion) {
  // The list's version (10) is not any item's: the watch must start from the list's.
  server_.OnList(PodList(10, {Pod("a", 5), Pod("b", 7)}));
  Start();
  ASSERT_TRUE(informer_->WaitForSync(steady_clock::now() + 5s));
  EXPECT_TRUE(informer_->synced());
  EXPECT_TRUE(informer_->connected());
  // Synced means the handler has the set already.
  EXPECT_EQ(recorder_.calls(), Calls{"replace a@5 b@7 @10"});

  ASSERT_TRUE(WaitForWatches(1));
  const FakeRequest list = server_.Lists().at(0);
  EXPECT_EQ(list.path, "/api/v1/namespaces/prod/pods");
  EXPECT_EQ(list.Query("labelSelector"), "");
  const FakeRequest watch = server_.Watches().at(0);
  EXPECT_EQ(watch.path, "/api/v1/namespaces/prod/pods");
  EXPECT_EQ(watch.Query("resourceVersion"), "10");
  EXPECT_EQ(watch.Query("allowWatchBookmarks"), "true");
  EXPECT_EQ(watch.Query("labelSelector"), "");
  // Server-side timeouts are spread over [300, 600) seconds.
  const int timeout = std::stoi(watch.Query("timeoutSeconds"));
  EXPECT_GE(timeout, 300);
  EXPECT_LT(timeout, 600);

  // An idle watch is left alone: no relist, no rewatch, no handler call.
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(server_.Lists().size(), 1u);
  EXPECT_EQ(server_.Watches().size(), 1u);
  EXPECT_EQ(recorder_.calls().size(), 1u);
  EXPECT_TRUE(informer_->connected());
}

TEST_F(InformerTest, WaitForSyncIsFalseAtTheDeadlineAndAfterStop) {
  Start();  // every list fails
  const auto start = steady_clock::now();
  EXPECT_FALSE(informer_->WaitForSync(start + 300ms));
  EXPECT_GE(steady_clock::now() - start, 300ms);
  EXPECT_FALSE(informer_->synced());
  EXPECT_FALSE(informer_->connected());

  std::atomic<bool> waited{false};
  std::atomic<bool> result{true};
  std::thread waiter([&] {
    result = informer_->WaitForSync(steady_clock::now() + 30s);
    waited = true;
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(waited.load());
  informer_->Stop();
  // Stop wakes the waiter long before its deadline.
  EXPECT_TRUE(Eventually([&] { return waited.load(); }, 2s));
  waiter.join();
  EXPECT_FALSE(result.load());
  EXPECT_TRUE(recorder_.calls().empty());
}

TEST_F(InformerTest, FailedListsAreRetriedWithBackoffUntilTheFirstSync) {
  // Dropped first, on a fresh connection: curl would silently resend a request whose reused
  // connection dies unanswered.
  server_.OnList(Dropped());
  server_.OnList(FakeResponse::KubeStatus(503, "ServiceUnavailable", "starting"));
  server_.OnList(FakeResponse::KubeStatus(500, "InternalError", "etcd is down"));
  server_.OnList(PodList(10, {Pod("a", 5)}));
  const auto start = steady_clock::now();
  Start();
  ASSERT_TRUE(informer_->WaitForSync(steady_clock::now() + 5s));
  // Waits of 100, 200 and 400 ms between the four lists.
  EXPECT_GE(steady_clock::now() - start, 700ms);
  EXPECT_TRUE(informer_->connected());
  EXPECT_EQ(server_.Lists().size(), 4u);
  EXPECT_EQ(recorder_.calls(), Calls{"replace a@5 @10"});
  ASSERT_TRUE(WaitForWatches(1));
  EXPECT_EQ(server_.Watches()[0].Query("resourceVersion"), "10");
}

TEST_F(InformerTest, EventsReachTheHandlerInOrderAndABookmarkAdvancesTheVersion) {
  server_.OnList(PodList(10, {Pod("a", 5)}));
  FakeResponse stream = Stream(Event("ADDED", Pod("b", 11)) + Event("MODIFIED", Pod("b", 12)));
  stream.chunks.push_back({20ms, Event("DELETED", Pod("a", 13)) + Event("BOOKMARK", Bookmark(20))});
  server_.OnWatch(stream);  // then the server ends the stream normally
  Start();

  ASSERT_TRUE(WaitForWatches(2));
  const std::vector<FakeRequest> watches = server_.Watches();
  EXPECT_EQ(watches[0].Query("resourceVersion"), "10");
  // After the bookmark, not after the last object (13).
  EXPECT_EQ(watches[1].Query("resourceVersion"), "20");
  EXPECT_EQ(server_.Lists().size(), 1u);  // a normal end is no reason to relist
  // The bookmark reaches no handler.
  EXPECT_EQ(recorder_.calls(),
            (Calls{"replace a@5 @10", "upsert b@11", "upsert b@12", "remove a@13"}));
  EXPECT_TRUE(informer_->connected());
}

TEST_F(InformerTest, WatchAnsweredGoneRelistsAndWatchesFromTheNewList) {
  server_.OnList(PodList(10, {Pod("a", 5)}));
  server_.OnWatch(FakeResponse::KubeStatus(410, "Expired", "too old resource version: 10 (25)"));
  server_.OnList(PodList(30, {Pod("b", 25), Pod("c", 28)}));
  Start();

  ASSERT_TRUE(WaitForWatches(2));
  const std::vector<FakeRequest> watches = server_.Watches();
  EXPECT_EQ(watches[0].Query("resourceVersion"), "10");
  EXPECT_EQ(watches[1].Query("resourceVersion"), "30");
  EXPECT_EQ(server_.Lists().size(), 2u);
  // The handler gets the whole new set: "a" is gone from it.
  EXPECT_EQ(recorder_.calls(), (Calls{"replace a@5 @10", "replace b@25 c@28 @30"}));
  EXPECT_TRUE(informer_->connected());
}

TEST_F(InformerTest, GoneAsAnErrorEventInTheStreamRelists) {
  server_.OnList(PodList(10, {Pod("a", 5)}));
  // Held open after the error: the informer must act on the error, not on the stream's end.
  server_.OnWatch(Stream(Event("ADDED", Pod("b", 11)) + Event("ERROR", ExpiredStatus()),
                         /*hold_open=*/true));
  server_.OnList(PodList(30, {Pod("b", 25), Pod("c", 28)}));
  Start();

  ASSERT_TRUE(WaitForWatches(2));
  const std::vector<FakeRequest> watches = server_.Watches();
  EXPECT_EQ(watches[0].Query("resourceVersion"), "10");
  EXPECT_EQ(watches[1].Query("resourceVersion"), "30");
  EXPECT_EQ(server_.Lists().size(), 2u);
  EXPECT_EQ(recorder_.calls(), (Calls{"replace a@5 @10", "upsert b@11", "replace b@25 c@28 @30"}));
}

TEST_F(InformerTest, WatchFailuresDisconnectAndRetryWithBackoffFromTheLastVersionDelivered) {
  server_.OnList(PodList(10, {}));
  server_.OnWatch(Broken(Event("ADDED", Pod("a", 11)) + Event("MODIFIED", Pod("a", 12))));
  // On a fresh connection (the break closed the last one): curl would silently resend a request
  // whose reused connection dies unanswered.
  server_.OnWatch(Dropped());
  server_.OnWatch(FakeResponse::KubeStatus(500, "InternalError", "etcd is down"));
  server_.OnWatch(FakeResponse::KubeStatus(503, "ServiceUnavailable", "restarting"));
  server_.OnWatch(Stream(Event("ADDED", Pod("b", 13)), /*hold_open=*/true));
  Start();
  ASSERT_TRUE(informer_->WaitForSync(steady_clock::now() + 5s));

  ASSERT_TRUE(Eventually([&] { return !informer_->connected(); }));
  ASSERT_TRUE(WaitForWatches(4));
  EXPECT_FALSE(informer_->connected());  // still failing
  ASSERT_TRUE(Eventually([&] { return informer_->connected(); }));

  const std::vector<FakeRequest> watches = server_.Watches();
  ASSERT_EQ(watches.size(), 5u);
  EXPECT_EQ(watches[0].Query("resourceVersion"), "10");
  for (size_t i = 1; i < watches.size(); ++i) {
    EXPECT_EQ(watches[i].Query("resourceVersion"), "12") << "watch " << i;
  }
  // The waits double from 100 ms (events reset them).
  const std::vector<steady_clock::time_point> times = server_.WatchTimes();
  ASSERT_EQ(times.size(), 5u);
  milliseconds wait = 100ms;
  for (size_t i = 1; i < times.size(); ++i, wait *= 2) {
    EXPECT_GE(times[i] - times[i - 1], wait) << "before watch " << i;
  }
  EXPECT_EQ(server_.Lists().size(), 1u);  // a resumable failure is no reason to relist
  ASSERT_TRUE(recorder_.WaitForCalls(4));
  EXPECT_EQ(recorder_.calls(), (Calls{"replace @10", "upsert a@11", "upsert a@12", "upsert b@13"}));
}

TEST_F(InformerTest, ConnectedAgainAfterAWatchThatEndsWithoutEvents) {
  server_.OnList(PodList(10, {}));
  server_.OnWatch(FakeResponse::KubeStatus(500, "InternalError", "etcd is down"));
  // The server's timeout passed with nothing to report: a success all the same.
  server_.OnWatch(Stream(""));
  Start();

  ASSERT_TRUE(WaitForWatches(3));
  EXPECT_TRUE(informer_->connected());
  for (const FakeRequest& watch : server_.Watches()) {
    EXPECT_EQ(watch.Query("resourceVersion"), "10");
  }
  EXPECT_EQ(server_.Lists().size(), 1u);
}

TEST_F(InformerTest, ConnectedAgainOnceAWatchIsAcceptedEvenWithoutEvents) {
  server_.OnList(PodList(10, {}));
  server_.OnWatch(FakeResponse::KubeStatus(500, "InternalError", "etcd is down"));
  // Accepted, then quiet for as long as the test runs.
  server_.OnWatch(Stream("", /*hold_open=*/true));
  Start();
  ASSERT_TRUE(WaitForWatches(2));
  const auto deadline = steady_clock::now() + 3s;
  while (!informer_->connected() && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(informer_->connected()) << "an open, quiet watch is a working connection";
  EXPECT_EQ(recorder_.calls(), (Calls{"replace @10"}));
}

TEST_F(InformerTest, StopEndsAnIdleWatchPromptlyAndNoHandlerCallFollows) {
  server_.OnList(PodList(10, {}));
  FakeResponse stream = Stream(Event("ADDED", Pod("a", 11)), /*hold_open=*/true);
  // The stream goes on long after Stop().
  stream.chunks.push_back({1500ms, Event("ADDED", Pod("b", 12)) + Event("ADDED", Pod("c", 13))});
  server_.OnWatch(stream);
  Start();
  ASSERT_TRUE(recorder_.WaitForCalls(2));
  const auto first_event = steady_clock::now();

  const auto start = steady_clock::now();
  informer_->Stop();
  recorder_.Close();
  EXPECT_LT(steady_clock::now() - start, 1500ms);
  informer_->Stop();  // idempotent

  std::this_thread::sleep_until(first_event + 1800ms);
  EXPECT_EQ(recorder_.late_calls(), 0);
  EXPECT_EQ(recorder_.calls(), (Calls{"replace @10", "upsert a@11"}));
  EXPECT_EQ(server_.Lists().size(), 1u);
  EXPECT_EQ(server_.Watches().size(), 1u);
}

TEST_F(InformerTest, StopEndsABackoffPromptly) {
  Start();  // every list fails
  // Four failures: the informer now waits 1.6 s before the fifth list.
  ASSERT_TRUE(Eventually([&] { return server_.Lists().size() >= 5; }));
  std::this_thread::sleep_for(50ms);
  const auto start = steady_clock::now();
  informer_->Stop();
  recorder_.Close();
  EXPECT_LT(steady_clock::now() - start, 500ms);
  const size_t lists = server_.Lists().size();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(server_.Lists().size(), lists);
  EXPECT_EQ(recorder_.late_calls(), 0);
}

TEST_F(InformerTest, LabelSelectorIsPassedOnListAndWatch) {
  server_.OnList(PodList(10, {}));
  server_.OnWatch(FakeResponse::KubeStatus(410, "Expired", "too old resource version"));
  server_.OnList(PodList(30, {}));
  Start("app=quidditch,role in (data)");

  ASSERT_TRUE(WaitForWatches(2));
  const std::string encoded = "app%3Dquidditch%2Crole%20in%20%28data%29";
  const std::vector<FakeRequest> lists = server_.Lists();
  ASSERT_EQ(lists.size(), 2u);
  for (const FakeRequest& list : lists) EXPECT_EQ(list.Query("labelSelector"), encoded);
  for (const FakeRequest& watch : server_.Watches()) {
    EXPECT_EQ(watch.Query("labelSelector"), encoded);
  }
}

}  // namespace
}  // namespace quidditch::k8s
