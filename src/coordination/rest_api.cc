#include "coordination/rest_api.h"

#include "coordination/rest_alias.h"
#include "coordination/rest_bulk.h"
#include "coordination/rest_cat.h"
#include "coordination/rest_cluster.h"
#include "coordination/rest_document.h"
#include "coordination/rest_index.h"
#include "coordination/rest_search.h"
#include "coordination/rest_stats.h"
#include "coordination/rest_template.h"

namespace quidditch::rest {

Status RegisterRestApi(const RestContext& context, Router* router) {
  QD_RETURN_IF_ERROR(RegisterRootHandlers(
      context.identity,
      [cp = context.control_plane]() -> std::string {
        // A node that cannot read the cluster state answers as OpenSearch does before its
        // cluster has formed.
        if (cp == nullptr) return "";
        Result<cluster::StatePtr> state = cp->GetClusterState({});
        return state.ok() ? (*state)->cluster_uuid : "";
      },
      router));
  QD_RETURN_IF_ERROR(RegisterClusterHandlers(context.identity, context.control_plane, router));
  QD_RETURN_IF_ERROR(RegisterCatHandlers(context, router));
  QD_RETURN_IF_ERROR(RegisterStatsHandlers(context, router));
  QD_RETURN_IF_ERROR(RegisterIndexHandlers(context, router));
  QD_RETURN_IF_ERROR(RegisterAliasHandlers(context, router));
  QD_RETURN_IF_ERROR(RegisterTemplateHandlers(
      context,
      [](const nlohmann::json& body) { return ParseCreateIndexBody("template", body).status(); },
      router));
  QD_RETURN_IF_ERROR(RegisterDocumentHandlers(context, router));
  QD_RETURN_IF_ERROR(RegisterBulkHandlers(context, router));
  QD_RETURN_IF_ERROR(RegisterSearchHandlers(context, router));
  return Status::OK();
}

}  // namespace quidditch::rest
