#include "murphy/sim/schedule.h"

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "murphy/sim/simulator.h"

namespace murphy::sim {
namespace {

constexpr std::string_view kKindNames[kFaultKindCount] = {
    "loss",  "duplicate", "corrupt",    "delay",       "reorder",      "clog", "partition", "pause",
    "suspend", "slow",    "crash",      "clock-step",  "clock-drift",  "clock-strobe", "disk"};

template <typename T>
const T& Pick(Rng& rng, const std::vector<T>& items) {
  MURPHY_ASSERT(!items.empty());
  return items[rng.Uniform(items.size())];
}

std::vector<Link> RandomLinks(Rng& rng, const std::vector<NodeId>& nodes) {
  const std::vector<Link> all = AllLinks(nodes);
  if (all.empty()) return all;
  switch (rng.Uniform(4)) {
    case 0:
      return all;
    case 1:
      return {Pick(rng, all)};
    case 2: {  // everything out of one node
      const NodeId node = Pick(rng, nodes);
      return OneWayCuts({node}, nodes);
    }
    default: {  // everything into one node
      const NodeId node = Pick(rng, nodes);
      return OneWayCuts(nodes, {node});
    }
  }
}

std::vector<Link> RandomPartition(Rng& rng, const std::vector<NodeId>& nodes, std::string* label) {
  switch (rng.Uniform(6)) {
    case 0:
      *label = "isolate";
      return IsolateCuts(Pick(rng, nodes), nodes);
    case 1:
      *label = "halves";
      return HalvesCuts(nodes, rng);
    case 2: {
      *label = "one-way";
      const NodeId node = Pick(rng, nodes);
      return rng.Bernoulli(0.5) ? OneWayCuts({node}, nodes) : OneWayCuts(nodes, {node});
    }
    case 3:
      if (nodes.size() >= 3) {
        *label = "bridge";
        return BridgeCuts(nodes, Pick(rng, nodes));
      }
      *label = "halves";
      return HalvesCuts(nodes, rng);
    case 4:
      if (nodes.size() >= 4) {
        *label = "majorities-ring";
        return MajoritiesRingCuts(nodes);
      }
      [[fallthrough]];
    default: {
      *label = "partial";
      std::vector<Link> cuts;
      for (const Link& link : AllLinks(nodes)) {
        if (rng.Bernoulli(0.5)) cuts.push_back(link);
      }
      if (cuts.empty()) cuts = IsolateCuts(Pick(rng, nodes), nodes);
      return cuts;
    }
  }
}

}  // namespace

std::string_view FaultKindName(FaultKind kind) { return kKindNames[static_cast<int>(kind)]; }

std::vector<FaultKind> FaultKindSet::kinds() const {
  std::vector<FaultKind> result;
  for (int i = 0; i < kFaultKindCount; ++i) {
    if (contains(static_cast<FaultKind>(i))) result.push_back(static_cast<FaultKind>(i));
  }
  return result;
}

std::string FaultKindSet::ToString() const {
  if (empty()) return "none";
  std::string text;
  for (const FaultKind kind : kinds()) {
    if (!text.empty()) text.push_back(',');
    text += FaultKindName(kind);
  }
  return text;
}

Result<FaultKindSet> ParseFaultKinds(std::string_view list) {
  if (list == "all") return FaultKindSet::All();
  FaultKindSet set;
  if (list == "none") return set;
  size_t begin = 0;
  while (begin <= list.size()) {
    size_t end = list.find(',', begin);
    if (end == std::string_view::npos) end = list.size();
    const std::string_view item = list.substr(begin, end - begin);
    const auto* found = std::find(std::begin(kKindNames), std::end(kKindNames), item);
    if (found == std::end(kKindNames)) {
      std::string valid;
      for (const std::string_view name : kKindNames) valid += std::string(valid.empty() ? "" : ", ") + std::string(name);
      return InvalidArgumentError("unknown fault kind '" + std::string(item) + "'; valid kinds: " + valid +
                                  " (or 'all', 'none')");
    }
    set.Add(static_cast<FaultKind>(found - std::begin(kKindNames)));
    begin = end + 1;
  }
  return set;
}

FaultKindSet SwarmKinds(Rng& rng, FaultKindSet allowed) {
  const std::vector<FaultKind> kinds = allowed.kinds();
  FaultKindSet chosen;
  if (kinds.empty()) return chosen;
  for (const FaultKind kind : kinds) {
    if (rng.Bernoulli(0.5)) chosen.Add(kind);
  }
  if (chosen.empty()) chosen.Add(Pick(rng, kinds));
  return chosen;
}

std::string FormatAction(const FaultAction& action) {
  std::string text = "at=" + FormatDuration(action.at) + " for=" + FormatDuration(action.duration) + " " +
                     std::string(FaultKindName(action.kind));
  if (!action.label.empty()) text += "[" + action.label + "]";
  if (action.node != NodeId()) text += " node=" + std::to_string(action.node.value());
  if (!action.links.empty()) text += " links=" + FormatLinks(action.links);
  if (action.probability != 0) text += " p=" + std::to_string(action.probability);
  if (action.sync_error_probability != 0) text += " sync_error_p=" + std::to_string(action.sync_error_probability);
  if (action.amount != Duration::Zero()) text += " amount=" + FormatDuration(action.amount);
  if (action.period != Duration::Zero()) text += " period=" + FormatDuration(action.period);
  if (action.drift_ppm != 0) text += " drift_ppm=" + std::to_string(action.drift_ppm);
  return text;
}

std::string FormatSchedule(const Schedule& schedule) {
  if (schedule.empty()) return "(no faults)\n";
  std::string text;
  for (const FaultAction& action : schedule) text += FormatAction(action) + "\n";
  return text;
}

std::string ScheduleToJson(const Schedule& schedule) {
  nlohmann::json array = nlohmann::json::array();
  for (const FaultAction& action : schedule) {
    nlohmann::json links = nlohmann::json::array();
    for (const Link& link : action.links) links.push_back({link.source.value(), link.target.value()});
    array.push_back({{"at_ns", action.at.nanoseconds()},
                     {"duration_ns", action.duration.nanoseconds()},
                     {"kind", FaultKindName(action.kind)},
                     {"node", action.node.value()},
                     {"links", links},
                     {"probability", action.probability},
                     {"sync_error_probability", action.sync_error_probability},
                     {"amount_ns", action.amount.nanoseconds()},
                     {"period_ns", action.period.nanoseconds()},
                     {"drift_ppm", action.drift_ppm},
                     {"label", action.label}});
  }
  return array.dump(1);
}

Result<Schedule> ParseScheduleJson(std::string_view json) {
  const nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_array()) return InvalidArgumentError("schedule: not a JSON array");
  Schedule schedule;
  for (const nlohmann::json& item : parsed) {
    if (!item.is_object() || !item.contains("kind") || !item["kind"].is_string()) {
      return InvalidArgumentError("schedule: every action needs a string 'kind'");
    }
    MURPHY_ASSIGN_OR_RETURN(const FaultKindSet kind_set, ParseFaultKinds(item["kind"].get<std::string>()));
    const std::vector<FaultKind> kinds = kind_set.kinds();
    if (kinds.size() != 1) return InvalidArgumentError("schedule: 'kind' must name one fault kind");
    FaultAction action;
    action.kind = kinds[0];
    auto number = [&item](const char* key, auto fallback) {
      using T = decltype(fallback);
      if (!item.contains(key) || !item[key].is_number()) return fallback;
      return item[key].get<T>();
    };
    action.at = Nanoseconds(number("at_ns", int64_t{0}));
    action.duration = Nanoseconds(number("duration_ns", int64_t{0}));
    action.node = NodeId(number("node", uint32_t{0}));
    action.probability = number("probability", 0.0);
    action.sync_error_probability = number("sync_error_probability", 0.0);
    action.amount = Nanoseconds(number("amount_ns", int64_t{0}));
    action.period = Nanoseconds(number("period_ns", int64_t{0}));
    action.drift_ppm = number("drift_ppm", 0.0);
    if (item.contains("label") && item["label"].is_string()) action.label = item["label"].get<std::string>();
    if (item.contains("links") && item["links"].is_array()) {
      for (const nlohmann::json& link : item["links"]) {
        if (!link.is_array() || link.size() != 2 || !link[0].is_number_unsigned() || !link[1].is_number_unsigned()) {
          return InvalidArgumentError("schedule: a link is [source, target]");
        }
        action.links.push_back({NodeId(link[0].get<uint32_t>()), NodeId(link[1].get<uint32_t>())});
      }
    }
    if (action.duration < Duration::Zero() || action.at < Duration::Zero()) {
      return InvalidArgumentError("schedule: negative time");
    }
    schedule.push_back(std::move(action));
  }
  return schedule;
}

void InstallSchedule(Simulator& sim, const Schedule& schedule, Instant origin) {
  for (const FaultAction& original : schedule) {
    auto action = std::make_shared<const FaultAction>(original);
    const Instant start = origin + action->at;
    const Instant end = start + action->duration;
    auto window = [&sim, start, end](std::function<void()> begin, std::function<void()> finish) {
      sim.At(start, std::move(begin));
      if (end != Instant::Max()) sim.At(end, std::move(finish));
    };
    switch (action->kind) {
      case FaultKind::kLoss:
      case FaultKind::kDuplicate:
      case FaultKind::kCorrupt:
      case FaultKind::kDelay:
      case FaultKind::kReorder: {
        LinkFaultOverlay overlay;
        if (action->kind == FaultKind::kLoss) overlay.loss_probability = action->probability;
        if (action->kind == FaultKind::kDuplicate) overlay.duplicate_probability = action->probability;
        if (action->kind == FaultKind::kCorrupt) overlay.corrupt_probability = action->probability;
        if (action->kind == FaultKind::kDelay) overlay.extra_delay_mean = action->amount;
        if (action->kind == FaultKind::kReorder) overlay.reorder_jitter = action->amount;
        auto handle = std::make_shared<uint64_t>(0);
        window([&sim, action, overlay, handle] { *handle = sim.AddLinkFaults(action->links, overlay); },
               [&sim, handle] { sim.RemoveLinkFaults(*handle); });
        break;
      }
      case FaultKind::kClog:
        window([&sim, action] { for (const Link& l : action->links) sim.Clog(l.source, l.target); },
               [&sim, action] { for (const Link& l : action->links) sim.Unclog(l.source, l.target); });
        break;
      case FaultKind::kPartition:
        window([&sim, action] { sim.AddCuts(action->links); }, [&sim, action] { sim.RemoveCuts(action->links); });
        break;
      case FaultKind::kPause:
        sim.At(start, [&sim, action] { sim.Pause(action->node, action->duration); });
        break;
      case FaultKind::kSuspend:
        sim.At(start, [&sim, action] { sim.Suspend(action->node, action->duration); });
        break;
      case FaultKind::kSlow:
        window([&sim, action] { sim.SetSlow(action->node, action->amount); },
               [&sim, action] { sim.SetSlow(action->node, Duration::Zero()); });
        break;
      case FaultKind::kCrash:
        window([&sim, action] { sim.Crash(action->node); },
               [&sim, action] {
                 if (!sim.alive(action->node)) sim.Restart(action->node);
               });
        break;
      case FaultKind::kClockStep:
        window([&sim, action] { sim.StepWallClock(action->node, action->amount); },
               [&sim, action] { sim.ResyncWallClock(action->node, SimClock::Resync::kStep); });
        break;
      case FaultKind::kClockDrift:
        window([&sim, action] { sim.SetDriftPpm(action->node, action->drift_ppm); },
               [&sim, action] { sim.SetDriftPpm(action->node, 0); });
        break;
      case FaultKind::kClockStrobe:
        sim.At(start, [&sim, action] {
          sim.StrobeWallClock(action->node, action->amount, action->period, action->duration);
        });
        break;
      case FaultKind::kDisk:
        window(
            [&sim, action] {
              DiskFaults faults;
              faults.read_corruption_probability = action->probability;
              faults.sync_error_probability = action->sync_error_probability;
              faults.sync_latency = action->amount;
              sim.SetDiskFaults(action->node, faults);
            },
            [&sim, action] { sim.SetDiskFaults(action->node, DiskFaults{}); });
        break;
    }
  }
}

Schedule RandomSchedule(Rng& rng, const NemesisOptions& options) {
  std::vector<FaultKind> kinds;
  for (const FaultKind kind : options.kinds.kinds()) {
    const bool possible = kind == FaultKind::kCrash  ? !options.crashable.empty()
                          : kind == FaultKind::kDisk ? !options.disk_nodes.empty()
                          : kind == FaultKind::kPartition || kind == FaultKind::kClog ? options.nodes.size() >= 2
                                                                                       : !options.nodes.empty();
    if (possible) kinds.push_back(kind);
  }
  Schedule schedule;
  if (kinds.empty() || options.end <= options.start) return schedule;
  const Duration min_duration = Milliseconds(50);
  Duration t = options.start;
  while (schedule.size() < options.max_actions) {
    t += rng.ExponentialDuration(options.mean_gap);
    if (t >= options.end - min_duration) break;
    FaultAction action;
    action.kind = Pick(rng, kinds);
    action.at = t;
    action.duration = rng.UniformDuration(min_duration, Min(options.max_duration, options.end - t));
    switch (action.kind) {
      case FaultKind::kLoss:
      case FaultKind::kDuplicate:
      case FaultKind::kCorrupt:
        action.links = RandomLinks(rng, options.nodes);
        action.probability = static_cast<double>(rng.UniformInRange(5, 100)) / 100.0;
        break;
      case FaultKind::kDelay:
        action.links = RandomLinks(rng, options.nodes);
        action.amount = rng.UniformDuration(Milliseconds(5), Milliseconds(500));
        break;
      case FaultKind::kReorder:
        action.links = RandomLinks(rng, options.nodes);
        action.amount = rng.UniformDuration(Milliseconds(1), Milliseconds(50));
        break;
      case FaultKind::kClog: {
        // Swizzle: clog links one by one, unclog in another random order.
        std::vector<Link> links = AllLinks(options.nodes);
        for (size_t i = links.size(); i > 1; --i) std::swap(links[i - 1], links[rng.Uniform(i)]);
        links.resize(1 + rng.Uniform(links.size()));
        std::vector<size_t> release_order(links.size());
        for (size_t i = 0; i < release_order.size(); ++i) release_order[i] = i;
        for (size_t i = release_order.size(); i > 1; --i) std::swap(release_order[i - 1], release_order[rng.Uniform(i)]);
        const Duration step = Milliseconds(20);
        const Duration last_clog = t + step * static_cast<int64_t>(links.size());
        if (last_clog + action.duration + step * static_cast<int64_t>(links.size()) >= options.end) {
          action.links = {links[0]};
          action.label = "clog";
          schedule.push_back(action);
          continue;
        }
        for (size_t i = 0; i < links.size(); ++i) {
          FaultAction clog = action;
          clog.label = "swizzle";
          clog.links = {links[i]};
          clog.at = t + step * static_cast<int64_t>(i);
          const Duration unclog = last_clog + action.duration + step * static_cast<int64_t>(release_order[i]);
          clog.duration = unclog - clog.at;
          schedule.push_back(std::move(clog));
        }
        continue;
      }
      case FaultKind::kPartition:
        action.links = RandomPartition(rng, options.nodes, &action.label);
        break;
      case FaultKind::kPause:
      case FaultKind::kSuspend:
        action.node = Pick(rng, options.nodes);
        break;
      case FaultKind::kSlow:
        action.node = Pick(rng, options.nodes);
        action.amount = rng.UniformDuration(Milliseconds(1), Milliseconds(100));
        break;
      case FaultKind::kCrash:
        action.node = Pick(rng, options.crashable);
        break;
      case FaultKind::kClockStep:
        action.node = Pick(rng, options.nodes);
        action.amount = rng.UniformDuration(Milliseconds(1), Seconds(30)) * (rng.Bernoulli(0.5) ? 1 : -1);
        break;
      case FaultKind::kClockDrift:
        action.node = Pick(rng, options.nodes);
        action.drift_ppm = static_cast<double>(rng.UniformInRange(-100'000, 100'000));
        break;
      case FaultKind::kClockStrobe:
        action.node = Pick(rng, options.nodes);
        action.amount = rng.UniformDuration(Milliseconds(10), Seconds(5));
        action.period = rng.UniformDuration(Milliseconds(5), Milliseconds(100));
        break;
      case FaultKind::kDisk:
        action.node = Pick(rng, options.disk_nodes);
        action.probability = static_cast<double>(rng.UniformInRange(0, 50)) / 100.0;
        if (options.allow_sync_errors) action.sync_error_probability = static_cast<double>(rng.UniformInRange(0, 20)) / 100.0;
        action.amount = rng.UniformDuration(Duration::Zero(), Milliseconds(20));
        break;
    }
    schedule.push_back(std::move(action));
  }
  std::stable_sort(schedule.begin(), schedule.end(),
                   [](const FaultAction& a, const FaultAction& b) { return a.at < b.at; });
  if (schedule.size() > options.max_actions) schedule.resize(options.max_actions);
  return schedule;
}

std::vector<std::vector<Link>> PartialPartitionPatterns(const std::vector<NodeId>& nodes) {
  const std::vector<Link> links = AllLinks(nodes);
  MURPHY_ASSERT_MSG(links.size() <= 20, "too many links for an exhaustive sweep");
  std::vector<std::vector<Link>> patterns;
  const uint32_t count = 1u << links.size();
  patterns.reserve(count);
  for (uint32_t pattern = 0; pattern < count; ++pattern) {
    std::vector<Link> cuts;
    for (size_t i = 0; i < links.size(); ++i) {
      if ((pattern >> i) & 1u) cuts.push_back(links[i]);
    }
    patterns.push_back(std::move(cuts));
  }
  return patterns;
}

Schedule PartialPartitionSweep(const std::vector<NodeId>& nodes, Duration start, Duration hold, Duration gap) {
  Schedule schedule;
  Duration t = start;
  const std::vector<std::vector<Link>> patterns = PartialPartitionPatterns(nodes);
  for (size_t pattern = 0; pattern < patterns.size(); ++pattern) {
    if (!patterns[pattern].empty()) {
      FaultAction action;
      action.kind = FaultKind::kPartition;
      action.at = t;
      action.duration = hold;
      action.links = patterns[pattern];
      action.label = "pattern-" + std::to_string(pattern);
      schedule.push_back(std::move(action));
    }
    t += hold + gap;
  }
  return schedule;
}

Status SweepPartialPartitions(Simulator& sim, const std::vector<NodeId>& nodes, Duration hold, Duration gap,
                              const std::function<void(uint32_t, const std::vector<Link>&)>& before_hold,
                              const std::function<void(uint32_t, const std::vector<Link>&)>& after_hold) {
  const std::vector<std::vector<Link>> patterns = PartialPartitionPatterns(nodes);
  for (uint32_t pattern = 0; pattern < patterns.size(); ++pattern) {
    sim.AddCuts(patterns[pattern]);
    if (before_hold) before_hold(pattern, patterns[pattern]);
    MURPHY_RETURN_IF_ERROR(sim.RunFor(hold));
    if (after_hold) after_hold(pattern, patterns[pattern]);
    sim.RemoveCuts(patterns[pattern]);
    MURPHY_RETURN_IF_ERROR(sim.RunFor(gap));
  }
  return Status::Ok();
}

}  // namespace murphy::sim
