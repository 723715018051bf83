// The whole REST API of a coordinating node: every endpoint module registered on one Router.
#pragma once

#include "common/status.h"
#include "coordination/rest_root.h"
#include "coordination/rest_util.h"

namespace quidditch::rest {

// Registers every endpoint (root, cluster, cat, indices, documents, bulk, search) on `router`.
// `context` is copied; what it points to must outlive `router`.
Status RegisterRestApi(const RestContext& context, Router* router);

}  // namespace quidditch::rest
