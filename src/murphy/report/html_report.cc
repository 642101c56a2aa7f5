#include "murphy/report/html_report.h"

#include <cstdio>
#include <string>

#include "murphy/report/report_assets.h"

namespace murphy::report {
namespace {

using nlohmann::json;

// 4.990 -> 4.99, 30.000 -> 30 (as the table of `murphy demo` prints figures).
std::string FormatFigure(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.3f", value);
  std::string text = buffer;
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

json SeriesJson(const Series& series) {
  json points = json::array();
  for (const auto& [x, y] : series.points) points.push_back({x, y});
  return {{"plot", series.plot},
          {"name", series.name},
          {"x_label", series.x_label},
          {"y_label", series.y_label},
          {"style", series.style == Series::Style::kPoints ? "points" : "line"},
          {"points", std::move(points)}};
}

json RunJson(const RunOutcome& outcome, const TimelineLimits& limits) {
  json traces = json::array();
  for (const RunTrace& trace : outcome.traces) traces.push_back(BuildTimeline(trace, limits));
  json series = json::array();
  for (const Series& one : outcome.series) series.push_back(SeriesJson(one));
  return {{"traces", std::move(traces)}, {"series", std::move(series)}};
}

void AppendRun(std::string* html, std::string_view scenario, std::string_view run, const RunOutcome& outcome,
               std::string_view remedy) {
  const bool with = run == "with";
  *html += "<div class=\"run\" data-run=\"" + std::string(run) + "\" data-verdict=\"" +
           (outcome.violated ? "fail" : "pass") + "\">\n<h3>";
  *html += with ? "with the remedy <small>(" + EscapeHtml(remedy) + ")</small>" : std::string("without the remedy");
  *html += " <span class=\"verdict " + std::string(outcome.violated ? "fail\">FAIL" : "pass\">pass") + "</span>";
  *html += outcome.violated ? " <small>the checker found the failure</small>" : " <small>the checker found nothing wrong</small>";
  *html += "</h3>\n<p class=\"summary\">" + EscapeHtml(outcome.summary) + "</p>\n";
  if (outcome.violated) {
    *html += "<p class=\"violation\"><b>checker:</b> " + EscapeHtml(outcome.violation) + "</p>\n";
  }
  *html += "<p class=\"figures\">";
  for (const Figure& figure : outcome.figures) {
    *html += "<span class=\"figure\">" + EscapeHtml(figure.name) + "=<b>" + FormatFigure(figure.value) + "</b></span> ";
  }
  *html += "</p>\n<div class=\"timelines\" data-timelines=\"" + EscapeHtml(scenario) + "/" + std::string(run) +
           "\"></div>\n</div>\n";
}

}  // namespace

std::string EscapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string JsonForScript(const json& value) {
  const std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + 64);
  // <, > and & only occur inside JSON strings, where \uXXXX means the same character;
  // so do U+2028 and U+2029 (E2 80 A8 / E2 80 A9), line terminators in old JS.
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xE2' && i + 2 < text.size() && text[i + 1] == '\x80' &&
               (text[i + 2] == '\xA8' || text[i + 2] == '\xA9')) {
      out += text[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string RenderHtmlReport(const ReportInput& input) {
  const std::string seed = std::to_string(input.seed);
  std::string html;
  html.reserve(1 << 20);
  html += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>murphy demo — seed " + seed + "</title>\n<style>\n";
  html += ReportStyle();
  html += "</style>\n</head>\n<body>\n<header>\n<h1>murphy demo <small>seed " + seed + "</small></h1>\n";
  html += "<p>The failure stories of the chapter <i>The Trouble with Distributed Systems</i>, each run twice from "
          "one seed: <b>without</b> its remedy (a checker must find the failure) and <b>with</b> it (the checker "
          "must pass). Each run's space-time diagram: one lane per node and client, true time from left to right, "
          "both runs on the same time axis. Replay any of them bit for bit: <code>murphy demo NAME --seed " +
          seed + "</code>.</p>\n";
  html += "<div class=\"legend\" id=\"legend\"></div>\n<nav><ol>\n";
  for (const ScenarioResult& result : input.results) {
    const std::string name = EscapeHtml(result.scenario->name());
    html += "<li><a href=\"#scenario-" + name + "\">" + name + "</a> <span class=\"badge " +
            (result.demonstrated() ? "ok\">demonstrated" : "bad\">NOT demonstrated") + "</span></li>\n";
  }
  html += "</ol></nav>\n";
  if (!input.not_built.empty()) {
    html += "<p class=\"not-built\">Not built yet (no section below): ";
    for (size_t i = 0; i < input.not_built.size(); ++i) {
      html += (i == 0 ? "" : ", ") + std::string("<code>") + EscapeHtml(input.not_built[i]) + "</code>";
    }
    html += ".</p>\n";
  }
  html += "</header>\n<main>\n";

  json scenarios = json::array();
  for (const ScenarioResult& result : input.results) {
    const Scenario& scenario = *result.scenario;
    const std::string name = EscapeHtml(scenario.name());
    html += "<section class=\"scenario\" id=\"scenario-" + name + "\" data-scenario=\"" + name +
            "\" data-demonstrated=\"" + (result.demonstrated() ? "true" : "false") + "\">\n";
    html += "<h2>" + name + " <small>" + EscapeHtml(scenario.section()) + "</small></h2>\n";
    if (!result.demonstrated()) {
      html += "<p class=\"warning\">NOT demonstrated: the failure must happen without the remedy and not with "
              "it. This is a bug in murphy.</p>\n";
    }
    html += "<p class=\"replay\">Replay: <code>murphy demo " + name + " --seed " + std::to_string(result.seed) +
            "</code></p>\n";
    html += "<div class=\"controls\" data-controls=\"" + name + "\"></div>\n";
    AppendRun(&html, scenario.name(), "without", result.without, scenario.remedy());
    AppendRun(&html, scenario.name(), "with", result.with, scenario.remedy());
    html += "<div class=\"plots\" data-plots=\"" + name + "\"></div>\n</section>\n";
    scenarios.push_back({{"name", scenario.name()},
                         {"runs",
                          {{"without", RunJson(result.without, input.limits)},
                           {"with", RunJson(result.with, input.limits)}}}});
  }
  html += "</main>\n<footer>Generated by <code>murphy demo --html</code>. Self-contained: no network access, "
          "no external fonts or scripts.</footer>\n";
  html += "<script type=\"application/json\" id=\"murphy-data\">";
  html += JsonForScript({{"seed", input.seed}, {"scenarios", std::move(scenarios)}});
  html += "</script>\n<script>\n";
  html += ReportScript();
  html += "</script>\n</body>\n</html>\n";
  return html;
}

}  // namespace murphy::report
