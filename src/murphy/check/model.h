// murphy/check/model.h — sequential specifications that histories are checked
// against: a register, a key-value map and a lock with fencing tokens.
//
// Contract: a `Model` is an immutable, stateless description of a sequential object
// (Herlihy & Wing 1990; the "model" of Knossos and Porcupine). Its states are values
// of type `ModelState`: an opaque byte string in a *canonical* encoding, so that two
// states are equal iff their bytes are equal and a state hashes by its bytes. That is
// what lets the checker memoise visited configurations (Lowe 2017). Small states fit
// in std::string's inline buffer, so stepping a register allocates nothing.
//
// `Step` may be nondeterministic in the Porcupine sense: it judges whether a recorded
// (input, output) pair is legal from a state and yields the next state. For an
// operation whose output is unknown (info), it yields the canonical next state of
// the operation taking effect with whatever output the object would have produced;
// where several outputs would be legal (the lock's token), it picks the one that
// constrains the future least, and says which.
//
// `PartitionKey` enables P-compositionality (Horn & Kroening 2015; Porcupine's
// partitioned models): a history is linearizable iff each sub-history of operations
// with the same key is, because operations on different keys do not interact. A model
// that returns one key for everything is checked whole.
//
// Thread safety: Models are immutable after construction; safe to share.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "murphy/check/history.h"
#include "murphy/core/status.h"

namespace murphy {

using ModelState = std::string;

class Model {
 public:
  virtual ~Model() = default;

  // A short name for messages: "register", "kv", "lock".
  virtual std::string_view name() const = 0;
  // OK if this model can judge `input`; InvalidArgument (naming the operation)
  // otherwise. The checker validates every operation before searching.
  virtual Status Validate(const Input& input) const = 0;
  // The state before any operation.
  virtual ModelState Init() const = 0;
  // True iff `input` with `output` is a legal step from `state`; then `*next` holds
  // the state after it. `output == nullptr` means the output is unknown (an info
  // operation that took effect). REQUIRES: Validate(input).ok(); next != &state.
  virtual bool Step(const ModelState& state, const Input& input, const Output* output,
                    ModelState* next) const = 0;
  // True if the operation never changes the state whatever it returned (a read):
  // an info read can then be dropped, as Knossos does, since it constrains nothing.
  virtual bool IsReadOnly(const Input& input) const { return input.kind == OperationKind::kRead; }
  // Operations with different keys commute and are checked independently. The
  // default puts everything in one partition.
  virtual std::string PartitionKey(const Input& input) const {
    static_cast<void>(input);
    return {};
  }
  // For counterexamples: "x=3", "k1=absent, k2=7", "a: held by 3 with token 34".
  virtual std::string DescribeState(const ModelState& state) const = 0;
  virtual std::string DescribeStep(const Input& input, const Output* output) const {
    return DescribeOperation(input, output);
  }
};

// A single read/write/compare-and-set register holding an int64, initially
// `initial`. The input key is ignored (every operation is on the one register).
std::unique_ptr<Model> MakeRegisterModel(int64_t initial = 0);

// A map from string keys to int64 values, every key initially absent: get (kRead:
// the value, or absent), put (kWrite), compare-and-set (succeeds iff the key is
// present with the expected value), delete (always succeeds; absent afterwards).
// With `partition_by_key` (the default) every key is its own partition; without it
// the whole map is one state, for cross-checking P-compositionality on small
// histories.
std::unique_ptr<Model> MakeKeyValueModel(bool partition_by_key = true);

// Locks named by the input key, each initially free with last token 0:
//   acquire(owner) -> granted with token t: REQUIRES free and t > the last token
//                     granted on this lock (tokens strictly increase, not
//                     necessarily by one: a grant may have been lost);
//   acquire(owner) -> refused: REQUIRES held (by anyone);
//   release(owner, token) -> ok: REQUIRES held by `owner` under `token`; frees it;
//   release(owner, token) -> failed: REQUIRES that grant not to be the holder.
// So at most one holder at a time. An info acquire that took effect grants the
// smallest legal token (last + 1): any later token larger than it is then legal.
// Lease expiry is not an operation of its own: record it as a release on the
// holder's behalf whose interval covers the moment the lease ended. Partitioned by
// lock name.
std::unique_ptr<Model> MakeLockModel(bool partition_by_lock = true);

// The client-visible operations of murphy's lock service (locksvc/), whose semantics
// are exact, each lock and each fenced resource its own partition:
//   acquire, release   as the lock model above, on the lock named by the key;
//   read(lock)         -> holder (Output::holder, nullopt: free) and token
//                      (Output::value: the holder's, or the last granted when free;
//                      0 for a lock never granted). Exact: both must match;
//   fenced-write(resource, token) -> accepted iff token >= the resource's max token;
//                      accepted: max token := token, version += 1, and the output
//                      reports exactly those; rejected: nothing changes and the output
//                      reports the max token and version as they are;
//   fenced-read(resource) -> max token and version (value nullopt: never written).
// An info fenced write that took effect is accepted or rejected by the same rule.
// What it does not describe (the recorder must keep such operations out, or record
// them as info): compare-and-set and idempotency keys of the store (a retry answered
// from memory), a write naming another lock than the resource's, the time a waiting
// acquire spends in the queue (a granted wait is an acquire whose interval covers the
// grant), and lease expiry — record the end of a holding as a release on the holder's
// behalf whose interval covers the moment it was applied.
std::unique_ptr<Model> MakeLockServiceModel();

}  // namespace murphy
