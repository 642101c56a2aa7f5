#include "murphy/clocksync/clock_prober.h"

#include <algorithm>
#include <utility>
#include <variant>

#include "murphy/core/assert.h"
#include "murphy/protocol/clock_ping.h"
#include "murphy/protocol/frame.h"

namespace murphy::clocksync {
namespace {

ClockOffsetMonitor::Options MonitorOptions(ClockOffsetMonitor::Options options) {
  options.tolerated_fraction = 1.0;
  return options;
}

// A clock frame by its header alone (magic and type), so that everything else passes
// through undecoded. A corrupt clock frame is still ours: its CRC fails when decoded.
bool LooksLikeClockFrame(std::span<const uint8_t> payload) {
  return payload.size() >= kFrameHeaderSize && payload[0] == (kFrameMagic & 0xFF) &&
         payload[1] == (kFrameMagic >> 8) && protocol::IsClockFrameType(payload[3]);
}

}  // namespace

ClockProber::ClockProber(Env& env, ClockProberOptions options)
    : env_(env), options_(std::move(options)), monitor_(MonitorOptions(options_.monitor)) {
  MURPHY_ASSERT(options_.ping_interval > Duration::Zero());
  std::erase(options_.peers, env_.self());
  std::sort(options_.peers.begin(), options_.peers.end());
  options_.peers.erase(std::unique(options_.peers.begin(), options_.peers.end()), options_.peers.end());
  MURPHY_ASSERT(options_.peers.size() <= options_.monitor.max_peers);
  timer_ = env_.SetTimer(Duration::Zero(), [this] { PingRound(); });
}

ClockProber::~ClockProber() { env_.CancelTimer(timer_); }

void ClockProber::PingRound() {
  for (const NodeId peer : options_.peers) {
    InFlight ping{next_sequence_++, env_.WallNow(), env_.MonotonicNow()};
    const bool replaced = !in_flight_.insert_or_assign(peer, ping).second;
    if (replaced) ++metrics_.pings_lost;
    env_.Send(peer, protocol::EncodeClockPingFrame({ping.sequence, ping.origin}));
    ++metrics_.pings_sent;
  }
  timer_ = env_.SetTimer(options_.ping_interval, [this] { PingRound(); });
}

bool ClockProber::OnMessage(NodeId source, std::span<const uint8_t> payload) {
  if (!LooksLikeClockFrame(payload)) return false;
  // Read first: the answer's t1 is the arrival, before any decoding work.
  const WallTime arrival = env_.WallNow();
  Result<protocol::ClockMessage> message = protocol::DecodeClockMessage(payload);
  if (!message.ok()) {
    ++metrics_.bad_messages;
    env_.Trace("clock_frame_rejected",
               {{"source", static_cast<uint64_t>(source.value())}, {"error", message.status().message()}});
    return true;
  }
  if (const auto* ping = std::get_if<protocol::ClockPing>(&*message)) {
    OnPing(source, ping->sequence, ping->origin, arrival);
  } else {
    const auto& pong = std::get<protocol::ClockPong>(*message);
    OnPong(source, pong.sequence, pong.origin, pong.receive, pong.transmit);
  }
  return true;
}

void ClockProber::OnPing(NodeId source, uint64_t sequence, WallTime origin, WallTime received) {
  const protocol::ClockPong pong{sequence, origin, received, env_.WallNow()};
  env_.Send(source, protocol::EncodeClockPongFrame(pong));
  ++metrics_.pongs_sent;
}

void ClockProber::OnPong(NodeId source, uint64_t sequence, WallTime origin, WallTime receive,
                         WallTime transmit) {
  auto it = in_flight_.find(source);
  if (it == in_flight_.end() || it->second.sequence != sequence || it->second.origin != origin) {
    ++metrics_.pongs_unmatched;
    return;
  }
  const InFlight ping = it->second;
  in_flight_.erase(it);
  const Instant now = env_.MonotonicNow();
  const RoundTripSample sample{ping.origin, receive, transmit, ping.origin + (now - ping.sent_at)};
  const Status recorded = monitor_.Record(source, sample, now);
  if (!recorded.ok()) {
    ++metrics_.samples_rejected;
    env_.Trace("clock_sample_rejected",
               {{"peer", static_cast<uint64_t>(source.value())}, {"error", recorded.message()}});
    return;
  }
  ++metrics_.samples_recorded;
}

ClockOffsetReport ClockProber::Report() {
  const Instant now = env_.MonotonicNow();
  ClockOffsetReport report;
  report.estimates = monitor_.Estimates(now);
  report.verdict = monitor_.Evaluate(now);
  report.bound = monitor_.options().max_offset;
  report.max_abs_offset = Duration::Zero();
  for (const PeerOffset& estimate : report.estimates) {
    report.max_abs_offset = Max(report.max_abs_offset, Abs(estimate.offset));
  }
  if (!report.estimates.empty()) {
    std::vector<Duration> offsets = {Duration::Zero()};
    for (const PeerOffset& estimate : report.estimates) offsets.push_back(estimate.offset);
    std::sort(offsets.begin(), offsets.end());
    const size_t middle = offsets.size() / 2;
    const Duration median = offsets.size() % 2 == 1
                                ? offsets[middle]
                                : offsets[middle - 1] + (offsets[middle] - offsets[middle - 1]) / 2;
    report.offset_from_cluster = -median;
  }
  report.offset_to_majority = Duration::Zero();
  if (report.verdict.must_fence) {
    // The same classification as ClockOffsetMonitor::Evaluate, to name the distance.
    bool first = true;
    for (const PeerOffset& estimate : report.estimates) {
      if (estimate.uncertainty > monitor_.options().max_uncertainty) continue;
      if (Abs(estimate.offset) - estimate.uncertainty <= monitor_.far_threshold()) continue;
      report.offset_to_majority =
          first ? Abs(estimate.offset) : Min(report.offset_to_majority, Abs(estimate.offset));
      first = false;
    }
    MURPHY_ASSERT(!first);
  }
  return report;
}

ClockProbeEnv::ClockProbeEnv(Env* target, ClockProberOptions options)
    : EnvWrapper(target), prober_(*target, std::move(options)) {
  target->SetReceiver([this](NodeId source, std::span<const uint8_t> payload) {
    if (prober_.OnMessage(source, payload)) return;
    if (!downstream_) return;
    // The node may replace its receiver from inside it (as PosixEnv allows): defer the
    // swap until the running one returns, so it is not destroyed while it runs.
    in_downstream_ = true;
    downstream_(source, payload);
    in_downstream_ = false;
    if (pending_downstream_) {
      downstream_ = std::move(*pending_downstream_);
      pending_downstream_.reset();
    }
  });
}

ClockProbeEnv::~ClockProbeEnv() {
  target()->SetReceiver([](NodeId, std::span<const uint8_t>) {});
}

void ClockProbeEnv::SetReceiver(std::function<void(NodeId, std::span<const uint8_t>)> receiver) {
  if (in_downstream_) {
    pending_downstream_ = std::move(receiver);
  } else {
    downstream_ = std::move(receiver);
  }
}

}  // namespace murphy::clocksync
