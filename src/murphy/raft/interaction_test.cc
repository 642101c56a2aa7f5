// Golden interaction tests (etcd raft's testdata/*.txt idea, our own runner): each
// file in testdata/ is a script of commands, each followed by "----" and the output
// it must produce, then a blank line:
//
//   cluster voters=3 [learners=N] [pre-vote=false] [check-quorum=false] [seed=N]
//           [snapshot-chunk-bytes=N] [snapshot-inflight-chunks=N]
//   campaign N | tick N [count] | tick-all [count] | propose N data
//   read-index N request_id | transfer N target
//   process-ready [N ...] | deliver | drop | stabilize
//   partition 1 2 | 3 | heal | crash N | restart N | status | log N
//   compact N [index]           N snapshots its state machine and compacts its log
//   add-node N                  starts a new, empty node N (not yet a member)
//   add-learner L N | promote L N | remove L N
//                               leader L proposes the membership change for N
//   drop-type TYPE              drops the queued messages of that type (e.g. Snapshot)
//
// Output is the cluster's trace (Readies: role changes, what is persisted, sent,
// applied; dropped messages) plus a line for every node whose state changed.
// `raft_test --rewrite` writes the actual output back into the files; review the
// change with `git diff` like any code change.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "murphy/raft/cluster_for_test.h"

namespace murphy::raft::testing {
extern bool rewrite_golden_files;
namespace {

std::vector<std::string> Split(const std::string& line) {
  std::istringstream stream(line);
  std::vector<std::string> words;
  std::string word;
  while (stream >> word) words.push_back(word);
  return words;
}

NodeId ParseNode(const std::string& word) { return NodeId(static_cast<uint32_t>(std::stoul(word))); }

class Runner {
 public:
  std::string Run(const std::string& line) {
    std::vector<std::string> words = Split(line);
    if (words.empty()) return "error: empty command\n";
    const std::string& command = words[0];
    if (command == "cluster") return NewCluster(words);
    if (!cluster_) return "error: no cluster yet\n";
    std::map<NodeId, std::string> before;
    for (NodeId id : cluster_->ids()) before[id] = cluster_->Describe(id);
    std::string result = Execute(words);
    for (const std::string& trace : cluster_->TakeTrace()) result += trace + "\n";
    for (NodeId id : cluster_->ids()) {
      std::string after = cluster_->Describe(id);
      if (after != before[id]) result += "state " + after + "\n";
    }
    return result;
  }

 private:
  std::string NewCluster(const std::vector<std::string>& words) {
    ClusterOptions options;
    for (size_t i = 1; i < words.size(); ++i) {
      size_t equals = words[i].find('=');
      if (equals == std::string::npos) return "error: expected key=value: " + words[i] + "\n";
      std::string key = words[i].substr(0, equals);
      std::string value = words[i].substr(equals + 1);
      if (key == "voters") {
        options.voters = std::stoi(value);
      } else if (key == "learners") {
        options.learners = std::stoi(value);
      } else if (key == "pre-vote") {
        options.base.pre_vote = value == "true";
      } else if (key == "check-quorum") {
        options.base.check_quorum = value == "true";
      } else if (key == "snapshot-chunk-bytes") {
        options.base.snapshot_chunk_bytes = std::stoull(value);
      } else if (key == "snapshot-inflight-chunks") {
        options.base.max_inflight_snapshot_chunks = std::stoull(value);
      } else if (key == "seed") {
        options.seed = std::stoull(value);
      } else {
        return "error: unknown option " + key + "\n";
      }
    }
    cluster_ = std::make_unique<Cluster>(options);
    cluster_->set_tracing(true);
    std::string result;
    for (NodeId id : cluster_->ids()) result += cluster_->Describe(id) + "\n";
    return result;
  }

  std::string Execute(const std::vector<std::string>& words) {
    const std::string& command = words[0];
    auto arg = [&](size_t i) -> std::string { return i < words.size() ? words[i] : "0"; };
    if (command == "campaign") {
      cluster_->Campaign(ParseNode(arg(1)));
    } else if (command == "tick") {
      cluster_->Tick(ParseNode(arg(1)), words.size() > 2 ? std::stoi(words[2]) : 1);
    } else if (command == "tick-all") {
      cluster_->TickAll(words.size() > 1 ? std::stoi(words[1]) : 1);
    } else if (command == "propose") {
      Result<LogIndex> index = cluster_->Propose(ParseNode(arg(1)), arg(2));
      return index.ok() ? "index " + ToString(*index) + "\n" : index.status().ToString() + "\n";
    } else if (command == "read-index") {
      Status status = cluster_->ReadIndex(ParseNode(arg(1)), std::stoull(arg(2)));
      if (!status.ok()) return status.ToString() + "\n";
    } else if (command == "transfer") {
      Status status = cluster_->TransferLeadership(ParseNode(arg(1)), ParseNode(arg(2)));
      if (!status.ok()) return status.ToString() + "\n";
    } else if (command == "process-ready") {
      if (words.size() == 1) {
        for (NodeId id : cluster_->ids()) cluster_->ProcessReady(id);
      }
      for (size_t i = 1; i < words.size(); ++i) cluster_->ProcessReady(ParseNode(words[i]));
    } else if (command == "deliver") {
      return "delivered " + std::to_string(cluster_->DeliverAll()) + "\n";
    } else if (command == "drop") {
      size_t count = cluster_->in_flight();
      while (cluster_->in_flight() > 0) cluster_->DropAt(0);
      return "dropped " + std::to_string(count) + "\n";
    } else if (command == "stabilize") {
      cluster_->Stabilize();
    } else if (command == "partition") {
      std::vector<std::vector<NodeId>> groups(1);
      for (size_t i = 1; i < words.size(); ++i) {
        if (words[i] == "|") {
          groups.emplace_back();
        } else {
          groups.back().push_back(ParseNode(words[i]));
        }
      }
      cluster_->Partition(groups);
    } else if (command == "heal") {
      cluster_->Heal();
    } else if (command == "crash") {
      cluster_->Crash(ParseNode(arg(1)));
    } else if (command == "restart") {
      cluster_->Restart(ParseNode(arg(1)));
    } else if (command == "compact") {
      std::optional<LogIndex> index;
      if (words.size() > 2) index = LogIndex(std::stoull(words[2]));
      Status status = cluster_->Compact(ParseNode(arg(1)), index);
      if (!status.ok()) return status.ToString() + "\n";
    } else if (command == "add-node") {
      cluster_->AddNode(ParseNode(arg(1)));
    } else if (command == "add-learner" || command == "promote" || command == "remove") {
      ConfigChange change;
      change.type = command == "add-learner" ? ConfigChangeType::kAddLearner
                    : command == "promote"   ? ConfigChangeType::kPromote
                                             : ConfigChangeType::kRemove;
      change.node = ParseNode(arg(2));
      Result<LogIndex> index = cluster_->ProposeMembershipChange(ParseNode(arg(1)), change);
      return index.ok() ? "index " + ToString(*index) + "\n" : index.status().ToString() + "\n";
    } else if (command == "drop-type") {
      size_t dropped = 0;
      for (size_t i = 0; i < cluster_->in_flight();) {
        if (MessageTypeName(cluster_->in_flight_at(i).type) == arg(1)) {
          cluster_->DropAt(i);
          ++dropped;
        } else {
          ++i;
        }
      }
      return "dropped " + std::to_string(dropped) + "\n";
    } else if (command == "status") {
      std::string result;
      for (NodeId id : cluster_->ids()) result += cluster_->Describe(id) + "\n";
      return result;
    } else if (command == "log") {
      NodeId id = ParseNode(arg(1));
      std::string result;
      const RaftLog& log = cluster_->raft(id).log();
      if (log.offset().value() > 0) {
        result += "snapshot " + ToString(log.offset_term()) + "/" + ToString(log.offset()) + "\n";
      }
      for (LogIndex index = log.first_index(); index <= log.last_index(); index = index.next()) {
        result += DescribeEntry(log.EntryAt(index)) + "\n";
      }
      return result.empty() ? "(empty)\n" : result;
    } else {
      return "error: unknown command " + command + "\n";
    }
    return "";
  }

  std::unique_ptr<Cluster> cluster_;
};

// Runs one script; returns the file as it should be (commands with actual output).
std::string RunScript(const std::string& path, std::string* original) {
  std::ifstream input(path);
  std::stringstream buffer;
  buffer << input.rdbuf();
  *original = buffer.str();
  std::istringstream lines(*original);
  std::string line;
  std::string rewritten;
  Runner runner;
  bool after_block = false;
  while (std::getline(lines, line)) {
    if (line.empty() && after_block) continue;  // the block already ends in a blank line.
    after_block = false;
    if (line.empty() || line[0] == '#') {
      rewritten += line + "\n";
      continue;
    }
    after_block = true;
    std::string output = runner.Run(line);
    rewritten += line + "\n----\n" + (output.empty() ? "ok\n" : output) + "\n";
    // Skip the expected block: "----", its lines, and the blank line ending it.
    std::streampos position = lines.tellg();
    std::string next;
    if (std::getline(lines, next) && next == "----") {
      while (std::getline(lines, next) && !next.empty()) {
      }
    } else {
      lines.clear();
      lines.seekg(position);
    }
  }
  return rewritten;
}

TEST(InteractionTest, GoldenFiles) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(MURPHY_RAFT_TESTDATA_DIR)) {
    if (entry.path().extension() == ".txt") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());
  for (const std::filesystem::path& file : files) {
    SCOPED_TRACE(file.string());
    std::string original;
    std::string actual = RunScript(file.string(), &original);
    if (rewrite_golden_files) {
      std::ofstream(file) << actual;
      continue;
    }
    EXPECT_EQ(original, actual) << "golden output differs; run raft_test --rewrite and review git diff";
  }
}

}  // namespace
}  // namespace murphy::raft::testing
