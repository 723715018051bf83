// Status and Result<T>: the one error type of Quidditch.
//
// Every fallible call returns a Status (or a Result<T> that holds either a value or a
// non-OK Status). An OK Status holds no allocation. Codes are domain codes; they are mapped
// to HTTP/OpenSearch error types and gRPC codes only at those edges.
//
// Exceptions thrown by libraries stop at the module boundary that calls the library and are
// turned into a Status there.
#pragma once

#include <cassert>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace quidditch {

enum class StatusCode {
  kOk = 0,
  kNotFound,
  kAlreadyExists,
  kInvalidArgument,
  kConflict,
  kUnavailable,  // includes "not leader": the call may succeed elsewhere or later
  kTimeout,
  kCorruption,
  kIOError,
  kInternal,
  kPermissionDenied,  // the caller's credentials do not allow the call
  kGone,              // what the call asked to resume from is no longer retained
};

// Returns the stable upper-snake name of `code`, e.g. "NOT_FOUND".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // An OK status.
  Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(StatusCode::kNotFound, msg); }
  static Status AlreadyExists(std::string_view msg) {
    return Status(StatusCode::kAlreadyExists, msg);
  }
  static Status InvalidArgument(std::string_view msg) {
    return Status(StatusCode::kInvalidArgument, msg);
  }
  static Status Conflict(std::string_view msg) { return Status(StatusCode::kConflict, msg); }
  static Status Unavailable(std::string_view msg) { return Status(StatusCode::kUnavailable, msg); }
  static Status Timeout(std::string_view msg) { return Status(StatusCode::kTimeout, msg); }
  static Status Corruption(std::string_view msg) { return Status(StatusCode::kCorruption, msg); }
  static Status IOError(std::string_view msg) { return Status(StatusCode::kIOError, msg); }
  static Status Internal(std::string_view msg) { return Status(StatusCode::kInternal, msg); }
  static Status PermissionDenied(std::string_view msg) {
    return Status(StatusCode::kPermissionDenied, msg);
  }
  static Status Gone(std::string_view msg) { return Status(StatusCode::kGone, msg); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  // The message without the code; empty for OK.
  const std::string& message() const;

  bool IsNotFound() const { return code() == StatusCode::kNotFound; }
  bool IsAlreadyExists() const { return code() == StatusCode::kAlreadyExists; }
  bool IsInvalidArgument() const { return code() == StatusCode::kInvalidArgument; }
  bool IsConflict() const { return code() == StatusCode::kConflict; }
  bool IsUnavailable() const { return code() == StatusCode::kUnavailable; }
  bool IsTimeout() const { return code() == StatusCode::kTimeout; }
  bool IsCorruption() const { return code() == StatusCode::kCorruption; }
  bool IsPermissionDenied() const { return code() == StatusCode::kPermissionDenied; }
  bool IsGone() const { return code() == StatusCode::kGone; }

  // "OK" or "<CODE>: <message>".
  std::string ToString() const;

  // Returns a status with the same code and "<prefix>: <message>".
  Status WithPrefix(std::string_view prefix) const;

  // Marks a status as deliberately ignored; searchable, unlike a silent drop.
  void PermitUncheckedError() const {}

  Status(const Status& other) : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}
  Status& operator=(const Status& other) {
    rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  Status(StatusCode code, std::string_view msg)
      : rep_(std::make_unique<Rep>(Rep{code, std::string(msg)})) {}

  std::unique_ptr<Rep> rep_;
};

std::ostream& operator<<(std::ostream& os, const Status& s);

// Holds a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  // REQUIRES: !status.ok()
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  // OK when a value is held.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

  // REQUIRES: ok()
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace quidditch

// Returns early from the enclosing function when `expr` yields a non-OK Status.
#define QD_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::quidditch::Status _qd_status = (expr); \
    if (!_qd_status.ok()) return _qd_status; \
  } while (0)

#define QD_CONCAT_INNER(a, b) a##b
#define QD_CONCAT(a, b) QD_CONCAT_INNER(a, b)

// `QD_ASSIGN_OR_RETURN(auto x, Fn())`: binds the value of a Result or returns its Status.
#define QD_ASSIGN_OR_RETURN(lhs, expr) \
  QD_ASSIGN_OR_RETURN_IMPL(QD_CONCAT(_qd_result_, __LINE__), lhs, expr)
#define QD_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
