// `tcpka lab --report FILE.html`: one self-contained page (inline CSS and SVG, no script,
// nothing fetched) with the results table and, per scenario, a timeline of what crossed
// the detector's link: data, probes, answers, the reset, and the detection itself,
// drawn against the model's predicted interval.
#pragma once

#include <span>
#include <string>

#include "lab/scenario.h"

namespace tcpka::tools::lab {

std::string render_report_page(std::span<const ScenarioResult> results, Millis cap);

// `text` with &, <, >, " and ' escaped for HTML.
std::string escape_html(std::string_view text);

}  // namespace tcpka::tools::lab
