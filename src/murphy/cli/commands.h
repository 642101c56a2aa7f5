// murphy/cli/commands.h — the `murphy` command line: one function per subcommand.
//
// Contract: each Add*Command registers a CLI11 subcommand on `app` and arranges for
// its action to run when it is selected; the action stores the process exit code in
// `*exit_code` (0 success; 1 a check failed, e.g. a simulation found a violation;
// 2 usage error; the client commands add 3 outcome unknown, 4 stale fencing token,
// 5 lock lost — client_command_support.h). Output goes to stdout, diagnostics to stderr.
#pragma once

namespace CLI {
class App;
}

namespace murphy::cli {

void AddDemoCommand(CLI::App& app, int* exit_code);
void AddSimCommand(CLI::App& app, int* exit_code);
void AddClusterCommand(CLI::App& app, int* exit_code);
// The lock-service client: lease_command.cc, lock_command.cc, kv_command.cc.
void AddLeaseCommand(CLI::App& app, int* exit_code);
void AddLockCommand(CLI::App& app, int* exit_code);
void AddKvCommand(CLI::App& app, int* exit_code);
// `murphy lock run`, a subcommand of `lock` (lock_run.cc).
void AddLockRunCommand(CLI::App& lock, int* exit_code);

}  // namespace murphy::cli
