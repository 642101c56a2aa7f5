// bench/system/system_driver.h — the benchmark's clients of one system, behind one
// interface, so that every workload runs the same code against murphy and etcd.
//
// Contract: a driver runs on the shared asio loop of the benchmark; every operation
// reports through `done(ok)` on the loop, never inline. Each logical client has its
// own connection (murphy: its own RemoteClient, so its own client id and socket;
// etcd: its own keep-alive HTTP/1.1 connection to the JSON gateway), one request in
// flight at a time.
//   Writers     PrepareWriters(n): n writers. murphy: each holds its own lock
//               ("bench-write-i", acquired through LockClient with a lease kept alive
//               by it) and writes `value` to resource "bench-resource-i" with its
//               fencing token (LockClient::Write, a fenced store write). etcd: each
//               puts key "bench-resource-i" (/v3/kv/put).
//   Lock cycle  PrepareLockCycle(): one client and one lease granted beforehand (TTL
//               60 s). A cycle is: acquire lock "bench-cycle" under that lease, then
//               release it. murphy: Acquire(kTry) + Release requests on the binary
//               protocol; etcd: /v3/lock/lock with the lease + /v3/lock/unlock.
//   Keepalives  PrepareLeases(count, workers): `count` leases (TTL 300 s). Worker w
//               renews leases w, w + workers, ... round robin. murphy: KeepAlive on the
//               lease's owning client (a murphy lease belongs to a client, at most 16
//               per client, so count/16 clients own them); etcd: /v3/lease/keepalive.
// Where clients connect: murphy clients find the leader themselves (the channel
// follows `not leader` hints); etcd clients start at `preferred_member` (the
// benchmark passes the leader, etcd's best case: no forwarding hop) and move to the
// next member after a connection error or a timeout. A request times out after
// murphy's per-attempt timeout (client::ChannelOptions::attempt_timeout, 500 ms) on
// both systems; murphy's channel then retries the same request (exactly once, by
// (client, sequence)), and the benchmark's etcd client sends a new request (a put of
// the same value, harmless to repeat here).
// Ownership: borrows the loop and the cluster (both must outlive the driver).
// Thread safety: the loop's thread only.
#pragma once

#include <memory>
#include <string>

#include "bench/system/bench_cluster.h"
#include "bench/system/workload_runner.h"
#include "murphy/core/status.h"

namespace asio {
class io_context;
}

namespace murphy::bench {

class SystemDriver {
 public:
  static std::unique_ptr<SystemDriver> CreateMurphy(asio::io_context& loop, BenchCluster& cluster);
  static std::unique_ptr<SystemDriver> CreateEtcd(asio::io_context& loop, BenchCluster& cluster);
  virtual ~SystemDriver() = default;

  virtual void SetPreferredMember(int index) = 0;
  virtual Status PrepareWriters(int count) = 0;
  virtual void Write(int writer, DoneCallback done) = 0;
  virtual Status PrepareLockCycle() = 0;
  virtual void LockCycle(DoneCallback done) = 0;
  virtual Status PrepareLeases(int count, int workers) = 0;
  virtual void KeepAlive(int worker, DoneCallback done) = 0;
  // The last failure any operation saw ("" if none), for the report.
  virtual std::string last_error() const = 0;
  // Number of client connections the driver holds now (for the report).
  virtual int connections() const = 0;
};

// 64 bytes: the value every write carries.
std::string BenchValue();

}  // namespace murphy::bench
