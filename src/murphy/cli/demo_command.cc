// `murphy demo`: runs the chapter's scenarios without and with their remedies and
// prints the verdicts as a table (or JSON).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "murphy/cli/commands.h"
#include "murphy/report/html_report.h"
#include "murphy/scenarios/scenario.h"

namespace murphy::cli {
namespace {

// The scenarios of ../shared/SCENARIOS.md; the ones not in AllScenarios() yet are
// listed by name so the output says plainly what is not shown.
constexpr const char* kPlannedScenarios[] = {
    "request-fate",   "timeout-dilemma", "thundering-herd", "partition-cp-ap", "lww-clock-skew",
    "truetime-commit-wait", "gc-pause-lease", "split-brain", "cascade", "two-generals",
    "byzantine-bits", "health-checks",   "system-models"};

struct DemoOptions {
  std::string name;
  uint64_t seed = 1;
  int sweep = 0;
  bool json = false;
  std::string html;  // write the HTML report here ("" = none)
};

// Writes the report; prints where it is to `out`, or why it could not be written.
bool WriteHtmlReport(const std::string& path, const report::ReportInput& input, std::FILE* out) {
  const std::string html = report::RenderHtmlReport(input);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    std::fprintf(stderr, "murphy demo: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
    return false;
  }
  const bool written = std::fwrite(html.data(), 1, html.size(), file) == html.size();
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    std::fprintf(stderr, "murphy demo: error writing %s\n", path.c_str());
    return false;
  }
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(path, error);
  std::fprintf(out, "report: %s (%zu KiB)\n", error ? path.c_str() : absolute.c_str(),
               html.size() / 1024);
  return true;
}

std::string FormatFigure(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.3f", value);
  std::string text = buffer;
  // 4.990 -> 4.99, 30.000 -> 30
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

nlohmann::json OutcomeJson(const RunOutcome& outcome) {
  nlohmann::json figures = nlohmann::json::object();
  for (const Figure& figure : outcome.figures) figures[figure.name] = figure.value;
  nlohmann::json json = {{"verdict", outcome.violated ? "fail" : "pass"},
                         {"summary", outcome.summary},
                         {"figures", figures}};
  if (outcome.violated) json["violation"] = outcome.violation;
  return json;
}

int RunDemo(const DemoOptions& options) {
  std::vector<const Scenario*> selected;
  if (options.name.empty()) {
    for (const Scenario* scenario : AllScenarios()) selected.push_back(scenario);
  } else {
    const Scenario* scenario = FindScenario(options.name);
    if (scenario == nullptr) {
      std::fprintf(stderr, "murphy demo: no scenario named '%s'; built so far:", options.name.c_str());
      for (const Scenario* known : AllScenarios()) std::fprintf(stderr, " %s", std::string(known->name()).c_str());
      std::fprintf(stderr, "\n");
      return 2;
    }
    selected.push_back(scenario);
  }

  if (!options.html.empty() && options.sweep > 0) {
    std::fprintf(stderr, "murphy demo: --html draws one seed's runs; it cannot be combined with --sweep\n");
    return 2;
  }
  const bool color = !options.json && isatty(STDOUT_FILENO) != 0;
  const char* red = color ? "\033[31m" : "";
  const char* green = color ? "\033[32m" : "";
  const char* bold = color ? "\033[1m" : "";
  const char* reset = color ? "\033[0m" : "";
  int not_demonstrated = 0;

  if (options.sweep > 0) {
    nlohmann::json json_rows = nlohmann::json::array();
    if (!options.json) {
      std::printf("%s%-22s %8s %18s %18s%s\n", bold, "scenario", "seeds", "without fails", "with fails", reset);
    }
    for (const Scenario* scenario : selected) {
      int without_failures = 0;
      int with_failures = 0;
      for (int i = 0; i < options.sweep; ++i) {
        const ScenarioResult result = RunScenario(*scenario, options.seed + static_cast<uint64_t>(i));
        without_failures += result.without.violated ? 1 : 0;
        with_failures += result.with.violated ? 1 : 0;
      }
      if (options.json) {
        json_rows.push_back({{"name", scenario->name()},
                             {"seeds", options.sweep},
                             {"first_seed", options.seed},
                             {"without_failures", without_failures},
                             {"with_failures", with_failures}});
      } else {
        std::printf("%-22s %8d %17.0f%% %17.0f%%\n", std::string(scenario->name()).c_str(), options.sweep,
                    100.0 * without_failures / options.sweep, 100.0 * with_failures / options.sweep);
      }
      if (with_failures > 0) ++not_demonstrated;
    }
    if (options.json) std::printf("%s\n", nlohmann::json({{"sweep", json_rows}}).dump(2).c_str());
    return not_demonstrated == 0 ? 0 : 1;
  }

  // Traces are captured only for the report: the table alone stays fast.
  RunOptions run_options;
  run_options.capture_trace = !options.html.empty();
  report::ReportInput report_input;
  report_input.seed = options.seed;
  nlohmann::json json_rows = nlohmann::json::array();
  if (!options.json) {
    std::printf("%smurphy demo%s: the chapter's stories, each run twice from seed %llu — without its\n"
                "remedy (a checker must find the failure) and with it (the checker must pass).\n\n",
                bold, reset, static_cast<unsigned long long>(options.seed));
  }
  for (const Scenario* scenario : selected) {
    // Kept for the report (small unless traces were captured); valid this iteration.
    const ScenarioResult& result =
        report_input.results.emplace_back(RunScenario(*scenario, options.seed, run_options));
    if (!result.demonstrated()) ++not_demonstrated;
    if (options.json) {
      json_rows.push_back({{"name", scenario->name()},
                           {"section", scenario->section()},
                           {"remedy", scenario->remedy()},
                           {"seed", result.seed},
                           {"without", OutcomeJson(result.without)},
                           {"with", OutcomeJson(result.with)}});
      continue;
    }
    std::printf("%s%s%s  (%s)\n", bold, std::string(scenario->name()).c_str(), reset,
                std::string(scenario->section()).c_str());
    std::printf("  without: %s%s%s  %s\n", result.without.violated ? red : green,
                result.without.violated ? "FAIL" : "pass", reset, result.without.summary.c_str());
    if (result.without.violated) std::printf("           checker: %s\n", result.without.violation.c_str());
    std::printf("  with %s: %s%s%s  %s\n", std::string(scenario->remedy()).c_str(),
                result.with.violated ? red : green, result.with.violated ? "FAIL" : "pass", reset,
                result.with.summary.c_str());
    if (result.with.violated) std::printf("           checker: %s\n", result.with.violation.c_str());
    std::string figures;
    for (const Figure& figure : result.without.figures) {
      figures += " " + figure.name + "=" + FormatFigure(figure.value);
    }
    std::printf("  figures without:%s\n", figures.c_str());
    figures.clear();
    for (const Figure& figure : result.with.figures) figures += " " + figure.name + "=" + FormatFigure(figure.value);
    std::printf("  figures with:   %s\n", figures.c_str());
    std::printf("  %s%s%s\n\n", result.demonstrated() ? green : red,
                result.demonstrated() ? "demonstrated: the failure happens without the remedy, not with it"
                                      : "NOT demonstrated — this is a bug in murphy",
                reset);
  }
  if (options.json) {
    std::printf("%s\n", nlohmann::json({{"scenarios", json_rows}}).dump(2).c_str());
  } else if (options.name.empty()) {
    std::vector<std::string> missing;
    for (const char* planned : kPlannedScenarios) {
      if (FindScenario(planned) == nullptr) missing.push_back(planned);
    }
    std::printf("%zu of %zu scenarios of SCENARIOS.md are built and shown above.\n", selected.size(),
                std::size(kPlannedScenarios));
    if (!missing.empty()) {
      std::printf("Not built yet:");
      for (const std::string& name : missing) std::printf(" %s", name.c_str());
      std::printf("\n");
    }
    std::printf("Replay one: murphy demo NAME --seed %llu; many seeds: murphy demo --sweep 100\n",
                static_cast<unsigned long long>(options.seed));
  }
  if (!options.html.empty()) {
    for (const char* planned : kPlannedScenarios) {
      if (FindScenario(planned) == nullptr) report_input.not_built.push_back(planned);
    }
    if (!WriteHtmlReport(options.html, report_input, options.json ? stderr : stdout)) return 1;
  }
  return not_demonstrated == 0 ? 0 : 1;
}

}  // namespace

void AddDemoCommand(CLI::App& app, int* exit_code) {
  auto options = std::make_shared<DemoOptions>();
  CLI::App* command = app.add_subcommand("demo", "Run the chapter's scenarios without and with their remedies");
  command->add_option("name", options->name, "Run only this scenario");
  command->add_option("--seed", options->seed, "Seed (runs replay bit for bit)")->check(CLI::NonNegativeNumber);
  command->add_option("--sweep", options->sweep, "Run N seeds from --seed and report failure rates")
      ->check(CLI::Range(1, 100000));
  command->add_flag("--json", options->json, "Print JSON instead of a table");
  command->add_option("--html", options->html,
                      "Also write a self-contained HTML report (space-time diagrams, plots) to FILE");
  command->callback([options, exit_code] { *exit_code = RunDemo(*options); });
}

}  // namespace murphy::cli
