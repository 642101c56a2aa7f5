#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "murphy/report/html_report.h"
#include "murphy/report/report_assets.h"
#include "murphy/report/timeline.h"
#include "murphy/scenarios/scenario.h"

namespace murphy::report {
namespace {

using nlohmann::json;

size_t Count(const std::string& text, const std::string& needle) {
  size_t count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

TEST(EscapeHtmlTest, EscapesMarkup) {
  EXPECT_EQ(EscapeHtml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
  EXPECT_EQ(EscapeHtml("plain"), "plain");
}

TEST(JsonForScriptTest, CannotCloseTheScript) {
  const std::string nasty = "</script><script>alert(1)</script> <!-- & \xE2\x80\xA8 \xff";
  const std::string text = JsonForScript(json{{"text", nasty}});
  EXPECT_EQ(text.find('<'), std::string::npos);
  EXPECT_EQ(text.find('>'), std::string::npos);
  EXPECT_EQ(text.find('&'), std::string::npos);
  EXPECT_EQ(text.find("\xE2\x80\xA8"), std::string::npos);
  // It still means the same string (invalid UTF-8 replaced, not thrown).
  const json back = json::parse(text);
  EXPECT_EQ(back["text"].get<std::string>().substr(0, 9), "</script>");
}

TEST(ReportAssetsTest, CannotCloseTheirElements) {
  EXPECT_EQ(ReportScript().find("</"), std::string_view::npos);
  EXPECT_EQ(ReportStyle().find("</"), std::string_view::npos);
}

RunTrace MakeTrace(std::vector<std::string> lines) {
  RunTrace trace;
  trace.title = "test";
  trace.total_lines = lines.size();
  trace.lines = std::move(lines);
  return trace;
}

TEST(TimelineTest, DrawsTheChaptersVocabulary) {
  const RunTrace trace = MakeTrace({
      R"({"time_ns":0,"node":0,"event":"run_start","wall_origin_ns":1000000000000})",
      R"({"time_ns":0,"node":0,"event":"process","id":1,"name":"lock-server"})",
      R"({"time_ns":0,"node":0,"event":"process","id":2,"name":"client-a"})",
      R"({"time_ns":0,"node":0,"event":"process","id":3,"name":"storage"})",
      R"({"time_ns":1000,"node":2,"mono_ns":1000,"wall_ns":1000000001000,"event":"send","target":1,"message":1,"bytes":10})",
      R"({"time_ns":5000,"node":1,"mono_ns":5000,"wall_ns":1000000005000,"event":"deliver","source":2,"message":1,"bytes":10,"duplicate":false})",
      R"({"time_ns":6000,"node":1,"mono_ns":6000,"wall_ns":1000000006000,"event":"lease_granted","holder":2,"token":33,"ttl_ns":10000000000})",
      R"({"time_ns":7000,"node":2,"mono_ns":7000,"wall_ns":1000000007000,"event":"send","target":3,"message":2,"bytes":10})",
      R"({"time_ns":8000,"node":2,"mono_ns":8000,"wall_ns":1000000008000,"event":"drop","source":2,"target":3,"message":2,"reason":"partition"})",
      R"({"time_ns":9000,"node":2,"mono_ns":9000,"wall_ns":1000000009000,"event":"send","target":3,"message":3,"bytes":10})",
      R"({"time_ns":9000,"node":2,"mono_ns":9000,"wall_ns":1000000009000,"event":"duplicate","target":3,"message":3})",
      R"({"time_ns":12000,"node":3,"mono_ns":12000,"wall_ns":1000000012000,"event":"deliver","source":2,"message":3,"bytes":10,"duplicate":false})",
      R"({"time_ns":13000,"node":3,"mono_ns":13000,"wall_ns":1000000013000,"event":"deliver","source":2,"message":3,"bytes":10,"duplicate":true})",
      R"({"time_ns":20000,"node":0,"event":"fault","kind":"partition","cuts":"2->3"})",
      R"({"time_ns":30000,"node":0,"event":"fault","kind":"heal"})",
      R"({"time_ns":40000,"node":2,"mono_ns":40000,"wall_ns":1000005040000,"event":"pause","duration_ns":7000000000})",
      R"({"time_ns":7000040000,"node":2,"mono_ns":7000040000,"wall_ns":1007005040000,"event":"resume"})",
      R"({"time_ns":7000050000,"node":3,"mono_ns":7000050000,"wall_ns":1007000050000,"event":"write_rejected","token":33})",
      "not json at all",
  });
  const json timeline = BuildTimeline(trace);
  ASSERT_EQ(timeline["lanes"].size(), 3u);
  EXPECT_EQ(timeline["lanes"][0]["name"], "lock-server");
  EXPECT_EQ(timeline["counts"]["bad_lines"], 1);
  // Messages: delivered, dropped, delivered + its duplicate copy.
  std::vector<std::string> kinds;
  for (const json& message : timeline["messages"]) kinds.push_back(message[4].get<std::string>());
  EXPECT_EQ(kinds, (std::vector<std::string>{"d", "x", "d", "2"}));
  EXPECT_EQ(timeline["messages"][1][6], "dropped: partition");
  // The partition is shaded from 20 us to the heal at 30 us.
  ASSERT_EQ(timeline["shades"].size(), 1u);
  EXPECT_EQ(timeline["shades"][0], json::parse(R"([20,30,"partition","partition: cut 2->3"])"));
  // The pause is a gap on client-a's lane; the lease a bar on the holder's lane,
  // until its ttl runs out or, as here, the run ends.
  bool pause = false;
  bool lease = false;
  for (const json& span : timeline["spans"]) {
    if (span[3] == "pause") pause = span[0] == 2 && span[1] == 40 && span[2] == 7000040;
    if (span[3] == "lease") lease = span[0] == 2 && span[1] == 6 && span[2] == 7000050 && span[4] == "lease, token 33";
  }
  EXPECT_TRUE(pause);
  EXPECT_TRUE(lease);
  // The rejected write is a red mark carrying its token.
  bool rejected = false;
  for (const json& mark : timeline["marks"]) {
    if (mark[2] == "write_rejected") rejected = mark[4] == "bad" && mark[5] == 33 && mark[0] == 3;
  }
  EXPECT_TRUE(rejected);
  // client-a's clock jumped 5 ms ahead at 40 us: its offset is sampled.
  bool clock = false;
  for (const json& lane : timeline["clocks"]) {
    if (lane[0] == 2) clock = lane[1].back()[1] == 5000;
  }
  EXPECT_TRUE(clock);
}

TEST(TimelineTest, CapsMessagesKeepingTheDroppedOnes) {
  std::vector<std::string> lines;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = std::to_string(i);
    const std::string at = std::to_string(i * 1000);
    lines.push_back(R"({"time_ns":)" + at + R"(,"node":1,"mono_ns":0,"wall_ns":0,"event":"send","target":2,"message":)" + id + "}");
    lines.push_back(R"({"time_ns":)" + at + R"(,"node":)" + (i % 100 == 0 ? "1" : "2") +
                    R"(,"mono_ns":0,"wall_ns":0,"event":)" + (i % 100 == 0 ? R"("drop","target":2,"source":1)" : R"("deliver","source":1)") +
                    R"(,"message":)" + id + "}");
  }
  TimelineLimits limits;
  limits.max_messages = 50;
  const json timeline = BuildTimeline(MakeTrace(lines), limits);
  EXPECT_EQ(timeline["counts"]["messages"], 1000);
  EXPECT_EQ(timeline["counts"]["messages_shown"], 50);
  int dropped = 0;
  for (const json& message : timeline["messages"]) dropped += message[4] == "x" ? 1 : 0;
  EXPECT_EQ(dropped, 10);
  // In time order.
  for (size_t i = 1; i < timeline["messages"].size(); ++i) {
    EXPECT_LE(timeline["messages"][i - 1][0].get<int64_t>(), timeline["messages"][i][0].get<int64_t>());
  }
}

// A scenario whose texts try to break out of the page.
class NastyScenario final : public Scenario {
 public:
  std::string_view name() const override { return "nasty</script><b>&"; }
  std::string_view section() const override { return "<i>section</i> & \"quotes\""; }
  std::string_view remedy() const override { return "</script>remedy"; }
  RunOutcome Run(uint64_t, bool with_remedy, const RunOptions& options) const override {
    RunOutcome outcome;
    outcome.violated = !with_remedy;
    outcome.violation = "write <x=1> & </script><script>alert(1)</script> lost";
    outcome.summary = "summary </script> <!--";
    outcome.Add("a<b", 1);
    if (options.capture_trace) {
      RunTrace trace = MakeTrace({R"({"time_ns":0,"node":0,"event":"process","id":1,"name":"</script><b>"})",
                                  R"({"time_ns":5,"node":1,"mono_ns":5,"wall_ns":5,"event":"x</script>","f":"<&>"})"});
      trace.title = "</script>";
      outcome.traces.push_back(std::move(trace));
      Series series;
      series.plot = "</script>";
      series.name = "<b>";
      series.points = {{0, 1}};
      outcome.series.push_back(std::move(series));
    }
    return outcome;
  }
};

TEST(HtmlReportTest, EscapesEveryTextFromScenarios) {
  const NastyScenario nasty;
  RunOptions options;
  options.capture_trace = true;
  ReportInput input;
  input.results.push_back(RunScenario(nasty, 7, options));
  input.not_built = {"<split-brain>"};
  const std::string html = RenderHtmlReport(input);
  // Exactly the page's own two scripts close.
  EXPECT_EQ(Count(html, "</script>"), 2u);
  EXPECT_EQ(Count(html, "<script"), 2u);
  EXPECT_EQ(html.find("<b>&"), std::string::npos);
  EXPECT_EQ(html.find("<x=1>"), std::string::npos);
  EXPECT_EQ(html.find("<i>section"), std::string::npos);
  EXPECT_EQ(html.find("<!--"), std::string::npos);
  EXPECT_NE(html.find("write &lt;x=1&gt; &amp; &lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("data-scenario=\"nasty&lt;/script&gt;&lt;b&gt;&amp;\""), std::string::npos);
  EXPECT_NE(html.find("&lt;split-brain&gt;"), std::string::npos);
}

RunOptions Capture() {
  RunOptions options;
  options.capture_trace = true;
  return options;
}

// Capturing observes only: every scenario gives the same verdicts, figures and
// summaries with and without it, and captures at least one trace per run.
TEST(CaptureTest, ChangesNothingInTheRuns) {
  for (const Scenario* scenario : AllScenarios()) {
    SCOPED_TRACE(std::string(scenario->name()));
    for (const bool with_remedy : {false, true}) {
      const RunOutcome plain = scenario->Run(3, with_remedy);
      const RunOutcome captured = scenario->Run(3, with_remedy, Capture());
      EXPECT_EQ(plain.violated, captured.violated);
      EXPECT_EQ(plain.violation, captured.violation);
      EXPECT_EQ(plain.summary, captured.summary);
      ASSERT_EQ(plain.figures.size(), captured.figures.size());
      for (size_t i = 0; i < plain.figures.size(); ++i) {
        EXPECT_EQ(plain.figures[i].name, captured.figures[i].name);
        EXPECT_EQ(plain.figures[i].value, captured.figures[i].value) << plain.figures[i].name;
      }
      EXPECT_TRUE(plain.traces.empty());
      EXPECT_TRUE(plain.series.empty());
      EXPECT_FALSE(captured.traces.empty());
      for (const RunTrace& trace : captured.traces) {
        EXPECT_GT(trace.lines.size(), 2u);
        EXPECT_EQ(trace.lines.front().find("{\"time_ns\":0,\"node\":0,\"event\":\"run_start\""), 0u);
      }
    }
  }
}

ReportInput FullReport(uint64_t seed) {
  ReportInput input;
  input.seed = seed;
  for (const Scenario* scenario : AllScenarios()) input.results.push_back(RunScenario(*scenario, seed, Capture()));
  return input;
}

TEST(HtmlReportTest, SameSeedSameBytes) {
  const std::string first = RenderHtmlReport(FullReport(1));
  const std::string second = RenderHtmlReport(FullReport(1));
  EXPECT_EQ(first, second);
  EXPECT_NE(first, RenderHtmlReport(FullReport(2)));
}

TEST(HtmlReportTest, ShowsEveryScenarioWithBothVerdictsAndPlots) {
  const std::string html = RenderHtmlReport(FullReport(1));
  for (const Scenario* scenario : AllScenarios()) {
    EXPECT_NE(html.find("data-scenario=\"" + std::string(scenario->name()) + "\" data-demonstrated=\"true\""),
              std::string::npos)
        << scenario->name();
  }
  EXPECT_EQ(Count(html, "data-run=\"without\" data-verdict=\"fail\""), AllScenarios().size());
  EXPECT_EQ(Count(html, "data-run=\"with\" data-verdict=\"pass\""), AllScenarios().size());
  EXPECT_NE(html.find("lost to the earlier write"), std::string::npos);
  EXPECT_NE(html.find("\"plot\":\"load_over_time\""), std::string::npos);
  EXPECT_NE(html.find("\"plot\":\"detection_vs_false_positives\""), std::string::npos);
  // Self-contained: nothing is fetched.
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  // Reasonable in size.
  EXPECT_LT(html.size(), size_t{6} << 20);
}

}  // namespace
}  // namespace murphy::report
