#include "coordination/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "coordination/rest_root.h"

namespace quidditch {
namespace {

using namespace std::chrono_literals;
namespace http = boost::beast::http;

struct ClientResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A blocking HTTP client on a plain socket with poll() timeouts, so a misbehaving server
// fails the test instead of hanging it. Responses are parsed with Beast's parser; bytes past
// one response are kept for the next (pipelining).
class TestClient {
 public:
  explicit TestClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~TestClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one response; `head` tells the parser the response has no body.
  std::optional<ClientResponse> Read(bool head = false, std::chrono::milliseconds timeout = 5s) {
    http::response_parser<http::string_body> parser;
    parser.skip(head);
    parser.eager(true);
    parser.body_limit(1 << 30);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!parser.is_done()) {
      if (!pending_.empty()) {
        boost::beast::error_code ec;
        size_t used = parser.put(boost::asio::buffer(pending_), ec);
        pending_.erase(0, used);
        if (ec && ec != http::error::need_more) return std::nullopt;
        if (parser.is_done()) break;
        if (used > 0 && !ec) continue;
      }
      char buf[4096];
      ssize_t n = Receive(buf, sizeof(buf), deadline);
      if (n <= 0) {
        // EOF may end a body delimited by the close.
        boost::beast::error_code ec;
        if (n == 0 && parser.is_header_done()) parser.put_eof(ec);
        if (parser.is_done() && !ec) break;
        return std::nullopt;
      }
      pending_.append(buf, static_cast<size_t>(n));
    }
    ClientResponse out;
    const auto& message = parser.get();
    out.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string(field.value());
    }
    out.body = message.body();
    return out;
  }

  // True when the server closes the connection (EOF or reset) within `timeout`; bytes that
  // arrive meanwhile are discarded.
  bool WaitClosed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    for (;;) {
      ssize_t n = Receive(buf, sizeof(buf), deadline);
      if (n == 0) return true;
      if (n < 0) return errno != ETIMEDOUT;
    }
  }

 private:
  // recv with a deadline: bytes read, 0 on EOF, -1 with errno ETIMEDOUT or the socket error.
  ssize_t Receive(char* buf, size_t size, std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    pollfd pfd{fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready == 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    if (ready < 0) return -1;
    ssize_t n = ::recv(fd_, buf, size, 0);
    if (n < 0 && errno == ETIMEDOUT) errno = ECONNRESET;
    return n;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string pending_;
};

std::string Get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: localhost\r\n" +
         std::string(extra_headers) + "\r\n";
}

HttpServerOptions TestOptions() {
  HttpServerOptions options;
  options.port = 0;
  options.threads = 2;
  return options;
}

// A server running a Router with the root handlers plus a few test routes.
class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterRootHandlers(
                    NodeIdentity{"node-1", "test-cluster"}, [] { return "uuid-1"; }, &router_)
                    .ok());
    ASSERT_TRUE(router_
                    .Register({HttpMethod::kGet, HttpMethod::kPost}, "/_echo",
                              [](const HttpRequest& request, const PathParams&) {
                                nlohmann::json doc = {{"method", request.method_name},
                                                      {"path", request.path},
                                                      {"params", request.params},
                                                      {"body", request.body}};
                                return HttpResponse::Json(200, doc.dump());
                              },
                              {"i", "q", "third"})
                    .ok());
    ASSERT_TRUE(router_
                    .Register(HttpMethod::kGet, "/_slow/{ms}",
                              [](const HttpRequest& request, const PathParams& params) {
                                std::this_thread::sleep_for(
                                    std::chrono::milliseconds(std::stoi(params.at("ms"))));
                                return HttpResponse::Json(200,
                                                          "{\"path\":\"" + request.path + "\"}");
                              })
                    .ok());
    ASSERT_TRUE(router_
                    .Register(HttpMethod::kGet, "/_throw",
                              [](const HttpRequest&, const PathParams&) -> HttpResponse {
                                throw std::runtime_error("boom");
                              })
                    .ok());
  }

  void StartServer(HttpServerOptions options = TestOptions()) {
    auto server = HttpServer::Start(
        options, [this](const HttpRequest& request) { return router_.Dispatch(request); });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    ASSERT_NE(server_->port(), 0);
  }

  Router router_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, GetRootReturnsOpenSearchDocument) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.Send(Get("/")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("content-type"), "application/json; charset=UTF-8");
  EXPECT_EQ(response->Header("content-length"), std::to_string(response->body.size()));
  auto doc = nlohmann::json::parse(response->body);
  EXPECT_EQ(doc["name"], "node-1");
  EXPECT_EQ(doc["cluster_name"], "test-cluster");
  EXPECT_EQ(doc["cluster_uuid"], "uuid-1");
  EXPECT_EQ(doc["version"]["distribution"], "opensearch");
  EXPECT_EQ(doc["version"]["number"], "2.19.0");
  EXPECT_EQ(doc["version"]["lucene_version"], "9.12.1");
  EXPECT_EQ(doc["version"]["build_snapshot"], false);
  EXPECT_EQ(doc["tagline"], "The OpenSearch Project: https://opensearch.org/");
}

TEST_F(HttpServerTest, HeadRootHasGetHeadersAndNoBody) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send(Get("/")));
  auto get = client.Read();
  ASSERT_TRUE(get);
  ASSERT_TRUE(client.Send("HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto head = client.Read(/*head=*/true);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  EXPECT_EQ(head->Header("content-length"), get->Header("content-length"));
  EXPECT_EQ(head->Header("content-type"), get->Header("content-type"));
  // No stray body bytes: the next response on the connection parses cleanly.
  ASSERT_TRUE(client.Send(Get("/")));
  auto again = client.Read();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, get->body);
}

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  StartServer();
  TestClient client(server_->port());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(client.Send(Get("/_echo?i=" + std::to_string(i))));
    auto response = client.Read();
    ASSERT_TRUE(response) << i;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(nlohmann::json::parse(response->body)["params"]["i"], std::to_string(i));
    EXPECT_NE(response->Header("connection"), "close");
  }
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  TestClient client(server_->port());
  // The first request is the slow one: an out-of-order server would answer /_slow/0 first.
  ASSERT_TRUE(client.Send(Get("/_slow/200") + Get("/_slow/0") + Get("/_echo?third")));
  auto first = client.Read();
  auto second = client.Read();
  auto third = client.Read();
  ASSERT_TRUE(first && second && third);
  EXPECT_EQ(first->body, "{\"path\":\"/_slow/200\"}");
  EXPECT_EQ(second->body, "{\"path\":\"/_slow/0\"}");
  EXPECT_TRUE(nlohmann::json::parse(third->body)["params"].contains("third"));
}

TEST_F(HttpServerTest, ConnectionCloseClosesAfterResponse) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send(Get("/", "Connection: close\r\n")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->Header("connection"), "close");
  EXPECT_TRUE(client.WaitClosed(2s));
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAlive) {
  StartServer();
  {
    TestClient client(server_->port());
    ASSERT_TRUE(client.Send("GET / HTTP/1.0\r\n\r\n"));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(client.WaitClosed(2s));
  }
  {
    TestClient client(server_->port());
    ASSERT_TRUE(client.Send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->Header("connection"), "keep-alive");
    ASSERT_TRUE(client.Send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    EXPECT_TRUE(client.Read());
  }
}

TEST_F(HttpServerTest, UnknownPathIs400WithOpenSearchBody) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send(Get("/foo")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(response->body, R"({"error":"no handler found for uri [/foo] and method [GET]"})");
  EXPECT_EQ(response->Header("content-type"), "application/json; charset=UTF-8");
}

TEST_F(HttpServerTest, WrongMethodIs405WithAllowHeader) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send("DELETE / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 405);
  EXPECT_EQ(response->body, R"({"error":"Incorrect HTTP method for uri [/] and method [DELETE], )"
                            R"(allowed: [GET, HEAD]","status":405})");
  EXPECT_EQ(response->Header("allow"), "GET,HEAD");
}

TEST_F(HttpServerTest, PrettyParameterIndentsJson) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send(Get("/?pretty")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->body.rfind("{\n  \"name\" : \"node-1\",\n  \"cluster_name\" : ", 0), 0u)
      << response->body;
  EXPECT_NE(response->body.find("\n  \"version\" : {\n    \"distribution\" : \"opensearch\","),
            std::string::npos)
      << response->body;
  EXPECT_EQ(response->body.back(), '\n');
  EXPECT_EQ(nlohmann::json::parse(response->body)["name"], "node-1");
  EXPECT_EQ(response->Header("content-length"), std::to_string(response->body.size()));

  ASSERT_TRUE(client.Send(Get("/?pretty=false")));
  auto compact = client.Read();
  ASSERT_TRUE(compact);
  EXPECT_EQ(compact->body.find('\n'), std::string::npos);
}

TEST_F(HttpServerTest, BodyLargerThanLimitIs413) {
  HttpServerOptions options = TestOptions();
  options.max_body_size = 64;
  StartServer(options);
  {
    TestClient client(server_->port());
    std::string body(65, 'x');
    ASSERT_TRUE(
        client.Send("POST /_echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: 65\r\n\r\n" +
                    body));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 413);
    EXPECT_EQ(response->Header("content-type"), "application/json; charset=UTF-8");
    auto doc = nlohmann::json::parse(response->body);
    EXPECT_EQ(doc["status"], 413);
    EXPECT_EQ(doc["error"]["type"], doc["error"]["root_cause"][0]["type"]);
    EXPECT_TRUE(client.WaitClosed(3s));
  }
  {  // Exactly at the limit is fine.
    TestClient client(server_->port());
    std::string body(64, 'y');
    ASSERT_TRUE(
        client.Send("POST /_echo HTTP/1.1\r\nHost: x\r\nContent-Type: "
                    "application/json\r\nContent-Length: 64\r\n\r\n" +
                    body));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(nlohmann::json::parse(response->body)["body"], body);
  }
  {  // Chunked bodies count too.
    TestClient client(server_->port());
    ASSERT_TRUE(
        client.Send("POST /_echo HTTP/1.1\r\nHost: x\r\nContent-Type: "
                    "application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "28\r\n" +
                    std::string(40, 'a') + "\r\n28\r\n" + std::string(40, 'b') + "\r\n0\r\n\r\n"));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 413);
  }
  {  // With Expect: 100-continue the server refuses before the body is sent.
    TestClient client(server_->port());
    ASSERT_TRUE(
        client.Send("POST /_echo HTTP/1.1\r\nHost: x\r\nContent-Type: "
                    "application/json\r\nContent-Length: 1000000\r\n"
                    "Expect: 100-continue\r\n\r\n"));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 413);
  }
}

TEST_F(HttpServerTest, ARoutedBodyWithoutAJsonContentTypeIs406) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send("POST /_echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"));
  auto missing = client.Read();
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 406);
  EXPECT_EQ(nlohmann::json::parse(missing->body),
            nlohmann::json::parse(R"({"error":"Content-Type header is missing","status":406})"));
  ASSERT_TRUE(
      client.Send("POST /_echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                  "Content-Length: 2\r\n\r\n{}"));
  auto text = client.Read();
  ASSERT_TRUE(text);
  EXPECT_EQ(text->status, 406);
  // No body, no check; an unknown route keeps its own answer.
  ASSERT_TRUE(client.Send(Get("/_echo")));
  auto get = client.Read();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
}

TEST_F(HttpServerTest, ChunkedBodyAndExpectContinueAreAccepted) {
  StartServer();
  {
    TestClient client(server_->port());
    ASSERT_TRUE(
        client.Send("POST /_echo HTTP/1.1\r\nHost: x\r\nContent-Type: "
                    "application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(nlohmann::json::parse(response->body)["body"], "hello world");
  }
  {
    TestClient client(server_->port());
    ASSERT_TRUE(client.Send(
        "POST /_echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
        "Expect: 100-continue\r\n\r\n"));
    auto interim = client.Read();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->status, 100);
    ASSERT_TRUE(client.Send("{}"));
    auto response = client.Read();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(nlohmann::json::parse(response->body)["body"], "{}");
  }
}

TEST_F(HttpServerTest, OversizedHeaderIs400) {
  HttpServerOptions options = TestOptions();
  options.max_header_size = 1024;
  StartServer(options);
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send(Get("/", "X-Big: " + std::string(2000, 'h') + "\r\n")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(nlohmann::json::parse(response->body)["error"]["type"], "too_long_frame_exception");
}

TEST_F(HttpServerTest, MalformedRequestIs400) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n"));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
}

TEST_F(HttpServerTest, BadPercentEscapeIs400) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send(Get("/_echo?q=%zz")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 400);
  EXPECT_EQ(nlohmann::json::parse(response->body)["error"]["type"], "illegal_argument_exception");
}

TEST_F(HttpServerTest, QueryAndPathAreDecoded) {
  std::atomic<bool> seen{false};
  HttpRequest captured;
  auto server = HttpServer::Start(TestOptions(), [&](const HttpRequest& request) {
    captured = request;
    seen = true;
    return HttpResponse::Json(200, "{}");
  });
  ASSERT_TRUE(server.ok()) << server.status();
  TestClient client((*server)->port());
  ASSERT_TRUE(client.Send(Get("/my%20index/_doc/a%2Fb+c?q=x+y%26z&flag&X-Y=1", "X-Custom: v\r\n")));
  ASSERT_TRUE(client.Read());
  ASSERT_TRUE(seen);
  EXPECT_EQ(captured.method, HttpMethod::kGet);
  EXPECT_EQ(captured.uri, "/my%20index/_doc/a%2Fb+c?q=x+y%26z&flag&X-Y=1");
  EXPECT_EQ(captured.path, "/my%20index/_doc/a%2Fb+c");
  EXPECT_EQ(captured.path_segments, (std::vector<std::string>{"my index", "_doc", "a/b+c"}));
  EXPECT_EQ(captured.Param("q"), "x y&z");
  EXPECT_TRUE(captured.HasParam("flag"));
  EXPECT_EQ(captured.Param("flag", "absent"), "");
  EXPECT_EQ(captured.Param("X-Y"), "1");
  EXPECT_EQ(captured.headers.Get("x-custom").value_or(""), "v");
  EXPECT_EQ(captured.headers.Get("HOST").value_or(""), "localhost");
  EXPECT_EQ(captured.remote_address.rfind("127.0.0.1:", 0), 0u);
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndConnectionSurvives) {
  auto server = HttpServer::Start(TestOptions(), [](const HttpRequest& request) -> HttpResponse {
    if (request.path == "/throw") throw std::runtime_error("kaboom");
    if (request.path == "/throw-int") throw 42;
    return HttpResponse::Json(200, "{}");
  });
  ASSERT_TRUE(server.ok()) << server.status();
  TestClient client((*server)->port());
  ASSERT_TRUE(client.Send(Get("/throw")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->Header("content-type"), "application/json; charset=UTF-8");
  auto doc = nlohmann::json::parse(response->body);
  EXPECT_EQ(doc["status"], 500);
  EXPECT_EQ(doc["error"]["reason"], "kaboom");
  EXPECT_EQ(doc["error"]["root_cause"][0]["reason"], "kaboom");

  ASSERT_TRUE(client.Send(Get("/throw-int")));
  response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);

  ASSERT_TRUE(client.Send(Get("/fine")));
  response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, RouterHandlerExceptionIs500) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send(Get("/_throw?pretty")));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(nlohmann::json::parse(response->body)["error"]["reason"], "boom");
  EXPECT_NE(response->body.find("\n  \"status\" : 500\n}"), std::string::npos) << response->body;
}

TEST_F(HttpServerTest, IdleClientIsDisconnectedAndDoesNotBlockOthers) {
  HttpServerOptions options = TestOptions();
  options.threads = 1;
  options.idle_timeout = 300ms;
  StartServer(options);
  TestClient idle(server_->port());
  TestClient partial(server_->port());
  ASSERT_TRUE(idle.connected());
  ASSERT_TRUE(partial.Send("GET / HTTP/1.1\r\nHost:"));  // never finishes its header

  auto start = std::chrono::steady_clock::now();
  TestClient active(server_->port());
  ASSERT_TRUE(active.Send(Get("/")));
  auto response = active.Read(false, 2s);
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 250ms);

  EXPECT_TRUE(idle.WaitClosed(3s));
  EXPECT_TRUE(partial.WaitClosed(3s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);

  // The active connection idles out too, but a new one is served.
  TestClient later(server_->port());
  ASSERT_TRUE(later.Send(Get("/")));
  EXPECT_TRUE(later.Read());
}

TEST_F(HttpServerTest, StopWithOpenConnectionsIsPrompt) {
  StartServer();  // default 60 s idle timeout
  TestClient idle(server_->port());
  TestClient partial(server_->port());
  TestClient kept(server_->port());
  ASSERT_TRUE(
      partial.Send("POST /_echo HTTP/1.1\r\nHost: x\r\nContent-Type: "
                   "application/json\r\nContent-Length: 100\r\n\r\nabc"));
  ASSERT_TRUE(kept.Send(Get("/")));
  ASSERT_TRUE(kept.Read());
  std::this_thread::sleep_for(50ms);  // let the server start reading everywhere

  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_TRUE(idle.WaitClosed(1s));
  EXPECT_TRUE(partial.WaitClosed(1s));
  EXPECT_TRUE(kept.WaitClosed(1s));
  server_->Stop();  // idempotent
  server_.reset();  // destructor after Stop
}

TEST_F(HttpServerTest, PortInUseIsAnError) {
  StartServer();
  HttpServerOptions options = TestOptions();
  options.port = server_->port();
  auto second = HttpServer::Start(options, [](const HttpRequest&) { return HttpResponse(); });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kIOError) << second.status();
  EXPECT_NE(second.status().message().find("127.0.0.1:" + std::to_string(server_->port())),
            std::string::npos)
      << second.status();
  EXPECT_NE(second.status().message().find("in use"), std::string::npos) << second.status();
}

TEST_F(HttpServerTest, StartRejectsBadOptions) {
  HttpServerOptions options = TestOptions();
  EXPECT_TRUE(HttpServer::Start(options, nullptr).status().IsInvalidArgument());
  options.bind_address = "192.0.2.1";  // TEST-NET-1: not an address of this host
  auto bad = HttpServer::Start(options, [](const HttpRequest&) { return HttpResponse(); });
  EXPECT_EQ(bad.status().code(), StatusCode::kIOError) << bad.status();
  EXPECT_NE(bad.status().message().find("192.0.2.1"), std::string::npos) << bad.status();
}

TEST_F(HttpServerTest, ServesConcurrentClients) {
  StartServer();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      TestClient client(server_->port());
      for (int i = 0; i < 25; ++i) {
        if (!client.Send(Get("/"))) return;
        auto response = client.Read();
        if (response && response->status == 200) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 100);
}

// A JSON POST to `target` with `headers` and `body`, Content-Length framed.
std::string Post(std::string_view target, std::string_view headers, std::string_view body) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + std::string(headers) +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + std::string(body);
}

std::string Compress(std::string_view body, std::string_view coding) {
  auto compressed = CompressBody(body, coding, 6);
  EXPECT_TRUE(compressed.ok()) << compressed.status();
  return compressed.ok() ? *compressed : std::string();
}

// Raw deflate (no zlib header), as some clients send for "deflate".
std::string RawDeflate(std::string_view body) {
  std::string zlib = Compress(body, "deflate");
  // zlib = 2-byte header + raw deflate + 4-byte Adler-32.
  return zlib.size() > 6 ? zlib.substr(2, zlib.size() - 6) : std::string();
}

std::string EchoedBody(const std::optional<ClientResponse>& response) {
  if (!response || response->status != 200) return "<no 200 response>";
  return nlohmann::json::parse(response->body)["body"].get<std::string>();
}

TEST_F(HttpServerTest, CompressedRequestBodiesAreDecoded) {
  StartServer();
  TestClient client(server_->port());
  const std::string body = R"({"query":{"match":{"title":"gzip body"}}})";
  for (std::string_view coding : {"gzip", "x-gzip", "GZIP", "deflate", "x-deflate"}) {
    std::string lower(coding);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string wire = Compress(body, lower == "x-gzip"      ? "gzip"
                                      : lower == "x-deflate" ? "deflate"
                                                             : lower);
    ASSERT_TRUE(
        client.Send(Post("/_echo", "Content-Encoding: " + std::string(coding) + "\r\n", wire)));
    EXPECT_EQ(EchoedBody(client.Read()), body) << coding;
  }
  // Raw deflate is accepted under "deflate" too, as Netty's ZLIB_OR_NONE does.
  ASSERT_TRUE(client.Send(Post("/_echo", "Content-Encoding: deflate\r\n", RawDeflate(body))));
  EXPECT_EQ(EchoedBody(client.Read()), body);
  // Concatenated gzip members decode to the concatenation.
  ASSERT_TRUE(client.Send(Post("/_echo", "Content-Encoding: gzip\r\n",
                               Compress("ab", "gzip") + Compress("cd", "gzip"))));
  EXPECT_EQ(EchoedBody(client.Read()), "abcd");
  // Stacked codings are undone in reverse order.
  ASSERT_TRUE(client.Send(Post("/_echo", "Content-Encoding: deflate, gzip\r\n",
                               Compress(Compress(body, "deflate"), "gzip"))));
  EXPECT_EQ(EchoedBody(client.Read()), body);
}

TEST_F(HttpServerTest, ChunkedGzipNdjsonBodyIsDecoded) {
  std::atomic<bool> seen{false};
  HttpRequest captured;
  auto server = HttpServer::Start(TestOptions(), [&](const HttpRequest& request) {
    captured = request;
    seen = true;
    return HttpResponse::Json(200, "{}");
  });
  ASSERT_TRUE(server.ok()) << server.status();
  std::string ndjson =
      "{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"f\":1}\n{\"delete\":{\"_index\":\"a\","
      "\"_id\":\"2\"}}\n";
  std::string wire = Compress(ndjson, "gzip");
  // Split the compressed bytes over three chunks of uneven size.
  std::string chunked;
  size_t cut1 = wire.size() / 3, cut2 = wire.size() - 5;
  for (auto [from, to] : {std::pair{size_t{0}, cut1}, {cut1, cut2}, {cut2, wire.size()}}) {
    char size[16];
    std::snprintf(size, sizeof(size), "%zx\r\n", to - from);
    chunked += size + wire.substr(from, to - from) + "\r\n";
  }
  chunked += "0\r\n\r\n";
  TestClient client((*server)->port());
  ASSERT_TRUE(
      client.Send("POST /_bulk HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                  "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  chunked));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  ASSERT_TRUE(seen);
  EXPECT_EQ(captured.body, ndjson);
  // The handler sees the decoded body: no Content-Encoding, and the length it has.
  EXPECT_FALSE(captured.headers.Contains("Content-Encoding"));
  EXPECT_EQ(captured.headers.Get("Content-Length").value_or(""), std::to_string(ndjson.size()));
  EXPECT_FALSE(CheckRequestContentType(captured).has_value());
}

TEST_F(HttpServerTest, CorruptCompressedBodyIs400AndConnectionSurvives) {
  StartServer();
  TestClient client(server_->port());
  std::string wire = Compress(std::string(200, 'z'), "gzip");
  std::string truncated = wire.substr(0, wire.size() / 2);
  std::string garbage = "this is not gzip at all";
  std::string trailing = Compress("{}", "deflate") + "junk";
  for (const auto& [coding, bytes] : {std::pair<std::string, std::string>{"gzip", truncated},
                                      {"gzip", garbage},
                                      {"deflate", trailing}}) {
    ASSERT_TRUE(client.Send(Post("/_echo", "Content-Encoding: " + coding + "\r\n", bytes)));
    auto response = client.Read();
    ASSERT_TRUE(response) << coding;
    EXPECT_EQ(response->status, 400) << coding << ": " << response->body;
    auto doc = nlohmann::json::parse(response->body);
    EXPECT_EQ(doc["error"]["type"], "illegal_argument_exception");
    EXPECT_NE(doc["error"]["reason"].get<std::string>().find("failed to decompress the [" + coding),
              std::string::npos)
        << response->body;
  }
  ASSERT_TRUE(client.Send(Get("/")));
  auto after = client.Read();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

TEST_F(HttpServerTest, DecompressionBombIs413) {
  HttpServerOptions options = TestOptions();
  options.max_body_size = 64 << 10;
  StartServer(options);
  TestClient client(server_->port());
  // 10 MB of zeros compress to about 10 KB: well under the limit on the wire, 160 times over
  // it inflated.
  std::string bomb = Compress(std::string(10 << 20, '\0'), "gzip");
  ASSERT_LT(bomb.size(), options.max_body_size);
  ASSERT_TRUE(client.Send(Post("/_echo", "Content-Encoding: gzip\r\n", bomb)));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 413);
  auto doc = nlohmann::json::parse(response->body);
  EXPECT_EQ(doc["error"]["type"], "content_too_long_exception");
  EXPECT_EQ(doc["status"], 413);
  // Exactly at the limit inflated is fine.
  std::string at_limit(options.max_body_size, 'a');
  ASSERT_TRUE(
      client.Send(Post("/_echo", "Content-Encoding: gzip\r\n", Compress(at_limit, "gzip"))));
  EXPECT_EQ(EchoedBody(client.Read()), at_limit);
}

TEST_F(HttpServerTest, UnknownContentEncodingIsPassedThrough) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send(Post("/_echo", "Content-Encoding: br\r\n", "raw bytes")));
  EXPECT_EQ(EchoedBody(client.Read()), "raw bytes");
  ASSERT_TRUE(client.Send(Post("/_echo", "Content-Encoding: identity\r\n", "plain")));
  EXPECT_EQ(EchoedBody(client.Read()), "plain");
}

TEST_F(HttpServerTest, LargeResponsesAreCompressedForClientsThatAcceptIt) {
  StartServer();
  TestClient client(server_->port());
  const std::string big(4000, 'q');  // echoed back in a JSON body well over 1 KiB
  ASSERT_TRUE(client.Send(Post("/_echo", "", big)));
  auto plain = client.Read();
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->Header("content-encoding"), "");
  EXPECT_EQ(plain->Header("vary"), "Accept-Encoding");
  EXPECT_EQ(EchoedBody(plain), big);

  for (const auto& [accept, expected] :
       std::vector<std::pair<std::string, std::string>>{{"gzip", "gzip"},
                                                        {"gzip, deflate, br, zstd", "gzip"},
                                                        {"deflate", "deflate"},
                                                        {"deflate;q=1, gzip;q=0.5", "deflate"},
                                                        {"*", "gzip"},
                                                        {"gzip;q=0, *;q=0.1", "deflate"},
                                                        {"br", ""},
                                                        {"gzip;q=0", ""}}) {
    ASSERT_TRUE(client.Send(Post("/_echo", "Accept-Encoding: " + accept + "\r\n", big)));
    auto response = client.Read();
    ASSERT_TRUE(response) << accept;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->Header("content-encoding"), expected) << accept;
    EXPECT_EQ(response->Header("vary"), "Accept-Encoding") << accept;
    EXPECT_EQ(response->Header("content-type"), "application/json; charset=UTF-8");
    EXPECT_EQ(response->Header("content-length"), std::to_string(response->body.size()));
    std::string decoded = response->body;
    if (!expected.empty()) {
      EXPECT_LT(response->body.size(), plain->body.size() / 4) << accept;
      auto inflated = DecompressBody(response->body, expected, 1 << 20);
      ASSERT_TRUE(inflated.ok()) << inflated.status();
      decoded = *inflated;
    }
    EXPECT_EQ(decoded, plain->body) << accept;
  }
}

TEST_F(HttpServerTest, SmallAndHeadResponsesAreNotCompressed) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_TRUE(client.Send(Get("/", "Accept-Encoding: gzip\r\n")));
  auto small = client.Read();
  ASSERT_TRUE(small);
  EXPECT_LE(small->body.size(), kMinCompressedBodySize);
  EXPECT_EQ(small->Header("content-encoding"), "");
  EXPECT_EQ(small->Header("vary"), "");
  EXPECT_EQ(nlohmann::json::parse(small->body)["name"], "node-1");
  // A pretty root document is still small; an error response too.
  ASSERT_TRUE(client.Send(Get("/nope", "Accept-Encoding: gzip\r\n")));
  auto error = client.Read();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->status, 400);
  EXPECT_EQ(error->Header("content-encoding"), "");
}

TEST_F(HttpServerTest, CompressionCanBeTurnedOff) {
  HttpServerOptions options = TestOptions();
  options.compression = false;
  StartServer(options);
  TestClient client(server_->port());
  const std::string big(4000, 'q');
  ASSERT_TRUE(client.Send(Post("/_echo", "Accept-Encoding: gzip\r\n", big)));
  auto response = client.Read();
  ASSERT_TRUE(response);
  EXPECT_EQ(response->Header("content-encoding"), "");
  EXPECT_EQ(EchoedBody(response), big);
}

TEST(ParseHttpRequestTest, MatchesWhatTheServerHandsTheHandler) {
  HttpServerOptions options;
  auto request = ParseHttpRequest(
      "PUT /my%20index/_doc/1?refresh=true&pretty HTTP/1.1\r\nHost: h\r\n"
      "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}GET / HTTP/1.1\r\n",
      options);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->method, HttpMethod::kPut);
  EXPECT_EQ(request->method_name, "PUT");
  EXPECT_EQ(request->version, 11);
  EXPECT_EQ(request->path_segments, (std::vector<std::string>{"my index", "_doc", "1"}));
  EXPECT_EQ(request->Param("refresh"), "true");
  EXPECT_TRUE(request->HasParam("pretty"));
  EXPECT_EQ(request->body, "{\"a\":1}");  // the pipelined request after it is not included
  EXPECT_EQ(request->headers.Get("content-type").value_or(""), "application/json");
  EXPECT_EQ(request->remote_address, "");

  auto chunked = ParseHttpRequest(
      "POST /_bulk HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
      options);
  ASSERT_TRUE(chunked.ok()) << chunked.status();
  EXPECT_EQ(chunked->body, "abcde");

  std::string gz = CompressBody("{\"q\":1}", "gzip", 3).value();
  auto gzipped = ParseHttpRequest(
      "POST /_search HTTP/1.1\r\nContent-Encoding: gzip\r\n"
      "Content-Length: " +
          std::to_string(gz.size()) + "\r\n\r\n" + gz,
      options);
  ASSERT_TRUE(gzipped.ok()) << gzipped.status();
  EXPECT_EQ(gzipped->body, "{\"q\":1}");
}

TEST(ParseHttpRequestTest, RefusalsMapToTheServersAnswers) {
  HttpServerOptions options;
  options.max_body_size = 10;
  options.max_header_size = 200;
  auto status_of = [&](std::string_view bytes) {
    auto request = ParseHttpRequest(bytes, options);
    EXPECT_FALSE(request.ok()) << bytes;
    return request.ok() ? 200 : RequestErrorResponse(request.status()).status;
  };
  auto type_of = [&](std::string_view bytes) {
    auto request = ParseHttpRequest(bytes, options);
    if (request.ok()) return std::string("<ok>");
    return nlohmann::json::parse(RequestErrorResponse(request.status()).body)["error"]["type"]
        .get<std::string>();
  };
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n01234567890"), 413);
  EXPECT_EQ(type_of("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n01234567890"),
            "content_too_long_exception");
  std::string bomb = CompressBody(std::string(100, 'x'), "gzip", 9).value();
  ASSERT_LE(bomb.size(), 64u);
  options.max_body_size = 64;
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: " +
                      std::to_string(bomb.size()) + "\r\n\r\n" + bomb),
            413);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nX: " + std::string(300, 'x') + "\r\n\r\n"), 400);
  EXPECT_EQ(type_of("GET / HTTP/1.1\r\nX: " + std::string(300, 'x') + "\r\n\r\n"),
            "too_long_frame_exception");
  EXPECT_EQ(type_of("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"), "illegal_argument_exception");
  EXPECT_EQ(type_of("GET /%zz HTTP/1.1\r\n\r\n"), "illegal_argument_exception");
  EXPECT_EQ(type_of("GET / HTTP/1.1\r\nHost: x\r\n"), "illegal_argument_exception");  // cut off
  EXPECT_EQ(type_of(""), "illegal_argument_exception");
  EXPECT_EQ(type_of("\x16\x03\x01\x02\x00"), "illegal_argument_exception");  // a TLS hello
}

TEST(HttpEncodingTest, ChooseResponseEncoding) {
  EXPECT_EQ(ChooseResponseEncoding(""), "");
  EXPECT_EQ(ChooseResponseEncoding("identity"), "");
  EXPECT_EQ(ChooseResponseEncoding("gzip"), "gzip");
  EXPECT_EQ(ChooseResponseEncoding("GZip;Q=0.2"), "gzip");
  EXPECT_EQ(ChooseResponseEncoding("x-gzip"), "gzip");
  EXPECT_EQ(ChooseResponseEncoding("deflate, gzip"), "gzip");  // ties go to gzip
  EXPECT_EQ(ChooseResponseEncoding("gzip;q=0.4, deflate;q=0.5"), "deflate");
  EXPECT_EQ(ChooseResponseEncoding("*;q=0.3"), "gzip");
  EXPECT_EQ(ChooseResponseEncoding("gzip;q=0, deflate;q=0"), "");
  EXPECT_EQ(ChooseResponseEncoding("gzip;q=bogus"), "");
  EXPECT_EQ(ChooseResponseEncoding("gzip;q=-1"), "");
  EXPECT_EQ(ChooseResponseEncoding(" br , zstd ;q=1"), "");
  EXPECT_EQ(ChooseResponseEncoding(",,;;q=,gzip;level=1;q=1"), "gzip");
}

TEST(HttpEncodingTest, CompressAndDecompressRoundTrip) {
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "line " + std::to_string(i) + "\n";
  for (std::string_view coding : {"gzip", "deflate"}) {
    for (int level : {0, 1, 3, 9, 42}) {  // out-of-range levels are clamped
      auto compressed = CompressBody(text, coding, level);
      ASSERT_TRUE(compressed.ok()) << compressed.status();
      EXPECT_LT(compressed->size(), text.size() / 3);
      EXPECT_EQ(DecompressBody(*compressed, coding, text.size()).value(), text);
      // One byte short of the decoded size is refused, not truncated.
      auto short_limit = DecompressBody(*compressed, coding, text.size() - 1);
      ASSERT_FALSE(short_limit.ok());
      EXPECT_EQ(RequestErrorResponse(short_limit.status()).status, 413);
    }
    EXPECT_EQ(DecompressBody(CompressBody("", coding, 3).value(), coding, 0).value(), "");
  }
  EXPECT_TRUE(CompressBody("x", "br", 3).status().IsInvalidArgument());
  EXPECT_TRUE(DecompressBody("x", "br", 10).status().IsInvalidArgument());
}

TEST(HttpTypesTest, RequestContentTypes) {
  EXPECT_TRUE(IsJsonRequestContentType("application/json"));
  EXPECT_TRUE(IsJsonRequestContentType("application/x-ndjson"));
  EXPECT_TRUE(IsJsonRequestContentType("Application/X-NDJSON; charset=UTF-8"));
  EXPECT_FALSE(IsJsonRequestContentType("application/x-ndjsonx"));
  EXPECT_FALSE(IsJsonRequestContentType("text/plain"));

  HttpRequest request;
  EXPECT_FALSE(CheckRequestContentType(request).has_value());  // no body: not checked
  request.body = "{}";
  auto missing = CheckRequestContentType(request);
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 406);
  EXPECT_EQ(missing->body, R"({"error":"Content-Type header is missing","status":406})");
  request.headers.Set("Content-Type", "application/x-ndjson");
  EXPECT_FALSE(CheckRequestContentType(request).has_value());
  request.headers.Set("Content-Type", "application/json; charset=UTF-8");
  EXPECT_FALSE(CheckRequestContentType(request).has_value());
  request.headers.Set("Content-Type", "text/plain");
  auto text = CheckRequestContentType(request);
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(text->status, 406);
  EXPECT_EQ(text->body,
            R"({"error":"Content-Type header [text/plain] is not supported","status":406})");
  request.headers.Set("Content-Type", "json");
  auto malformed = CheckRequestContentType(request);
  ASSERT_TRUE(malformed.has_value());
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(nlohmann::json::parse(malformed->body)["error"]["type"],
            "content_type_header_exception");
  request.headers.Set("Content-Type", "application/json");
  request.headers.Add("content-type", "application/json");
  auto twice = CheckRequestContentType(request);
  ASSERT_TRUE(twice.has_value());
  EXPECT_EQ(twice->status, 400);
}

TEST(HttpTypesTest, HeadersAreCaseInsensitive) {
  HttpHeaders headers;
  headers.Add("Content-Type", "a");
  headers.Add("X-Multi", "1");
  headers.Add("x-multi", "2");
  EXPECT_EQ(headers.Get("content-type").value_or(""), "a");
  EXPECT_EQ(headers.Get("X-MULTI").value_or(""), "1");
  EXPECT_FALSE(headers.Get("missing").has_value());
  headers.Set("X-MULTI", "3");
  EXPECT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers.Get("x-multi").value_or(""), "3");
  EXPECT_EQ(headers.Remove("CONTENT-TYPE"), 1u);
  EXPECT_FALSE(headers.Contains("Content-Type"));
}

TEST(HttpTypesTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%20b+c", true).value(), "a b c");
  EXPECT_EQ(PercentDecode("a%20b+c", false).value(), "a b+c");
  EXPECT_EQ(PercentDecode("%C3%A9", false).value(), "\xC3\xA9");
  EXPECT_TRUE(PercentDecode("%", false).status().IsInvalidArgument());
  EXPECT_TRUE(PercentDecode("ab%2", false).status().IsInvalidArgument());
  EXPECT_TRUE(PercentDecode("%g0", false).status().IsInvalidArgument());
}

TEST(HttpTypesTest, ParseRequestTarget) {
  HttpRequest request;
  ASSERT_TRUE(ParseRequestTarget("//a//b/?x=1&x=2&&y=&z", &request).ok());
  EXPECT_EQ(request.path, "//a//b/");
  EXPECT_EQ(request.path_segments, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(request.Param("x"), "2");  // last wins
  EXPECT_EQ(request.Param("y", "-"), "");
  EXPECT_EQ(request.Param("z", "-"), "");
  EXPECT_EQ(request.params.size(), 3u);
  ASSERT_TRUE(ParseRequestTarget("/", &request).ok());
  EXPECT_TRUE(request.path_segments.empty());
  EXPECT_TRUE(request.params.empty());
  EXPECT_TRUE(ParseRequestTarget("/a%2", &request).IsInvalidArgument());
}

TEST(HttpTypesTest, MethodsAndContentTypes) {
  EXPECT_EQ(ParseHttpMethod("DELETE"), HttpMethod::kDelete);
  EXPECT_EQ(ParseHttpMethod("get"), HttpMethod::kOther);
  EXPECT_EQ(HttpMethodName(HttpMethod::kHead), "HEAD");
  EXPECT_TRUE(IsJsonContentType("application/json"));
  EXPECT_TRUE(IsJsonContentType("Application/JSON; charset=UTF-8"));
  EXPECT_FALSE(IsJsonContentType("application/jsonx"));
  EXPECT_FALSE(IsJsonContentType("text/plain"));
}

TEST(HttpTypesTest, OpenSearchErrorBody) {
  EXPECT_EQ(
      OpenSearchErrorBody("illegal_argument_exception", "bad \"x\"", 400),
      R"({"error":{"root_cause":[{"type":"illegal_argument_exception","reason":"bad \"x\""}],)"
      R"("type":"illegal_argument_exception","reason":"bad \"x\""},"status":400})");
  HttpResponse response = OpenSearchErrorResponse(413, "t", "r");
  EXPECT_EQ(response.status, 413);
  EXPECT_EQ(response.content_type, kJsonContentType);
  // Invalid UTF-8 in a reason does not throw.
  EXPECT_FALSE(OpenSearchErrorBody("t", "\xff", 500).empty());
}

}  // namespace
}  // namespace quidditch
