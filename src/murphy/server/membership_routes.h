// murphy/server/membership_routes.h — the admin HTTP routes that change and show the
// membership of a running cluster (MembershipAdmin under the hood).
//
// Contract (JSON bodies; errors are {"error": "...", "code": "..."}):
//   GET  /admin/members          {"leader": N, "voters": [{"id", "address"}], "learners": [...]}
//                                as this node knows it (address null when the member
//                                was a bootstrap member: its address is in --peers);
//   POST /admin/members/add      {"id": N, "address": "HOST:PORT"} — on the leader:
//                                add as learner, wait for catch-up, promote;
//   POST /admin/members/remove   {"id": N} — on the leader.
// Answers: 200 {"ok": true, "members": ...} once the change committed; 400 for a
// malformed body; 409 FAILED_PRECONDITION (already a member, not a member, the last
// voter, another change running); 503 UNAVAILABLE when this node is not the leader
// ({"leader": N} names the one it knows: send it there); 504 DEADLINE_EXCEEDED when
// the outcome is unknown (the change may still commit: GET the members and retry).
// Thread safety: on the node's loop. The admin and shell must outlive the handler.
#pragma once

#include <string_view>

#include "murphy/node/node_shell.h"
#include "murphy/server/admin_server.h"
#include "murphy/server/http.h"
#include "murphy/server/membership_admin.h"

namespace murphy::server {

bool IsMembershipPath(std::string_view path);
void HandleMembershipRequest(MembershipAdmin& admin, const node::NodeShell& shell, const HttpRequest& request,
                             AdminServer::Respond respond);

}  // namespace murphy::server
