// murphy/cli/commands.h — the `murphy` command line: one function per subcommand.
//
// Contract: each Add*Command registers a CLI11 subcommand on `app` and arranges for
// its action to run when it is selected; the action stores the process exit code in
// `*exit_code` (0 success; 1 a check failed, e.g. a simulation found a violation;
// 2 usage error). Output goes to stdout, diagnostics to stderr.
#pragma once

namespace CLI {
class App;
}

namespace murphy::cli {

void AddDemoCommand(CLI::App& app, int* exit_code);
void AddSimCommand(CLI::App& app, int* exit_code);
void AddClusterCommand(CLI::App& app, int* exit_code);

}  // namespace murphy::cli
