#include "murphy/sim/workload.h"

#include <algorithm>
#include <set>

#include "murphy/core/crc32c.h"

namespace murphy::sim {

Bytes SealFrame(Bytes body) {
  const uint32_t crc = Crc32c(body);
  for (int i = 0; i < 4; ++i) body.push_back(static_cast<uint8_t>(crc >> (8 * i)));
  return body;
}

std::span<const uint8_t> OpenFrame(std::span<const uint8_t> frame, bool* ok) {
  *ok = false;
  if (frame.size() < 4) return {};
  const std::span<const uint8_t> body = frame.first(frame.size() - 4);
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) stored |= static_cast<uint32_t>(frame[body.size() + static_cast<size_t>(i)]) << (8 * i);
  if (stored != Crc32c(body)) return {};
  *ok = true;
  return body;
}

// --- Heartbeat ------------------------------------------------------------------------

HeartbeatProcess::HeartbeatProcess(Env& env, std::vector<NodeId> peers, Duration interval,
                                   std::function<void(NodeId, NodeId)> on_heartbeat)
    : env_(env), peers_(std::move(peers)), interval_(interval), on_heartbeat_(std::move(on_heartbeat)) {
  env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) {
    bool ok = false;
    const std::span<const uint8_t> body = OpenFrame(payload, &ok);
    ByteReader reader(body);
    uint32_t claimed = 0;
    uint64_t counter = 0;
    if (!ok || !reader.GetU32(&claimed) || !reader.GetU64(&counter) || claimed != source.value()) {
      ++rejected_;
      return;
    }
    if (on_heartbeat_) on_heartbeat_(source, env_.self());
  });
  timer_ = env_.SetTimer(interval_, [this] { Beat(); });
}

HeartbeatProcess::~HeartbeatProcess() { env_.CancelTimer(timer_); }

void HeartbeatProcess::Beat() {
  ++counter_;
  for (const NodeId peer : peers_) {
    if (peer == env_.self()) continue;
    ByteWriter writer;
    writer.PutU32(env_.self().value());
    writer.PutU64(counter_);
    env_.Send(peer, SealFrame(writer.Take()));
  }
  timer_ = env_.SetTimer(interval_, [this] { Beat(); });
}

namespace {

class HeartbeatWorkload : public Workload {
 public:
  void Setup(Simulator& sim) override {
    sim_ = &sim;
    const std::vector<NodeId> peers = {NodeId(1), NodeId(2), NodeId(3)};
    for (int i = 0; i < 3; ++i) {
      sim.AddProcess("node" + std::to_string(i + 1), [this, peers](Env& env) {
        return Hold(std::make_unique<HeartbeatProcess>(env, peers, Milliseconds(50), [this](NodeId source, NodeId target) {
          last_heard_[{source.value(), target.value()}] = sim_->now();
        }));
      });
    }
  }
  void Targets(NemesisOptions* options) const override {
    options->nodes = {NodeId(1), NodeId(2), NodeId(3)};
    options->crashable = options->nodes;
    options->disk_nodes = {};
  }
  Status Check(Simulator& sim, Instant faults_end) override {
    // After every fault has healed, every node hears every peer again.
    for (uint32_t source = 1; source <= 3; ++source) {
      for (uint32_t target = 1; target <= 3; ++target) {
        if (source == target) continue;
        const auto it = last_heard_.find({source, target});
        if (it == last_heard_.end() || it->second < faults_end + Milliseconds(500)) {
          return FailedPreconditionError("heartbeat: node " + std::to_string(target) + " did not hear node " +
                                         std::to_string(source) + " after the faults healed (now " +
                                         FormatInstant(sim.now()) + ")");
        }
      }
    }
    return Status::Ok();
  }

 private:
  Simulator* sim_ = nullptr;
  std::map<std::pair<uint32_t, uint32_t>, Instant> last_heard_;
};

// --- Ping: request / retry / reply against a server that dedups by request id ---------

struct PingOracle {
  // The world outside the processes: effects of applied requests (a bank balance, an
  // email sent), which a crash cannot undo.
  std::map<std::pair<uint32_t, uint64_t>, int> effects;
  std::map<uint32_t, uint64_t> issued;     // highest request id issued per client
  std::map<uint32_t, uint64_t> completed;  // requests answered per client
  std::vector<std::string> violations;
  uint64_t rejected_frames = 0;
};

constexpr uint8_t kRequest = 1;
constexpr uint8_t kReply = 2;
constexpr std::string_view kAppliedFile = "applied";

Bytes EncodePing(uint8_t type, uint32_t client, uint64_t sequence, uint32_t value) {
  ByteWriter writer;
  writer.PutU8(type);
  writer.PutU32(client);
  writer.PutU64(sequence);
  writer.PutU32(value);
  return SealFrame(writer.Take());
}

bool DecodePing(std::span<const uint8_t> frame, uint8_t* type, uint32_t* client, uint64_t* sequence, uint32_t* value) {
  bool ok = false;
  ByteReader reader(OpenFrame(frame, &ok));
  return ok && reader.GetU8(type) && reader.GetU32(client) && reader.GetU64(sequence) && reader.GetU32(value) &&
         reader.at_end();
}

class PingServer {
 public:
  PingServer(Env& env, PingOracle* oracle, bool dedup) : env_(env), oracle_(oracle), dedup_(dedup) {
    Recover();
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnMessage(source, payload); });
  }

 private:
  // Rebuilds the applied-request table from the log. Reads may return a flipped bit
  // (the disk's read-corruption fault); records carry a CRC, so a bad read is retried.
  void Recover() {
    for (int attempt = 0; attempt < 64; ++attempt) {
      Result<Bytes> content = env_.disk().Read(kAppliedFile);
      if (!content.ok()) {
        if (content.status().code() == StatusCode::kNotFound) {
          healthy_ = true;
          return;
        }
        continue;
      }
      std::map<std::pair<uint32_t, uint64_t>, uint32_t> applied;
      ByteReader reader(*content);
      bool clean = true;
      while (!reader.at_end()) {
        std::span<const uint8_t> record;
        uint32_t client = 0;
        uint64_t sequence = 0;
        bool ok = false;
        if (!reader.GetRaw(16, &record)) {
          clean = false;
          break;
        }
        ByteReader fields(OpenFrame(record, &ok));
        if (!ok || !fields.GetU32(&client) || !fields.GetU64(&sequence)) {
          clean = false;
          break;
        }
        ++applied[{client, sequence}];
      }
      if (clean) {
        applied_ = std::move(applied);
        created_ = true;
        healthy_ = true;
        return;
      }
      env_.Trace("ping_recover_retry", {{"attempt", int64_t{attempt}}});
    }
    env_.Trace("ping_recover_failed", {});
  }

  void OnMessage(NodeId source, std::span<const uint8_t> payload) {
    uint8_t type = 0;
    uint32_t client = 0;
    uint64_t sequence = 0;
    uint32_t value = 0;
    if (!DecodePing(payload, &type, &client, &sequence, &value) || type != kRequest || client != source.value()) {
      ++oracle_->rejected_frames;
      env_.Trace("ping_reject", {{"source", uint64_t{source.value()}}});
      return;
    }
    if (!healthy_) return;
    const auto key = std::make_pair(client, sequence);
    if (dedup_) {
      const auto it = applied_.find(key);
      if (it != applied_.end()) {
        env_.Send(source, EncodePing(kReply, client, sequence, it->second));
        return;
      }
    }
    // Apply durably before acknowledging: append the record and fsync it.
    ByteWriter record;
    record.PutU32(client);
    record.PutU64(sequence);
    const Bytes sealed = SealFrame(record.Take());
    if (!env_.disk().Append(kAppliedFile, sealed).ok() || !env_.disk().Sync(kAppliedFile).ok()) {
      // After a failed fsync the log's state is unknown; stop serving (env.h).
      healthy_ = false;
      env_.Trace("ping_disk_failed", {});
      return;
    }
    if (!created_) {
      if (!env_.disk().SyncDirectory().ok()) {
        healthy_ = false;
        return;
      }
      created_ = true;
    }
    const uint32_t count = ++applied_[key];
    ++oracle_->effects[key];
    env_.Trace("ping_apply", {{"client", uint64_t{client}}, {"request", sequence}, {"count", uint64_t{count}}});
    env_.Send(source, EncodePing(kReply, client, sequence, count));
  }

  Env& env_;
  PingOracle* oracle_;
  bool dedup_;
  bool healthy_ = false;
  bool created_ = false;
  std::map<std::pair<uint32_t, uint64_t>, uint32_t> applied_;
};

class PingClient {
 public:
  static constexpr Duration kIssueInterval = Milliseconds(400);
  static constexpr Duration kRetryInterval = Milliseconds(300);

  PingClient(Env& env, PingOracle* oracle, NodeId server, uint64_t requests)
      : env_(env), oracle_(oracle), server_(server), requests_(requests) {
    env_.SetReceiver([this](NodeId source, std::span<const uint8_t> payload) { OnMessage(source, payload); });
    issue_timer_ = env_.SetTimer(kIssueInterval, [this] { Issue(); });
  }
  ~PingClient() {
    env_.CancelTimer(issue_timer_);
    env_.CancelTimer(retry_timer_);
  }

 private:
  void Issue() {
    if (outstanding_ == 0 && next_ <= requests_) {
      outstanding_ = next_++;
      oracle_->issued[env_.self().value()] = outstanding_;
      SendRequest();
    }
    if (next_ <= requests_) issue_timer_ = env_.SetTimer(kIssueInterval, [this] { Issue(); });
  }
  void SendRequest() {
    env_.Send(server_, EncodePing(kRequest, env_.self().value(), outstanding_, 0));
    retry_timer_ = env_.SetTimer(kRetryInterval, [this, request = outstanding_] {
      if (outstanding_ == request) SendRequest();  // timed out: outcome unknown, retry the same id
    });
  }
  void OnMessage(NodeId source, std::span<const uint8_t> payload) {
    uint8_t type = 0;
    uint32_t client = 0;
    uint64_t sequence = 0;
    uint32_t value = 0;
    if (!DecodePing(payload, &type, &client, &sequence, &value) || type != kReply || source != server_) {
      ++oracle_->rejected_frames;
      return;
    }
    if (client != env_.self().value() || sequence == 0 || sequence >= next_) {
      oracle_->violations.push_back("client " + std::to_string(env_.self().value()) + " got a reply to request " +
                                    std::to_string(sequence) + " that it never sent");
      return;
    }
    if (sequence != outstanding_) return;  // a late duplicate reply
    outstanding_ = 0;
    env_.CancelTimer(retry_timer_);
    ++oracle_->completed[env_.self().value()];
  }

  Env& env_;
  PingOracle* oracle_;
  NodeId server_;
  uint64_t requests_;
  uint64_t next_ = 1;
  uint64_t outstanding_ = 0;
  TimerId issue_timer_;
  TimerId retry_timer_;
};

class PingWorkload : public Workload {
 public:
  static constexpr uint64_t kRequestsPerClient = 20;
  explicit PingWorkload(bool dedup) : dedup_(dedup) {}

  void Setup(Simulator& sim) override {
    sim.AddProcess("server", [this](Env& env) { return Hold(std::make_unique<PingServer>(env, &oracle_, dedup_)); });
    for (int i = 0; i < 2; ++i) {
      sim.AddProcess("client" + std::to_string(i + 1), [this](Env& env) {
        return Hold(std::make_unique<PingClient>(env, &oracle_, NodeId(1), kRequestsPerClient));
      });
    }
  }
  void Targets(NemesisOptions* options) const override {
    options->nodes = {NodeId(1), NodeId(2), NodeId(3)};
    // Clients keep their progress in memory only: crashing one would abandon its
    // requests by design, which is not what this checker is about.
    options->crashable = {NodeId(1)};
    options->disk_nodes = {NodeId(1)};
    options->allow_sync_errors = false;  // the server stops on a failed fsync (by design)
  }
  Status Check(Simulator& sim, Instant) override {
    (void)sim;
    if (!oracle_.violations.empty()) return FailedPreconditionError("ping: " + oracle_.violations.front());
    for (const auto& [key, count] : oracle_.effects) {
      if (count != 1) {
        return FailedPreconditionError("ping: request " + std::to_string(key.second) + " of client " +
                                       std::to_string(key.first) + " took effect " + std::to_string(count) +
                                       " times (duplicate effect)");
      }
    }
    for (uint32_t client = 2; client <= 3; ++client) {
      const uint64_t completed = oracle_.completed[client];
      if (completed != kRequestsPerClient) {
        return FailedPreconditionError("ping: client " + std::to_string(client) + " completed " +
                                       std::to_string(completed) + " of " + std::to_string(kRequestsPerClient) +
                                       " requests after the faults healed");
      }
      for (uint64_t sequence = 1; sequence <= kRequestsPerClient; ++sequence) {
        if (!oracle_.effects.contains({client, sequence})) {
          return FailedPreconditionError("ping: request " + std::to_string(sequence) + " of client " +
                                         std::to_string(client) + " was answered but never applied");
        }
      }
    }
    return Status::Ok();
  }

 private:
  bool dedup_;
  PingOracle oracle_;
};

}  // namespace

WorkloadRegistry WorkloadRegistry::Builtin() {
  WorkloadRegistry registry;
  registry.Register({"ping",
                     "2 clients send 20 requests each to a server that applies each once (dedup by id, "
                     "durable before reply); checks every request answered after heal and no duplicate effect",
                     [] { return std::make_unique<PingWorkload>(true); }});
  registry.Register({"ping-no-dedup",
                     "ping with a deliberately broken server that applies retried or duplicated requests "
                     "again: the checker must catch it",
                     [] { return std::make_unique<PingWorkload>(false); }});
  registry.Register({"heartbeat",
                     "3 nodes heartbeat each other every 50ms; checks that every node hears every peer after heal",
                     [] { return std::make_unique<HeartbeatWorkload>(); }});
  return registry;
}

void WorkloadRegistry::Register(WorkloadInfo info) {
  MURPHY_ASSERT_MSG(Find(info.name) == nullptr, "workload registered twice");
  workloads_.push_back(std::move(info));
}

const WorkloadInfo* WorkloadRegistry::Find(std::string_view name) const {
  for (const WorkloadInfo& info : workloads_) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

}  // namespace murphy::sim
