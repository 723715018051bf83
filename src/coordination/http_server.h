// HttpServer: the HTTP/1.1 listener of the REST API, on Boost.Beast and Asio.
//
// The server accepts connections on one address and port and runs a fixed pool of threads
// over one io_context. Each connection is an asynchronous session that reads one request,
// passes it to the Handler, writes the response, and only then reads the next request, so
// pipelined requests are answered in order. Keep-alive follows HTTP (on by default for
// HTTP/1.1, off for HTTP/1.0 unless "Connection: keep-alive", off after "Connection: close").
//
// The server itself answers, without calling the Handler:
//   - a body larger than max_body_size: 413 with an OpenSearch error body, then closes;
//   - a header block larger than max_header_size: 400 (too_long_frame_exception), closes;
//   - a malformed request or percent-escape: 400 with an OpenSearch error body;
//   - a Handler that throws: 500 with an OpenSearch error body (the connection survives).
// "Expect: 100-continue" is answered with "100 Continue" (or 413 when the declared body is
// too large). A HEAD response carries the headers, including the Content-Length, of the
// Handler's response but no body. A connection with no complete request (or no progress
// writing a response) for idle_timeout is closed, so slow or dead clients cannot pin threads.
//
// Boost errors and exceptions never leave this module: they become a Status or a response.
//
// Thread safety: Start, port and Stop may be called from any thread; Stop must not be called
// from inside the Handler (it waits for the server threads, one of which runs the Handler).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "coordination/http_types.h"

namespace quidditch {

struct HttpServerOptions {
  // An IP address or a resolvable host name; the first address it resolves to is used.
  std::string bind_address = "127.0.0.1";
  // 0 picks an ephemeral port; HttpServer::port() reports the one bound.
  uint16_t port = 9200;
  // Server threads; values below 1 mean 1.
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // OpenSearch's http.max_content_length.
  size_t max_body_size = size_t{100} << 20;
  // OpenSearch's http.max_header_size: request line plus header fields.
  size_t max_header_size = size_t{16} << 10;
  // How long a connection may go without completing a request read or a response write.
  std::chrono::milliseconds idle_timeout{60000};
};

class HttpServer {
 public:
  // Maps a request to its response. Called concurrently from the server threads, so it must
  // be thread-safe; it runs on a server thread, so a slow Handler delays other connections
  // served by that thread. Exceptions it throws are caught and answered with a 500.
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Binds, listens and starts the threads. Returns IOError naming the address and the OS
  // reason when the address cannot be bound (e.g. the port is in use), InvalidArgument when
  // bind_address does not resolve or handler is empty.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                   Handler handler);

  // Calls Stop().
  ~HttpServer();

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The port actually bound (useful with options.port == 0). Valid after Stop too.
  uint16_t port() const { return port_; }

  // Closes the listener and every connection without waiting for clients, and joins the
  // threads; waits only for Handler calls already running. Idempotent.
  void Stop();

 private:
  struct Impl;

  HttpServer(const HttpServerOptions& options, Handler handler);

  std::mutex stop_mu_;  // serializes Stop
  uint16_t port_ = 0;
  std::unique_ptr<Impl> impl_;  // null once stopped
};

}  // namespace quidditch
