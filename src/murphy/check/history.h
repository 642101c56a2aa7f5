// murphy/check/history.h — a concurrent history of client operations, as the
// linearizability checker reads it.
//
// Contract: a `History` is the record of what clients *saw*: each operation has a
// process (the client that issued it), an invoke time and a completion time on true
// time (`Instant`; the simulator knows true time), an input, and an outcome in the
// Knossos/Jepsen vocabulary (Kingsbury, "Knossos"; the Jepsen history format):
//   ok    the operation took effect, with the recorded output;
//   fail  the operation definitely did NOT take effect (the checker drops it);
//   info  unknown: it may or may not have taken effect (a timeout, a crash). Its
//         completion is treated as being at infinity: it may take effect at any
//         point after its invocation, or never.
// An operation still pending when the history is checked is treated as info.
//
// Recording is incremental, in the order events happen in a simulation:
//   OperationId id = history.Invoke(client, now, Input::Write("x", 1));
//   ...
//   history.Ok(id, later, Output::Success());   // or Fail(id, t) / Info(id, t)
// Misuse (completing an operation twice, completing before invoking, an unknown id)
// is a programmer error and asserts.
//
// Inputs and outputs are one small vocabulary shared by the models in model.h
// (register, key-value map, lock): keys and lock names are strings, values, owners
// and tokens are int64. Thread safety: none; one owner. The history owns its
// operations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/core/time.h"

namespace murphy {

// Position of an operation in its History (0-based, dense, in invocation order).
using OperationId = StrongId<struct OperationIdTag>;

enum class OperationKind : uint8_t {
  kRead,            // register read / map get
  kWrite,           // register write / map put
  kCompareAndSet,   // write `value` iff the current value is `expected`
  kDelete,          // map delete
  kAcquire,         // lock acquire by `owner`
  kRelease,         // lock release by `owner` of the grant with fencing `token`
  kFencedWrite,     // fenced-store write to resource `key` with fencing `token`
  kFencedRead,      // fenced-store read of resource `key`
};

// "read", "write", "cas", "delete", "acquire", "release", "fenced-write", "fenced-read".
std::string_view OperationKindName(OperationKind kind);

struct Input {
  OperationKind kind = OperationKind::kRead;
  // Map key or lock name; empty for the single register.
  std::string key;
  // kWrite, kCompareAndSet: the value written. kAcquire, kRelease: the owner.
  // kFencedWrite: the fencing token the write carries.
  int64_t value = 0;
  // kCompareAndSet: the expected value. kRelease: the fencing token released.
  int64_t expected = 0;

  static Input Read(std::string key = {}) { return {OperationKind::kRead, std::move(key), 0, 0}; }
  static Input Write(std::string key, int64_t value) {
    return {OperationKind::kWrite, std::move(key), value, 0};
  }
  static Input Write(int64_t value) { return Write({}, value); }
  static Input CompareAndSet(std::string key, int64_t expected, int64_t value) {
    return {OperationKind::kCompareAndSet, std::move(key), value, expected};
  }
  static Input CompareAndSet(int64_t expected, int64_t value) { return CompareAndSet({}, expected, value); }
  static Input Delete(std::string key) { return {OperationKind::kDelete, std::move(key), 0, 0}; }
  static Input Acquire(std::string lock, int64_t owner) {
    return {OperationKind::kAcquire, std::move(lock), owner, 0};
  }
  static Input Release(std::string lock, int64_t owner, int64_t token) {
    return {OperationKind::kRelease, std::move(lock), owner, token};
  }
  static Input FencedWrite(std::string resource, int64_t token) {
    return {OperationKind::kFencedWrite, std::move(resource), token, 0};
  }
  static Input FencedRead(std::string resource) {
    return {OperationKind::kFencedRead, std::move(resource), 0, 0};
  }
};

struct Output {
  // kCompareAndSet: swapped. kAcquire: granted (false: refused, the lock was held).
  // kRelease: accepted (false: the caller did not hold that grant). kFencedWrite:
  // accepted (false: rejected as stale). Otherwise true.
  bool succeeded = true;
  // kRead: the value read (nullopt: the key is absent); of a lock (lock service
  // model): its token — the holder's, or the last granted when free. kAcquire: the
  // fencing token. kFencedWrite: the resource's max token the store answered with.
  // kFencedRead: the max token (nullopt: the resource was never written).
  std::optional<int64_t> value;
  // kRead of a lock: its holder (nullopt: free).
  std::optional<int64_t> holder = std::nullopt;
  // kFencedWrite: the version the store answered with (the new one when accepted,
  // the current one when rejected). kFencedRead: the version.
  int64_t version = 0;

  static Output Success() { return {true, std::nullopt}; }
  static Output Failure() { return {false, std::nullopt}; }
  static Output Value(int64_t value) { return {true, value}; }
  static Output Absent() { return {true, std::nullopt}; }
  static Output Token(int64_t token) { return {true, token}; }
  // A read of a lock: free (holder nullopt) or held, with the token.
  static Output LockState(std::optional<int64_t> holder, int64_t token) { return {true, token, holder, 0}; }
  static Output FencedAccepted(int64_t max_token, int64_t version) { return {true, max_token, {}, version}; }
  static Output FencedRejected(int64_t max_token, int64_t version) { return {false, max_token, {}, version}; }
  static Output FencedState(std::optional<int64_t> max_token, int64_t version) {
    return {true, max_token, {}, version};
  }
};

enum class Outcome : uint8_t { kPending, kOk, kFail, kInfo };

// "pending", "ok", "fail", "info".
std::string_view OutcomeName(Outcome outcome);

struct Operation {
  OperationId id;
  NodeId process;
  Instant invoke_time;
  // Meaningful unless outcome is kPending. For kInfo it is when the client gave up;
  // the checker treats the operation as completing at infinity.
  Instant complete_time;
  Input input;
  Outcome outcome = Outcome::kPending;
  // Meaningful iff outcome is kOk.
  Output output;
};

// "read(x)", "write(x, 3)", "cas(x, 1, 2)", "acquire(a, owner 7)"...; with an
// output, "read(x) -> 3", "cas(x, 1, 2) -> failed", "acquire(a, owner 7) -> token 34".
std::string DescribeInput(const Input& input);
std::string DescribeOperation(const Input& input, const Output* output);
// "#12 process 4 [+1.000000000s, +1.250000000s] read(x) -> 3 (ok)"; an info
// operation shows "[+1.0s, inf)".
std::string DescribeOperation(const Operation& operation);

class History {
 public:
  History() = default;

  // Records an invocation and returns its id.
  OperationId Invoke(NodeId process, Instant time, Input input);
  // Records a completion. REQUIRES: `id` was returned by Invoke on this history, it
  // is still pending, and time >= its invoke time.
  void Ok(OperationId id, Instant time, Output output);
  void Fail(OperationId id, Instant time);
  void Info(OperationId id, Instant time);

  // Appends a complete operation in one call (for tests and generators).
  // REQUIRES: complete_time >= invoke_time; outcome != kPending.
  OperationId Add(NodeId process, Instant invoke_time, Instant complete_time, Input input, Outcome outcome,
                  Output output = {});

  const std::vector<Operation>& operations() const { return operations_; }
  const Operation& operation(OperationId id) const;
  // Mutable access, for tests that corrupt a history on purpose.
  Operation& mutable_operation(OperationId id);
  size_t size() const { return operations_.size(); }

 private:
  Operation& Complete(OperationId id, Instant time, Outcome outcome);
  std::vector<Operation> operations_;
};

}  // namespace murphy
