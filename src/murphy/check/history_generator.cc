#include "murphy/check/history_generator.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "murphy/core/assert.h"

namespace murphy {

History GenerateKeyValueHistory(Rng& rng, const KeyValueWorkload& workload) {
  MURPHY_ASSERT(workload.clients >= 1);
  MURPHY_ASSERT(workload.keys >= 1);
  struct Planned {
    NodeId process;
    Instant invoke;
    Instant linearization;  // Meaningful iff takes_effect.
    Instant complete;
    Input input;
    Outcome outcome = Outcome::kOk;
    bool takes_effect = true;
    Output output;
  };
  std::vector<Planned> planned;
  planned.reserve(workload.operations);
  std::vector<Instant> next_invoke(static_cast<size_t>(workload.clients), Instant());
  for (Instant& time : next_invoke) time += rng.ExponentialDuration(workload.mean_think);
  std::vector<int64_t> last_written(static_cast<size_t>(workload.keys), 0);
  int64_t next_value = 1;

  for (uint64_t i = 0; i < workload.operations; ++i) {
    // The client that is ready first issues the next operation, so invocations come
    // out in time order.
    const auto client = static_cast<size_t>(
        std::min_element(next_invoke.begin(), next_invoke.end()) - next_invoke.begin());
    Planned operation;
    operation.process = NodeId(static_cast<uint32_t>(client + 1));
    operation.invoke = next_invoke[client];
    const auto key_index = static_cast<size_t>(rng.Uniform(static_cast<uint64_t>(workload.keys)));
    std::string key = "k" + std::to_string(key_index);
    const double kind = rng.UniformDouble();
    if (kind < workload.write_probability) {
      last_written[key_index] = next_value;
      operation.input = Input::Write(std::move(key), next_value++);
    } else if (kind < workload.write_probability + workload.compare_and_set_probability) {
      // Expect the last value this generator wrote to the key: it often still holds.
      operation.input = Input::CompareAndSet(std::move(key), last_written[key_index], next_value);
      last_written[key_index] = next_value++;
    } else if (kind < workload.write_probability + workload.compare_and_set_probability +
                          workload.delete_probability) {
      operation.input = Input::Delete(std::move(key));
    } else {
      operation.input = Input::Read(std::move(key));
    }
    const double fate = rng.UniformDouble();
    if (fate < workload.fail_probability) {
      operation.outcome = Outcome::kFail;
      operation.takes_effect = false;
    } else if (fate < workload.fail_probability + workload.info_probability) {
      operation.outcome = Outcome::kInfo;
      operation.takes_effect = rng.Bernoulli(0.5);
    }
    const Duration before = rng.ExponentialDuration(workload.mean_latency);
    const Duration after = rng.ExponentialDuration(workload.mean_latency);
    operation.linearization = operation.invoke + before;
    operation.complete = operation.linearization + after;
    if (operation.outcome == Outcome::kInfo) {
      // The client gives up at some point; the effect may land after that.
      operation.complete = operation.invoke + rng.UniformDuration(Duration::Zero(), before + after);
    }
    next_invoke[client] = operation.complete + rng.ExponentialDuration(workload.mean_think);
    planned.push_back(std::move(operation));
  }

  // Apply the effective operations to a sequential map in linearization order.
  std::vector<size_t> order;
  for (size_t i = 0; i < planned.size(); ++i) {
    if (planned[i].takes_effect) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return planned[a].linearization < planned[b].linearization; });
  std::map<std::string, int64_t> map;
  for (const size_t index : order) {
    Planned& operation = planned[index];
    const Input& input = operation.input;
    auto found = map.find(input.key);
    switch (input.kind) {
      case OperationKind::kRead:
        operation.output = found == map.end() ? Output::Absent() : Output::Value(found->second);
        break;
      case OperationKind::kWrite:
        map[input.key] = input.value;
        operation.output = Output::Success();
        break;
      case OperationKind::kCompareAndSet:
        if (found != map.end() && found->second == input.expected) {
          found->second = input.value;
          operation.output = Output::Success();
        } else {
          operation.output = Output::Failure();
        }
        break;
      case OperationKind::kDelete:
        if (found != map.end()) map.erase(found);
        operation.output = Output::Success();
        break;
      default:
        MURPHY_UNREACHABLE();
    }
  }

  History history;
  for (Planned& operation : planned) {
    history.Add(operation.process, operation.invoke, operation.complete, std::move(operation.input),
                operation.outcome, operation.outcome == Outcome::kOk ? operation.output : Output{});
  }
  return history;
}

}  // namespace murphy
