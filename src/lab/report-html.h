/* report-html.h: `portico run --html FILE`: one self-contained page.
 *
 * The page needs nothing but itself (no script, style, font or image from
 * elsewhere, no network): inline CSS and inline SVG charts, hover text in
 * SVG <title>s. It shows, for a scenario's run, top to bottom: the verdict;
 * the expectations and whether each held; the variants side by side (a
 * table, and bar charts of req/s and p99 when there are several); per
 * variant, throughput, errors and latency per second with the events and
 * narration marked; per variant, the traced request's waterfall (phases,
 * the module spans under the phase they ran in, the upstream exchange);
 * and the narration. docs/reports.md tells how to read it.
 */
#pragma once

#include <glib.h>

#include "lab/expect.h"
#include "lab/results.h"
#include "lab/scenario.h"

G_BEGIN_DECLS

/* The page for @results of scenario @sc, as a newly allocated string
 * (give it to g_free). @sc gives the name, teaches and description that
 * head the page, and each traffic entry's start_s (found by the entry's
 * name; the scenario's as loaded, whatever a variant sets), which puts
 * its per-second series on the run clock with the events and narration; @sc may be NULL (the name is then
 * @results->scenario and every entry starts at 0). @outcomes
 * (PorticoExpectOutcome*, expect.h) may be NULL: no expectation checked.
 *
 * Every text from the scenario and the results is escaped; figures that
 * are unknown (NAN, -1) show as a dash and never reach a coordinate; every
 * number is written with '.' decimals whatever the locale. The output is
 * well-formed XML (XHTML-compatible HTML5), so tests can parse it, and the
 * same input gives the same bytes (no date in it). */
char *portico_report_html (const PorticoScenario *sc, const PorticoResults *results, GPtrArray *outcomes);

G_END_DECLS
