// murphy/server/client_gateway.h — serves the HTTP/JSON client API (http_api.h) inside
// murphyd by sending each request into the cluster through an embedded
// client::Channel, over the node's own Env.
//
// Contract:
// - GatewayEnv wraps the node's Env (LevelDB's EnvWrapper) and splits its inbound
//   messages: frames of the client protocol's Response and Push types
//   (protocol::kLockResponseFrame, kLockPushFrame) go to the gateway's channel, every
//   other message to the receiver the node installed (Raft, client requests). Build the
//   node on the GatewayEnv (not on the wrapped Env) so its SetReceiver lands here. The
//   frame type is read from the frame header only; the receiver decodes and checks the
//   frame as before (a corrupt frame is dropped by whichever side gets it).
// - HttpApiGateway answers every /v1/ request through the AdminServer's Respond
//   callback, once, on the loop. The channel's client id is the node's id (env.self()),
//   distinct from every external client, so the channel's exactly-once numbering and
//   leader discovery apply unchanged: ANY node serves the API and forwards to the
//   leader; a mutation is answered only after the cluster committed it; reads are
//   linearizable (ReadIndex on the leader). A DEADLINE_EXCEEDED is "outcome unknown".
// - Leases are owned by the client that granted them: a lease granted through node N's
//   HTTP API belongs to client N, and keepalive / revoke / acquire / release with it
//   must go to node N's HTTP API (elsewhere: 403 PERMISSION_DENIED). Lock and store
//   reads and fenced writes work through any node. The lock machine's per-client
//   limits (max_leases_per_client, 16 by default) apply to each node's API as a whole.
// - A waiting acquire ("mode":"wait") asks the node for a wait with the same timeout,
//   then keeps the HTTP request open until the lock is granted to the lease (learned by
//   push or by polling GetLock every `wait_poll_interval`), the wait ends (push:
//   409), or the wait timeout plus `wait_grace` passes; then the gateway releases the
//   lock for the lease (which cancels a wait still queued, or returns a grant that
//   came too late) and answers 409 "not acquired", or 504 if even that release's
//   outcome is unknown. At most `max_waits` waits at once (beyond: 429).
// Thread safety: none; the node's loop. Ownership: GatewayEnv borrows the wrapped Env
// (which must outlive it); HttpApiGateway borrows the GatewayEnv, cancels its timers on
// destruction and drops pending requests without answering them (the AdminServer then
// closes their connections).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <vector>

#include "murphy/client/channel.h"
#include "murphy/core/ids.h"
#include "murphy/core/time.h"
#include "murphy/env/env.h"
#include "murphy/server/admin_server.h"
#include "murphy/server/http.h"
#include "murphy/server/http_api.h"

namespace murphy::server {

class GatewayEnv : public EnvWrapper {
 public:
  using Receiver = std::function<void(NodeId, std::span<const uint8_t>)>;

  explicit GatewayEnv(Env* target);
  ~GatewayEnv() override;
  GatewayEnv(const GatewayEnv&) = delete;
  GatewayEnv& operator=(const GatewayEnv&) = delete;

  // The node's receiver: everything but client-protocol responses and pushes.
  void SetReceiver(Receiver receiver) override;
  // The channel's receiver: client-protocol responses and pushes.
  void SetClientReceiver(Receiver receiver);

  uint64_t client_messages() const { return client_messages_; }

 private:
  void Dispatch(NodeId source, std::span<const uint8_t> payload);

  Receiver node_receiver_;
  Receiver client_receiver_;
  uint64_t client_messages_ = 0;
};

struct HttpApiGatewayOptions {
  // The cluster's members (the channel's nodes). REQUIRES: as ChannelOptions::nodes.
  std::vector<NodeId> nodes;
  Duration attempt_timeout = Milliseconds(500);
  Duration wait_poll_interval = Milliseconds(250);
  Duration wait_grace = Milliseconds(500);
  size_t max_waits = 256;
};

struct HttpApiGatewayMetrics {
  uint64_t requests = 0;
  uint64_t bad_requests = 0;  // refused by DecodeApiRequest
  uint64_t waits_granted = 0;
  uint64_t waits_ended = 0;  // timed out or ended by the node
  uint64_t waits = 0;        // open now
  // The gateway's channel to the leader (client/channel.h): retransmissions after a
  // timeout or a redirect, attempts that timed out, redirects followed.
  uint64_t retries = 0;
  uint64_t attempt_timeouts = 0;
  uint64_t redirects = 0;
};

class HttpApiGateway {
 public:
  // Installs itself as the GatewayEnv's client receiver.
  HttpApiGateway(GatewayEnv& env, HttpApiGatewayOptions options);
  ~HttpApiGateway();
  HttpApiGateway(const HttpApiGateway&) = delete;
  HttpApiGateway& operator=(const HttpApiGateway&) = delete;

  // Answers one API request (IsApiPath(request.path())) through `respond`.
  void Handle(const HttpRequest& request, AdminServer::Respond respond);

  size_t waits() const { return waits_.size(); }
  HttpApiGatewayMetrics metrics() const;
  const client::Channel& channel() const { return channel_; }

 private:
  struct Wait {
    ApiRequest request;
    Instant give_up;  // the wait timeout plus the grace
    AdminServer::Respond respond;
    TimerId timer;
    bool timer_armed = false;
    bool poll_in_flight = false;
    bool releasing = false;
  };

  void OnAnswer(const ApiRequest& request, const AdminServer::Respond& respond, client::CallResult result);
  void StartWait(ApiRequest request, AdminServer::Respond respond);
  void OnPush(const protocol::Push& push);
  void Poll(uint64_t id);
  void GiveUp(uint64_t id);
  void ArmPoll(uint64_t id, Wait* wait);
  void Finish(uint64_t id, HttpResponse response, bool granted);
  Deadline DeadlineAfter(Duration timeout);

  GatewayEnv& env_;
  HttpApiGatewayOptions options_;
  client::Channel channel_;
  uint64_t next_wait_ = 1;
  std::map<uint64_t, Wait> waits_;
  HttpApiGatewayMetrics metrics_;
};

// One HTTP listener for both: paths under /v1/ go to `gateway` (which may be null: then
// 404 "the client API is not enabled"), everything else must be a GET and goes to the
// synchronous `admin` handler (other methods: 405, as on an admin-only listener).
AdminServer::AsyncHandler CombineApiAndAdmin(HttpApiGateway* gateway, AdminServer::Handler admin);

// Options for a listener that also serves the API: GET and POST, and a response
// timeout above the longest wait the API allows.
void EnableApiOn(AdminServerOptions* options);

}  // namespace murphy::server
