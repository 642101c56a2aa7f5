// two-generals — "Knowledge in Distributed Systems: The Two Generals Problem".
//
// The story: general A must agree with general B on "attack at dawn" over a link that
// loses 30 % of the messengers. They attack together, or not at all; one attacking
// alone is the disaster.
//
// Without the remedy: a protocol with a fixed number n of messages (the order, the
// ack, the ack of the ack, ...), each sent once; message j+1 is sent on receipt of
// message j, and a general attacks iff it received every message addressed to it
// (A with n = 1 attacks on sending). Whatever n, the general who sends the last
// message cannot know whether it arrived: when it is lost, that general attacks and
// the other holds. We search, for n = 1..6, the seed's loss patterns (kSearchBattles
// battles per n) for such a run and count the disagreements.
//
// With the remedy: A re-sends the order until acknowledged (up to R retries, a fixed
// interval apart); B records the order once (a duplicate is idempotent) and
// acknowledges every copy; A attacks iff acknowledged before dawn, B iff it received
// the order. Disagreement needs every ack to be lost while some copy got through, so
// its probability falls geometrically with R (about 0.51^(R+1) at 30 % loss) — but it
// never reaches zero: a run in which every ack is lost (a one-way cut B->A) still
// ends in disagreement, and no finite number of messages can exclude it. The "with"
// run passes by a stated probabilistic bound, not by certainty, which is impossible.
//
// The checker counts disagreements (one general attacks, the other holds) per number
// of messages. Without: a disagreement found for some n is a violation (it reports
// every n). With: the disagreement rate at kBoundRetries retries over kBoundBattles
// battles must be at most kBoundRate.
#include <array>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "murphy/core/codec.h"
#include "murphy/env/env.h"
#include "murphy/protocol/frame.h"
#include "murphy/resilience/backoff.h"
#include "murphy/scenarios/scenario.h"
#include "murphy/scenarios/scenarios.h"
#include "murphy/scenarios/sim_support.h"
#include "murphy/sim/simulator.h"

namespace murphy {
namespace {

constexpr double kLossProbability = 0.3;
constexpr Duration kBattleSpacing = Seconds(1);
constexpr Duration kDawn = Milliseconds(800);  // after the battle's start
constexpr Duration kRetryInterval = Milliseconds(20);
constexpr int kMaxFixedMessages = 6;
constexpr int kSearchBattles = 400;
constexpr std::array<int, 6> kRetryBudgets = {0, 1, 2, 4, 8, 20};
constexpr int kBoundRetries = 20;
constexpr int kBoundBattles = 2000;
constexpr double kBoundRate = 1e-3;
constexpr uint8_t kMessengerType = 7;

// One battle as each general saw it.
struct BattleView {
  int highest_received = 0;  // fixed protocol: the last message index received
  bool order_received = false;
  bool acknowledged = false;
  int messages_sent = 0;
};

// Ground truth, filled by both generals: index 0 is A, 1 is B.
struct Battlefield {
  explicit Battlefield(int battles) : views{std::vector<BattleView>(static_cast<size_t>(battles)),
                                            std::vector<BattleView>(static_cast<size_t>(battles))} {}
  std::array<std::vector<BattleView>, 2> views;
};

Bytes EncodeMessenger(uint32_t battle, uint32_t index) {
  ByteWriter writer;
  writer.PutU32(battle);
  writer.PutU32(index);
  return EncodeFrame(kMessengerType, writer.bytes());
}

// How the generals talk. fixed_messages > 0: the fixed protocol with that many
// messages; otherwise the retry protocol with `retries` re-sends of the order.
struct Protocol {
  int fixed_messages = 0;
  int retries = 0;
};

class General {
 public:
  // role 0 is A (who starts every battle), 1 is B.
  General(Env& env, int role, NodeId peer, Protocol protocol, int battles, Battlefield* field)
      : env_(env), role_(role), peer_(peer), protocol_(protocol), battles_(battles), field_(field) {
    start_ = env_.MonotonicNow();
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnMessenger(source, payload); });
    if (role_ == 0) timer_ = env_.SetTimer(Milliseconds(1), [this] { StartBattle(); });
  }
  ~General() {
    env_.CancelTimer(timer_);
    env_.CancelTimer(retry_timer_);
  }
  General(const General&) = delete;
  General& operator=(const General&) = delete;

 private:
  BattleView& View(uint32_t battle) { return field_->views[static_cast<size_t>(role_)][battle]; }
  Instant Dawn(uint32_t battle) const { return start_ + kBattleSpacing * static_cast<int64_t>(battle) + kDawn; }

  void Send(uint32_t battle, uint32_t index) {
    ++View(battle).messages_sent;
    env_.Send(peer_, EncodeMessenger(battle, index));
  }

  void StartBattle() {
    const uint32_t battle = next_battle_++;
    if (protocol_.fixed_messages > 0) {
      Send(battle, 1);
    } else {
      BackoffOptions options;
      options.base = kRetryInterval;
      options.cap = kRetryInterval;
      options.multiplier = 1.0;
      options.jitter = Jitter::kNone;
      options.max_retries = protocol_.retries;
      backoff_.emplace(options);
      SendOrder(battle);
    }
    if (static_cast<int>(next_battle_) < battles_) {
      timer_ = env_.SetTimer(start_ + kBattleSpacing * static_cast<int64_t>(next_battle_) + Milliseconds(1) -
                                 env_.MonotonicNow(),
                             [this] { StartBattle(); });
    }
  }

  // Retry protocol, A: send the order, and again after each interval until acked.
  void SendOrder(uint32_t battle) {
    if (View(battle).acknowledged) return;
    Send(battle, 1);
    const std::optional<Duration> wait = backoff_->NextDelay(env_.rng());
    if (wait) retry_timer_ = env_.SetTimer(*wait, [this, battle] { SendOrder(battle); });
  }

  void OnMessenger(NodeId source, std::span<const uint8_t> payload) {
    Result<Frame> frame = DecodeFrame(payload);
    if (source != peer_ || !frame.ok() || frame->type != kMessengerType) return;
    ByteReader reader(frame->payload);
    uint32_t battle = 0;
    uint32_t index = 0;
    if (!reader.GetU32(&battle) || !reader.GetU32(&index) || battle >= static_cast<uint32_t>(battles_)) return;
    if (env_.MonotonicNow() >= Dawn(battle)) return;  // too late to matter
    BattleView& view = View(battle);
    if (protocol_.fixed_messages > 0) {
      if (static_cast<int>(index) <= view.highest_received) return;
      view.highest_received = static_cast<int>(index);
      if (static_cast<int>(index) < protocol_.fixed_messages) Send(battle, index + 1);
      return;
    }
    if (role_ == 1) {
      view.order_received = true;  // idempotent: a second copy changes nothing
      Send(battle, 2);             // acknowledge every copy: an earlier ack may be lost
    } else {
      view.acknowledged = true;
      env_.CancelTimer(retry_timer_);
    }
  }

  Env& env_;
  int role_;
  NodeId peer_;
  Protocol protocol_;
  int battles_;
  Battlefield* field_;
  Instant start_;
  uint32_t next_battle_ = 0;
  std::optional<Backoff> backoff_;
  TimerId timer_;
  TimerId retry_timer_;
};

// Whether a general attacks in a battle, by the protocol's rule.
bool Attacks(const Protocol& protocol, int role, const BattleView& view) {
  if (protocol.fixed_messages > 0) {
    // A receives the even messages, B the odd ones; the last one addressed to me:
    const int n = protocol.fixed_messages;
    const int last_mine = (n % 2 == 0) == (role == 0) ? n : n - 1;
    return last_mine == 0 || view.highest_received >= last_mine;
  }
  return role == 0 ? view.acknowledged : view.order_received;
}

struct Tally {
  int battles = 0;
  int disagreements = 0;
  int64_t messages = 0;
  std::string first;  // the first disagreement, described
};

Tally Fight(uint64_t seed, const Protocol& protocol, int battles, bool cut_acknowledgements) {
  sim::Simulator simulator(scenarios::ScenarioSimOptions(seed));
  sim::LinkConfig link = scenarios::UniformLink(Milliseconds(1), Milliseconds(5));
  link.loss_probability = kLossProbability;
  simulator.SetAllLinks(link);
  Battlefield field(battles);
  const NodeId a = NodeId(1);
  const NodeId b = NodeId(2);
  simulator.AddProcess("general-a", [&](Env& env) {
    return sim::Hold(std::make_unique<General>(env, 0, b, protocol, battles, &field));
  });
  simulator.AddProcess("general-b", [&](Env& env) {
    return sim::Hold(std::make_unique<General>(env, 1, a, protocol, battles, &field));
  });
  if (cut_acknowledgements) simulator.AddCuts({{b, a}});
  scenarios::RunTo(simulator, Instant() + kBattleSpacing * static_cast<int64_t>(battles) + kBattleSpacing);

  Tally tally;
  tally.battles = battles;
  for (int battle = 0; battle < battles; ++battle) {
    const BattleView& view_a = field.views[0][static_cast<size_t>(battle)];
    const BattleView& view_b = field.views[1][static_cast<size_t>(battle)];
    tally.messages += view_a.messages_sent + view_b.messages_sent;
    const bool a_attacks = Attacks(protocol, 0, view_a);
    const bool b_attacks = Attacks(protocol, 1, view_b);
    if (a_attacks == b_attacks) continue;
    ++tally.disagreements;
    if (!tally.first.empty()) continue;
    const std::string who = a_attacks ? "A attacks alone, B holds" : "B attacks alone, A holds";
    const Instant start = Instant() + kBattleSpacing * static_cast<int64_t>(battle);
    if (protocol.fixed_messages > 0) {
      const int n = protocol.fixed_messages;
      const std::string direction = n % 2 == 1 ? "A->B" : "B->A";
      tally.first = "battle " + std::to_string(battle) + " at " + scenarios::FormatTrueTime(start) + ": message " +
                    std::to_string(n) + " of " + std::to_string(n) + " (" + direction + ") lost; " + who;
    } else {
      tally.first = "battle " + std::to_string(battle) + " at " + scenarios::FormatTrueTime(start) + ": " +
                    std::to_string(view_a.messages_sent) + " orders sent, all " + std::to_string(view_b.messages_sent) +
                    " acks lost; " + who;
    }
  }
  return tally;
}

std::string Percent(double fraction) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f%%", 100 * fraction);
  return buffer;
}

class TwoGenerals final : public Scenario {
 public:
  std::string_view name() const override { return "two-generals"; }
  std::string_view section() const override { return "The Two Generals Problem"; }
  std::string_view remedy() const override {
    return "retry the order until acknowledged (idempotent): agreement with probability -> 1, never certainty";
  }

  RunOutcome Run(uint64_t seed, bool with_remedy) const override {
    RunOutcome outcome;
    outcome.Add("loss_probability", kLossProbability);
    if (!with_remedy) {
      std::string counts;
      std::string found;
      int total = 0;
      int messages_without_disagreement = 0;
      for (int n = 1; n <= kMaxFixedMessages; ++n) {
        Protocol protocol;
        protocol.fixed_messages = n;
        const Tally tally = Fight(seed + static_cast<uint64_t>(n) * 1'000'003, protocol, kSearchBattles, false);
        outcome.Add("disagreements_with_" + std::to_string(n) + "_messages", tally.disagreements);
        total += tally.disagreements;
        counts += (counts.empty() ? "" : ", ") + std::to_string(n) + "->" + std::to_string(tally.disagreements);
        if (tally.disagreements == 0) {
          ++messages_without_disagreement;
        } else {
          found += (found.empty() ? "" : "; ") + std::to_string(n) + (n == 1 ? " message: " : " messages: ") +
                   tally.first;
        }
      }
      outcome.Add("fixed_protocols_without_a_disagreement", messages_without_disagreement);
      outcome.violated = total > 0;
      if (outcome.violated) {
        outcome.violation = "a run in which one general attacks alone exists for " +
                            std::to_string(kMaxFixedMessages - messages_without_disagreement) + " of the " +
                            std::to_string(kMaxFixedMessages) + " fixed message counts searched: " + found;
      }
      outcome.summary = "disagreements per " + std::to_string(kSearchBattles) + " battles at " +
                        Percent(kLossProbability) + " loss, by number of messages: " + counts;
      return outcome;
    }

    std::string rates;
    double bound_rate = 1;
    int bound_disagreements = 0;
    for (const int retries : kRetryBudgets) {
      Protocol protocol;
      protocol.retries = retries;
      const Tally tally = Fight(seed + static_cast<uint64_t>(retries) * 2'000'003, protocol, kBoundBattles, false);
      const double rate = static_cast<double>(tally.disagreements) / tally.battles;
      outcome.Add("disagreement_rate_" + std::to_string(retries) + "_retries", rate);
      outcome.Add("messages_per_battle_" + std::to_string(retries) + "_retries",
                  static_cast<double>(tally.messages) / tally.battles);
      rates += (rates.empty() ? "" : ", ") + std::to_string(retries) + "->" +
               std::to_string(tally.disagreements) + "/" + std::to_string(tally.battles);
      if (retries == kBoundRetries) {
        bound_rate = rate;
        bound_disagreements = tally.disagreements;
      }
    }
    // Certainty is impossible: the same protocol when every acknowledgement is lost.
    Protocol protocol;
    protocol.retries = kBoundRetries;
    const Tally adversarial = Fight(seed, protocol, 1, true);
    outcome.Add("disagreements_all_acks_lost", adversarial.disagreements);

    char bound[160];
    std::snprintf(bound, sizeof bound, "bound: rate <= %g at %d retries over %d battles", kBoundRate, kBoundRetries,
                  kBoundBattles);
    outcome.violated = bound_rate > kBoundRate;
    if (outcome.violated) {
      outcome.violation = std::to_string(bound_disagreements) + " disagreements in " + std::to_string(kBoundBattles) +
                          " battles at " + std::to_string(kBoundRetries) + " retries (" + bound + ")";
    }
    outcome.summary = "disagreements by retries: " + rates + " (" + bound + "); with every ack lost they still " +
                      (adversarial.disagreements > 0 ? "disagree" : "agree") + ": certainty is impossible";
    return outcome;
  }
};

}  // namespace

const Scenario& TwoGeneralsScenario() {
  static const TwoGenerals scenario;
  return scenario;
}

}  // namespace murphy
