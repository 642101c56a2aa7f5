#include "murphy/check/history.h"

#include <utility>

#include "murphy/core/assert.h"

namespace murphy {

std::string_view OperationKindName(OperationKind kind) {
  switch (kind) {
    case OperationKind::kRead:
      return "read";
    case OperationKind::kWrite:
      return "write";
    case OperationKind::kCompareAndSet:
      return "cas";
    case OperationKind::kDelete:
      return "delete";
    case OperationKind::kAcquire:
      return "acquire";
    case OperationKind::kRelease:
      return "release";
    case OperationKind::kFencedWrite:
      return "fenced-write";
    case OperationKind::kFencedRead:
      return "fenced-read";
  }
  MURPHY_UNREACHABLE();
}

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPending:
      return "pending";
    case Outcome::kOk:
      return "ok";
    case Outcome::kFail:
      return "fail";
    case Outcome::kInfo:
      return "info";
  }
  MURPHY_UNREACHABLE();
}

std::string DescribeInput(const Input& input) {
  std::string text(OperationKindName(input.kind));
  text += '(';
  const std::string& key = input.key;
  auto with_key = [&](std::string rest) {
    if (key.empty()) return rest;
    return rest.empty() ? key : key + ", " + rest;
  };
  switch (input.kind) {
    case OperationKind::kRead:
    case OperationKind::kDelete:
    case OperationKind::kFencedRead:
      text += with_key("");
      break;
    case OperationKind::kWrite:
      text += with_key(std::to_string(input.value));
      break;
    case OperationKind::kCompareAndSet:
      text += with_key(std::to_string(input.expected) + ", " + std::to_string(input.value));
      break;
    case OperationKind::kAcquire:
      text += with_key("owner " + std::to_string(input.value));
      break;
    case OperationKind::kRelease:
      text += with_key("owner " + std::to_string(input.value) + ", token " + std::to_string(input.expected));
      break;
    case OperationKind::kFencedWrite:
      text += with_key("token " + std::to_string(input.value));
      break;
  }
  text += ')';
  return text;
}

std::string DescribeOperation(const Input& input, const Output* output) {
  std::string text = DescribeInput(input);
  if (output == nullptr) return text;
  text += " -> ";
  switch (input.kind) {
    case OperationKind::kRead:
      if (output->holder.has_value()) {
        text += "held by " + std::to_string(*output->holder) + " with token " + std::to_string(output->value.value_or(0));
      } else {
        text += output->value.has_value() ? std::to_string(*output->value) : std::string("absent");
      }
      break;
    case OperationKind::kFencedWrite:
      text += std::string(output->succeeded ? "accepted" : "rejected") + ", max token " +
              std::to_string(output->value.value_or(0)) + ", version " + std::to_string(output->version);
      break;
    case OperationKind::kFencedRead:
      text += output->value.has_value() ? "max token " + std::to_string(*output->value) + ", version " +
                                              std::to_string(output->version)
                                        : std::string("never written");
      break;
    case OperationKind::kAcquire:
      if (!output->succeeded) {
        text += "refused";
      } else {
        text += output->value.has_value() ? "token " + std::to_string(*output->value) : std::string("granted");
      }
      break;
    case OperationKind::kWrite:
    case OperationKind::kCompareAndSet:
    case OperationKind::kDelete:
    case OperationKind::kRelease:
      text += output->succeeded ? "ok" : "failed";
      break;
  }
  return text;
}

std::string DescribeOperation(const Operation& operation) {
  std::string text = "#" + std::to_string(operation.id.value()) + " process " +
                     std::to_string(operation.process.value()) + " [" + FormatInstant(operation.invoke_time) +
                     ", ";
  switch (operation.outcome) {
    case Outcome::kOk:
      text += FormatInstant(operation.complete_time) + "] " + DescribeOperation(operation.input, &operation.output);
      break;
    case Outcome::kFail:
      text += FormatInstant(operation.complete_time) + "] " + DescribeInput(operation.input) + " (fail)";
      break;
    case Outcome::kInfo:
    case Outcome::kPending:
      text += "inf) " + DescribeInput(operation.input) + " (" + std::string(OutcomeName(operation.outcome)) +
              ": may or may not have taken effect)";
      break;
  }
  return text;
}

OperationId History::Invoke(NodeId process, Instant time, Input input) {
  const OperationId id(operations_.size());
  Operation& operation = operations_.emplace_back();
  operation.id = id;
  operation.process = process;
  operation.invoke_time = time;
  operation.complete_time = Instant::Max();
  operation.input = std::move(input);
  return id;
}

Operation& History::Complete(OperationId id, Instant time, Outcome outcome) {
  MURPHY_ASSERT_MSG(id.value() < operations_.size(), "completion of an operation this history never invoked");
  Operation& operation = operations_[id.value()];
  MURPHY_ASSERT_MSG(operation.outcome == Outcome::kPending, "operation completed twice");
  MURPHY_ASSERT_MSG(time >= operation.invoke_time, "operation completed before it was invoked");
  operation.complete_time = time;
  operation.outcome = outcome;
  return operation;
}

void History::Ok(OperationId id, Instant time, Output output) {
  Complete(id, time, Outcome::kOk).output = std::move(output);
}
void History::Fail(OperationId id, Instant time) { Complete(id, time, Outcome::kFail); }
void History::Info(OperationId id, Instant time) { Complete(id, time, Outcome::kInfo); }

OperationId History::Add(NodeId process, Instant invoke_time, Instant complete_time, Input input, Outcome outcome,
                         Output output) {
  MURPHY_ASSERT(outcome != Outcome::kPending);
  const OperationId id = Invoke(process, invoke_time, std::move(input));
  Complete(id, complete_time, outcome).output = std::move(output);
  return id;
}

const Operation& History::operation(OperationId id) const {
  MURPHY_ASSERT(id.value() < operations_.size());
  return operations_[id.value()];
}

Operation& History::mutable_operation(OperationId id) {
  MURPHY_ASSERT(id.value() < operations_.size());
  return operations_[id.value()];
}

}  // namespace murphy
