#include "murphy/raft/log.h"

#include <gtest/gtest.h>

#include "murphy/raft/cluster_for_test.h"

namespace murphy::raft::testing {
namespace {

TEST(RaftLogTest, TermsAndBounds) {
  RaftLog log(LogIndex(0), Term(0), EntriesWithTerms({1, 1, 2}), LogIndex(1));
  EXPECT_EQ(log.last_index(), LogIndex(3));
  EXPECT_EQ(log.last_term(), Term(2));
  EXPECT_EQ(log.TermAt(LogIndex(0)), Term(0));
  EXPECT_EQ(log.TermAt(LogIndex(3)), Term(2));
  EXPECT_FALSE(log.TermAt(LogIndex(4)).has_value());
  EXPECT_EQ(log.stable(), LogIndex(3));  // restored entries are durable.
  EXPECT_EQ(log.committed(), LogIndex(1));
}

TEST(RaftLogTest, SliceRespectsCountAndBytesButAlwaysReturnsOne) {
  std::vector<Entry> entries = EntriesWithTerms({1, 1, 1, 1});
  for (Entry& entry : entries) entry.data = std::string(100, 'x');
  RaftLog log(LogIndex(0), Term(0), entries, LogIndex(0));
  EXPECT_EQ(log.Slice(LogIndex(1), LogIndex(5), 2, UINT64_MAX).size(), 2u);
  EXPECT_EQ(log.Slice(LogIndex(1), LogIndex(5), 10, 250).size(), 2u);  // 124 bytes each
  EXPECT_EQ(log.Slice(LogIndex(1), LogIndex(5), 10, 1).size(), 1u);
  EXPECT_TRUE(log.Slice(LogIndex(2), LogIndex(2), 10, 1).empty());
}

TEST(RaftLogTest, MaybeAppendTruncatesConflictsOnlyAndMovesStableBack) {
  RaftLog log(LogIndex(0), Term(0), EntriesWithTerms({1, 1, 1}), LogIndex(1));
  // Already present: no change.
  std::vector<Entry> same = {{Term(1), LogIndex(2), EntryType::kNormal, {}}};
  EXPECT_EQ(log.MaybeAppend(LogIndex(1), Term(1), same), LogIndex(2));
  EXPECT_EQ(log.last_index(), LogIndex(3));
  // Conflict at 3: replaced, and stable drops below it.
  std::vector<Entry> conflict = {{Term(2), LogIndex(3), EntryType::kNormal, "n"},
                                 {Term(2), LogIndex(4), EntryType::kNormal, "m"}};
  EXPECT_EQ(log.MaybeAppend(LogIndex(2), Term(1), conflict), LogIndex(4));
  EXPECT_EQ(log.TermAtOrDie(LogIndex(3)), Term(2));
  EXPECT_EQ(log.stable(), LogIndex(2));
  EXPECT_EQ(log.UnstableEntries().size(), 2u);
  // Mismatched previous entry: refused, unchanged.
  EXPECT_FALSE(log.MaybeAppend(LogIndex(4), Term(1), {}).has_value());
  EXPECT_EQ(log.last_index(), LogIndex(4));
}

TEST(RaftLogTest, StableToIgnoresReplacedEntries) {
  RaftLog log(LogIndex(0), Term(0), {}, LogIndex(0));
  std::vector<Entry> entries = EntriesWithTerms({1, 1});
  log.Append(entries);
  log.StableTo(LogIndex(2), Term(5));  // not the term there: ignored.
  EXPECT_EQ(log.stable(), LogIndex(0));
  log.StableTo(LogIndex(2), Term(1));
  EXPECT_EQ(log.stable(), LogIndex(2));
}

TEST(RaftLogTest, FindConflictByTerm) {
  RaftLog log(LogIndex(0), Term(0), EntriesWithTerms({1, 1, 3, 3, 5}), LogIndex(0));
  EXPECT_EQ(log.FindConflictByTerm(LogIndex(5), Term(4)), LogIndex(4));
  EXPECT_EQ(log.FindConflictByTerm(LogIndex(5), Term(2)), LogIndex(2));
  EXPECT_EQ(log.FindConflictByTerm(LogIndex(5), Term(0)), LogIndex(0));
  EXPECT_EQ(log.FindConflictByTerm(LogIndex(3), Term(9)), LogIndex(3));
}

TEST(RaftLogTest, AppliesOnlyCommittedAndStable) {
  RaftLog log(LogIndex(0), Term(0), {}, LogIndex(0));
  log.Append(EntriesWithTerms({1, 1, 1}));
  log.CommitTo(LogIndex(3));
  EXPECT_FALSE(log.HasEntriesToApply());  // nothing durable yet.
  log.StableTo(LogIndex(2), Term(1));
  EXPECT_EQ(log.NextEntriesToApply(UINT64_MAX).size(), 2u);
  log.AppliedTo(LogIndex(2));
  EXPECT_FALSE(log.HasEntriesToApply());
}

TEST(RaftLogTest, UpToDateComparesTermThenLength) {
  RaftLog log(LogIndex(0), Term(0), EntriesWithTerms({1, 2}), LogIndex(0));
  EXPECT_TRUE(log.IsUpToDate(LogIndex(1), Term(3)));
  EXPECT_TRUE(log.IsUpToDate(LogIndex(2), Term(2)));
  EXPECT_FALSE(log.IsUpToDate(LogIndex(1), Term(2)));
  EXPECT_FALSE(log.IsUpToDate(LogIndex(9), Term(1)));
}

TEST(RaftLogDeathTest, RefusesToTruncateCommittedEntries) {
  RaftLog log(LogIndex(0), Term(0), EntriesWithTerms({1, 1}), LogIndex(2));
  std::vector<Entry> conflict = {{Term(2), LogIndex(2), EntryType::kNormal, {}}};
  EXPECT_DEATH(log.MaybeAppend(LogIndex(1), Term(1), conflict).has_value(), "committed");
}

}  // namespace
}  // namespace murphy::raft::testing
