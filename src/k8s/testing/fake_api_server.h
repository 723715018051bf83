// FakeApiServer: a scriptable, fault-injecting stand-in for the Kubernetes API server, for
// tests only. Plain HTTP/1.1 on 127.0.0.1; a test's handler answers each request with a
// FakeResponse, which can be an error Status object, a streamed (chunked) body sent piece by
// piece with delays, a stream held open until the server stops or broken midway, or a dropped
// connection.
//
// One thread per connection, blocking I/O (Boost.Asio, requests parsed by Beast). The handler
// runs on those threads, so it must be thread-safe.
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace quidditch::k8s::testing {

struct FakeRequest {
  std::string method;
  std::string target;                          // path and query, as sent
  std::string path;                            // the target without its query
  std::map<std::string, std::string> query;    // raw (still percent-encoded) values
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string Query(const std::string& name) const {
    auto it = query.find(name);
    return it == query.end() ? std::string() : it->second;
  }
  std::string Header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct FakeResponse {
  struct Chunk {
    std::chrono::milliseconds delay{0};  // waited before the chunk is sent
    std::string data;
  };

  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the body is sent chunked: these chunks, each after its delay (`body` unused).
  bool streamed = false;
  std::vector<Chunk> chunks;
  bool hold_open = false;  // a streamed body: after the chunks, send nothing until Stop()
  // A streamed body: after the chunks, close the connection without ending the body.
  bool break_stream = false;
  bool drop = false;  // close the connection without answering

  static FakeResponse Json(int status, const nlohmann::json& body) {
    FakeResponse response;
    response.status = status;
    response.body = body.dump();
    return response;
  }
  // An API-server error: a Status object.
  static FakeResponse KubeStatus(int code, const std::string& reason, const std::string& message) {
    return Json(code, {{"kind", "Status"},
                       {"apiVersion", "v1"},
                       {"status", "Failure"},
                       {"reason", reason},
                       {"message", message},
                       {"code", code}});
  }
};

class FakeApiServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;

  // Listens on 127.0.0.1 on an ephemeral port.
  explicit FakeApiServer(Handler handler)
      : handler_(std::move(handler)),
        acceptor_(io_,
                  boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~FakeApiServer() { Stop(); }
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Every request received so far, in order of arrival.
  std::vector<FakeRequest> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

  // Closes the listener and every connection (held streams end abruptly) and joins the
  // threads. Idempotent.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      stopping_ = true;
      // shutdown(2) wakes threads blocked in accept/read on these sockets.
      ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    cv_.notify_all();
    accept_thread_.join();
    for (std::thread& thread : connection_threads_) thread.join();
  }

 private:
  void AcceptLoop() {
    while (true) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
      if (ec) continue;
      open_fds_.insert(socket.native_handle());
      connection_threads_.emplace_back(
          [this, s = std::move(socket)]() mutable { Serve(std::move(s)); });
    }
  }

  void Serve(boost::asio::ip::tcp::socket socket) {
    namespace http = boost::beast::http;
    boost::system::error_code ec;
    socket.set_option(boost::asio::ip::tcp::no_delay(true), ec);
    boost::beast::flat_buffer buffer;
    while (true) {
      http::request<http::string_body> wire;
      http::read(socket, buffer, wire, ec);
      if (ec) break;
      FakeRequest request;
      request.method = std::string(wire.method_string());
      request.target = std::string(wire.target());
      request.path = request.target.substr(0, request.target.find('?'));
      if (size_t q = request.target.find('?'); q != std::string::npos) {
        std::string rest = request.target.substr(q + 1);
        for (size_t start = 0; start <= rest.size();) {
          size_t end = std::min(rest.find('&', start), rest.size());
          std::string pair = rest.substr(start, end - start);
          size_t eq = pair.find('=');
          request.query[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
          start = end + 1;
        }
      }
      for (const auto& field : wire) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        request.headers[name] = std::string(field.value());
      }
      request.body = wire.body();
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(request);
      }
      const FakeResponse response = handler_(request);
      if (response.drop || !Respond(socket, response)) break;
    }
    std::lock_guard<std::mutex> lock(mu_);
    open_fds_.erase(socket.native_handle());
    socket.close(ec);
  }

  // Writes `response`; false when the connection is done (error, hold_open, break_stream, or
  // stopping).
  bool Respond(boost::asio::ip::tcp::socket& socket, const FakeResponse& response) {
    boost::system::error_code ec;
    std::string head = "HTTP/1.1 " + std::to_string(response.status) + " Fake\r\n";
    head += "Content-Type: application/json\r\n";
    for (const auto& [name, value] : response.headers) head += name + ": " + value + "\r\n";
    if (!response.streamed) {
      head += "Content-Length: " + std::to_string(response.body.size()) + "\r\n\r\n";
      boost::asio::write(socket, boost::asio::buffer(head + response.body), ec);
      return !ec;
    }
    head += "Transfer-Encoding: chunked\r\n\r\n";
    boost::asio::write(socket, boost::asio::buffer(head), ec);
    for (const FakeResponse::Chunk& chunk : response.chunks) {
      if (ec || WaitStopping(chunk.delay)) return false;
      if (chunk.data.empty()) continue;  // an empty chunk would end the body
      char size[32];
      std::snprintf(size, sizeof(size), "%zx\r\n", chunk.data.size());
      boost::asio::write(socket, boost::asio::buffer(size + chunk.data + "\r\n"), ec);
    }
    if (ec || response.break_stream) return false;
    if (response.hold_open) {
      WaitStopping(std::chrono::hours(1));
      return false;
    }
    boost::asio::write(socket, boost::asio::buffer(std::string("0\r\n\r\n")), ec);
    return !ec;
  }

  // Waits `duration` or until Stop(); true when stopping.
  bool WaitStopping(std::chrono::milliseconds duration) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, duration, [this] { return stopping_; });
  }

  const Handler handler_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread accept_thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                        // GUARDED_BY(mu_)
  std::set<int> open_fds_;                       // GUARDED_BY(mu_)
  std::vector<std::thread> connection_threads_;  // GUARDED_BY(mu_) until stopping_
  std::vector<FakeRequest> requests_;            // GUARDED_BY(mu_)
};

}  // namespace quidditch::k8s::testing
