// murphy/check/fencing.h — the lock-safety oracle for one fenced resource: did two
// lock holders' writes interleave?
//
// Contract: a `FencingChecker` judges one resource of the fenced store (the "storage
// server" of the chapter's GC-pause story) from the simulator's true-time view: the
// grants of the lock that protects the resource (holder, fencing token, when) and
// every write that reached the resource (writer, token carried, when, whether the
// store accepted it). It reports, in true-time order of writes:
//   interleaved  an accepted write carried a token older than one that was already
//                written: a holder whose grant had been superseded by a newer grant
//                wrote *after* the newer holder had written. This is exactly the
//                corruption of the chapter's timeline (B writes with 34, then the
//                paused A wakes and its write with 33 is accepted), and what a store
//                that checks tokens (accept iff token >= the highest seen) prevents;
//   ungranted    an accepted write carried a token that was never granted to its
//                writer (a forged or misrouted token).
// What it deliberately does not report: a superseded holder's write accepted before
// the new holder has written anything. From the resource's point of view the writes
// did not interleave (the store cannot know of a grant it has not seen), and the
// lease mechanism, not fencing, is what prevents it. Rejected writes are never
// violations; they are counted. Equal times are ordered by recording order.
// Thread safety: none; one owner. Memory: every grant and write recorded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "murphy/core/ids.h"
#include "murphy/core/time.h"

namespace murphy {

struct FencingViolation {
  enum class Kind : uint8_t { kInterleaved, kUngranted };
  Kind kind;
  Instant time;  // Of the offending write.
  NodeId writer;
  FencingToken token;
  std::string description;
};

class FencingChecker {
 public:
  explicit FencingChecker(std::string resource) : resource_(std::move(resource)) {}

  // The lock protecting the resource was granted to `holder` with `token` at `time`.
  void RecordGrant(Instant time, NodeId holder, FencingToken token);
  // A write carrying `token` reached the resource at `time`; the store accepted it
  // or rejected it.
  void RecordWrite(Instant time, NodeId writer, FencingToken token, bool accepted);

  // Judges everything recorded so far; violations in true-time order of writes.
  std::vector<FencingViolation> Check() const;
  // "resource r: 3 writes accepted, 1 rejected, no interleaving" or one line per
  // violation.
  std::string Report() const;

  uint64_t accepted_writes() const;
  uint64_t rejected_writes() const;

 private:
  struct Grant {
    Instant time;
    NodeId holder;
    FencingToken token;
  };
  struct Write {
    Instant time;
    NodeId writer;
    FencingToken token;
    bool accepted;
  };
  std::string resource_;
  std::vector<Grant> grants_;
  std::vector<Write> writes_;
};

}  // namespace murphy
