#include "coordination/http_server.h"

#include <spdlog/spdlog.h>
#include <zlib.h>

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cassert>
#include <charconv>
#include <exception>
#include <limits>
#include <optional>
#include <utility>

#include "engine/errors.h"

namespace quidditch {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// How long a closing connection may keep sending before we stop draining it. Draining lets
// the peer read our last response instead of getting a reset for its unread bytes.
constexpr std::chrono::milliseconds kLingerTimeout{2000};
// Pause after a failed accept (e.g. out of file descriptors) before accepting again.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

std::string EndpointString(const tcp::endpoint& endpoint) {
  const net::ip::address& address = endpoint.address();
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

// Boost 1.74's beast::string_view is boost::string_view.
std::string_view ToStd(beast::string_view s) { return std::string_view(s.data(), s.size()); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return beast::iequals(beast::string_view(a.data(), a.size()),
                        beast::string_view(b.data(), b.size()));
}

bool HasControlChars(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status RequestError(std::string_view type, std::string_view reason) {
  return Status::InvalidArgument(std::string(type) + ": " + std::string(reason));
}

Status ContentTooLong(size_t max_body_size, std::string_view what) {
  return RequestError("content_too_long_exception",
                      std::string(what) + " is larger than http.max_content_length [" +
                          std::to_string(max_body_size) + " bytes]");
}

using RequestParser = http::request_parser<http::string_body>;

void ConfigureParser(const HttpServerOptions& options, RequestParser* parser) {
  parser->header_limit(static_cast<std::uint32_t>(
      std::min<size_t>(options.max_header_size, std::numeric_limits<std::uint32_t>::max())));
  parser->body_limit(options.max_body_size);
}

// What the client gets for a Beast read error: the error Status of a refused request, or
// nullopt when there is nobody to answer (end of stream, timeout, reset, shutdown).
std::optional<Status> ReadErrorStatus(beast::error_code ec, const HttpServerOptions& options) {
  if (ec == http::error::body_limit) {
    return ContentTooLong(options.max_body_size, "request body");
  }
  if (ec == http::error::header_limit) {
    return RequestError(
        "too_long_frame_exception",
        "HTTP header is larger than " + std::to_string(options.max_header_size) + " bytes.");
  }
  if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
      ec != http::error::end_of_stream && ec != http::error::partial_message &&
      ec != http::error::need_more) {
    // Netty's decoder failures reach OpenSearch clients as illegal_argument_exception.
    return RequestError("illegal_argument_exception", "malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

// The content codings of a request, in the order they were applied: every Content-Encoding
// field, each a comma list, lower-cased, "identity" and empty entries dropped.
std::vector<std::string> ContentCodings(const http::request<http::string_body>& message) {
  std::vector<std::string> codings;
  auto [first, last] = message.equal_range(http::field::content_encoding);
  for (auto field = first; field != last; ++field) {
    std::string_view value = ToStd(field->value());
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string_view::npos) comma = value.size();
      std::string coding(Trim(value.substr(start, comma - start)));
      start = comma + 1;
      for (char& c : coding) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!coding.empty() && coding != "identity") codings.push_back(std::move(coding));
    }
  }
  return codings;
}

bool IsGzip(std::string_view coding) { return coding == "gzip" || coding == "x-gzip"; }
bool IsDeflate(std::string_view coding) { return coding == "deflate" || coding == "x-deflate"; }

// Converts a complete Beast request (its body is moved out) into what Handlers see. This is
// the one conversion shared by the server and ParseHttpRequest.
Result<HttpRequest> ToHttpRequest(http::request<http::string_body>& message,
                                  const HttpServerOptions& options) {
  HttpRequest request;
  request.method_name = std::string(ToStd(message.method_string()));
  request.method = ParseHttpMethod(request.method_name);
  request.version = static_cast<int>(message.version());
  for (const auto& field : message) {
    request.headers.Add(std::string(ToStd(field.name_string())), std::string(ToStd(field.value())));
  }
  request.body = std::move(message.body());
  if (Status status = ParseRequestTarget(ToStd(message.target()), &request); !status.ok()) {
    return RequestError("illegal_argument_exception", status.message());
  }

  // Decode the codings in reverse order of application. Netty decodes only the codings it
  // knows and passes anything else through untouched; so do we, stopping at the first
  // unknown one (what is under it cannot be decoded either).
  std::vector<std::string> codings = ContentCodings(message);
  bool decoded = false;
  for (auto it = codings.rbegin(); it != codings.rend() && !request.body.empty(); ++it) {
    if (!IsGzip(*it) && !IsDeflate(*it)) break;
    QD_ASSIGN_OR_RETURN(request.body, DecompressBody(request.body, *it, options.max_body_size));
    decoded = true;
  }
  if (decoded) {
    request.headers.Remove("Content-Encoding");
    request.headers.Set("Content-Length", std::to_string(request.body.size()));
  }
  return request;
}

// Ends a zlib stream however the function using it returns.
struct InflateGuard {
  z_stream* stream;
  ~InflateGuard() { inflateEnd(stream); }
};
struct DeflateGuard {
  z_stream* stream;
  ~DeflateGuard() { deflateEnd(stream); }
};

// zlib counts in uInt; bodies are fed in pieces no larger than this.
constexpr size_t kMaxZlibChunk = size_t{1} << 30;

// What every session shares with the server. Immutable after Start.
struct ServerContext {
  HttpServerOptions options;
  HttpServer::Handler handler;
};

// One connection. Owned by the completion handlers of its pending operation (there is at
// most one at a time), so it lives exactly as long as it has work. All its handlers run on
// the strand that is the socket's executor.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<const ServerContext> context)
      : stream_(std::move(socket)), context_(std::move(context)) {
    beast::error_code ec;
    tcp::endpoint peer = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_address_ = EndpointString(peer);
    stream_.socket().set_option(tcp::no_delay(true), ec);  // best effort
  }

  void Run() {
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
  }

 private:
  const HttpServerOptions& options() const { return context_->options; }

  void ReadHeader() {
    parser_.emplace();
    ConfigureParser(options(), &*parser_);
    response_coding_ = {};  // an error answered before the next request is read is not encoded
    // One deadline for the whole header block: trickling it in does not extend it.
    stream_.expires_after(options().idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, size_t /*bytes*/) {
    if (ec) return OnReadError(ec);
    if (parser_->is_done()) return HandleRequest();
    const auto& message = parser_->get();
    if (message.version() >= 11 &&
        EqualsIgnoreCase(ToStd(message[http::field::expect]), "100-continue")) {
      continue_.emplace(http::status::continue_, message.version());
      stream_.expires_after(options().idle_timeout);
      http::async_write(stream_, *continue_,
                        beast::bind_front_handler(&Session::OnContinueSent, shared_from_this()));
      return;
    }
    ReadBody();
  }

  void OnContinueSent(beast::error_code ec, size_t /*bytes*/) {
    continue_.reset();
    if (ec) return Close();
    ReadBody();
  }

  // Reads the body piecewise so that the idle timeout bounds the time without progress, not
  // the time a large upload takes.
  void ReadBody() {
    stream_.expires_after(options().idle_timeout);
    http::async_read_some(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&Session::OnBody, shared_from_this()));
  }

  void OnBody(beast::error_code ec, size_t /*bytes*/) {
    if (ec) return OnReadError(ec);
    if (!parser_->is_done()) return ReadBody();
    HandleRequest();
  }

  void OnReadError(beast::error_code ec) {
    std::optional<Status> error = ReadErrorStatus(ec, options());
    // Nobody to answer, or a request we cannot read to its end: close after any answer.
    if (!error) return Close();
    Send(RequestErrorResponse(*error), /*head=*/false, /*keep_alive=*/false);
  }

  void HandleRequest() {
    auto& message = parser_->get();
    bool keep_alive = message.keep_alive();
    bool head = message.method() == http::verb::head;
    response_coding_ = {};

    HttpResponse response;
    Result<HttpRequest> request = ToHttpRequest(message, options());
    if (!request.ok()) {
      // The whole request was read, so the connection can go on.
      response = RequestErrorResponse(request.status());
    } else {
      request->remote_address = remote_address_;
      if (options().compression) {
        if (auto accept = request->headers.Get("Accept-Encoding")) {
          response_coding_ = ChooseResponseEncoding(*accept);
        }
      }
      response = CallHandler(*request);
    }
    if (auto connection = response.headers.Get("Connection");
        connection && EqualsIgnoreCase(*connection, "close")) {
      keep_alive = false;
    }
    Send(std::move(response), head, keep_alive);
  }

  HttpResponse CallHandler(const HttpRequest& request) {
    try {
      return context_->handler(request);
    } catch (const std::exception& e) {
      spdlog::error("HTTP handler failed on {} {}: {}", request.method_name, request.uri, e.what());
      return OpenSearchErrorResponse(500, "exception", e.what());
    } catch (...) {
      spdlog::error("HTTP handler failed on {} {}: unknown exception", request.method_name,
                    request.uri);
      return OpenSearchErrorResponse(500, "exception", "unknown exception");
    }
  }

  void Send(HttpResponse response, bool head, bool keep_alive) {
    unsigned version = parser_ ? parser_->get().version() : 11;
    int status = response.status;
    if (status < 100 || status > 599) status = 500;
    response_ = {};
    response_.version(version);
    response_.result(static_cast<unsigned>(status));
    if (!response.content_type.empty() && !HasControlChars(response.content_type)) {
      response_.set(http::field::content_type, response.content_type);
    }
    for (const auto& [name, value] : response.headers) {
      if (EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Transfer-Encoding") ||
          EqualsIgnoreCase(name, "Connection") || name.empty() || HasControlChars(name) ||
          HasControlChars(value)) {
        continue;
      }
      response_.insert(name, value);
    }
    response_.keep_alive(keep_alive);
    bool bodiless_status = status < 200 || status == 204 || status == 304;
    if (!bodiless_status && !head && response.body.size() > kMinCompressedBodySize) {
      // This body's encoding depends on Accept-Encoding, compressed or not.
      if (response_.find(http::field::vary) == response_.end()) {
        response_.set(http::field::vary, "Accept-Encoding");
      }
      if (!response_coding_.empty() &&
          response_.find(http::field::content_encoding) == response_.end()) {
        Result<std::string> compressed =
            CompressBody(response.body, response_coding_, options().compression_level);
        if (compressed.ok()) {
          response.body = std::move(compressed).value();
          response_.set(http::field::content_encoding,
                        beast::string_view(response_coding_.data(), response_coding_.size()));
        } else {
          spdlog::warn("HTTP response sent uncompressed: {}", compressed.status().ToString());
        }
      }
    }
    if (!bodiless_status) {
      // HEAD gets the Content-Length of the response it would have had.
      response_.content_length(response.body.size());
      if (!head) response_.body() = std::move(response.body);
    }
    serializer_.emplace(response_);
    WriteSome(keep_alive);
  }

  // Writes piecewise so that the idle timeout bounds the time without progress.
  void WriteSome(bool keep_alive) {
    stream_.expires_after(options().idle_timeout);
    http::async_write_some(
        stream_, *serializer_,
        beast::bind_front_handler(&Session::OnWrite, shared_from_this(), keep_alive));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, size_t /*bytes*/) {
    if (ec) return Close();
    if (!serializer_->is_done()) return WriteSome(keep_alive);
    serializer_.reset();
    response_ = {};
    if (!keep_alive) return CloseGracefully();
    ReadHeader();
  }

  // Half-closes, then discards what the peer still sends until it closes or kLingerTimeout.
  void CloseGracefully() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    stream_.expires_after(
        std::min<std::chrono::milliseconds>(options().idle_timeout, kLingerTimeout));
    Drain();
  }

  void Drain() {
    stream_.async_read_some(net::buffer(drain_buffer_),
                            beast::bind_front_handler(&Session::OnDrain, shared_from_this()));
  }

  void OnDrain(beast::error_code ec, size_t /*bytes*/) {
    if (ec) return Close();
    Drain();
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  const std::shared_ptr<const ServerContext> context_;
  std::string remote_address_;
  // Persists across requests: it may already hold the start of the next pipelined request.
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  http::response<http::string_body> response_;
  std::optional<http::serializer<false, http::string_body>> serializer_;
  // The coding of the current response ("gzip", "deflate"; empty: identity), chosen from the
  // request's Accept-Encoding.
  std::string_view response_coding_;
  std::array<char, 4096> drain_buffer_;
};

}  // namespace

struct HttpServer::Impl {
  explicit Impl(std::shared_ptr<const ServerContext> ctx)
      : context(std::move(ctx)), ioc(std::max(1, context->options.threads)) {}

  // Resolves, opens, binds and listens; returns the bound port.
  Result<uint16_t> Listen() {
    const HttpServerOptions& options = context->options;
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(options.bind_address, std::to_string(options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty()) {
      return Status::InvalidArgument("cannot resolve HTTP bind address [" + options.bind_address +
                                     "]: " + (ec ? ec.message() : "no addresses"));
    }
    tcp::endpoint endpoint = results.begin()->endpoint();
    std::string where = EndpointString(endpoint);
    acceptor.open(endpoint.protocol(), ec);
    if (ec) return Status::IOError("cannot open HTTP socket for [" + where + "]: " + ec.message());
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) return Status::IOError("cannot set SO_REUSEADDR on [" + where + "]: " + ec.message());
    acceptor.bind(endpoint, ec);
    if (ec) return Status::IOError("cannot bind HTTP server to [" + where + "]: " + ec.message());
    acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return Status::IOError("cannot listen on [" + where + "]: " + ec.message());
    tcp::endpoint bound = acceptor.local_endpoint(ec);
    if (ec) return Status::IOError("cannot read bound address of [" + where + "]: " + ec.message());
    return bound.port();
  }

  void StartThreads() {
    Accept();
    int n = std::max(1, context->options.threads);
    threads.reserve(n);
    for (int i = 0; i < n; ++i) threads.emplace_back([this] { RunLoop(); });
  }

  void RunLoop() {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("HTTP server thread caught: {}", e.what());
      } catch (...) {
        spdlog::error("HTTP server thread caught an unknown exception");
      }
    }
  }

  // Exactly one accept is pending at a time, so the acceptor needs no strand.
  void Accept() {
    acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
      OnAccept(ec, std::move(socket));
    });
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      spdlog::warn("HTTP accept failed: {}", ec.message());
      retry_timer.expires_after(kAcceptRetryDelay);
      retry_timer.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    std::make_shared<Session>(std::move(socket), context)->Run();
    Accept();
  }

  // Declaration order is destruction order in reverse: the io_context goes last, destroying
  // the pending handlers and with them the sessions and their sockets.
  const std::shared_ptr<const ServerContext> context;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  net::steady_timer retry_timer{ioc};
  std::vector<std::thread> threads;
};

HttpServer::HttpServer(const HttpServerOptions& options, Handler handler)
    : impl_(std::make_unique<Impl>(
          std::make_shared<const ServerContext>(ServerContext{options, std::move(handler)}))) {}

HttpServer::~HttpServer() { Stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      Handler handler) {
  if (!handler) return Status::InvalidArgument("HTTP server needs a handler");
  try {
    std::unique_ptr<HttpServer> server(new HttpServer(options, std::move(handler)));
    QD_ASSIGN_OR_RETURN(server->port_, server->impl_->Listen());
    server->impl_->StartThreads();
    return server;
  } catch (const std::exception& e) {
    // Thread creation and Asio setup report failures by throwing.
    return Status::IOError(std::string("cannot start HTTP server: ") + e.what());
  }
}

void HttpServer::Stop() {
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (!impl_) return;
  impl_->ioc.stop();
  for (std::thread& thread : impl_->threads) {
    assert(thread.get_id() != std::this_thread::get_id() && "Stop called from the Handler");
    if (thread.joinable()) thread.join();
  }
  impl_.reset();
}

Result<HttpRequest> ParseHttpRequest(std::string_view bytes, const HttpServerOptions& options) {
  try {
    RequestParser parser;
    ConfigureParser(options, &parser);
    // The server reads the body as it arrives; here it is all there already.
    parser.eager(true);
    net::const_buffer input(bytes.data(), bytes.size());
    while (!parser.is_done()) {
      beast::error_code ec;
      size_t used = parser.put(input, ec);
      input += used;
      if (parser.is_done()) break;
      if (ec == http::error::need_more || (!ec && used == 0)) {
        if (used > 0 && input.size() > 0) continue;
        // The server would wait for the rest, then time out.
        return RequestError("illegal_argument_exception", "incomplete HTTP request");
      }
      if (ec) {
        if (std::optional<Status> error = ReadErrorStatus(ec, options)) return *error;
        return RequestError("illegal_argument_exception",
                            "malformed HTTP request: " + ec.message());
      }
    }
    return ToHttpRequest(parser.get(), options);
  } catch (const std::exception& e) {
    // Beast reports allocation failures by throwing.
    return Status::Internal(std::string("cannot parse HTTP request: ") + e.what());
  }
}

HttpResponse RequestErrorResponse(const Status& error) {
  auto [type, reason] = engine::SplitEngineError(error);
  if (type.empty()) return OpenSearchErrorResponse(400, "illegal_argument_exception", reason);
  return OpenSearchErrorResponse(type == "content_too_long_exception" ? 413 : 400, type, reason);
}

Result<std::string> DecompressBody(std::string_view body, std::string_view coding,
                                   size_t max_size) {
  std::string lower(coding);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  bool gzip = IsGzip(lower);
  if (!gzip && !IsDeflate(lower)) {
    return Status::InvalidArgument("unsupported content coding [" + std::string(coding) + "]");
  }
  int window_bits = 15 + 16;  // gzip wrapper only
  if (!gzip) {
    // "deflate" means the zlib format (RFC 9110), but some clients send raw deflate; Netty
    // accepts both (ZLIB_OR_NONE), telling them apart by the zlib header check.
    bool zlib_header = body.size() >= 2 && (static_cast<unsigned char>(body[0]) & 0x0f) == 8 &&
                       (static_cast<unsigned char>(body[0]) >> 4) <= 7 &&
                       ((static_cast<unsigned>(static_cast<unsigned char>(body[0])) << 8) |
                        static_cast<unsigned char>(body[1])) %
                               31 ==
                           0;
    window_bits = zlib_header ? 15 : -15;
  }
  auto fail = [&](std::string_view why) {
    return RequestError("illegal_argument_exception", "failed to decompress the [" + lower +
                                                          "] request body: " + std::string(why));
  };

  z_stream stream{};
  if (inflateInit2(&stream, window_bits) != Z_OK) {
    return Status::Internal("zlib inflateInit2 failed");
  }
  InflateGuard guard{&stream};
  std::string out;
  std::array<unsigned char, 16384> buffer;
  size_t fed = 0;  // bytes of `body` handed to zlib so far
  for (;;) {
    if (stream.avail_in == 0 && fed < body.size()) {
      size_t n = std::min(body.size() - fed, kMaxZlibChunk);
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data() + fed));
      stream.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    stream.next_out = buffer.data();
    stream.avail_out = static_cast<uInt>(buffer.size());
    int ret = inflate(&stream, Z_NO_FLUSH);
    size_t produced = buffer.size() - stream.avail_out;
    // Checked before appending: the output never grows past the limit.
    if (produced > max_size - out.size()) {
      return ContentTooLong(max_size, "decompressed request body");
    }
    out.append(reinterpret_cast<const char*>(buffer.data()), produced);
    bool input_left = stream.avail_in > 0 || fed < body.size();
    if (ret == Z_STREAM_END) {
      if (!input_left) return out;
      // Concatenated gzip members decode to the concatenation (RFC 1952, as gunzip does).
      if (!gzip) return fail("unexpected data after the end of the compressed stream");
      if (inflateReset(&stream) != Z_OK) return Status::Internal("zlib inflateReset failed");
      continue;
    }
    if (ret == Z_OK) continue;
    if (ret == Z_BUF_ERROR) {
      if (!input_left && produced == 0) return fail("unexpected end of the compressed stream");
      continue;
    }
    return fail(stream.msg != nullptr ? stream.msg : "zlib error " + std::to_string(ret));
  }
}

Result<std::string> CompressBody(std::string_view body, std::string_view coding, int level) {
  bool gzip = IsGzip(coding);
  if (!gzip && !IsDeflate(coding)) {
    return Status::InvalidArgument("unsupported content coding [" + std::string(coding) + "]");
  }
  z_stream stream{};
  if (deflateInit2(&stream, std::clamp(level, 1, 9), Z_DEFLATED, gzip ? 15 + 16 : 15, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::Internal("zlib deflateInit2 failed");
  }
  DeflateGuard guard{&stream};
  std::string out;
  out.resize(deflateBound(&stream, body.size()) + 64);
  size_t fed = 0;
  for (;;) {
    if (stream.avail_in == 0 && fed < body.size()) {
      size_t n = std::min(body.size() - fed, kMaxZlibChunk);
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data() + fed));
      stream.avail_in = static_cast<uInt>(n);
      fed += n;
    }
    if (stream.total_out == out.size()) out.resize(out.size() * 2);
    size_t room = std::min(out.size() - stream.total_out, kMaxZlibChunk);
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + stream.total_out);
    stream.avail_out = static_cast<uInt>(room);
    bool last = fed == body.size();
    int ret = deflate(&stream, last ? Z_FINISH : Z_NO_FLUSH);
    if (ret == Z_STREAM_END) break;
    if (ret != Z_OK && ret != Z_BUF_ERROR) {
      return Status::Internal("zlib deflate failed: " + std::to_string(ret));
    }
  }
  out.resize(stream.total_out);
  return out;
}

std::string_view ChooseResponseEncoding(std::string_view accept_encoding) {
  // q-values per coding; -1: not named.
  double gzip_q = -1, deflate_q = -1, star_q = -1;
  size_t start = 0;
  while (start <= accept_encoding.size()) {
    size_t comma = accept_encoding.find(',', start);
    if (comma == std::string_view::npos) comma = accept_encoding.size();
    std::string_view item = accept_encoding.substr(start, comma - start);
    start = comma + 1;
    size_t semicolon = item.find(';');
    std::string_view coding = Trim(item.substr(0, semicolon));
    double q = 1.0;
    std::string_view params =
        semicolon == std::string_view::npos ? std::string_view() : item.substr(semicolon + 1);
    while (!params.empty()) {
      size_t next = params.find(';');
      std::string_view param = Trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
        std::string_view value = Trim(param.substr(2));
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), q);
        // An unreadable weight refuses the coding, as Netty treats it.
        if (ec != std::errc() || end != value.data() + value.size() || !(q >= 0)) q = 0;
      }
    }
    if (EqualsIgnoreCase(coding, "gzip") || EqualsIgnoreCase(coding, "x-gzip")) {
      gzip_q = std::max(gzip_q, q);
    } else if (EqualsIgnoreCase(coding, "deflate")) {
      deflate_q = std::max(deflate_q, q);
    } else if (coding == "*") {
      star_q = std::max(star_q, q);
    }
  }
  if (gzip_q < 0) gzip_q = std::max(star_q, 0.0);
  if (deflate_q < 0) deflate_q = std::max(star_q, 0.0);
  if (gzip_q > 0 && gzip_q >= deflate_q) return "gzip";
  if (deflate_q > 0) return "deflate";
  return {};
}

}  // namespace quidditch
