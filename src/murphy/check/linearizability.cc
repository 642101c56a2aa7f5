#include "murphy/check/linearizability.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "murphy/core/assert.h"
#include "murphy/core/rng.h"

namespace murphy {
namespace {

constexpr int64_t kInfinity = std::numeric_limits<int64_t>::max();
constexpr uint64_t kAllOnes = ~uint64_t{0};

// One operation of a partition, as the search sees it. Calls are numbered in
// invocation order.
struct Call {
  const Operation* operation = nullptr;
  const Output* output = nullptr;  // Null when the output is unknown (info, pending).
  int64_t invoke = 0;
  int64_t complete = kInfinity;  // kInfinity when the outcome is unknown.
};

// A node of the doubly linked list of invocation and completion events, in time order.
// Index 0 is the sentinel; entry i (i >= 1) is the i-th event, so an entry's index is
// also its rank in time order.
struct Entry {
  uint32_t call = 0;
  bool is_return = false;
  bool is_unknown_return = false;  // The completion "at infinity" of an info call.
  uint32_t previous = 0;
  uint32_t next = 0;
};

uint64_t Mix(uint64_t value) {
  uint64_t state = value;
  return SplitMix64(&state);
}

uint64_t HashState(const ModelState& state) {
  uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64.
  for (const char byte : state) {
    hash ^= static_cast<uint8_t>(byte);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// Lowe's cache: the set of configurations (linearized calls, model state) already
// explored. The bitset of linearized calls is stored canonically and compactly: the
// index `low` of its first word that is not all ones (every call before it is
// linearized) and the words from there up to the last non-zero one. In a search that
// moves forward through time both are short, whatever the history's length.
class ConfigurationCache {
 public:
  // Inserts the configuration; false if it was already present.
  bool Insert(uint64_t hash, const uint64_t* bits, uint32_t low, uint32_t high, const ModelState& state) {
    if ((records_.size() + 1) * 2 > slots_.size()) Grow();
    const uint32_t length = high > low ? high - low : 0;
    const size_t mask = slots_.size() - 1;
    size_t slot = hash & mask;
    while (slots_[slot] != 0) {
      const Record& record = records_[slots_[slot] - 1];
      if (record.hash == hash && record.low == low && record.tail_length == length && record.state == state &&
          (length == 0 ||
           std::memcmp(&arena_[record.tail_offset], bits + low, length * sizeof(uint64_t)) == 0)) {
        return false;
      }
      slot = (slot + 1) & mask;
    }
    const uint64_t offset = arena_.size();
    arena_.insert(arena_.end(), bits + low, bits + low + length);
    records_.push_back(Record{hash, low, length, offset, state});
    if (state.capacity() > kInlineStateBytes) state_heap_bytes_ += state.capacity();
    slots_[slot] = static_cast<uint32_t>(records_.size());
    return true;
  }

  uint64_t bytes() const {
    return records_.capacity() * sizeof(Record) + arena_.capacity() * sizeof(uint64_t) +
           slots_.capacity() * sizeof(uint32_t) + state_heap_bytes_;
  }
  uint64_t size() const { return records_.size(); }

 private:
  static constexpr size_t kInlineStateBytes = 15;
  struct Record {
    uint64_t hash;
    uint32_t low;
    uint32_t tail_length;
    uint64_t tail_offset;
    ModelState state;
  };

  void Grow() {
    std::vector<uint32_t> slots(slots_.empty() ? 1024 : slots_.size() * 2, 0);
    const size_t mask = slots.size() - 1;
    for (uint32_t i = 0; i < records_.size(); ++i) {
      size_t slot = records_[i].hash & mask;
      while (slots[slot] != 0) slot = (slot + 1) & mask;
      slots[slot] = i + 1;
    }
    slots_ = std::move(slots);
  }

  std::vector<Record> records_;
  std::vector<uint64_t> arena_;
  std::vector<uint32_t> slots_;  // Record index + 1; 0 is empty.
  uint64_t state_heap_bytes_ = 0;
};

struct PartitionOutcome {
  Verdict verdict = Verdict::kLinearizable;
  std::string unknown_reason;
  uint64_t steps = 0;
  uint64_t cache_entries = 0;
  // When not linearizable: the furthest completion reached and what was linearized then.
  uint32_t culprit_call = 0;
  uint32_t frontier_rank = 0;
  std::vector<uint32_t> linearization_tail;  // Calls, in linearization order.
  uint64_t linearization_length = 0;
  ModelState frontier_state;
};

class PartitionSearch {
 public:
  PartitionSearch(const std::vector<Call>& calls, const Model& model, const LinearizabilityOptions& options)
      : calls_(calls), model_(model), options_(options) {}

  PartitionOutcome Run(uint64_t max_steps) {
    PartitionOutcome outcome;
    const auto n = static_cast<uint32_t>(calls_.size());
    BuildEntries();
    std::vector<uint64_t> bits((n + 63) / 64 + 1, 0);
    std::vector<uint64_t> zobrist(n);
    Rng rng(0x6c696e6561726973ull);
    for (uint64_t& value : zobrist) value = rng.NextU64();

    struct Frame {
      uint32_t call;
      ModelState state_before;
    };
    std::vector<Frame> stack;
    stack.reserve(n);
    ConfigurationCache cache;
    ModelState state = model_.Init();
    ModelState next_state;
    uint64_t set_hash = 0;
    uint32_t low = 0;   // No word before `low` has a zero bit.
    uint32_t high = 0;  // No word at or after `high` has a one bit.
    uint32_t cursor = entries_[0].next;
    auto set_bit = [&](uint32_t call) {
      bits[call / 64] |= uint64_t{1} << (call % 64);
      set_hash ^= zobrist[call];
      high = std::max(high, call / 64 + 1);
    };
    auto clear_bit = [&](uint32_t call) {
      bits[call / 64] &= ~(uint64_t{1} << (call % 64));
      set_hash ^= zobrist[call];
      low = std::min(low, call / 64);
    };

    while (entries_[0].next != 0) {
      if (outcome.steps >= max_steps) {
        outcome.verdict = Verdict::kUnknown;
        outcome.unknown_reason = "budget exceeded: " + std::to_string(max_steps) + " search steps";
        break;
      }
      ++outcome.steps;
      const Entry& entry = entries_[cursor];
      if (entry.is_unknown_return) break;  // Only info calls remain; they may never take effect.
      const uint32_t call = entry.call;
      if (!entry.is_return) {
        const Call& candidate = calls_[call];
        if (model_.Step(state, candidate.operation->input, candidate.output, &next_state)) {
          set_bit(call);
          while (low < high && bits[low] == kAllOnes) ++low;
          while (high > low && bits[high - 1] == 0) --high;
          const uint64_t hash = Mix(set_hash ^ Mix(HashState(next_state)));
          if (cache.Insert(hash, bits.data(), low, high, next_state)) {
            if (cache.bytes() > options_.max_cache_bytes) {
              outcome.verdict = Verdict::kUnknown;
              outcome.unknown_reason = "budget exceeded: configuration cache over " +
                                       std::to_string(options_.max_cache_bytes >> 20) + " MiB";
              break;
            }
            stack.push_back(Frame{call, std::move(state)});
            state = std::move(next_state);
            Lift(call);
            cursor = entries_[0].next;
            continue;
          }
          clear_bit(call);
        }
        cursor = entry.next;
        continue;
      }
      // A completion whose call is not linearized: this configuration is a dead end.
      if (cursor > outcome.frontier_rank) RecordFrontier(cursor, call, stack, state, &outcome);
      if (stack.empty()) {
        outcome.verdict = Verdict::kNotLinearizable;
        break;
      }
      Frame& top = stack.back();
      const uint32_t undone = top.call;
      state = std::move(top.state_before);
      stack.pop_back();
      clear_bit(undone);
      Unlift(undone);
      cursor = entries_[call_entry_[undone]].next;
    }
    outcome.cache_entries = cache.size();
    return outcome;
  }

 private:
  template <typename Stack>
  void RecordFrontier(uint32_t rank, uint32_t call, const Stack& stack, const ModelState& state,
                      PartitionOutcome* outcome) {
    outcome->frontier_rank = rank;
    outcome->culprit_call = call;
    outcome->linearization_length = stack.size();
    outcome->linearization_tail.clear();
    const size_t keep = std::min(stack.size(), static_cast<size_t>(std::max(0, options_.max_linearization_listed)));
    for (size_t i = stack.size() - keep; i < stack.size(); ++i) outcome->linearization_tail.push_back(stack[i].call);
    outcome->frontier_state = state;
  }

  void BuildEntries() {
    const auto n = static_cast<uint32_t>(calls_.size());
    struct Event {
      int64_t time;
      int order;  // 0: invocation, 1: completion, 2: completion at infinity.
      uint32_t call;
    };
    std::vector<Event> events;
    events.reserve(2 * n);
    for (uint32_t i = 0; i < n; ++i) {
      events.push_back(Event{calls_[i].invoke, 0, i});
      const bool unknown = calls_[i].output == nullptr;
      events.push_back(Event{unknown ? kInfinity : calls_[i].complete, unknown ? 2 : 1, i});
    }
    // Invocations before completions at the same instant: closed intervals.
    std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
      if (a.time != b.time) return a.time < b.time;
      if (a.order != b.order) return a.order < b.order;
      return a.call < b.call;
    });
    entries_.assign(events.size() + 1, Entry{});
    call_entry_.assign(n, 0);
    return_entry_.assign(n, 0);
    for (uint32_t i = 0; i <= events.size(); ++i) {
      entries_[i].previous = i == 0 ? static_cast<uint32_t>(events.size()) : i - 1;
      entries_[i].next = i == events.size() ? 0 : i + 1;
      if (i == 0) continue;
      const Event& event = events[i - 1];
      entries_[i].call = event.call;
      entries_[i].is_return = event.order != 0;
      entries_[i].is_unknown_return = event.order == 2;
      (event.order == 0 ? call_entry_ : return_entry_)[event.call] = i;
    }
  }

  void Unlink(uint32_t index) {
    entries_[entries_[index].previous].next = entries_[index].next;
    entries_[entries_[index].next].previous = entries_[index].previous;
  }
  void Relink(uint32_t index) {
    entries_[entries_[index].previous].next = index;
    entries_[entries_[index].next].previous = index;
  }
  // Removes a linearized call's events; Unlift restores them in reverse order, which
  // is valid because the search undoes lifts last-in, first-out.
  void Lift(uint32_t call) {
    Unlink(call_entry_[call]);
    Unlink(return_entry_[call]);
  }
  void Unlift(uint32_t call) {
    Relink(return_entry_[call]);
    Relink(call_entry_[call]);
  }

  const std::vector<Call>& calls_;
  const Model& model_;
  const LinearizabilityOptions& options_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> call_entry_;
  std::vector<uint32_t> return_entry_;
};

std::string QuotePartition(const std::string& key) { return "\"" + key + "\""; }

Counterexample BuildCounterexample(const std::string& key, const std::vector<Call>& calls, const Model& model,
                                   const PartitionOutcome& outcome, const LinearizabilityOptions& options) {
  Counterexample example;
  example.partition = key;
  const Call& culprit = calls[outcome.culprit_call];
  example.culprit = culprit.operation->id;
  for (uint32_t i = 0; i < calls.size(); ++i) {
    if (calls[i].invoke > culprit.complete) continue;
    ++example.prefix_operations;
    if (i == outcome.culprit_call || calls[i].complete < culprit.invoke) continue;
    if (static_cast<int>(example.concurrent.size()) < options.max_concurrent_listed) {
      example.concurrent.push_back(calls[i].operation->id);
    }
  }
  for (const uint32_t call : outcome.linearization_tail) {
    example.linearization_tail.push_back(calls[call].operation->id);
  }
  example.linearization_length = outcome.linearization_length;
  example.state = model.DescribeState(outcome.frontier_state);

  auto line = [&](const Call& call) {
    return "    " + DescribeOperation(*call.operation) + "\n";
  };
  std::string& text = example.description;
  text = "partition " + QuotePartition(key) + " of the " + std::string(model.name()) +
         " model is not linearizable.\n";
  text += "  It is linearizable up to, but not including, the completion of #" +
          std::to_string(example.culprit.value()) + "; the smallest failing prefix has " +
          std::to_string(example.prefix_operations) + " operations.\n";
  text += "  No order of the operations explains:\n" + line(culprit);
  if (example.concurrent.empty()) {
    text += "  No operation was concurrent with it.\n";
  } else {
    text += "  Concurrent with it (" + std::to_string(example.concurrent.size()) + " listed):\n";
    for (uint32_t i = 0; i < calls.size(); ++i) {
      const OperationId id = calls[i].operation->id;
      if (std::find(example.concurrent.begin(), example.concurrent.end(), id) != example.concurrent.end()) {
        text += line(calls[i]);
      }
    }
  }
  text += "  One longest partial linearization (" + std::to_string(example.linearization_length) +
          " operations";
  if (example.linearization_tail.size() < example.linearization_length) {
    text += ", the last " + std::to_string(example.linearization_tail.size()) + " shown";
  }
  text += ") leaves the state " + example.state + ":\n";
  for (const uint32_t call : outcome.linearization_tail) text += line(calls[call]);
  return example;
}

}  // namespace

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kLinearizable:
      return "linearizable";
    case Verdict::kNotLinearizable:
      return "not linearizable";
    case Verdict::kUnknown:
      return "unknown";
  }
  MURPHY_UNREACHABLE();
}

std::string LinearizabilityResult::ToString() const {
  std::string text(VerdictName(verdict));
  text += ": " + std::to_string(partitions) + " partitions, " + std::to_string(operations_checked) +
          " operations, " + std::to_string(steps) + " search steps";
  if (!unknown_reason.empty()) text += " (" + unknown_reason + ")";
  text += "\n";
  for (const Counterexample& example : counterexamples) text += example.description;
  return text;
}

Result<LinearizabilityResult> CheckLinearizability(const History& history, const Model& model,
                                                   const LinearizabilityOptions& options) {
  std::map<std::string, std::vector<Call>> partitions;
  LinearizabilityResult result;
  for (const Operation& operation : history.operations()) {
    Status valid = model.Validate(operation.input);
    if (!valid.ok()) {
      return InvalidArgumentError("operation #" + std::to_string(operation.id.value()) + ": " +
                                  std::string(valid.message()));
    }
    if (operation.outcome == Outcome::kFail) continue;  // Definitely did not happen.
    const bool known = operation.outcome == Outcome::kOk;
    if (!known && model.IsReadOnly(operation.input)) continue;  // Constrains nothing.
    Call call;
    call.operation = &operation;
    call.output = known ? &operation.output : nullptr;
    call.invoke = operation.invoke_time.nanoseconds();
    call.complete = known ? operation.complete_time.nanoseconds() : kInfinity;
    const std::string key = options.partition ? model.PartitionKey(operation.input) : std::string();
    partitions[key].push_back(call);
    ++result.operations_checked;
  }
  if (result.operations_checked >= std::numeric_limits<uint32_t>::max() / 4) {
    return InvalidArgumentError("history too long: " + std::to_string(result.operations_checked) + " operations");
  }
  result.partitions = partitions.size();

  bool unknown = false;
  for (auto& [key, calls] : partitions) {
    // Calls are numbered in invocation order (ties by operation id), so that the
    // cache's compact bitsets stay short.
    std::stable_sort(calls.begin(), calls.end(),
                     [](const Call& a, const Call& b) { return a.invoke < b.invoke; });
    const uint64_t remaining = options.max_steps > result.steps ? options.max_steps - result.steps : 0;
    PartitionSearch search(calls, model, options);
    PartitionOutcome outcome = search.Run(remaining);
    result.steps += outcome.steps;
    result.cache_entries += outcome.cache_entries;
    if (outcome.verdict == Verdict::kUnknown) {
      unknown = true;
      if (result.unknown_reason.empty()) {
        result.unknown_reason = outcome.unknown_reason + " in partition " + QuotePartition(key);
      }
      continue;
    }
    if (outcome.verdict == Verdict::kNotLinearizable) {
      result.counterexamples.push_back(BuildCounterexample(key, calls, model, outcome, options));
      if (options.stop_at_first_failure) break;
    }
  }
  if (!result.counterexamples.empty()) {
    result.verdict = Verdict::kNotLinearizable;
    result.unknown_reason.clear();
  } else if (unknown) {
    result.verdict = Verdict::kUnknown;
  }
  return result;
}

}  // namespace murphy
