// Status codes at the gRPC edge of the control plane.
//
// Two kinds of failure cross the masters' gRPC service (api/controlplane.proto):
//   - domain errors (NotFound, AlreadyExists, ...): the call reached a master, which answers
//     with gRPC OK and an api::Error whose code mirrors quidditch::StatusCode one to one;
//   - transport failures: the call did not complete (master down, deadline, cancelled). They
//     arrive as a non-OK grpc::Status and become Unavailable or Timeout, with a message naming
//     the master's address and gRPC's own message.
// A server-streaming call has no api::Error field, so a stream that a master ends because of
// a domain condition ends with the grpc::Status that ToGrpcStatus() chooses, and the client
// maps it back with FromGrpcStatus().
//
// Every function here is pure and thread-safe.
#pragma once

#include <grpcpp/support/status.h>

#include <string>
#include <string_view>

#include "api/controlplane.pb.h"
#include "cluster/types.h"
#include "common/status.h"

namespace quidditch::controlplane::rpc {

// The wire code of `code` (the enums are numbered alike; checked at compile time).
api::Error::Code ToProtoCode(StatusCode code);
// The Status code of a wire code; a code this build does not know is kInternal.
StatusCode FromProtoCode(int code);

// Writes `status` into `error` (code OK and an empty message for an OK status).
void ToProto(const Status& status, api::Error* error);
// The Status an api::Error carries. A response without an error field is OK.
Status FromProto(const api::Error& error);

// The grpc::Status a server returns for a domain error where the proto has no Error field
// (the end of a stream): Unavailable -> UNAVAILABLE, Timeout -> DEADLINE_EXCEEDED,
// NotFound -> NOT_FOUND, AlreadyExists -> ALREADY_EXISTS, InvalidArgument ->
// INVALID_ARGUMENT, Conflict -> FAILED_PRECONDITION, Corruption -> DATA_LOSS, IOError and
// Internal -> INTERNAL.
grpc::Status ToGrpcStatus(const Status& status);

// The Status of a failed call to the master at `address`:
//   UNAVAILABLE, CANCELLED, ABORTED, RESOURCE_EXHAUSTED -> Unavailable;
//   DEADLINE_EXCEEDED -> Timeout;
//   the codes ToGrpcStatus() produces -> their domain code;
//   anything else (UNKNOWN, UNIMPLEMENTED, UNAUTHENTICATED, ...) -> Internal.
// The message is "master <address>: <gRPC message> (gRPC <CODE>)". OK maps to OK.
Status FromGrpcStatus(const grpc::Status& status, std::string_view address);

// The upper-snake name of a gRPC code ("UNAVAILABLE"), for messages.
std::string_view GrpcCodeName(grpc::StatusCode code);

// `json` as compact text. nlohmann's dump() throws on strings that are not valid UTF-8; that
// exception stops here and is Internal.
Result<std::string> DumpJson(const cluster::Json& json);

}  // namespace quidditch::controlplane::rpc
