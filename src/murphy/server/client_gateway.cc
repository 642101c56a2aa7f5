#include "murphy/server/client_gateway.h"

#include <string>
#include <utility>
#include <variant>

#include "murphy/core/assert.h"
#include "murphy/protocol/frame.h"

namespace murphy::server {

// --- GatewayEnv ------------------------------------------------------------------------

GatewayEnv::GatewayEnv(Env* target) : EnvWrapper(target) {
  EnvWrapper::SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { Dispatch(source, payload); });
}

GatewayEnv::~GatewayEnv() { EnvWrapper::SetReceiver([](NodeId, std::span<const uint8_t>) {}); }

void GatewayEnv::SetReceiver(Receiver receiver) { node_receiver_ = std::move(receiver); }

void GatewayEnv::SetClientReceiver(Receiver receiver) { client_receiver_ = std::move(receiver); }

void GatewayEnv::Dispatch(NodeId source, std::span<const uint8_t> payload) {
  // Byte 3 of a frame is its message type (protocol/frame.h).
  const bool for_client = payload.size() >= kFrameHeaderSize && (payload[3] == protocol::kLockResponseFrame ||
                                                                  payload[3] == protocol::kLockPushFrame);
  if (for_client) {
    ++client_messages_;
    if (client_receiver_ != nullptr) client_receiver_(source, payload);
    return;
  }
  if (node_receiver_ != nullptr) node_receiver_(source, payload);
}

// --- HttpApiGateway --------------------------------------------------------------------

namespace {

client::ChannelOptions ChannelOptionsFor(const HttpApiGatewayOptions& options) {
  client::ChannelOptions channel;
  channel.nodes = options.nodes;
  channel.attempt_timeout = options.attempt_timeout;
  return channel;
}

HttpResponse NotAcquired(const protocol::AcquireRequest& acquire, const std::string& why) {
  client::CallResult result;
  result.status = FailedPreconditionError("lock '" + acquire.lock.substr(0, 128) + "' not acquired: " + why);
  ApiRequest request;
  request.route = ApiRoute::kLockAcquire;
  request.body = acquire;
  return EncodeApiResult(request, result);
}

}  // namespace

HttpApiGateway::HttpApiGateway(GatewayEnv& env, HttpApiGatewayOptions options)
    : env_(env), options_(std::move(options)), channel_(env, ChannelOptionsFor(options_)) {
  MURPHY_ASSERT(options_.wait_poll_interval > Duration::Zero());
  MURPHY_ASSERT(options_.wait_grace >= Duration::Zero());
  env_.SetClientReceiver(
      [this](NodeId source, std::span<const uint8_t> payload) { channel_.OnMessage(source, payload); });
  channel_.SetPushHandler([this](NodeId, const protocol::Push& push) { OnPush(push); });
}

HttpApiGateway::~HttpApiGateway() {
  env_.SetClientReceiver(nullptr);
  for (auto& [id, wait] : waits_) {
    if (wait.timer_armed) env_.CancelTimer(wait.timer);
  }
}

HttpApiGatewayMetrics HttpApiGateway::metrics() const {
  HttpApiGatewayMetrics metrics = metrics_;
  metrics.waits = waits_.size();
  const client::ChannelMetrics& channel = channel_.metrics();
  metrics.retries = channel.transmissions > channel.calls ? channel.transmissions - channel.calls : 0;
  metrics.attempt_timeouts = channel.attempt_timeouts;
  metrics.redirects = channel.redirects;
  return metrics;
}

Deadline HttpApiGateway::DeadlineAfter(Duration timeout) { return Deadline::After(env_.MonotonicNow(), timeout); }

void HttpApiGateway::Handle(const HttpRequest& request, AdminServer::Respond respond) {
  ++metrics_.requests;
  Result<ApiRequest> decoded = DecodeApiRequest(request.method, request.path(), request.body);
  if (!decoded.ok()) {
    ++metrics_.bad_requests;
    respond(ApiErrorResponse(decoded.status()));
    return;
  }
  ApiRequest api = std::move(*decoded);
  const Deadline deadline = DeadlineAfter(api.timeout);
  protocol::RequestBody body = api.body;
  channel_.Call(std::move(body), deadline,
                [this, api = std::move(api), respond = std::move(respond)](client::CallResult result) mutable {
                  OnAnswer(api, respond, std::move(result));
                });
}

void HttpApiGateway::OnAnswer(const ApiRequest& request, const AdminServer::Respond& respond,
                              client::CallResult result) {
  if (request.route == ApiRoute::kLockAcquire && result.status.ok() && result.response.has_value()) {
    const auto* answer = std::get_if<protocol::AcquireBody>(&result.response->body);
    if (answer != nullptr && answer->state == protocol::AcquireState::kWaiting) {
      StartWait(request, respond);
      return;
    }
  }
  respond(EncodeApiResult(request, result));
}

void HttpApiGateway::StartWait(ApiRequest request, AdminServer::Respond respond) {
  const auto& acquire = std::get<protocol::AcquireRequest>(request.body);
  if (waits_.size() >= options_.max_waits) {
    // The node queued the wait; take it back (best effort) and say so.
    protocol::ReleaseRequest release{acquire.lock, acquire.lease};
    channel_.Call(std::move(release), DeadlineAfter(kDefaultApiTimeout), [](client::CallResult) {});
    client::CallResult result;
    result.status = ResourceExhaustedError("too many waiting acquires on this node; the wait was cancelled");
    respond(EncodeApiResult(request, result));
    return;
  }
  const uint64_t id = next_wait_++;
  Wait& wait = waits_[id];
  wait.give_up = env_.MonotonicNow() + request.wait + options_.wait_grace;
  wait.request = std::move(request);
  wait.respond = std::move(respond);
  ArmPoll(id, &wait);
}

void HttpApiGateway::ArmPoll(uint64_t id, Wait* wait) {
  const Duration until_give_up = wait->give_up - env_.MonotonicNow();
  const Duration delay = Max(Duration::Zero(), Min(options_.wait_poll_interval, until_give_up));
  wait->timer = env_.SetTimer(delay, [this, id] { Poll(id); });
  wait->timer_armed = true;
}

void HttpApiGateway::Poll(uint64_t id) {
  const auto found = waits_.find(id);
  if (found == waits_.end()) return;
  Wait& wait = found->second;
  wait.timer_armed = false;
  if (env_.MonotonicNow() >= wait.give_up) {
    GiveUp(id);
    return;
  }
  ArmPoll(id, &wait);
  if (wait.poll_in_flight) return;
  wait.poll_in_flight = true;
  const auto& acquire = std::get<protocol::AcquireRequest>(wait.request.body);
  channel_.Call(protocol::GetLockRequest{acquire.lock}, DeadlineAfter(options_.wait_poll_interval * 4),
                [this, id](client::CallResult result) {
                  const auto it = waits_.find(id);
                  if (it == waits_.end()) return;
                  Wait& polled = it->second;
                  polled.poll_in_flight = false;
                  if (polled.releasing || !result.status.ok() || !result.response.has_value()) return;
                  const auto* info = std::get_if<protocol::LockInfoBody>(&result.response->body);
                  const auto& asked = std::get<protocol::AcquireRequest>(polled.request.body);
                  if (info != nullptr && info->holder == asked.lease) {
                    Finish(id, AcquiredResponse(asked, info->token), true);
                  }
                });
}

void HttpApiGateway::GiveUp(uint64_t id) {
  Wait& wait = waits_.at(id);
  if (wait.releasing) return;
  wait.releasing = true;
  const auto& acquire = std::get<protocol::AcquireRequest>(wait.request.body);
  channel_.Call(protocol::ReleaseRequest{acquire.lock, acquire.lease}, DeadlineAfter(kDefaultApiTimeout),
                [this, id](client::CallResult result) {
                  const auto it = waits_.find(id);
                  if (it == waits_.end()) return;
                  const auto& asked = std::get<protocol::AcquireRequest>(it->second.request.body);
                  const StatusCode code = result.status.code();
                  if (code == StatusCode::kOk || code == StatusCode::kFailedPrecondition ||
                      code == StatusCode::kNotFound) {
                    Finish(id, NotAcquired(asked, "the wait timed out"), false);
                    return;
                  }
                  client::CallResult unknown;
                  unknown.status = DeadlineExceededError(
                      "outcome unknown: the wait timed out and cancelling it failed (" +
                      std::string(result.status.message()) + "); the lease may hold the lock");
                  Finish(id, EncodeApiResult(it->second.request, unknown), false);
                });
}

void HttpApiGateway::OnPush(const protocol::Push& push) {
  for (auto& [id, wait] : waits_) {
    const auto& acquire = std::get<protocol::AcquireRequest>(wait.request.body);
    if (acquire.lease != push.lease || acquire.lock != push.lock || wait.releasing) continue;
    if (push.kind == protocol::PushKind::kGranted) {
      Finish(id, AcquiredResponse(acquire, push.token), true);
    } else if (push.kind == protocol::PushKind::kWaitEnded) {
      Finish(id, NotAcquired(acquire, "the wait ended (" + std::string(protocol::EndReasonName(push.reason)) + ")"),
             false);
    }
    return;  // one wait per (lease, lock): the machine allows no second
  }
}

void HttpApiGateway::Finish(uint64_t id, HttpResponse response, bool granted) {
  const auto found = waits_.find(id);
  MURPHY_ASSERT(found != waits_.end());
  if (found->second.timer_armed) env_.CancelTimer(found->second.timer);
  AdminServer::Respond respond = std::move(found->second.respond);
  waits_.erase(found);
  if (granted) {
    ++metrics_.waits_granted;
  } else {
    ++metrics_.waits_ended;
  }
  respond(std::move(response));
}

AdminServer::AsyncHandler CombineApiAndAdmin(HttpApiGateway* gateway, AdminServer::Handler admin) {
  return [gateway, admin = std::move(admin)](const HttpRequest& request, AdminServer::Respond respond) {
    if (IsApiPath(request.path())) {
      if (gateway != nullptr) {
        gateway->Handle(request, std::move(respond));
      } else {
        respond(ApiErrorResponse(NotFoundError("the client API is not enabled on this node")));
      }
      return;
    }
    if (request.method != "GET") {
      respond(HttpResponse{405, "text/plain; charset=utf-8", "only GET is supported\n", {}});
      return;
    }
    respond(admin(request));
  };
}

void EnableApiOn(AdminServerOptions* options) {
  options->methods = {"GET", "POST"};
  options->response_timeout = kMaxApiWait + kMaxApiTimeout + Seconds(5);
}

}  // namespace murphy::server
