#include "k8s/kube_client.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "common/testing/ports.h"
#include "k8s/testing/fake_api_server.h"

namespace quidditch::k8s {
namespace {

using namespace std::chrono_literals;
using std::chrono::steady_clock;
using testing::FakeApiServer;
using testing::FakeRequest;
using testing::FakeResponse;

// Fast retries, so that retry tests take milliseconds.
constexpr RetryPolicy kFastRetry{4, 5ms, 20ms};

std::unique_ptr<KubeClient> NewClient(const std::string& server, RetryPolicy retry = kFastRetry,
                                      const std::string& token = "t0ken") {
  KubeConfig config;
  config.server = server;
  config.token = token;
  auto client = KubeClient::Create(config, retry);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::move(client).value() : nullptr;
}

Json Pod(const std::string& name, int64_t version) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"name", name}, {"namespace", "prod"}, {"resourceVersion", std::to_string(version)}}}};
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kube_test_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& content) const {
    const std::string file = path_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(file).parent_path());
    std::ofstream(file, std::ios::binary | std::ios::trunc) << content;
    return file;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(KubeResourceTest, PathsNamesAndVersions) {
  EXPECT_EQ(PodsResource().Path("prod", "web-0"), "/api/v1/namespaces/prod/pods/web-0");
  EXPECT_EQ(PodsResource().Path(""), "/api/v1/pods");
  EXPECT_EQ(LeasesResource().Path("prod", "master"),
            "/apis/coordination.k8s.io/v1/namespaces/prod/leases/master");
  EXPECT_EQ(NamespacesResource().Path("ignored", "prod"), "/api/v1/namespaces/prod");
  EXPECT_EQ(EventsResource().Path("prod"), "/api/v1/namespaces/prod/events");
  EXPECT_EQ(PodsResource().Name(), "pods");
  EXPECT_EQ(LeasesResource().Name(), "leases.coordination.k8s.io");
  EXPECT_EQ(ResourceVersionOf(Pod("a", 1234)), 1234);
  EXPECT_EQ(ResourceVersionOf(Json{{"metadata", {{"resourceVersion", "12x"}}}}), 0);
  EXPECT_EQ(ResourceVersionOf(Json::array()), 0);
}

TEST(KubeClientTest, GetSendsTokenAndReturnsObject) {
  FakeApiServer server([](const FakeRequest&) { return FakeResponse::Json(200, Pod("web-0", 7)); });
  auto client = NewClient(server.url());
  auto pod = client->Get(PodsResource(), "prod", "web-0");
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ((*pod)["metadata"]["name"], "web-0");
  ASSERT_EQ(server.requests().size(), 1u);
  const FakeRequest request = server.requests()[0];
  EXPECT_EQ(request.method, "GET");
  EXPECT_EQ(request.path, "/api/v1/namespaces/prod/pods/web-0");
  EXPECT_EQ(request.Header("authorization"), "Bearer t0ken");

  // An empty namespace means the configured default one for calls on one object.
  ASSERT_TRUE(client->Get(PodsResource(), "", "web-0").ok());
  EXPECT_EQ(server.requests()[1].path, "/api/v1/namespaces/default/pods/web-0");
}

TEST(KubeClientTest, MapsApiServerErrors) {
  FakeApiServer server([](const FakeRequest& request) {
    std::string path = request.path;
    if (path.ends_with("/status")) path.resize(path.size() - 7);
    const std::string name = path.substr(path.rfind('/') + 1);
    if (name == "missing")
      return FakeResponse::KubeStatus(404, "NotFound", "pods \"missing\" not found");
    if (name == "stale") {
      return FakeResponse::KubeStatus(409, "Conflict",
                                      "the object has been modified; please apply your changes");
    }
    if (name == "invalid") return FakeResponse::KubeStatus(422, "Invalid", "spec.x: Invalid value");
    if (name == "denied") {
      return FakeResponse::KubeStatus(
          403, "Forbidden", "pods \"denied\" is forbidden: User \"system:serviceaccount:q:q\"");
    }
    if (name == "unauth") return FakeResponse::KubeStatus(401, "Unauthorized", "Unauthorized");
    if (name == "gone") return FakeResponse::KubeStatus(410, "Expired", "too old resource version");
    if (name == "teapot") {
      FakeResponse response;
      response.status = 405;
      response.body = "not json at all";
      return response;
    }
    // POST to the collection: the name exists already.
    return FakeResponse::KubeStatus(409, "AlreadyExists", "pods \"web-0\" already exists");
  });
  auto client = NewClient(server.url());

  Status s = client->Get(PodsResource(), "prod", "missing").status();
  EXPECT_TRUE(s.IsNotFound()) << s;
  EXPECT_EQ(s.message(), "get pods \"missing\" in namespace prod: pods \"missing\" not found");

  s = client->Create(PodsResource(), "prod", Pod("web-0", 0)).status();
  EXPECT_TRUE(s.IsAlreadyExists()) << s;
  EXPECT_NE(s.message().find("already exists"), std::string::npos) << s;

  s = client->Update(PodsResource(), "prod", Pod("stale", 3)).status();
  EXPECT_TRUE(s.IsConflict()) << s;
  EXPECT_NE(s.message().find("update pods \"stale\" in namespace prod"), std::string::npos) << s;

  s = client->Patch(PodsResource(), "prod", "invalid", PatchType::kMerge, {{"spec", {}}}).status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("spec.x: Invalid value"), std::string::npos) << s;

  s = client->Delete(PodsResource(), "prod", "denied").status();
  EXPECT_TRUE(s.IsPermissionDenied()) << s;
  EXPECT_EQ(s.message(),
            "forbidden: delete pods \"denied\" in namespace prod: pods \"denied\" is forbidden: "
            "User \"system:serviceaccount:q:q\"");

  s = client->Patch(LeasesResource(), "q", "unauth", PatchType::kJson, Json::array(), true)
          .status();
  EXPECT_TRUE(s.IsPermissionDenied()) << s;
  EXPECT_EQ(s.message(),
            "unauthorized: patch leases.coordination.k8s.io/status \"unauth\" in namespace q: "
            "Unauthorized");

  s = client->Get(PodsResource(), "prod", "gone").status();
  EXPECT_TRUE(s.IsGone()) << s;

  s = client->Get(PodsResource(), "prod", "teapot").status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("HTTP 405: not json at all"), std::string::npos) << s;
}

TEST(KubeClientTest, WriteRequestsCarryTheRightMethodPathAndBody) {
  FakeApiServer server([](const FakeRequest& request) {
    return FakeResponse::Json(200,
                              request.body.empty() ? Json::object() : Json::parse(request.body));
  });
  auto client = NewClient(server.url());

  ASSERT_TRUE(client->Create(PodsResource(), "prod", Pod("web-0", 0)).ok());
  ASSERT_TRUE(client->Update(PodsResource(), "prod", Pod("web-0", 5)).ok());
  ASSERT_TRUE(client->UpdateStatus(LeasesResource(), "prod", Pod("master", 6)).ok());
  Json json_patch =
      Json::array({{{"op", "test"}, {"path", "/metadata/resourceVersion"}, {"value", "6"}}});
  ASSERT_TRUE(
      client->Patch(PodsResource(), "prod", "web-0", PatchType::kJson, json_patch, true).ok());
  ASSERT_TRUE(client->Patch(PodsResource(), "prod", "web-0", PatchType::kMerge, {{"a", 1}}).ok());
  ASSERT_TRUE(client->Delete(PodsResource(), "prod", "web-0", "42").ok());
  ASSERT_TRUE(client->Delete(NamespacesResource(), "", "prod").ok());
  EXPECT_TRUE(
      client->Update(PodsResource(), "prod", Json{{"spec", {}}}).status().IsInvalidArgument());

  const std::vector<FakeRequest> r = server.requests();
  ASSERT_EQ(r.size(), 7u);
  EXPECT_EQ(r[0].method, "POST");
  EXPECT_EQ(r[0].path, "/api/v1/namespaces/prod/pods");
  EXPECT_FALSE(Json::parse(r[0].body)["metadata"].contains("namespace"));
  EXPECT_EQ(r[0].Header("content-type"), "application/json");
  EXPECT_EQ(r[1].method, "PUT");
  EXPECT_EQ(r[1].path, "/api/v1/namespaces/prod/pods/web-0");
  EXPECT_EQ(Json::parse(r[1].body)["metadata"]["resourceVersion"], "5");
  EXPECT_EQ(r[2].path, "/apis/coordination.k8s.io/v1/namespaces/prod/leases/master/status");
  EXPECT_EQ(r[3].method, "PATCH");
  EXPECT_EQ(r[3].path, "/api/v1/namespaces/prod/pods/web-0/status");
  EXPECT_EQ(r[3].Header("content-type"), "application/json-patch+json");
  EXPECT_EQ(Json::parse(r[3].body), json_patch);
  EXPECT_EQ(r[4].Header("content-type"), "application/merge-patch+json");
  EXPECT_EQ(r[5].method, "DELETE");
  EXPECT_EQ(Json::parse(r[5].body), Json::parse(R"({"kind":"DeleteOptions","apiVersion":"v1",
                            "preconditions":{"resourceVersion":"42"}})"));
  EXPECT_EQ(r[6].path, "/api/v1/namespaces/prod");
  EXPECT_TRUE(r[6].body.empty());
}

TEST(KubeClientTest, RetriesTooManyRequestsHonouringRetryAfter) {
  std::atomic<int> calls{0};
  FakeApiServer server([&](const FakeRequest&) {
    if (calls++ == 0) {
      FakeResponse response = FakeResponse::KubeStatus(429, "TooManyRequests", "slow down");
      response.headers.emplace_back("Retry-After", "1");
      return response;
    }
    return FakeResponse::Json(200, Pod("web-0", 1));
  });
  auto client = NewClient(server.url());
  const auto start = steady_clock::now();
  auto pod = client->Get(PodsResource(), "prod", "web-0");
  const auto elapsed = steady_clock::now() - start;
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ(calls.load(), 2);
  EXPECT_GE(elapsed, 950ms);  // the backoff alone would be 20 ms at most
  EXPECT_LT(elapsed, 3s);
}

TEST(KubeClientTest, RetriesServiceUnavailableThenSucceeds) {
  std::atomic<int> calls{0};
  FakeApiServer server([&](const FakeRequest&) {
    if (calls++ < 2) return FakeResponse::KubeStatus(503, "ServiceUnavailable", "etcd is down");
    return FakeResponse::Json(200, Pod("web-0", 1));
  });
  auto client = NewClient(server.url());
  auto pod = client->Create(PodsResource(), "prod", Pod("web-0", 0));
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ(calls.load(), 3);
}

TEST(KubeClientTest, ExhaustedRetriesAreUnavailableWithTheLastError) {
  std::atomic<int> calls{0};
  FakeApiServer server([&](const FakeRequest&) {
    ++calls;
    return FakeResponse::KubeStatus(503, "ServiceUnavailable", "etcd is down");
  });
  auto client = NewClient(server.url(), RetryPolicy{3, 1ms, 5ms});
  Status s = client->Get(PodsResource(), "prod", "web-0").status();
  EXPECT_TRUE(s.IsUnavailable()) << s;
  EXPECT_NE(s.message().find("HTTP 503: etcd is down"), std::string::npos) << s;
  EXPECT_EQ(calls.load(), 3);

  // A dropped connection is retried the same way.
  calls = 0;
  FakeApiServer dropping([&](const FakeRequest&) {
    ++calls;
    FakeResponse response;
    response.drop = true;
    return response;
  });
  client = NewClient(dropping.url(), RetryPolicy{3, 1ms, 5ms});
  s = client->Get(PodsResource(), "prod", "web-0").status();
  EXPECT_TRUE(s.IsUnavailable()) << s;
  EXPECT_EQ(calls.load(), 3);
}

TEST(KubeClientTest, ConnectionRefusedIsRetriedThenUnavailable) {
  const int port = quidditch::testing::FreeLoopbackPort();
  auto client = NewClient("http://127.0.0.1:" + std::to_string(port), RetryPolicy{3, 1ms, 5ms});
  Status s = client->Get(PodsResource(), "prod", "web-0").status();
  EXPECT_TRUE(s.IsUnavailable()) << s;
  EXPECT_NE(s.message().find("gave up after 3 attempts"), std::string::npos) << s;
}

TEST(KubeClientTest, RetriesStopAtTheDeadline) {
  std::atomic<int> calls{0};
  FakeApiServer server([&](const FakeRequest&) {
    ++calls;
    return FakeResponse::KubeStatus(500, "InternalError", "boom");
  });
  auto client = NewClient(server.url(), RetryPolicy{1000, 20ms, 100ms});
  const auto start = steady_clock::now();
  Status s = client->Get(PodsResource(), "prod", "web-0", start + 500ms).status();
  const auto elapsed = steady_clock::now() - start;
  EXPECT_TRUE(s.IsTimeout()) << s;
  EXPECT_NE(s.message().find("boom"), std::string::npos) << s;
  EXPECT_GT(calls.load(), 2);
  EXPECT_LE(elapsed, 600ms);

  // A server that never answers: the request itself ends at the deadline.
  FakeApiServer silent([](const FakeRequest&) {
    FakeResponse response;
    response.streamed = true;
    response.hold_open = true;
    response.status = 200;
    return response;
  });
  client = NewClient(silent.url());
  s = client->Get(PodsResource(), "prod", "web-0", steady_clock::now() + 300ms).status();
  EXPECT_TRUE(s.IsTimeout()) << s;
}

TEST(KubeClientTest, ListFollowsContinueTokens) {
  FakeApiServer server([](const FakeRequest& request) {
    // Five pods in pages of `limit`; the token is the index of the next item.
    const int limit = std::stoi(request.Query("limit"));
    const int from = request.Query("continue").empty() ? 0 : std::stoi(request.Query("continue"));
    Json list = {
        {"kind", "PodList"}, {"metadata", {{"resourceVersion", "99"}}}, {"items", Json::array()}};
    for (int i = from; i < std::min(from + limit, 5); ++i)
      list["items"].push_back(Pod("p" + std::to_string(i), i));
    if (from + limit < 5) list["metadata"]["continue"] = std::to_string(from + limit);
    return FakeResponse::Json(200, list);
  });
  auto client = NewClient(server.url());
  ListOptions options;
  options.page_size = 2;
  options.label_selector = "app=quidditch,role in (data)";
  auto list = client->List(PodsResource(), "prod", options);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->items.size(), 5u);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(list->items[i]["metadata"]["name"], "p" + std::to_string(i));
  EXPECT_EQ(list->resource_version, "99");
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].path, "/api/v1/namespaces/prod/pods");
  EXPECT_EQ(requests[0].Query("continue"), "");
  EXPECT_EQ(requests[1].Query("continue"), "2");
  EXPECT_EQ(requests[2].Query("continue"), "4");
  EXPECT_EQ(requests[0].Query("labelSelector"), "app%3Dquidditch%2Crole%20in%20%28data%29");
}

TEST(KubeClientTest, ListRestartsOnceWhenItsContinueTokenExpires) {
  std::atomic<int> expiries{1};
  FakeApiServer server([&](const FakeRequest& request) {
    if (!request.Query("continue").empty()) {
      if (expiries-- > 0) return FakeResponse::KubeStatus(410, "Expired", "continue expired");
      return FakeResponse::Json(
          200, {{"metadata", {{"resourceVersion", "20"}}}, {"items", {Pod("b", 2)}}});
    }
    return FakeResponse::Json(200, {{"metadata", {{"resourceVersion", "20"}, {"continue", "x"}}},
                                    {"items", {Pod("a", 1)}}});
  });
  auto client = NewClient(server.url());
  auto list = client->List(PodsResource(), "prod", ListOptions{"", "", 1});
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->items.size(), 2u);  // not 3: the restart dropped the first pass's items
  EXPECT_EQ(server.requests().size(), 4u);

  expiries = 2;  // expires on the restart too: Gone
  Status s = client->List(PodsResource(), "prod", ListOptions{"", "", 1}).status();
  EXPECT_TRUE(s.IsGone()) << s;
  EXPECT_NE(s.message().find("list pods in namespace prod"), std::string::npos) << s;
}

TEST(KubeClientTest, FollowsTokenFileRotation) {
  std::mutex mu;
  std::vector<std::string> seen;
  FakeApiServer server([&](const FakeRequest& request) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(request.Header("authorization"));
    return FakeResponse::Json(200, Json::object());
  });
  TempDir dir;
  const std::string token_file = dir.Write("token", "first-token\n");
  KubeConfig config;
  config.server = server.url();
  config.token_file = token_file;
  auto client = KubeClient::Create(config, kFastRetry);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->Raw("GET", "/version", "").ok());
  // Same length, rewritten in place: the kubelet swaps a symlink instead, but a changed
  // mtime must be enough.
  std::this_thread::sleep_for(20ms);
  dir.Write("token", "secnd-token\n");
  ASSERT_TRUE((*client)->Raw("GET", "/version", "").ok());
  // Mid-rotation the file may vanish: the last token is kept.
  std::filesystem::remove(token_file);
  ASSERT_TRUE((*client)->Raw("GET", "/version", "").ok());
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(seen, (std::vector<std::string>{"Bearer first-token", "Bearer secnd-token",
                                            "Bearer secnd-token"}));

  config.token_file = dir.path() + "/absent";
  Status s = KubeClient::Create(config).status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("absent"), std::string::npos) << s;
}

TEST(KubeClientTest, CreateValidatesTheConfiguration) {
  TempDir dir;
  KubeConfig config;
  config.server = "127.0.0.1:6443";
  EXPECT_TRUE(KubeClient::Create(config).status().IsInvalidArgument());
  config.server = "https://127.0.0.1:6443";
  config.ca_file = dir.path() + "/ca.crt";
  Status s = KubeClient::Create(config).status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("ca.crt"), std::string::npos) << s;
  config.ca_file = dir.Write("ca.crt", "not a certificate");
  s = KubeClient::Create(config).status();
  EXPECT_NE(s.message().find("not a PEM certificate"), std::string::npos) << s;
  config.ca_file.clear();
  config.client_cert_data = "-----BEGIN CERTIFICATE-----\n";
  s = KubeClient::Create(config).status();
  EXPECT_NE(s.message().find("without its key"), std::string::npos) << s;
}

TEST(KubeClientTest, RawReturnsAnyStatus) {
  FakeApiServer server([](const FakeRequest& request) {
    FakeResponse response;
    response.status = request.path == "/readyz" ? 200 : 404;
    response.body = request.method + " " + request.target + " " + request.body;
    return response;
  });
  auto client = NewClient(server.url());
  auto ready = client->Raw("POST", "/readyz?verbose", "{}");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, "POST /readyz?verbose {}");
  auto missing = client->Raw("GET", "/nothing", "");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->status, 404);
}

// A watch event line.
std::string Event(const std::string& type, const Json& object) {
  return Json{{"type", type}, {"object", object}}.dump() + "\n";
}

std::string Names(const std::vector<WatchEvent>& events) {
  std::string names;
  for (const WatchEvent& event : events) {
    names += std::to_string(static_cast<int>(event.type)) + ":" +
             event.object["metadata"].value("name", "") + "@" +
             std::to_string(ResourceVersionOf(event.object)) + " ";
  }
  return names;
}

TEST(KubeWatchTest, ParsesEventsSplitAcrossChunks) {
  const std::string stream =
      Event("ADDED", Pod("a", 11)) + Event("MODIFIED", Pod("a", 12)) +
      Event("BOOKMARK", {{"kind", "Pod"}, {"metadata", {{"resourceVersion", "15"}}}}) +
      Event("DELETED", Pod("a", 16));
  FakeApiServer server([&](const FakeRequest&) {
    FakeResponse response;
    response.streamed = true;
    // Cut mid-line, at a line end, and mid-line again, with pauses between the pieces.
    const size_t eol = stream.find('\n') + 1;
    response.chunks = {{0ms, stream.substr(0, 7)},
                       {30ms, stream.substr(7, eol - 7)},
                       {30ms, stream.substr(eol, 50)},
                       {30ms, stream.substr(eol + 50)}};
    return response;
  });
  auto client = NewClient(server.url());
  std::vector<WatchEvent> events;
  WatchOptions options;
  options.resource_version = "10";
  options.label_selector = "app=q";
  options.timeout = 60s;
  Status s = client->Watch(PodsResource(), "prod", options, [&](const WatchEvent& event) {
    events.push_back(event);
    return true;
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(Names(events), "0:a@11 1:a@12 3:@15 2:a@16 ");
  const FakeRequest request = server.requests().at(0);
  EXPECT_EQ(request.path, "/api/v1/namespaces/prod/pods");
  EXPECT_EQ(request.Query("watch"), "true");
  EXPECT_EQ(request.Query("resourceVersion"), "10");
  EXPECT_EQ(request.Query("allowWatchBookmarks"), "true");
  EXPECT_EQ(request.Query("timeoutSeconds"), "60");
  EXPECT_EQ(request.Query("labelSelector"), "app%3Dq");
}

TEST(KubeWatchTest, TooOldVersionIsGoneInTheStreamOrAsHttp410) {
  FakeApiServer server([](const FakeRequest& request) {
    if (request.Query("resourceVersion") == "1") {
      return FakeResponse::KubeStatus(410, "Expired", "too old resource version: 1 (50)");
    }
    FakeResponse response;
    response.streamed = true;
    response.hold_open = true;  // Watch must stop at the error, not at the end of the stream
    Json status = {{"kind", "Status"},
                   {"status", "Failure"},
                   {"reason", "Expired"},
                   {"message", "too old resource version: 2 (50)"},
                   {"code", 410}};
    if (request.Query("resourceVersion") == "3") {
      status["code"] = 500;
      status["reason"] = "InternalError";
      status["message"] = "etcd watch channel closed";
    }
    response.chunks = {{0ms, Event("ADDED", Pod("a", 60))}, {10ms, Event("ERROR", status)}};
    return response;
  });
  auto client = NewClient(server.url());
  int events = 0;
  auto count = [&](const WatchEvent&) { return ++events, true; };
  Status s = client->Watch(PodsResource(), "prod", WatchOptions{"1"}, count);
  EXPECT_TRUE(s.IsGone()) << s;
  EXPECT_NE(s.message().find("watch pods in namespace prod: too old resource version: 1"),
            std::string::npos)
      << s;
  s = client->Watch(PodsResource(), "prod", WatchOptions{"2"}, count);
  EXPECT_TRUE(s.IsGone()) << s;
  EXPECT_NE(s.message().find("too old resource version: 2"), std::string::npos) << s;
  s = client->Watch(PodsResource(), "prod", WatchOptions{"3"}, count);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(s.IsGone()) << s;
  EXPECT_NE(s.message().find("etcd watch channel closed"), std::string::npos) << s;
  EXPECT_EQ(events, 2);
}

TEST(KubeWatchTest, OnEventFalseStopsTheStream) {
  FakeApiServer server([](const FakeRequest&) {
    FakeResponse response;
    response.streamed = true;
    response.hold_open = true;
    response.chunks = {{0ms, Event("ADDED", Pod("a", 1)) + Event("ADDED", Pod("b", 2)) +
                                 Event("ADDED", Pod("c", 3))}};
    return response;
  });
  auto client = NewClient(server.url());
  std::vector<WatchEvent> events;
  const auto start = steady_clock::now();
  Status s = client->Watch(PodsResource(), "", WatchOptions{}, [&](const WatchEvent& event) {
    events.push_back(event);
    return events.size() < 2;
  });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(Names(events), "0:a@1 0:b@2 ");
  EXPECT_LT(steady_clock::now() - start, 1s);
  EXPECT_EQ(server.requests().at(0).path, "/api/v1/pods");  // all namespaces
}

TEST(KubeWatchTest, CancelStopsAnIdleStreamWithinASecond) {
  FakeApiServer server([](const FakeRequest&) {
    FakeResponse response;
    response.streamed = true;
    response.hold_open = true;
    response.chunks = {{0ms, Event("ADDED", Pod("a", 1))}};
    return response;
  });
  auto client = NewClient(server.url());
  std::atomic<bool> cancel{false};
  steady_clock::time_point cancelled_at;
  std::thread canceller([&] {
    std::this_thread::sleep_for(300ms);
    cancelled_at = steady_clock::now();
    cancel = true;
  });
  int events = 0;
  Status s = client->Watch(
      PodsResource(), "prod", WatchOptions{}, [&](const WatchEvent&) { return ++events, true; },
      &cancel);
  const auto stopped_at = steady_clock::now();
  canceller.join();
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(events, 1);
  EXPECT_LT(stopped_at - cancelled_at, 1500ms);
}

TEST(KubeWatchTest, RetriesBeforeTheStreamStartsButNotAfter) {
  std::atomic<int> calls{0};
  FakeApiServer server([&](const FakeRequest&) {
    if (calls++ == 0) return FakeResponse::KubeStatus(503, "ServiceUnavailable", "starting");
    FakeResponse response;
    response.streamed = true;
    response.chunks = {{0ms, Event("ADDED", Pod("a", 1)) + "{\"type\":\"ADD"}};
    return response;
  });
  auto client = NewClient(server.url());
  int events = 0;
  Status s = client->Watch(PodsResource(), "prod", WatchOptions{},
                           [&](const WatchEvent&) { return ++events, true; });
  // The stream ended inside a line: that last line is not an event.
  EXPECT_TRUE(s.IsCorruption()) << s;
  EXPECT_EQ(events, 1);
  EXPECT_EQ(calls.load(), 2);
}

TEST(KubeConfigTest, InClusterConfigFromServiceAccountFiles) {
  TempDir dir;
  dir.Write("token", "tok\n");
  dir.Write("ca.crt", "PEM");
  dir.Write("namespace", "quidditch\n");
  std::map<std::string, std::string> env = {{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                            {"KUBERNETES_SERVICE_PORT", "443"}};
  auto getenv = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  auto config = InClusterConfig(getenv, dir.path());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->token_file, dir.path() + "/token");  // a file, so rotation is followed
  EXPECT_TRUE(config->token.empty());
  EXPECT_EQ(config->ca_file, dir.path() + "/ca.crt");
  EXPECT_EQ(config->default_namespace, "quidditch");

  env["KUBERNETES_SERVICE_HOST"] = "fd00::1";
  EXPECT_EQ(InClusterConfig(getenv, dir.path())->server, "https://[fd00::1]:443");

  std::filesystem::remove(dir.path() + "/token");
  Status s = InClusterConfig(getenv, dir.path()).status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("service-account token"), std::string::npos) << s;

  env.erase("KUBERNETES_SERVICE_HOST");
  s = InClusterConfig(getenv, dir.path()).status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("KUBERNETES_SERVICE_HOST"), std::string::npos) << s;
}

TEST(KubeConfigTest, LoadsDataAndFileFields) {
  TempDir dir;
  // Base64 with two, one and no padding characters.
  const std::string kubeconfig = R"(
apiVersion: v1
kind: Config
current-context: data
clusters:
- name: c1
  cluster:
    server: https://k8s.example:6443
    certificate-authority-data: Q0EgUEVNCg==
- name: c2
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority: certs/ca.crt
    insecure-skip-tls-verify: true
users:
- name: u1
  user:
    client-certificate-data: Q0VSVCBQRU0=
    client-key-data: S0VZIFBFTSEh
- name: u2
  user:
    client-certificate: /abs/cert.pem
    client-key: certs/key.pem
    tokenFile: token
    token: fixed
contexts:
- name: data
  context: {cluster: c1, user: u1, namespace: search}
- name: files
  context: {cluster: c2, user: u2}
)";
  const std::string path = dir.Write("sub/config", kubeconfig);
  auto config = LoadKubeconfig(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->server, "https://k8s.example:6443");
  EXPECT_EQ(config->ca_data, "CA PEM\n");
  EXPECT_EQ(config->client_cert_data, "CERT PEM");
  EXPECT_EQ(config->client_key_data, "KEY PEM!!");
  EXPECT_EQ(config->default_namespace, "search");
  EXPECT_FALSE(config->insecure_skip_tls_verify);

  config = LoadKubeconfig(path, "files");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->ca_file, dir.path() + "/sub/certs/ca.crt");
  EXPECT_EQ(config->client_cert_file, "/abs/cert.pem");
  EXPECT_EQ(config->client_key_file, dir.path() + "/sub/certs/key.pem");
  EXPECT_EQ(config->token_file, dir.path() + "/sub/token");
  EXPECT_EQ(config->token, "fixed");
  EXPECT_TRUE(config->insecure_skip_tls_verify);
  EXPECT_EQ(config->default_namespace, "default");

  Status s = LoadKubeconfig(path, "nope").status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("no context \"nope\""), std::string::npos) << s;
}

TEST(KubeConfigTest, RejectsExecPluginsAndBadBase64) {
  TempDir dir;
  const std::string path = dir.Write("config", R"(
current-context: eks
clusters: [{name: c, cluster: {server: "https://x", certificate-authority-data: "@@@="}}]
users:
- name: u
  user:
    exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: aws}
contexts: [{name: eks, context: {cluster: c, user: u}}, {name: bad, context: {cluster: c}}]
)");
  Status s = LoadKubeconfig(path).status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("certificate-authority-data is not valid base64"), std::string::npos)
      << s;
  const std::string fixed = dir.Write("config2", R"(
current-context: eks
clusters: [{name: c, cluster: {server: "https://x"}}]
users: [{name: u, user: {exec: {command: aws}}}]
contexts: [{name: eks, context: {cluster: c, user: u}}]
)");
  s = LoadKubeconfig(fixed).status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  EXPECT_NE(s.message().find("user \"u\" authenticates with exec"), std::string::npos) << s;
  s = LoadKubeconfig(dir.Write("config3", "clusters: [unclosed")).status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
}

}  // namespace
}  // namespace quidditch::k8s
