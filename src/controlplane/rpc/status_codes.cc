#include "controlplane/rpc/status_codes.h"

#include <fmt/format.h>

namespace quidditch::controlplane::rpc {

namespace {

// The proto enum mirrors StatusCode one to one, so the conversion is a cast.
#define QD_SAME_CODE(status_code, proto_code)                                        \
  static_assert(static_cast<int>(StatusCode::status_code) == api::Error::proto_code, \
                "api::Error::" #proto_code " must equal StatusCode::" #status_code)
QD_SAME_CODE(kOk, OK);
QD_SAME_CODE(kNotFound, NOT_FOUND);
QD_SAME_CODE(kAlreadyExists, ALREADY_EXISTS);
QD_SAME_CODE(kInvalidArgument, INVALID_ARGUMENT);
QD_SAME_CODE(kConflict, CONFLICT);
QD_SAME_CODE(kUnavailable, UNAVAILABLE);
QD_SAME_CODE(kTimeout, TIMEOUT);
QD_SAME_CODE(kCorruption, CORRUPTION);
QD_SAME_CODE(kIOError, IO_ERROR);
QD_SAME_CODE(kInternal, INTERNAL);
QD_SAME_CODE(kPermissionDenied, PERMISSION_DENIED);
QD_SAME_CODE(kGone, GONE);
#undef QD_SAME_CODE
static_assert(api::Error::Code_MAX == static_cast<int>(StatusCode::kGone),
              "every api::Error code has a StatusCode");

Status MakeStatus(StatusCode code, std::string_view msg) {
  switch (code) {
    case StatusCode::kOk:
      return Status::OK();
    case StatusCode::kNotFound:
      return Status::NotFound(msg);
    case StatusCode::kAlreadyExists:
      return Status::AlreadyExists(msg);
    case StatusCode::kInvalidArgument:
      return Status::InvalidArgument(msg);
    case StatusCode::kConflict:
      return Status::Conflict(msg);
    case StatusCode::kUnavailable:
      return Status::Unavailable(msg);
    case StatusCode::kTimeout:
      return Status::Timeout(msg);
    case StatusCode::kCorruption:
      return Status::Corruption(msg);
    case StatusCode::kIOError:
      return Status::IOError(msg);
    case StatusCode::kInternal:
      return Status::Internal(msg);
    case StatusCode::kPermissionDenied:
      return Status::PermissionDenied(msg);
    case StatusCode::kGone:
      return Status::Gone(msg);
  }
  return Status::Internal(msg);
}

}  // namespace

api::Error::Code ToProtoCode(StatusCode code) { return static_cast<api::Error::Code>(code); }

StatusCode FromProtoCode(int code) {
  if (!api::Error::Code_IsValid(code)) return StatusCode::kInternal;
  return static_cast<StatusCode>(code);
}

void ToProto(const Status& status, api::Error* error) {
  error->set_code(ToProtoCode(status.code()));
  error->set_message(status.message());
}

Status FromProto(const api::Error& error) {
  if (!api::Error::Code_IsValid(error.code())) {
    return Status::Internal(
        fmt::format("unknown error code {} from master: {}", error.code(), error.message()));
  }
  if (error.code() != api::Error::OK && error.message().empty()) {
    // A Status always has a message for people to read.
    return MakeStatus(FromProtoCode(error.code()), "error without a message from master");
  }
  return MakeStatus(FromProtoCode(error.code()), error.message());
}

grpc::Status ToGrpcStatus(const Status& status) {
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  switch (status.code()) {
    case StatusCode::kOk:
      return grpc::Status::OK;
    case StatusCode::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case StatusCode::kAlreadyExists:
      code = grpc::StatusCode::ALREADY_EXISTS;
      break;
    case StatusCode::kInvalidArgument:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case StatusCode::kConflict:
      code = grpc::StatusCode::FAILED_PRECONDITION;
      break;
    case StatusCode::kUnavailable:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    case StatusCode::kTimeout:
      code = grpc::StatusCode::DEADLINE_EXCEEDED;
      break;
    case StatusCode::kCorruption:
      code = grpc::StatusCode::DATA_LOSS;
      break;
    case StatusCode::kPermissionDenied:
      code = grpc::StatusCode::PERMISSION_DENIED;
      break;
    case StatusCode::kGone:
      code = grpc::StatusCode::OUT_OF_RANGE;
      break;
    case StatusCode::kIOError:
    case StatusCode::kInternal:
      code = grpc::StatusCode::INTERNAL;
      break;
  }
  return grpc::Status(code, status.message());
}

std::string_view GrpcCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::DO_NOT_USE:
      break;
  }
  return "UNKNOWN_CODE";
}

Status FromGrpcStatus(const grpc::Status& status, std::string_view address) {
  if (status.ok()) return Status::OK();
  const grpc::StatusCode code = status.error_code();
  std::string msg = fmt::format(
      "master {}: {} (gRPC {})", address,
      status.error_message().empty() ? "no message" : status.error_message(), GrpcCodeName(code));
  switch (code) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::CANCELLED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Status::Unavailable(msg);
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::Timeout(msg);
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(msg);
    case grpc::StatusCode::ALREADY_EXISTS:
      return Status::AlreadyExists(msg);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(msg);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::Conflict(msg);
    case grpc::StatusCode::DATA_LOSS:
      return Status::Corruption(msg);
    default:
      return Status::Internal(msg);
  }
}

Result<std::string> DumpJson(const cluster::Json& json) {
  try {
    return json.dump();
  } catch (const cluster::Json::exception& e) {
    return Status::Internal(fmt::format("cannot encode JSON: {}", e.what()));
  }
}

}  // namespace quidditch::controlplane::rpc
