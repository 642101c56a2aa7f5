#include "murphy/server/membership_routes.h"

#include <nlohmann/json.hpp>
#include <string>
#include <utility>

namespace murphy::server {
namespace {

constexpr std::string_view kPrefix = "/admin/members";

HttpResponse Json(int status, const nlohmann::json& body) {
  return HttpResponse{status, "application/json",
                      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", {}};
}

nlohmann::json Members(const node::NodeShell& shell) {
  const raft::Membership& membership = shell.membership();
  const auto list = [&](const std::vector<NodeId>& ids) {
    nlohmann::json out = nlohmann::json::array();
    for (const NodeId id : ids) {
      const std::string_view context = membership.ContextOf(id);
      out.push_back({{"id", id.value()},
                     {"address", context.empty() ? nlohmann::json(nullptr) : nlohmann::json(std::string(context))}});
    }
    return out;
  };
  return {{"leader", shell.leader().value()}, {"voters", list(membership.voters)},
          {"learners", list(membership.learners)}};
}

HttpResponse ErrorResponse(const Status& status, const node::NodeShell& shell) {
  int http = 500;
  switch (status.code()) {
    case StatusCode::kInvalidArgument: http = 400; break;
    case StatusCode::kFailedPrecondition: http = 409; break;
    case StatusCode::kAborted: http = 409; break;
    case StatusCode::kUnavailable: http = 503; break;
    case StatusCode::kDeadlineExceeded: http = 504; break;
    default: break;
  }
  nlohmann::json body = {{"error", std::string(status.message())}, {"code", std::string(StatusCodeName(status.code()))}};
  if (status.code() == StatusCode::kUnavailable) body["leader"] = shell.leader().value();
  if (status.code() == StatusCode::kDeadlineExceeded) body["error"] = "outcome unknown: " + std::string(status.message());
  return Json(http, body);
}

}  // namespace

bool IsMembershipPath(std::string_view path) {
  return path == kPrefix || (path.starts_with(kPrefix) && path.size() > kPrefix.size() && path[kPrefix.size()] == '/');
}

void HandleMembershipRequest(MembershipAdmin& admin, const node::NodeShell& shell, const HttpRequest& request,
                             AdminServer::Respond respond) {
  const std::string_view path = request.path();
  if (path == kPrefix) {
    if (request.method != "GET") {
      respond(ErrorResponse(InvalidArgumentError("GET " + std::string(kPrefix)), shell));
      return;
    }
    respond(Json(200, Members(shell)));
    return;
  }
  const bool add = path == "/admin/members/add";
  const bool remove = path == "/admin/members/remove";
  if (!add && !remove) {
    respond(Json(404, {{"error", "no such route: " + std::string(path)}, {"code", "NOT_FOUND"}}));
    return;
  }
  if (request.method != "POST") {
    respond(Json(405, {{"error", "use POST"}, {"code", "INVALID_ARGUMENT"}}));
    return;
  }
  const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object() || !body.contains("id") || !body["id"].is_number_unsigned() ||
      body["id"].get<uint64_t>() == 0 || body["id"].get<uint64_t>() > UINT32_MAX) {
    respond(ErrorResponse(InvalidArgumentError("the body must be a JSON object with \"id\": 1..2^32-1"), shell));
    return;
  }
  const NodeId node(static_cast<uint32_t>(body["id"].get<uint64_t>()));
  if (!shell.is_leader()) {
    respond(ErrorResponse(UnavailableError("not the leader"), shell));
    return;
  }
  // `respond` is single-use and may outlive this call: the admin calls `done` later.
  auto done = [respond, &shell](Status status) {
    if (status.ok()) {
      respond(Json(200, {{"ok", true}, {"members", Members(shell)}}));
    } else {
      respond(ErrorResponse(status, shell));
    }
  };
  Status started;
  if (add) {
    if (!body.contains("address") || !body["address"].is_string()) {
      respond(ErrorResponse(InvalidArgumentError("add needs \"address\": \"HOST:PORT\""), shell));
      return;
    }
    started = admin.AddMember(node, body["address"].get<std::string>(), done);
  } else {
    started = admin.RemoveMember(node, done);
  }
  if (!started.ok()) respond(ErrorResponse(started, shell));
}

}  // namespace murphy::server
