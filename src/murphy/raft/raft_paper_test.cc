// Paper tests: one test per rule of the Raft paper (Ongaro & Ousterhout 2014, §5)
// and thesis, named after the sentence it checks (the idea of etcd's
// raft_paper_test.go; the tests are our own).
#include <gtest/gtest.h>

#include <set>

#include "murphy/raft/cluster_for_test.h"

namespace murphy::raft::testing {
namespace {

// §5.1 "If a server's current term is smaller than the other's, it updates its
// current term to the larger value."
TEST(RaftPaperTest, FollowerUpdatesTermFromMessage) {
  Raft raft = NewRaft(1);
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kHeartbeat, 2, 1, 5)).ok());
  EXPECT_EQ(raft.term(), Term(5));
  EXPECT_EQ(raft.role(), Role::kFollower);
  EXPECT_EQ(raft.leader(), NodeId(2));
}

// §5.1 "If a candidate or leader discovers that its term is out of date, it
// immediately reverts to follower state."
TEST(RaftPaperTest, CandidateAndLeaderRevertToFollowerOnHigherTerm) {
  Raft candidate = NewRaft(1);
  candidate.Campaign();
  ASSERT_EQ(candidate.role(), Role::kCandidate);
  ASSERT_TRUE(candidate.Step(MakeMessage(MessageType::kAppend, 2, 1, 7)).ok());
  EXPECT_EQ(candidate.role(), Role::kFollower);
  EXPECT_EQ(candidate.term(), Term(7));

  Raft leader = NewRaft(1);
  MakeLeader(leader);
  ASSERT_TRUE(leader.Step(MakeMessage(MessageType::kAppendResponse, 2, 1, leader.term().value() + 1)).ok());
  EXPECT_EQ(leader.role(), Role::kFollower);
}

// §5.1 "If a server receives a request with a stale term number, it rejects the
// request." (Figure 2, AppendEntries receiver rule 1.)
TEST(RaftPaperTest, FollowerRejectsAppendWithOlderTerm) {
  Raft raft = NewRaft(1, {.hard_state = {Term(3), kNoNode, LogIndex(0)}});
  Message append = MakeMessage(MessageType::kAppend, 2, 1, 2);
  append.entries = {{Term(2), LogIndex(1), EntryType::kNormal, "x"}};
  ASSERT_TRUE(raft.Step(append).ok());
  EXPECT_EQ(raft.log().last_index(), LogIndex(0));
  EXPECT_EQ(raft.term(), Term(3));
}

// §5.2 "When servers start up, they begin as followers."
TEST(RaftPaperTest, StartsAsFollower) {
  Raft raft = NewRaft(1);
  EXPECT_EQ(raft.role(), Role::kFollower);
  EXPECT_EQ(raft.term(), Term(0));
}

// §5.2 "Leaders send periodic heartbeats ... to all followers."
TEST(RaftPaperTest, LeaderSendsHeartbeatsToAllFollowers) {
  Raft raft = NewRaft(1);
  MakeLeader(raft);
  raft.Tick();
  std::vector<Message> heartbeats = MessagesOfType(raft.TakeMessages(), MessageType::kHeartbeat);
  ASSERT_EQ(heartbeats.size(), 2u);
  EXPECT_EQ(heartbeats[0].to, NodeId(2));
  EXPECT_EQ(heartbeats[1].to, NodeId(3));
}

// §5.2 "If a follower receives no communication over a period of time called the
// election timeout, then it ... begins an election": it increments its term, votes
// for itself and issues RequestVote to each of the other servers.
TEST(RaftPaperTest, FollowerStartsElectionAfterTimeout) {
  Raft raft = NewRaft(1);
  for (int i = 0; i < 20 && raft.role() == Role::kFollower; ++i) raft.Tick();
  EXPECT_EQ(raft.role(), Role::kCandidate);
  EXPECT_EQ(raft.term(), Term(1));
  EXPECT_EQ(raft.vote(), NodeId(1));
  std::vector<Message> votes = MessagesOfType(raft.TakeMessages(), MessageType::kVote);
  ASSERT_EQ(votes.size(), 2u);
  EXPECT_EQ(votes[0].term, Term(1));
}

// §5.2 "Raft uses randomized election timeouts ... chosen randomly from a fixed
// interval" — here [election_ticks, 2 * election_ticks).
TEST(RaftPaperTest, ElectionTimeoutsAreRandomizedWithinInterval) {
  std::set<int> seen;
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    Raft raft = NewRaft(1);
    Config config = raft.config();
    config.seed = seed;
    RestoreState restore;
    restore.membership.voters = {NodeId(1), NodeId(2), NodeId(3)};
    Raft seeded(config, restore);
    int ticks = 0;
    while (seeded.role() == Role::kFollower) {
      seeded.Tick();
      ++ticks;
      ASSERT_LT(ticks, 2 * config.election_ticks);
    }
    EXPECT_GE(ticks, config.election_ticks);
    seen.insert(ticks);
  }
  EXPECT_GT(seen.size(), 5u);
}

// §5.2 "A candidate wins an election if it receives votes from a majority of the
// servers in the full cluster for the same term."
TEST(RaftPaperTest, CandidateWithMajorityBecomesLeader) {
  Raft raft = NewRaft(1, {.voters = 5});
  raft.Campaign();
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kVoteResponse, 2, 1, 1)).ok());
  EXPECT_EQ(raft.role(), Role::kCandidate);  // 2 of 5
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kVoteResponse, 3, 1, 1)).ok());
  EXPECT_EQ(raft.role(), Role::kLeader);  // 3 of 5
}

// §5.2 "Each server will vote for at most one candidate in a given term, on a
// first-come-first-served basis."
TEST(RaftPaperTest, NodeGrantsAtMostOneVotePerTerm) {
  Raft raft = NewRaft(1);
  Message from_two = MakeMessage(MessageType::kVote, 2, 1, 1);
  Message from_three = MakeMessage(MessageType::kVote, 3, 1, 1);
  ASSERT_TRUE(raft.Step(from_two).ok());
  ASSERT_TRUE(raft.Step(from_three).ok());
  ASSERT_TRUE(raft.Step(from_two).ok());  // a repeated request gets the same answer.
  std::vector<Message> responses = MessagesOfType(raft.TakeMessages(), MessageType::kVoteResponse);
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_FALSE(responses[0].reject);
  EXPECT_TRUE(responses[1].reject);
  EXPECT_FALSE(responses[2].reject);
  EXPECT_EQ(raft.vote(), NodeId(2));
}

// §5.2 "If the leader's term is at least as large as the candidate's current term,
// then the candidate recognizes the leader as legitimate and returns to follower."
TEST(RaftPaperTest, CandidateStepsDownOnAppendFromLeaderOfSameTerm) {
  Raft raft = NewRaft(1);
  raft.Campaign();
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kAppend, 2, 1, 1)).ok());
  EXPECT_EQ(raft.role(), Role::kFollower);
  EXPECT_EQ(raft.leader(), NodeId(2));
  EXPECT_EQ(raft.term(), Term(1));
}

// §5.2: a candidate that cannot win (a majority refused) gives up and waits.
TEST(RaftPaperTest, CandidateRejectedByMajorityBecomesFollower) {
  Raft raft = NewRaft(1);
  raft.Campaign();
  Message rejection = MakeMessage(MessageType::kVoteResponse, 2, 1, 1);
  rejection.reject = true;
  ASSERT_TRUE(raft.Step(rejection).ok());
  EXPECT_EQ(raft.role(), Role::kCandidate);  // 1 granted, 1 rejected of 3.
  rejection.from = NodeId(3);
  ASSERT_TRUE(raft.Step(rejection).ok());
  EXPECT_EQ(raft.role(), Role::kFollower);
}

// §5.4.1 "the voter denies its vote if its own log is more up-to-date than that of
// the candidate": a later last term wins; with equal last terms, the longer log.
TEST(RaftPaperTest, VoterRejectsCandidateWithLessUpToDateLog) {
  struct Case {
    uint64_t last_term;
    uint64_t last_index;
    bool granted;
  };
  // The voter's log: terms 1, 2, 2 (last 2/3).
  for (Case c : {Case{1, 5, false}, Case{2, 2, false}, Case{2, 3, true}, Case{2, 4, true}, Case{3, 1, true}}) {
    Raft raft = NewRaft(1, {.hard_state = {Term(2), kNoNode, LogIndex(0)}, .entries = EntriesWithTerms({1, 2, 2})});
    Message request = MakeMessage(MessageType::kVote, 2, 1, 3);
    request.log_term = Term(c.last_term);
    request.index = LogIndex(c.last_index);
    ASSERT_TRUE(raft.Step(request).ok());
    std::vector<Message> responses = raft.TakeMessages();
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(!responses[0].reject, c.granted) << c.last_term << "/" << c.last_index;
  }
}

// §5.3 "The leader appends the command to its log as a new entry, then issues
// AppendEntries RPCs in parallel to each of the other servers", carrying the index
// and term of the entry that precedes the new ones.
TEST(RaftPaperTest, LeaderReplicatesProposalToAllFollowers) {
  Raft raft = NewRaft(1);
  MakeLeader(raft);
  // Followers acknowledge the no-op (index 1) so that they leave probe state.
  for (uint64_t peer : {2, 3}) {
    Message ack = MakeMessage(MessageType::kAppendResponse, peer, 1, raft.term().value());
    ack.index = LogIndex(1);
    ASSERT_TRUE(raft.Step(ack).ok());
  }
  raft.TakeMessages();
  Result<LogIndex> index = raft.Propose("x");
  ASSERT_TRUE(index.ok());
  EXPECT_EQ(*index, LogIndex(2));
  std::vector<Message> appends = MessagesOfType(raft.TakeMessages(), MessageType::kAppend);
  ASSERT_EQ(appends.size(), 2u);
  for (const Message& append : appends) {
    EXPECT_EQ(append.index, LogIndex(1));
    EXPECT_EQ(append.log_term, raft.term());
    ASSERT_EQ(append.entries.size(), 1u);
    EXPECT_EQ(append.entries[0].data, "x");
  }
}

// §5.3 "A log entry is committed once the leader that created the entry has
// replicated it on a majority of the servers."
TEST(RaftPaperTest, LeaderCommitsEntryReplicatedOnMajority) {
  Raft raft = NewRaft(1, {.voters = 5});
  raft.Campaign();
  for (uint64_t peer : {2, 3}) ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kVoteResponse, peer, 1, 1)).ok());
  ASSERT_EQ(raft.role(), Role::kLeader);
  PersistAll(raft);
  Message ack = MakeMessage(MessageType::kAppendResponse, 2, 1, 1);
  ack.index = LogIndex(1);
  ASSERT_TRUE(raft.Step(ack).ok());
  EXPECT_EQ(raft.log().committed(), LogIndex(0));  // 2 of 5
  ack.from = NodeId(3);
  ASSERT_TRUE(raft.Step(ack).ok());
  EXPECT_EQ(raft.log().committed(), LogIndex(1));  // 3 of 5
}

// The leader counts itself only once its own log is durable (thesis §10.2.1).
TEST(RaftPaperTest, LeaderCountsItselfOnlyAfterPersisting) {
  Raft raft = NewRaft(1);
  raft.Campaign();
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kVoteResponse, 2, 1, 1)).ok());
  ASSERT_EQ(raft.role(), Role::kLeader);
  Message ack = MakeMessage(MessageType::kAppendResponse, 2, 1, 1);
  ack.index = LogIndex(1);
  ASSERT_TRUE(raft.Step(ack).ok());
  EXPECT_EQ(raft.log().committed(), LogIndex(0));  // 1 durable copy of 3
  PersistAll(raft);
  EXPECT_EQ(raft.log().committed(), LogIndex(1));
}

// §5.4.2 "Raft never commits log entries from previous terms by counting replicas.
// Only log entries from the leader's current term are committed by counting."
TEST(RaftPaperTest, LeaderCommitsOnlyEntriesOfCurrentTermByCounting) {
  // Leader of term 3 with entries of terms 1 and 2 not yet committed.
  Raft raft = NewRaft(1, {.hard_state = {Term(2), kNoNode, LogIndex(0)}, .entries = EntriesWithTerms({1, 2})});
  raft.Campaign();
  ASSERT_TRUE(raft.Step(MakeMessage(MessageType::kVoteResponse, 2, 1, 3)).ok());
  ASSERT_EQ(raft.role(), Role::kLeader);
  PersistAll(raft);  // the log now ends with the term-3 no-op at index 3.
  // A follower holds 1 and 2 (a majority with us) but not 3: nothing commits.
  Message ack = MakeMessage(MessageType::kAppendResponse, 2, 1, 3);
  ack.index = LogIndex(2);
  ASSERT_TRUE(raft.Step(ack).ok());
  EXPECT_EQ(raft.log().committed(), LogIndex(0));
  // Once the term-3 entry is on a majority, it and all before it commit.
  ack.index = LogIndex(3);
  ASSERT_TRUE(raft.Step(ack).ok());
  EXPECT_EQ(raft.log().committed(), LogIndex(3));
}

// §5.3 "If a follower does not find an entry in its log with the same index and
// term [as prevLogIndex/prevLogTerm], then it refuses the new entries."
TEST(RaftPaperTest, FollowerRejectsAppendWhosePreviousEntryDoesNotMatch) {
  Raft raft = NewRaft(1, {.hard_state = {Term(2), kNoNode, LogIndex(0)}, .entries = EntriesWithTerms({1, 1})});
  Message append = MakeMessage(MessageType::kAppend, 2, 1, 2);
  append.index = LogIndex(2);
  append.log_term = Term(2);
  append.entries = {{Term(2), LogIndex(3), EntryType::kNormal, "x"}};
  ASSERT_TRUE(raft.Step(append).ok());
  std::vector<Message> responses = raft.TakeMessages();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_TRUE(responses[0].reject);
  EXPECT_EQ(responses[0].reject_hint, LogIndex(2));  // our last entry of term <= 2
  EXPECT_EQ(responses[0].log_term, Term(1));
  EXPECT_EQ(raft.log().last_index(), LogIndex(2));
}

// §5.3 "If an existing entry conflicts with a new one (same index but different
// terms), delete the existing entry and all that follow it."
TEST(RaftPaperTest, FollowerDeletesConflictingEntriesAndAppends) {
  Raft raft = NewRaft(1, {.hard_state = {Term(2), kNoNode, LogIndex(0)}, .entries = EntriesWithTerms({1, 1, 1})});
  Message append = MakeMessage(MessageType::kAppend, 2, 1, 3);
  append.index = LogIndex(1);
  append.log_term = Term(1);
  append.entries = {{Term(3), LogIndex(2), EntryType::kNormal, "y"}};
  ASSERT_TRUE(raft.Step(append).ok());
  EXPECT_EQ(raft.log().last_index(), LogIndex(2));
  EXPECT_EQ(raft.log().TermAtOrDie(LogIndex(2)), Term(3));
  std::vector<Message> responses = raft.TakeMessages();
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_FALSE(responses[0].reject);
  EXPECT_EQ(responses[0].index, LogIndex(2));
}

// Figure 2, AppendEntries rule 5: "If leaderCommit > commitIndex, set commitIndex =
// min(leaderCommit, index of last new entry)."
TEST(RaftPaperTest, FollowerCommitsNoFurtherThanTheLastNewEntry) {
  Raft raft = NewRaft(1, {.hard_state = {Term(1), kNoNode, LogIndex(0)}, .entries = EntriesWithTerms({1, 1, 1})});
  Message append = MakeMessage(MessageType::kAppend, 2, 1, 1);
  append.index = LogIndex(1);
  append.log_term = Term(1);
  append.commit = LogIndex(3);
  ASSERT_TRUE(raft.Step(append).ok());
  // The message proves only index 1; entries 2 and 3 might still be replaced.
  EXPECT_EQ(raft.log().committed(), LogIndex(1));
}

// §5.3 "the leader must find the latest log entry where the two logs agree ... and
// send the follower all of the leader's entries after that point" — Figure 7's
// followers (a) to (f) all end up with the leader's log.
TEST(RaftPaperTest, LeaderBringsDivergentFollowersInLine) {
  const std::vector<Entry> leader_log = EntriesWithTerms({1, 1, 1, 4, 4, 5, 5, 6, 6, 6});
  const std::vector<std::vector<Entry>> followers = {
      EntriesWithTerms({1, 1, 1, 4, 4, 5, 5, 6, 6}),
      EntriesWithTerms({1, 1, 1, 4}),
      EntriesWithTerms({1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}),
      EntriesWithTerms({1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}),
      EntriesWithTerms({1, 1, 1, 4, 4, 4, 4}),
      EntriesWithTerms({1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}),
  };
  for (const std::vector<Entry>& follower_log : followers) {
    // Three voters at term 7 (so (d)'s term-7 entries are possible): node 1 with the
    // leader's log, node 2 the follower under test, node 3 a copy of node 1 whose
    // vote makes node 1 leader even where node 2's log is longer.
    std::vector<Raft> nodes;
    for (uint64_t id : {1, 2, 3}) {
      nodes.push_back(NewRaft(id, {.hard_state = {Term(7), kNoNode, LogIndex(0)},
                                   .entries = id == 2 ? follower_log : leader_log}));
    }
    Raft& leader = nodes[0];
    Raft& follower = nodes[1];
    leader.Campaign();
    std::vector<Message> queue = leader.TakeMessages();
    for (int delivered = 0; !queue.empty() && delivered < 200; ++delivered) {
      Message message = queue.front();
      queue.erase(queue.begin());
      ASSERT_TRUE(nodes[message.to.value() - 1].Step(message).ok());
      for (Raft& node : nodes) {
        PersistAll(node);
        for (Message& out : node.TakeMessages()) queue.push_back(out);
      }
    }
    ASSERT_EQ(leader.role(), Role::kLeader) << follower_log.size();
    ASSERT_EQ(follower.log().last_index(), leader.log().last_index());
    for (LogIndex index(1); index <= leader.log().last_index(); index = index.next()) {
      EXPECT_EQ(follower.log().TermAtOrDie(index), leader.log().TermAtOrDie(index));
    }
    EXPECT_EQ(leader.log().committed(), leader.log().last_index());
  }
}

// Log Matching (§5.3): "If two logs contain an entry with the same index and term,
// then the logs are identical in all entries up through the given index." Checked
// after a run with leader changes and lost messages.
TEST(RaftPaperTest, LogMatchingHoldsAcrossLeaderChanges) {
  ClusterOptions options;
  options.voters = 5;
  Cluster cluster(options);
  cluster.Campaign(NodeId(1));
  cluster.Stabilize();
  ASSERT_EQ(cluster.Leader(), NodeId(1));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(cluster.Propose(NodeId(1), "a" + std::to_string(i)).ok());
  // Only node 2 hears about the last proposals before node 1 is cut off.
  cluster.Partition({{NodeId(1), NodeId(2)}, {NodeId(3), NodeId(4), NodeId(5)}});
  cluster.Stabilize();
  ASSERT_TRUE(cluster.Propose(NodeId(1), "lost").ok());
  cluster.Stabilize();
  for (int i = 0; i < 40 && cluster.Leader() == NodeId(1); ++i) {
    cluster.TickAll();
    cluster.Stabilize();
  }
  cluster.Heal();
  for (int i = 0; i < 60; ++i) {
    cluster.TickAll();
    cluster.Stabilize();
  }
  std::optional<NodeId> leader = cluster.Leader();
  ASSERT_TRUE(leader.has_value());
  EXPECT_NE(*leader, NodeId(1));
  ASSERT_TRUE(cluster.Propose(*leader, "after").ok());
  cluster.Stabilize();
  cluster.CheckLogMatching();
  for (NodeId id : cluster.ids()) EXPECT_EQ(cluster.applied(id), cluster.applied(NodeId(3)));
  for (const Entry& entry : cluster.applied(NodeId(3))) EXPECT_NE(entry.data, "lost");
}

}  // namespace
}  // namespace murphy::raft::testing
