#include "coordination/rest_api.h"

#include "coordination/rest_cluster.h"

namespace quidditch::rest {

Status RegisterRestApi(const RestContext& context, Router* router) {
  QD_RETURN_IF_ERROR(RegisterRootHandlers(context.identity, router));
  QD_RETURN_IF_ERROR(RegisterClusterHandlers(context.identity, context.control_plane, router));
  return Status::OK();
}

}  // namespace quidditch::rest
