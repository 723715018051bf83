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
//   - a compressed body that does not decompress: 400; one that inflates past max_body_size:
//     413 (the decompressed size is what counts, so a small "zip bomb" cannot expand freely);
//   - a Handler that throws: 500 with an OpenSearch error body (the connection survives).
//
// Bodies: Content-Length or chunked (Beast reassembles the chunks). "Content-Encoding: gzip"
// (or x-gzip) and "deflate" (x-deflate; zlib-wrapped or raw) bodies are decompressed before
// the Handler sees them, as OpenSearch's Netty pipeline does; the Handler gets the decoded
// body and no Content-Encoding field. Other codings are passed through untouched, as Netty
// does ("identity" too).
// Responses: when the client accepts gzip or deflate (Accept-Encoding, with q-values), the
// body is compressed if it is larger than kMinCompressedBodySize, with zlib level
// options.compression_level (OpenSearch's http.compression_level, default 3); HEAD responses
// and responses that already carry a Content-Encoding are sent as they are. Responses whose
// body is large enough to be compressed carry "Vary: Accept-Encoding", whether compressed or
// not, so that caches keep the two forms apart.
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
#include <string_view>
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
  // OpenSearch's http.compression: compress responses for clients that accept it.
  bool compression = true;
  // OpenSearch's http.compression_level: zlib level 1 (fastest) to 9; clamped to that range.
  int compression_level = 3;
};

// Responses with bodies up to this size are never compressed: the saving is a few hundred
// bytes at most, and compressing costs more latency than it saves on any real link.
inline constexpr size_t kMinCompressedBodySize = 1024;

// Parses `bytes` as one complete HTTP/1.x request, exactly as the server parses what it
// reads from a connection (same limits, same conversion, same decompression): the request
// line and headers with Beast's parser, the body by Content-Length or chunked, the target
// with ParseRequestTarget, the body decoded per Content-Encoding. Bytes after the request
// (a pipelined next request) are ignored; remote_address is left empty.
// Errors are InvalidArgument with "<opensearch_exception_type>: <reason>" messages
// (engine/errors.h style); RequestErrorResponse turns them into the server's answer.
// Never throws. This is the entry point of the HTTP fuzz target (fuzz/fuzz_rest.cc).
Result<HttpRequest> ParseHttpRequest(std::string_view bytes, const HttpServerOptions& options);

// The response the server sends for a request it refused with `error` (an error of
// ParseHttpRequest): 413 for content_too_long_exception, 400 for everything else, with an
// OpenSearch error body.
HttpResponse RequestErrorResponse(const Status& error);

// Decodes a request body sent with Content-Encoding `coding` ("gzip", "x-gzip", "deflate",
// "x-deflate"; case-insensitive) into at most `max_size` bytes. Concatenated gzip members
// are all decoded. Errors: illegal_argument_exception for data that does not decode (or has
// trailing bytes), content_too_long_exception when the output would exceed `max_size`;
// InvalidArgument "unsupported" for another coding (callers pass those through).
Result<std::string> DecompressBody(std::string_view body, std::string_view coding, size_t max_size);

// Compresses `body` as gzip ("gzip") or zlib ("deflate") at zlib `level`.
Result<std::string> CompressBody(std::string_view body, std::string_view coding, int level);

// The response coding for an Accept-Encoding header value: "gzip" or "deflate" when the
// client accepts one (gzip wins ties of q-value; "*" covers codings not named; q=0 refuses),
// "" for none (identity).
std::string_view ChooseResponseEncoding(std::string_view accept_encoding);

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
