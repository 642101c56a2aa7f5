// byzantine-bits — "Byzantine Faults": bits flipped on the wire.
//
// The story: four clients each store 50 values on a server ("slot (client, seq) :=
// value"), over links that flip one to three bits in 5 % of the messages (the
// simulator's corruption fault: a bad NIC, a switch's memory, a cosmic ray). Without
// the remedy the protocol takes the payload bytes as data — no checksum — so a flipped
// bit in the value stores a value nobody sent, and a flipped bit in the sequence
// number writes a value into the wrong slot; the client, acknowledged, never knows.
// With the remedy every message travels in a CRC-32C frame (protocol/frame.h): a frame
// that fails its check is dropped and counted, the sender's timeout fires and it
// sends again, and no corrupted value is ever applied (CRC-32C detects every 1-3 bit
// error in frames this short, which is what the simulator injects).
//
// A checksum only defends against accidents. A node that lies on purpose computes a
// valid checksum for its lie; tolerating f such Byzantine nodes needs 3f + 1 replicas
// and a BFT protocol (the chapter: rarely worth it outside adversarial settings).
//
// The checker compares, from ground truth, every value the server applied with the
// value its client sent for that slot, and the server's final state with what the
// clients sent: any difference is a corrupted value applied. It also requires every
// write to be acknowledged, so dropping everything would not pass.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "murphy/core/codec.h"
#include "murphy/env/env.h"
#include "murphy/protocol/frame.h"
#include "murphy/scenarios/scenario.h"
#include "murphy/scenarios/scenarios.h"
#include "murphy/scenarios/sim_support.h"
#include "murphy/sim/simulator.h"

namespace murphy {
namespace {

constexpr int kClients = 4;
constexpr uint64_t kWritesPerClient = 50;
constexpr int64_t kWrites = kClients * static_cast<int64_t>(kWritesPerClient);
constexpr double kCorruptProbability = 0.05;
constexpr Duration kAttemptTimeout = Milliseconds(50);
constexpr uint8_t kWrite = 1;
constexpr uint8_t kAck = 2;

using Slot = std::pair<uint32_t, uint64_t>;  // (client node, sequence number)

struct Oracle {
  const sim::Simulator* simulator = nullptr;
  std::map<Slot, uint64_t> sent;  // what each client asked to store
  std::map<Slot, uint64_t> state;  // what the server holds
  int64_t applied = 0;
  int64_t corrupted_applied = 0;
  std::string first_corruption;
  int64_t frames_dropped = 0;
  int64_t attempts = 0;
  int64_t acknowledged = 0;
};

// The two wire formats. Raw: the bytes as they are. Framed: a CRC-32C frame.
Bytes Encode(bool framed, uint8_t type, uint64_t sequence, std::optional<uint64_t> value) {
  ByteWriter writer;
  if (!framed) writer.PutU8(type);
  writer.PutU64(sequence);
  if (value) writer.PutU64(*value);
  return framed ? EncodeFrame(type, writer.bytes()) : writer.Take();
}

// Returns the type and the body after it, or nullopt (a frame that fails its check).
std::optional<std::pair<uint8_t, Bytes>> Decode(bool framed, std::span<const uint8_t> datagram) {
  if (framed) {
    Result<Frame> frame = DecodeFrame(datagram);
    if (!frame.ok()) return std::nullopt;
    return std::make_pair(frame->type, std::move(frame->payload));
  }
  if (datagram.empty()) return std::nullopt;
  return std::make_pair(datagram[0], Bytes(datagram.begin() + 1, datagram.end()));
}

class SlotServer {
 public:
  SlotServer(Env& env, Oracle* oracle, bool framed) : env_(env), oracle_(oracle), framed_(framed) {
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnWrite(source, payload); });
  }

 private:
  void OnWrite(NodeId source, std::span<const uint8_t> payload) {
    const auto message = Decode(framed_, payload);
    if (!message) {
      ++oracle_->frames_dropped;
      return;
    }
    ByteReader reader(message->second);
    uint64_t sequence = 0;
    uint64_t value = 0;
    // A raw message of an unknown type is ignored: that is parsing, not checking.
    if (message->first != kWrite || !reader.GetU64(&sequence) || !reader.GetU64(&value)) return;
    const Slot slot{source.value(), sequence};
    oracle_->state[slot] = value;
    ++oracle_->applied;
    const auto sent = oracle_->sent.find(slot);
    if (sent == oracle_->sent.end() || sent->second != value) {
      ++oracle_->corrupted_applied;
      if (oracle_->first_corruption.empty()) {
        oracle_->first_corruption =
            "at " + scenarios::FormatTrueTime(oracle_->simulator->now()) + " the server stored " +
            std::to_string(value) + " in slot (client " + std::to_string(slot.first) + ", seq " +
            std::to_string(sequence) + ") where the client " +
            (sent == oracle_->sent.end() ? std::string("had written nothing")
                                         : "wrote " + std::to_string(sent->second));
      }
    }
    env_.Send(source, Encode(framed_, kAck, sequence, std::nullopt));
  }

  Env& env_;
  Oracle* oracle_;
  bool framed_;
};

// Writes kWritesPerClient random values one at a time, re-sending after a timeout.
class SlotClient {
 public:
  SlotClient(Env& env, Oracle* oracle, NodeId server, bool framed)
      : env_(env), oracle_(oracle), server_(server), framed_(framed) {
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnAck(source, payload); });
    timer_ = env_.SetTimer(Milliseconds(1), [this] { Next(); });
  }
  ~SlotClient() { env_.CancelTimer(timer_); }
  SlotClient(const SlotClient&) = delete;
  SlotClient& operator=(const SlotClient&) = delete;

 private:
  void Next() {
    if (sequence_ >= kWritesPerClient) return;
    ++sequence_;
    value_ = env_.rng().NextU64();
    oracle_->sent[{env_.self().value(), sequence_}] = value_;
    Send();
  }
  void Send() {
    ++oracle_->attempts;
    env_.Send(server_, Encode(framed_, kWrite, sequence_, value_));
    timer_ = env_.SetTimer(kAttemptTimeout, [this] { Send(); });
  }
  void OnAck(NodeId source, std::span<const uint8_t> payload) {
    const auto message = Decode(framed_, payload);
    if (!message) {
      ++oracle_->frames_dropped;
      return;
    }
    ByteReader reader(message->second);
    uint64_t sequence = 0;
    if (source != server_ || message->first != kAck || !reader.GetU64(&sequence) || sequence != sequence_) return;
    ++oracle_->acknowledged;
    env_.CancelTimer(timer_);
    timer_ = env_.SetTimer(Milliseconds(1), [this] { Next(); });
  }

  Env& env_;
  Oracle* oracle_;
  NodeId server_;
  bool framed_;
  uint64_t sequence_ = 0;
  uint64_t value_ = 0;
  TimerId timer_;
};

class ByzantineBits final : public Scenario {
 public:
  std::string_view name() const override { return "byzantine-bits"; }
  std::string_view section() const override { return "Byzantine Faults"; }
  std::string_view remedy() const override { return "CRC-32C frames: corrupted messages detected, dropped, resent"; }

  RunOutcome Run(uint64_t seed, bool with_remedy) const override {
    sim::Simulator simulator(scenarios::ScenarioSimOptions(seed));
    sim::LinkConfig link = scenarios::UniformLink(Milliseconds(1), Milliseconds(5));
    link.corrupt_probability = kCorruptProbability;
    simulator.SetAllLinks(link);
    Oracle oracle;
    oracle.simulator = &simulator;
    const NodeId server = simulator.AddProcess("server", [&oracle, with_remedy](Env& env) {
      return sim::Hold(std::make_unique<SlotServer>(env, &oracle, with_remedy));
    });
    for (int client = 0; client < kClients; ++client) {
      simulator.AddProcess("client" + std::to_string(client + 1), [&oracle, server, with_remedy](Env& env) {
        return sim::Hold(std::make_unique<SlotClient>(env, &oracle, server, with_remedy));
      });
    }
    const int64_t writes = kWrites;
    scenarios::RunUntilHolds(simulator, [&oracle] { return oracle.acknowledged >= kWrites; },
                             Instant() + Minutes(1));
    scenarios::RunTo(simulator, simulator.now() + Seconds(1));  // stragglers land

    int64_t wrong_at_end = 0;
    for (const auto& [slot, value] : oracle.sent) {
      const auto held = oracle.state.find(slot);
      if (held == oracle.state.end() || held->second != value) ++wrong_at_end;
    }
    for (const auto& [slot, value] : oracle.state) {
      if (!oracle.sent.contains(slot)) ++wrong_at_end;  // a slot nobody wrote
    }

    RunOutcome outcome;
    outcome.Add("writes", static_cast<double>(writes));
    outcome.Add("writes_acknowledged", static_cast<double>(oracle.acknowledged));
    outcome.Add("messages_corrupted", static_cast<double>(simulator.counters().corrupted));
    outcome.Add("corrupted_values_applied", static_cast<double>(oracle.corrupted_applied));
    outcome.Add("slots_wrong_at_end", static_cast<double>(wrong_at_end));
    outcome.Add("frames_dropped", static_cast<double>(oracle.frames_dropped));
    outcome.Add("attempts", static_cast<double>(oracle.attempts));

    std::string problems;
    if (oracle.corrupted_applied > 0 || wrong_at_end > 0) {
      problems = std::to_string(oracle.corrupted_applied) + " corrupted values applied, " +
                 std::to_string(wrong_at_end) + " slots differ from what the clients wrote at the end";
      if (!oracle.first_corruption.empty()) problems += "; first: " + oracle.first_corruption;
    }
    if (oracle.acknowledged < writes) {
      problems += (problems.empty() ? "" : "; ") + std::to_string(writes - oracle.acknowledged) +
                  " writes never acknowledged";
    }
    outcome.violated = !problems.empty();
    outcome.violation = problems;
    outcome.summary = std::to_string(simulator.counters().corrupted) + " messages corrupted: " +
                      std::to_string(oracle.corrupted_applied) + " corrupted values applied, " +
                      std::to_string(oracle.frames_dropped) + " frames dropped by their checksum, " +
                      std::to_string(oracle.acknowledged) + "/" + std::to_string(writes) +
                      " writes acknowledged (a checksum stops accidents, not liars: tolerating f Byzantine nodes needs 3f+1)";
    return outcome;
  }
};

}  // namespace

const Scenario& ByzantineBitsScenario() {
  static const ByzantineBits scenario;
  return scenario;
}

}  // namespace murphy
