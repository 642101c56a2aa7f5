// Micro-benchmarks of the pure Raft core.
//
// Back of the envelope: the core does no I/O, so a commit costs a few message
// constructions and vector copies per replica — on the order of a microsecond per
// entry for a 3-node in-memory cluster. The real limit of murphyd is fsync (~0.1–10
// ms) and the network RTT (~0.1 ms in a data centre), so the core should sit two or
// more orders of magnitude below them; the "entries/s" counter shows the margin.
#include <benchmark/benchmark.h>

#include <deque>
#include <memory>
#include <vector>

#include "murphy/raft/message_codec.h"
#include "murphy/raft/raw_node.h"
#include "murphy/raft/storage.h"

namespace murphy::raft {
namespace {

struct BenchCluster {
  std::vector<std::unique_ptr<RawNode>> nodes;
  std::vector<MemoryStorage> disks;
  std::deque<Message> wire;

  explicit BenchCluster(int size) {
    Membership membership;
    for (int i = 1; i <= size; ++i) membership.voters.push_back(NodeId(i));
    for (int i = 1; i <= size; ++i) {
      Config config;
      config.id = NodeId(i);
      config.seed = static_cast<uint64_t>(i);
      config.max_inflight_messages = 256;
      disks.emplace_back(membership);
      nodes.push_back(std::make_unique<RawNode>(config, disks.back().Restore()));
    }
    nodes[0]->Campaign();
    Drive();
  }

  void Drive() {
    bool moved = true;
    while (moved) {
      moved = false;
      for (size_t i = 0; i < nodes.size(); ++i) {
        if (!nodes[i]->HasReady()) continue;
        moved = true;
        Ready ready = nodes[i]->GetReady();
        for (Message& message : ready.messages) wire.push_back(std::move(message));
        disks[i].Persist(ready);
        for (Message& message : ready.messages_after_persist) wire.push_back(std::move(message));
        nodes[i]->Advance();
      }
      while (!wire.empty()) {
        moved = true;
        Message message = std::move(wire.front());
        wire.pop_front();
        nodes[message.to.value() - 1]->Step(message).IgnoreError();
      }
    }
  }
};

void BM_ProposeAndCommit(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  BenchCluster cluster(3);
  std::string payload(64, 'x');
  int64_t entries = 0;
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) cluster.nodes[0]->Propose(payload).value();
    cluster.Drive();
    entries += batch;
    // Keep memory bounded: the log is not compacted, so restart the cluster now and then.
    if (cluster.nodes[0]->raft().log().last_index().value() > 50000) {
      state.PauseTiming();
      cluster = BenchCluster(3);
      state.ResumeTiming();
    }
  }
  state.counters["entries/s"] = benchmark::Counter(static_cast<double>(entries), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ProposeAndCommit)->Arg(1)->Arg(16)->Arg(256);

void BM_EncodeDecodeAppend(benchmark::State& state) {
  Message message;
  message.type = MessageType::kAppend;
  message.from = NodeId(1);
  message.to = NodeId(2);
  message.term = Term(3);
  for (uint64_t i = 1; i <= 64; ++i) message.entries.push_back({Term(3), LogIndex(i), EntryType::kNormal, std::string(64, 'x')});
  for (auto _ : state) {
    Bytes bytes = EncodeMessage(message);
    Result<Message> decoded = DecodeMessage(bytes);
    benchmark::DoNotOptimize(decoded.ok());
  }
}
BENCHMARK(BM_EncodeDecodeAppend);

}  // namespace
}  // namespace murphy::raft
