// murphy — the command line of the murphy project. `murphy --help` lists commands.
#include <CLI/CLI.hpp>

#include "murphy/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"murphy: the trouble with distributed systems, made runnable"};
  app.require_subcommand(1);
  int exit_code = 0;
  murphy::cli::AddDemoCommand(app, &exit_code);
  murphy::cli::AddSimCommand(app, &exit_code);
  murphy::cli::AddClusterCommand(app, &exit_code);
  murphy::cli::AddLeaseCommand(app, &exit_code);
  murphy::cli::AddLockCommand(app, &exit_code);
  murphy::cli::AddKvCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    // CLI11 reports usage errors by exception; they end here as exit code 2.
    const int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
