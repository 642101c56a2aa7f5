#include "murphy/report/timeline.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace murphy::report {
namespace {

using nlohmann::json;

int64_t Microseconds(int64_t nanoseconds) { return nanoseconds / 1000; }

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::optional<int64_t> IntegerField(const json& object, const char* key) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_number_integer()) return std::nullopt;
  return found->get<int64_t>();
}

std::string StringField(const json& object, const char* key) {
  const auto found = object.find(key);
  if (found == object.end() || !found->is_string()) return "";
  return found->get<std::string>();
}

bool BoolField(const json& object, const char* key) {
  const auto found = object.find(key);
  return found != object.end() && found->is_boolean() && found->get<bool>();
}

// "key=value, key=value" of the event's own fields (not the common ones).
std::string DescribeFields(const json& object) {
  std::string text;
  for (auto item = object.begin(); item != object.end(); ++item) {
    const std::string& key = item.key();
    if (key == "time_ns" || key == "node" || key == "mono_ns" || key == "wall_ns" || key == "event") continue;
    if (!text.empty()) text += ", ";
    text += key + "=";
    text += item->is_string() ? item->get<std::string>()
                              : item->dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return text;
}

struct Event {
  int64_t time_ns = 0;
  size_t order = 0;  // position in the trace: ties keep it
  uint32_t node = 0;
  std::string name;
  json object;
};

struct Message {
  int64_t send_us = 0;
  uint32_t source = 0;
  uint32_t target = 0;
  int64_t end_us = 0;
  char kind = 'd';  // d delivered, x dropped, 2 duplicate copy, c corrupted
  uint64_t id = 0;
  std::string detail;
  bool interesting() const { return kind != 'd'; }
};

struct Span {
  uint32_t lane = 0;
  int64_t from_us = 0;
  int64_t to_us = 0;
  std::string kind;
  std::string label;
};

struct Mark {
  uint32_t lane = 0;
  int64_t at_us = 0;
  std::string event;
  std::string detail;
  std::string tone;  // "", "bad", "good", "leader"
  std::optional<int64_t> token;
  bool interesting() const { return !tone.empty() || token.has_value(); }
};

struct OpenLease {
  int64_t from_us = 0;
  int64_t planned_end_us = -1;  // -1: until closed or the end of the run
  std::string label;
};

std::string Tone(std::string_view event) {
  if (event == "became_leader") return "leader";
  if (event == "crash" || EndsWith(event, "_rejected") || EndsWith(event, "_lost") || EndsWith(event, "_violated") ||
      EndsWith(event, "_failed")) {
    return "bad";
  }
  if (EndsWith(event, "_accepted") || EndsWith(event, "_granted")) return "good";
  return "";
}

bool OpensLease(std::string_view event) { return event == "lease_granted" || event == "lease_acquired"; }
bool ClosesLease(std::string_view event) {
  return event == "lease_expired" || event == "lease_released" || event == "lease_revoked" || event == "lease_lost";
}

// Indices of the items to keep: interesting ones first, then an even sample of the
// rest, in their original order. At most `limit`.
template <typename Item>
std::vector<size_t> Sample(const std::vector<Item>& items, size_t limit) {
  std::vector<size_t> kept;
  std::vector<size_t> rest;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].interesting() && kept.size() < limit) {
      kept.push_back(i);
    } else {
      rest.push_back(i);
    }
  }
  const size_t budget = limit - kept.size();
  if (rest.size() <= budget) {
    kept.insert(kept.end(), rest.begin(), rest.end());
  } else {
    for (size_t k = 0; k < budget; ++k) kept.push_back(rest[k * rest.size() / budget]);
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

}  // namespace

json BuildTimeline(const RunTrace& trace, const TimelineLimits& limits) {
  std::vector<Event> events;
  events.reserve(trace.lines.size());
  std::map<uint32_t, std::string> lane_names;
  std::optional<int64_t> wall_origin_ns;
  int64_t bad_lines = 0;
  for (size_t i = 0; i < trace.lines.size(); ++i) {
    json object = json::parse(trace.lines[i], nullptr, /*allow_exceptions=*/false);
    if (!object.is_object() || !IntegerField(object, "time_ns") || !IntegerField(object, "node") ||
        StringField(object, "event").empty()) {
      ++bad_lines;
      continue;
    }
    Event event;
    event.time_ns = *IntegerField(object, "time_ns");
    event.order = i;
    event.node = static_cast<uint32_t>(*IntegerField(object, "node"));
    event.name = StringField(object, "event");
    if (event.name == "run_start") {
      wall_origin_ns = IntegerField(object, "wall_origin_ns");
      continue;
    }
    if (event.name == "process") {
      const std::optional<int64_t> id = IntegerField(object, "id");
      if (id && *id > 0) lane_names[static_cast<uint32_t>(*id)] = StringField(object, "name");
      continue;
    }
    event.object = std::move(object);
    events.push_back(std::move(event));
  }
  // Library-level traces may write a bar after the events inside it.
  std::stable_sort(events.begin(), events.end(),
                   [](const Event& a, const Event& b) { return a.time_ns < b.time_ns; });

  int64_t end_us = 0;
  for (const Event& event : events) end_us = std::max(end_us, Microseconds(event.time_ns));

  std::set<uint32_t> lanes;
  std::map<uint64_t, Message> sent;  // message id -> its send
  std::set<uint64_t> corrupted;
  std::vector<Message> messages;
  std::vector<Span> spans;
  std::vector<Mark> marks;
  json shades = json::array();
  std::map<uint32_t, int64_t> paused_since;
  std::map<uint32_t, int64_t> down_since;
  std::map<uint32_t, OpenLease> leases;
  std::vector<std::pair<int64_t, std::string>> partitions;  // open: since, cuts
  std::map<std::string, int64_t> clogs;                     // "s->t" -> since
  std::map<int64_t, std::pair<int64_t, std::string>> link_faults;  // handle -> since, links
  std::map<uint32_t, std::pair<int64_t, json>> clocks;             // lane -> last offset, points

  auto close_lease = [&](uint32_t lane, int64_t at_us) {
    const auto open = leases.find(lane);
    if (open == leases.end()) return;
    spans.push_back({lane, open->second.from_us, at_us, "lease", open->second.label});
    leases.erase(open);
  };
  // Leases whose ttl ran out before `now_us` end at their planned end.
  auto expire_leases = [&](int64_t now_us) {
    std::vector<uint32_t> expired;
    for (const auto& [lane, lease] : leases) {
      if (lease.planned_end_us >= 0 && lease.planned_end_us <= now_us) expired.push_back(lane);
    }
    for (const uint32_t lane : expired) close_lease(lane, leases.at(lane).planned_end_us);
  };

  for (const Event& event : events) {
    const int64_t at_us = Microseconds(event.time_ns);
    const json& object = event.object;
    const std::string& name = event.name;
    if (event.node != 0) lanes.insert(event.node);
    expire_leases(at_us);

    // Clock offset of the process, against true time.
    if (event.node != 0 && wall_origin_ns) {
      const std::optional<int64_t> wall_ns = IntegerField(object, "wall_ns");
      if (wall_ns) {
        const int64_t offset_us = Microseconds(*wall_ns - *wall_origin_ns - event.time_ns);
        auto [entry, inserted] = clocks.try_emplace(event.node, offset_us, json::array());
        json& points = entry->second.second;
        if ((inserted || std::abs(offset_us - entry->second.first) > 50) &&
            points.size() < limits.max_clock_points_per_lane) {
          points.push_back({at_us, offset_us});
          entry->second.first = offset_us;
        }
      }
    }

    if (name == "timer" || name == "run_end" || name == "clog_hold" || name == "clog_release") continue;
    if (name == "send") {
      Message message;
      message.send_us = at_us;
      message.source = event.node;
      message.target = static_cast<uint32_t>(IntegerField(object, "target").value_or(0));
      message.id = static_cast<uint64_t>(IntegerField(object, "message").value_or(0));
      message.detail = std::to_string(IntegerField(object, "bytes").value_or(0)) + " bytes";
      sent[message.id] = message;
      continue;
    }
    if (name == "corrupt") {
      corrupted.insert(static_cast<uint64_t>(IntegerField(object, "message").value_or(0)));
      continue;
    }
    if (name == "duplicate") continue;  // the copy's deliver says duplicate
    if (name == "deliver" || name == "drop") {
      const uint64_t id = static_cast<uint64_t>(IntegerField(object, "message").value_or(0));
      Message message;
      const auto found = sent.find(id);
      if (found != sent.end()) {
        message = found->second;
      } else {
        message.send_us = at_us;
        message.id = id;
        message.source = static_cast<uint32_t>(IntegerField(object, "source").value_or(0));
        message.target = name == "deliver" ? event.node : static_cast<uint32_t>(IntegerField(object, "target").value_or(0));
      }
      message.end_us = at_us;
      if (name == "drop") {
        message.kind = 'x';
        message.detail = "dropped: " + StringField(object, "reason");
      } else if (corrupted.contains(id)) {
        message.kind = 'c';
        message.detail += ", corrupted in flight";
      } else if (BoolField(object, "duplicate")) {
        message.kind = '2';
        message.detail += ", duplicate copy";
      }
      if (message.source != 0) lanes.insert(message.source);
      if (message.target != 0) lanes.insert(message.target);
      messages.push_back(std::move(message));
      continue;
    }
    if (name == "fault") {
      const std::string kind = StringField(object, "kind");
      if (kind == "partition") {
        partitions.emplace_back(at_us, StringField(object, "cuts"));
        continue;
      }
      if (kind == "partition_end" || kind == "heal") {
        const std::string cuts = StringField(object, "cuts");
        for (size_t i = 0; i < partitions.size();) {
          if (kind == "heal" || partitions[i].second == cuts) {
            shades.push_back({partitions[i].first, at_us, "partition", "partition: cut " + partitions[i].second});
            partitions.erase(partitions.begin() + static_cast<std::ptrdiff_t>(i));
            if (kind != "heal") break;
          } else {
            ++i;
          }
        }
        continue;
      }
      if (kind == "clog" || kind == "unclog") {
        const std::string link = std::to_string(IntegerField(object, "source").value_or(0)) + "->" +
                                 std::to_string(IntegerField(object, "target").value_or(0));
        if (kind == "clog") {
          clogs.try_emplace(link, at_us);
        } else if (const auto open = clogs.find(link); open != clogs.end()) {
          shades.push_back({open->second, at_us, "clog", "clogged (messages held): " + link});
          clogs.erase(open);
        }
        continue;
      }
      if (kind == "link_faults") {
        link_faults[IntegerField(object, "handle").value_or(0)] = {at_us, StringField(object, "links")};
        continue;
      }
      if (kind == "link_faults_end") {
        const auto open = link_faults.find(IntegerField(object, "handle").value_or(0));
        if (open != link_faults.end()) {
          shades.push_back({open->second.first, at_us, "link_faults", "lossy links: " + open->second.second});
          link_faults.erase(open);
        }
        continue;
      }
      marks.push_back({event.node, at_us, "fault " + kind, DescribeFields(object), "", std::nullopt});
      continue;
    }
    if (name == "pause" || name == "suspend") {
      paused_since.try_emplace(event.node, at_us);
      continue;
    }
    if (name == "resume") {
      if (const auto open = paused_since.find(event.node); open != paused_since.end()) {
        spans.push_back({event.node, open->second, at_us, "pause", "paused"});
        paused_since.erase(open);
      }
      continue;
    }
    if (name == "crash") {
      if (const auto open = paused_since.find(event.node); open != paused_since.end()) {
        spans.push_back({event.node, open->second, at_us, "pause", "paused"});
        paused_since.erase(open);
      }
      down_since.try_emplace(event.node, at_us);
      marks.push_back({event.node, at_us, "crash", DescribeFields(object), "bad", std::nullopt});
      continue;
    }
    if (name == "restart") {
      if (const auto open = down_since.find(event.node); open != down_since.end()) {
        spans.push_back({event.node, open->second, at_us, "down", "down"});
        down_since.erase(open);
      }
      marks.push_back({event.node, at_us, "restart", "", "", std::nullopt});
      continue;
    }
    const std::optional<int64_t> token = IntegerField(object, "token");
    if (OpensLease(name) || ClosesLease(name)) {
      const std::optional<int64_t> holder = IntegerField(object, "holder");
      const uint32_t lane = holder && *holder > 0 ? static_cast<uint32_t>(*holder) : event.node;
      lanes.insert(lane);
      close_lease(lane, at_us);
      if (OpensLease(name)) {
        OpenLease lease;
        lease.from_us = at_us;
        const std::optional<int64_t> ttl_ns = IntegerField(object, "ttl_ns");
        if (ttl_ns && *ttl_ns > 0) lease.planned_end_us = at_us + Microseconds(*ttl_ns);
        lease.label = token ? "lease, token " + std::to_string(*token) : "lease";
        leases[lane] = lease;
      }
      marks.push_back({lane, at_us, name, DescribeFields(object), Tone(name), token});
      continue;
    }
    if (const std::optional<int64_t> duration_ns = IntegerField(object, "duration_ns"); duration_ns) {
      spans.push_back({event.node, at_us, at_us + Microseconds(std::max<int64_t>(*duration_ns, 0)), name,
                       name + " " + DescribeFields(object)});
      continue;
    }
    marks.push_back({event.node, at_us, name, DescribeFields(object), Tone(name), token});
  }
  // What is still open at the end lasts until the end.
  for (const auto& [lane, since] : paused_since) spans.push_back({lane, since, end_us, "pause", "paused"});
  for (const auto& [lane, since] : down_since) spans.push_back({lane, since, end_us, "down", "down"});
  expire_leases(end_us);
  for (const auto& [lane, lease] : leases) spans.push_back({lane, lease.from_us, end_us, "lease", lease.label});
  for (const auto& [since, cuts] : partitions) shades.push_back({since, end_us, "partition", "partition: cut " + cuts});
  for (const auto& [link, since] : clogs) shades.push_back({since, end_us, "clog", "clogged (messages held): " + link});
  for (const auto& [handle, open] : link_faults) {
    shades.push_back({open.first, end_us, "link_faults", "lossy links: " + open.second});
  }
  for (const Mark& mark : marks) lanes.insert(mark.lane);

  json result = json::object();
  result["title"] = trace.title;
  result["end_us"] = end_us;
  json lane_list = json::array();
  for (const uint32_t lane : lanes) {
    const auto named = lane_names.find(lane);
    std::string name = named != lane_names.end() ? named->second : "node " + std::to_string(lane);
    if (lane == 0) name = "world (faults)";
    lane_list.push_back({{"id", lane}, {"name", name}});
  }
  result["lanes"] = std::move(lane_list);

  json message_list = json::array();
  const std::vector<size_t> shown_messages = Sample(messages, limits.max_messages);
  for (const size_t i : shown_messages) {
    const Message& message = messages[i];
    message_list.push_back({message.send_us, message.source, message.target, message.end_us,
                            std::string(1, message.kind), message.id, message.detail});
  }
  result["messages"] = std::move(message_list);

  std::stable_sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.from_us < b.from_us; });
  json span_list = json::array();
  for (size_t i = 0; i < spans.size() && i < limits.max_spans; ++i) {
    const Span& span = spans[i];
    span_list.push_back({span.lane, span.from_us, span.to_us, span.kind, span.label});
  }
  result["spans"] = std::move(span_list);

  json mark_list = json::array();
  const std::vector<size_t> shown_marks = Sample(marks, limits.max_marks);
  for (const size_t i : shown_marks) {
    const Mark& mark = marks[i];
    mark_list.push_back({mark.lane, mark.at_us, mark.event, mark.detail, mark.tone,
                         mark.token ? json(*mark.token) : json(nullptr)});
  }
  result["marks"] = std::move(mark_list);
  result["shades"] = std::move(shades);

  json clock_list = json::array();
  for (auto& [lane, entry] : clocks) {
    bool moved = false;
    for (const json& point : entry.second) moved = moved || point[1].get<int64_t>() != 0;
    if (moved) clock_list.push_back({lane, std::move(entry.second)});
  }
  result["clocks"] = std::move(clock_list);

  result["counts"] = {{"messages", messages.size()},
                      {"messages_shown", shown_messages.size()},
                      {"marks", marks.size()},
                      {"marks_shown", shown_marks.size()},
                      {"spans", spans.size()},
                      {"spans_shown", std::min(spans.size(), limits.max_spans)},
                      {"lines", trace.total_lines},
                      {"lines_kept", trace.lines.size()},
                      {"lines_truncated", trace.truncated},
                      {"bad_lines", bad_lines}};
  return result;
}

}  // namespace murphy::report
