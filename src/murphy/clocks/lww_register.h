// murphy/clocks/lww_register.h — a last-write-wins register, kept to show its failure.
//
// Source: the chapter's "Clock Skew and Last-Write-Wins" (Kleppmann, DDIA ch. 8:
// "LWW ... can silently discard writes"); Cassandra's cell reconciliation is the
// textbook user.
//
// Contract: keeps the one write with the greatest (timestamp, writer) pair; the node
// id breaks timestamp ties so that every replica picks the same winner. Every write is
// *acknowledged* by the replica that took it, yet a write with a smaller timestamp is
// dropped on merge without anyone being told. With wall-clock timestamps (Timestamp =
// WallTime) a node whose clock runs fast wins against writes that happened after it in
// real time — the chapter's silent data loss. With HLC timestamps (Timestamp =
// HlcTimestamp) a write made by a node that had *seen* an earlier write always wins
// over it, because the HLC carries causality; concurrent writes are still decided
// arbitrarily (use MultiValueRegister to keep both).
// REQUIRES of Timestamp: totally ordered (operator<=>). Of T: copyable.
// Thread safety: none; one replica's state.
#pragma once

#include <optional>
#include <utility>

#include "murphy/core/ids.h"

namespace murphy {

template <typename T, typename Timestamp>
class LwwRegister {
 public:
  struct Version {
    T value;
    Timestamp timestamp;
    NodeId writer;
  };

  // Applies a write. Returns true iff it became the current value; false means it lost
  // to a version with a greater (timestamp, writer) — or was the same write again.
  bool Write(T value, Timestamp timestamp, NodeId writer) {
    if (current_.has_value() && !Wins(timestamp, writer, *current_)) return false;
    current_ = Version{std::move(value), timestamp, writer};
    return true;
  }

  // Anti-entropy: adopts the other replica's version if it wins. Returns true iff this
  // replica's value changed.
  bool Merge(const LwwRegister& other) {
    if (!other.current_.has_value()) return false;
    return Write(other.current_->value, other.current_->timestamp, other.current_->writer);
  }

  const std::optional<Version>& current() const { return current_; }

 private:
  static bool Wins(const Timestamp& timestamp, NodeId writer, const Version& incumbent) {
    if (incumbent.timestamp < timestamp) return true;
    if (timestamp < incumbent.timestamp) return false;
    return incumbent.writer < writer;
  }

  std::optional<Version> current_;
};

}  // namespace murphy
