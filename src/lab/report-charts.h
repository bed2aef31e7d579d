/* report-charts.h: the SVG charts of the `--html` report, and the text
 * helpers that the page (report-html.c) and the charts (report-charts.c)
 * both write with. Private to those two files: the report's API is
 * report-html.h.
 *
 * Everything here appends to a GString and keeps report-html.h's promises:
 * every text is escaped, an unknown figure (NAN, infinity) never reaches a
 * coordinate, every number has '.' decimals whatever the locale, and the
 * same input gives the same bytes.
 */
#pragma once

#include <glib.h>

#include "lab/results.h"
#include "lab/scenario.h"

G_BEGIN_DECLS

/* Okabe and Ito's palette: told apart with every common colour-vision
 * deficiency. The page's legends name the colours the charts draw with. */
#define PORTICO_REPORT_BLUE "#0072B2"
#define PORTICO_REPORT_ORANGE "#E69F00"
#define PORTICO_REPORT_GREEN "#009E73"
#define PORTICO_REPORT_SKY "#56B4E9"
#define PORTICO_REPORT_VERMILLION "#D55E00"
#define PORTICO_REPORT_PURPLE "#CC79A7"
#define PORTICO_REPORT_INK "#222222"

/* ---- text ---- */

/* A printf for markup, appending to @out: %s a text (escaped, made valid
 * UTF-8; NULL is empty), %S markup (appended as is), %d an int, %f a
 * coordinate (one decimal, '.', clamped to ±1e6, 0 when not finite), %% a
 * percent sign. */
void portico_report_emit (GString *out, const char *fmt, ...);

/* A measure for people, newly allocated: fewer decimals as it grows (so µs
 * show below 1 ms), '.' decimals whatever the locale, "–" when not finite. */
char *portico_report_human (double v);

/* @v formatted with @fmt (a single %e, %f or %g conversion, see
 * g_ascii_formatd()), newly allocated; "–" when @v is not finite. */
char *portico_report_fixed (const char *fmt, double v);

/* One key of a legend (a <span class="key">): a swatch of class @shape
 * ("line", "box", "line event", "dot", ...) filled with @colour, or the
 * stylesheet's colour when @colour is NULL, then @label. @label is escaped;
 * @shape and @colour are the caller's literals and go in as they are. */
void portico_report_legend_key (GString *out, const char *shape, const char *colour,
                                const char *label);

/* ---- the charts ---- */

/* What every variant's timeline shares, so that variants compare at a
 * glance: one PorticoReportTimeScales for the whole page. */
typedef struct {
  double t_max;             /* seconds on the x axis, whole, >= 1 */
  double rps_max, err_max;  /* largest per-second counts (traffic entries added up) */
  double lat_min, lat_max;  /* smallest positive and largest latency, ms (NAN: none) */
} PorticoReportTimeScales;

/* The scales of every variant of @results: the run clock's length (the
 * scenario's duration, the last second, event or narration), the largest
 * counts and the latency range. @sc gives each traffic entry's start_s and
 * the duration; it may be NULL (every entry starts at 0). */
PorticoReportTimeScales portico_report_time_scales (const PorticoScenario *sc,
                                                    const PorticoResults *results);

/* Variant @v over time, as one <svg class="timeline">: completed requests
 * per second (each traffic entry, and their total when there are several),
 * errors per second as bars, latency p50 and p99 per second (a log scale
 * when they span more than 30 times), with @v's events as dashed lines and
 * its narration as numbered marks, on @ts (from
 * portico_report_time_scales() for the same @sc). */
void portico_report_timeline_svg (GString *out, const PorticoScenario *sc,
                                  const PorticoVariantResults *v,
                                  const PorticoReportTimeScales *ts);

/* The legend that goes under @v's timeline (a <p class="legend">): one key
 * per traffic entry (with its start), then only the keys of what the chart
 * shows (total, errors, events, failed events, narration). */
void portico_report_timeline_legend (GString *out, const PorticoScenario *sc,
                                     const PorticoVariantResults *v);

/* @v's traced request as a waterfall (<svg class="waterfall">): a row per
 * span, the client's first, then the rest by start, each phase followed by
 * the module spans that ran in it (indented); a module that did not
 * continue is outlined. Colours: client blue, phase green, module sky,
 * upstream purple, a module that responded orange, one that failed
 * vermillion. */
void portico_report_waterfall_svg (GString *out, const PorticoVariantResults *v);

/* A figure with caption @title and a horizontal bar per variant of
 * @results, @values[i] (results->variants->len of them) for variant i; a
 * value that is not finite gets no bar and a dash. */
void portico_report_bars_svg (GString *out, const PorticoResults *results, const char *title,
                              const double *values);

G_END_DECLS
