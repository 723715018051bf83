#include "coordination/http_server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cassert>
#include <exception>
#include <limits>
#include <optional>
#include <utility>

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
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(options().max_header_size, std::numeric_limits<std::uint32_t>::max())));
    parser_->body_limit(options().max_body_size);
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
    if (ec == http::error::body_limit) {
      return SendError(413, "content_too_long_exception",
                       "request body is larger than http.max_content_length [" +
                           std::to_string(options().max_body_size) + " bytes]");
    }
    if (ec == http::error::header_limit) {
      return SendError(
          400, "too_long_frame_exception",
          "HTTP header is larger than " + std::to_string(options().max_header_size) + " bytes.");
    }
    if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return SendError(400, "bad_request", "malformed HTTP request: " + ec.message());
    }
    // End of stream, timeout, reset, shutdown: nobody to answer.
    Close();
  }

  void SendError(int status, std::string_view type, std::string_view reason) {
    Send(OpenSearchErrorResponse(status, type, reason), /*head=*/false, /*keep_alive=*/false);
  }

  void HandleRequest() {
    auto& message = parser_->get();
    HttpRequest request;
    request.method_name = std::string(ToStd(message.method_string()));
    request.method = ParseHttpMethod(request.method_name);
    request.version = static_cast<int>(message.version());
    request.remote_address = remote_address_;
    for (const auto& field : message) {
      request.headers.Add(std::string(ToStd(field.name_string())),
                          std::string(ToStd(field.value())));
    }
    request.body = std::move(message.body());
    bool keep_alive = message.keep_alive();
    bool head = request.method == HttpMethod::kHead;

    HttpResponse response;
    Status status = ParseRequestTarget(ToStd(message.target()), &request);
    if (!status.ok()) {
      response = OpenSearchErrorResponse(400, "illegal_argument_exception", status.message());
    } else {
      response = CallHandler(request);
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

}  // namespace quidditch
