// murphy/report/report_assets.h — the report page's own stylesheet and script, kept
// as text in the binary so the page needs nothing from the network.
//
// Contract: ReportStyle() is CSS; ReportScript() is the JavaScript that reads the
// page's <script id="murphy-data"> JSON (html_report.h) at load and draws the legend,
// every timeline (timeline.h's data), the plots, and the zoom/scrub controls. Both
// are constants: neither contains "</" (so each can be inlined in its element).
// Thread safety: immutable.
#pragma once

#include <string_view>

namespace murphy::report {

std::string_view ReportStyle();
std::string_view ReportScript();

}  // namespace murphy::report
